//! What the image tests run against: real registries (`docker-registry` on a loopback port
//! with a config of the test's own), base images made with `umoci` and pushed with `skopeo`,
//! a standalone copy of `examples/hello` built in a cargo target folder shared by the whole
//! group, and the tools to read an image back (`skopeo`, `umoci`, `gzip` and a ustar reader).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::support::{Project, Run};

/// The tools the image tests run, with the Debian package that has each.
const TOOLS: &[(&str, &str)] = &[
    ("docker-registry", "docker-registry"),
    ("skopeo", "skopeo"),
    ("umoci", "umoci"),
    ("htpasswd", "apache2-utils"),
    ("cc", "gcc"),
    ("objdump", "binutils"),
    ("gzip", "gzip"),
];

/// Fails (never skips) when a tool the image tests need is missing.
pub(crate) fn require_tools() {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing: Vec<&(&str, &str)> =
        TOOLS.iter().filter(|(tool, _)| !std::env::split_paths(&path).any(|dir| dir.join(tool).is_file())).collect();
    assert!(
        missing.is_empty(),
        "the image tests need {} on PATH; install them with `apt-get install {}` (scripts/test.sh installs the registry tools)",
        missing.iter().map(|(t, _)| *t).collect::<Vec<_>>().join(", "),
        missing.iter().map(|(_, p)| *p).collect::<Vec<_>>().join(" ")
    );
}

/// A port nothing listens on right now (the kernel's choice).
pub(crate) fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

/// Runs a command and returns its stdout; panics with both streams if it fails.
pub(crate) fn run_tool(command: &mut Command) -> Vec<u8> {
    let output = command.output().unwrap_or_else(|e| panic!("run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A unique suffix for names within this test process (tags, repositories).
pub(crate) fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{prefix}{}-{}-{}", std::process::id(), nanos % 1_000_000_000, COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// One plain HTTP/1.1 request on loopback: (status, body).
pub(crate) fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text.as_str(), ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, body.to_owned()))
}

/// One plain HTTP/1.1 `PUT` on loopback: (status, body).
pub(crate) fn http_put(port: u16, path: &str, content_type: &str, body: &[u8]) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "PUT {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.write_all(body)?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text.as_str(), ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, body.to_owned()))
}

/// The manifest of a pushed image exactly as stored: (digest, size, media type).
pub(crate) fn manifest_descriptor(reference: &str) -> (String, usize, String) {
    let raw = run_tool(Command::new("skopeo").args([
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{reference}"),
    ]));
    let digest = inspect(reference, None, None)["Digest"].as_str().expect("a digest").to_owned();
    let parsed: serde_json::Value = serde_json::from_slice(&raw).expect("a JSON manifest");
    let media_type = parsed["mediaType"].as_str().expect("a media type").to_owned();
    (digest, raw.len(), media_type)
}

/// A request the registry logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Request {
    /// `GET`, `HEAD`, `POST`, `PATCH`, `PUT`...
    pub(crate) method: String,
    /// Path and query as sent.
    pub(crate) uri: String,
    /// Status answered.
    pub(crate) status: u16,
}

impl Request {
    /// Whether it writes to the registry (starts, sends or finishes an upload, or stores a
    /// manifest).
    pub(crate) fn writes(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PATCH" | "PUT" | "DELETE")
    }

    /// The digest of a finished blob upload (`PUT .../blobs/uploads/...?digest=` answered 201).
    pub(crate) fn uploaded_digest(&self) -> Option<String> {
        if self.method != "PUT" || self.status != 201 || !self.uri.contains("/blobs/uploads/") {
            return None;
        }
        let query = self.uri.split_once('?')?.1;
        let digest = query.split('&').find_map(|p| p.strip_prefix("digest="))?;
        Some(digest.replace("%3A", ":").replace("%3a", ":"))
    }
}

/// A `docker-registry` serving a folder of its own on a loopback port.
pub(crate) struct Registry {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    markers: AtomicU32,
}

impl Registry {
    /// An open registry.
    pub(crate) fn start() -> Registry {
        Registry::start_with(None)
    }

    /// A registry that accepts only user `x` with `token` (htpasswd, Basic auth).
    pub(crate) fn with_token(token: &str) -> Registry {
        Registry::start_with(Some(token))
    }

    fn start_with(token: Option<&str>) -> Registry {
        require_tools();
        let dir = tempfile::tempdir().expect("create the registry folder");
        let mut auth = String::new();
        if let Some(token) = token {
            let line = run_tool(Command::new("htpasswd").args(["-nbB", "x", token]));
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, line).expect("write htpasswd");
            writeln!(auth, "auth: {{htpasswd: {{realm: basic-realm, path: {}}}}}", file.display()).expect("string");
        }
        // A port can be taken between choosing and binding it: try a few.
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog: {{level: info}}\nstorage: {{filesystem: {{rootdirectory: {}}}, delete: {{enabled: true}}}}\nhttp: {{addr: 127.0.0.1:{port}}}\n{auth}",
                    dir.path().join("data").display()
                ),
            )
            .expect("write the registry config");
            let log_path = dir.path().join("registry.log");
            let log = File::create(&log_path).expect("create the registry log");
            let mut command = Command::new("docker-registry");
            command
                .arg("serve")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("clone the log handle"))
                .stderr(log);
            for (name, _) in std::env::vars_os() {
                if name.to_string_lossy().starts_with("REGISTRY_") {
                    command.env_remove(name);
                }
            }
            let mut child = command.spawn().expect("start docker-registry");
            if wait_ready(&mut child, port) {
                return Registry { child, port, dir, markers: AtomicU32::new(0) };
            }
            let _ = child.kill();
            let _ = child.wait();
            last_log = std::fs::read_to_string(&log_path).unwrap_or_default();
        }
        panic!("docker-registry did not start\n--- its log ---\n{last_log}");
    }

    /// Its port.
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`.
    pub(crate) fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Everything it logged.
    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Every request it answered so far, in order. A marker request is made first and waited
    /// for, so every request a finished client made is in the log.
    pub(crate) fn requests(&self) -> Vec<Request> {
        let marker = format!("/v2/?marker={}", self.markers.fetch_add(1, Ordering::Relaxed));
        let _ = http_get(self.port, &marker);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let requests = parse_log(&self.log());
            if requests.iter().any(|r| r.uri == marker) || Instant::now() > deadline {
                return requests.into_iter().filter(|r| !r.uri.starts_with("/v2/?marker=")).collect();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Whether `/v2/` answered (200, or 401 with auth) before the registry died or 20 s passed.
fn wait_ready(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok((status, _)) = http_get(port, "/v2/")
            && (status == 200 || status == 401)
        {
            return true;
        }
        if child.try_wait().ok().flatten().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `key=value` or `key="quoted value"` of a logrus line.
fn log_field<'l>(line: &'l str, key: &str) -> Option<&'l str> {
    let start = line.find(&format!(" {key}="))? + key.len() + 2;
    let rest = &line[start..];
    if let Some(quoted) = rest.strip_prefix('"') {
        quoted.find('"').map(|end| &quoted[..end])
    } else {
        Some(rest.split(' ').next().unwrap_or_default())
    }
}

/// The requests of a `docker-registry` log (one `response completed` line each).
fn parse_log(log: &str) -> Vec<Request> {
    log.lines()
        .filter(|l| l.contains("msg=\"response completed"))
        .filter_map(|l| {
            Some(Request {
                method: log_field(l, "http.request.method")?.to_owned(),
                uri: log_field(l, "http.request.uri")?.to_owned(),
                status: log_field(l, "http.response.status")?.parse().ok()?,
            })
        })
        .collect()
}

/// What a test base image holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Base {
    /// This machine's glibc (Debian 12): the loader, `libc.so.6`, `libm.so.6`, `libgcc_s.so.1`.
    Glibc,
    /// A `libc.so.6` (a symlink to `libc-2.2.5.so`, as old glibc releases had) that defines
    /// only the version node `GLIBC_2.2.5`, and the loader.
    OldGlibc,
    /// No libc at all (`/etc/os-release` only).
    NoLibc,
    /// [`Base::Glibc`] laid out as Debian 12 does ("merged /usr": `/lib` and `/lib64` are
    /// symlinks to `usr/lib` and `usr/lib64`).
    MergedUsr,
}

/// Makes a base image as an OCI layout `<dir>/oci` (image `base`) with umoci.
pub(crate) fn make_base(kind: Base, dir: &Path) -> PathBuf {
    require_tools();
    let rootfs = dir.join("rootfs");
    let libs = rootfs.join("lib/x86_64-linux-gnu");
    for folder in ["etc", "lib/x86_64-linux-gnu", "lib64"] {
        std::fs::create_dir_all(rootfs.join(folder)).expect("create rootfs folders");
    }
    std::fs::write(rootfs.join("etc/os-release"), "ID=score-fly-test\n").expect("write os-release");
    let copy = |from: &str, to: &Path| {
        // `fs::copy` follows symlinks, as `cp -L` does.
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {from}: {e}"));
    };
    let glibc = |libs: &Path, lib64: &Path| {
        for lib in ["libc.so.6", "libm.so.6", "libgcc_s.so.1"] {
            copy(&format!("/lib/x86_64-linux-gnu/{lib}"), &libs.join(lib));
        }
        copy("/lib64/ld-linux-x86-64.so.2", &lib64.join("ld-linux-x86-64.so.2"));
    };
    match kind {
        Base::Glibc => glibc(&libs, &rootfs.join("lib64")),
        Base::MergedUsr => {
            for folder in ["lib", "lib64"] {
                std::fs::remove_dir_all(rootfs.join(folder)).expect("remove a folder");
                let usr = rootfs.join("usr").join(folder);
                std::fs::create_dir_all(&usr).expect("create a /usr folder");
                std::os::unix::fs::symlink(format!("usr/{folder}"), rootfs.join(folder)).expect("symlink");
            }
            let usr_libs = rootfs.join("usr/lib/x86_64-linux-gnu");
            std::fs::create_dir_all(&usr_libs).expect("create /usr/lib/x86_64-linux-gnu");
            glibc(&usr_libs, &rootfs.join("usr/lib64"));
        }
        Base::OldGlibc => {
            let src = dir.join("stub");
            std::fs::create_dir_all(&src).expect("create stub folder");
            std::fs::write(src.join("stub.c"), "int gnu_get_libc_version_stub(void) { return 225; }\n")
                .expect("write stub.c");
            std::fs::write(src.join("versions.map"), "GLIBC_2.2.5 { global: gnu_get_libc_version_stub; local: *; };\n")
                .expect("write versions.map");
            run_tool(
                Command::new("cc")
                    .current_dir(&src)
                    .args([
                        "-shared",
                        "-fPIC",
                        "-nostdlib",
                        "-Wl,--version-script=versions.map",
                        "-Wl,-soname,libc.so.6",
                    ])
                    .arg("-o")
                    .arg(libs.join("libc-2.2.5.so"))
                    .arg("stub.c"),
            );
            std::os::unix::fs::symlink("libc-2.2.5.so", libs.join("libc.so.6")).expect("symlink libc.so.6");
            copy("/lib64/ld-linux-x86-64.so.2", &rootfs.join("lib64/ld-linux-x86-64.so.2"));
        }
        Base::NoLibc => {}
    }
    let layout = dir.join("oci");
    let image = format!("{}:base", layout.display());
    let bundle = dir.join("bundle");
    run_tool(Command::new("umoci").args(["init", "--layout"]).arg(&layout));
    run_tool(Command::new("umoci").args(["new", "--image", &image]));
    run_tool(Command::new("umoci").args(["unpack", "--rootless", "--image", &image]).arg(&bundle));
    copy_tree(&rootfs, &bundle.join("rootfs"));
    run_tool(Command::new("umoci").args(["repack", "--image", &image]).arg(&bundle));
    // What real bases set: the image must keep the environment and user, and drop the
    // command and entrypoint (they would run instead of, or be passed to, the binary).
    run_tool(Command::new("umoci").args(["config", "--image", &image]).args(BASE_CONFIG));
    layout
}

/// The runtime config of every test base image (`umoci config` flags).
pub(crate) const BASE_CONFIG: &[&str] = &[
    "--config.env",
    "PATH=/usr/local/bin:/usr/bin:/bin",
    "--config.env",
    "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt",
    "--config.user",
    "65532",
    "--config.entrypoint",
    "/bin/false",
    "--config.cmd",
    "/bin/sh",
    "--config.workingdir",
    "/root",
];

/// Copies a folder's files, folders and symlinks into another (merging).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("list folder") {
        let entry = entry.expect("folder entry");
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().expect("file type");
        if kind.is_symlink() {
            let link = std::fs::read_link(&source).expect("read link");
            std::os::unix::fs::symlink(link, &target).expect("symlink");
        } else if kind.is_dir() {
            copy_tree(&source, &target);
        } else {
            std::fs::copy(&source, &target).expect("copy file");
        }
    }
}

/// Pushes the base image of a layout made by [`make_base`] to `reference` with skopeo, as
/// an OCI image or (`docker_v2`) converted to a Docker v2 schema 2 image.
pub(crate) fn push_layout(layout: &Path, reference: &str, creds: Option<&str>, docker_v2: bool) {
    let mut command = Command::new("skopeo");
    command.args(["copy", "--quiet", "--dest-tls-verify=false"]);
    if docker_v2 {
        command.args(["--format", "v2s2"]);
    }
    if let Some(creds) = creds {
        command.args(["--dest-creds", creds]);
    }
    command.arg(format!("oci:{}:base", layout.display())).arg(format!("docker://{reference}"));
    run_tool(&mut command);
}

/// Makes a base image of `kind` in `dir` and pushes it as `<registry>/<name>:<unique tag>`;
/// returns the reference. (A unique tag: `build` pins a tag to the digest it first pulled,
/// in a cache shared by every test.)
pub(crate) fn push_base(kind: Base, registry: &Registry, dir: &Path, name: &str, creds: Option<&str>) -> String {
    let layout = make_base(kind, dir);
    let reference = format!("{}/{name}:{}", registry.host(), unique("t"));
    push_layout(&layout, &reference, creds, false);
    reference
}

/// `skopeo inspect` of an image: with `what` `--raw` the manifest, `--config` the config,
/// nothing the summary (with `Digest`).
pub(crate) fn inspect(reference: &str, what: Option<&str>, creds: Option<&str>) -> serde_json::Value {
    let mut command = Command::new("skopeo");
    command.args(["inspect", "--tls-verify=false"]);
    command.args(what);
    if let Some(creds) = creds {
        command.args(["--creds", creds]);
    }
    command.arg(format!("docker://{reference}"));
    serde_json::from_slice(&run_tool(&mut command)).expect("skopeo prints JSON")
}

/// Copies a pushed image into an OCI layout with `skopeo copy` and unpacks it with umoci;
/// returns the root filesystem.
pub(crate) fn pull_and_unpack(reference: &str, dir: &Path, creds: Option<&str>) -> PathBuf {
    let layout = dir.join("pulled");
    let mut command = Command::new("skopeo");
    command.args(["copy", "--quiet", "--src-tls-verify=false"]);
    if let Some(creds) = creds {
        command.args(["--src-creds", creds]);
    }
    command.arg(format!("docker://{reference}")).arg(format!("oci:{}:image", layout.display()));
    run_tool(&mut command);
    unpack(&layout, "image", &dir.join("unpacked"))
}

/// `umoci unpack` of `<layout>:<tag>` into `bundle`; returns its root filesystem.
pub(crate) fn unpack(layout: &Path, tag: &str, bundle: &Path) -> PathBuf {
    run_tool(
        Command::new("umoci")
            .args(["unpack", "--rootless", "--image"])
            .arg(format!("{}:{tag}", layout.display()))
            .arg(bundle),
    );
    bundle.join("rootfs")
}

/// Runs `/app/hello` of an unpacked root filesystem with that filesystem's loader and
/// libraries (nothing of the host's), with `PORT` free, and returns what `GET` of each path
/// answers (status, body).
pub(crate) fn run_hello(rootfs: &Path, paths: &[&str]) -> Vec<(u16, String)> {
    let port = free_port();
    let mut child = Command::new(rootfs.join("lib64/ld-linux-x86-64.so.2"))
        .arg("--library-path")
        .arg(rootfs.join("lib/x86_64-linux-gnu"))
        .arg(rootfs.join("app/hello"))
        .env_clear()
        .env("PORT", port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the unpacked binary");
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut answers = Vec::new();
    while answers.len() < paths.len() {
        match http_get(port, paths[answers.len()]) {
            Ok(answer) => answers.push(answer),
            Err(_) if child.try_wait().ok().flatten().is_none() && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(_) => break,
        }
    }
    let _ = child.kill();
    let output = child.wait_with_output().expect("wait for the binary");
    assert_eq!(
        answers.len(),
        paths.len(),
        "the unpacked binary stopped answering on port {port} ({})\n--- stderr ---\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    answers
}

/// An entry of a tar archive, from its ustar header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TarEntry {
    /// Path as stored.
    pub(crate) path: String,
    /// Type flag (`b'0'` file, `b'5'` folder...).
    pub(crate) kind: u8,
    /// Mode bits.
    pub(crate) mode: u64,
    /// Owner ids.
    pub(crate) uid: u64,
    /// Group id.
    pub(crate) gid: u64,
    /// User and group names.
    pub(crate) names: (String, String),
    /// Modification time.
    pub(crate) mtime: u64,
    /// Size.
    pub(crate) size: u64,
}

/// The entries of a gzip-compressed tar (decompressed by `gzip`, headers read here).
pub(crate) fn tar_gz_entries(layer: &Path) -> Vec<TarEntry> {
    let tar = run_tool(Command::new("gzip").arg("-dc").arg(layer));
    let text = |b: &[u8]| String::from_utf8_lossy(b.split(|c| *c == 0).next().unwrap_or_default()).into_owned();
    let octal = |b: &[u8]| u64::from_str_radix(text(b).trim(), 8).unwrap_or_else(|_| panic!("octal field {b:?}"));
    let mut entries = Vec::new();
    let mut offset = 0;
    while offset + 512 <= tar.len() {
        let header = &tar[offset..offset + 512];
        if header.iter().all(|b| *b == 0) {
            break;
        }
        let size = octal(&header[124..136]);
        let prefix = text(&header[345..500]);
        let name = text(&header[0..100]);
        entries.push(TarEntry {
            path: if prefix.is_empty() { name } else { format!("{prefix}/{name}") },
            kind: header[156],
            mode: octal(&header[100..108]),
            uid: octal(&header[108..116]),
            gid: octal(&header[116..124]),
            names: (text(&header[265..297]), text(&header[297..329])),
            mtime: octal(&header[136..148]),
            size,
        });
        let blocks = usize::try_from(size.div_ceil(512)).expect("size fits");
        offset += 512 + blocks * 512;
    }
    entries
}

/// The newest `GLIBC_x.y` a binary references, read by `objdump -p`.
pub(crate) fn glibc_needed(binary: &Path) -> String {
    let dump = String::from_utf8(run_tool(Command::new("objdump").arg("-p").arg(binary))).expect("objdump text");
    let version = |v: &str| v.split('.').map(|p| p.parse::<u32>().unwrap_or(0)).collect::<Vec<_>>();
    dump.split_whitespace()
        .filter_map(|w| w.strip_prefix("GLIBC_"))
        .filter(|v| v.starts_with(|c: char| c.is_ascii_digit()))
        .max_by_key(|v| version(v))
        .expect("the binary references glibc versions")
        .to_owned()
}

/// Builds never overlap: they share one cargo target folder, and the binary `build` reads
/// (`<target>/release/hello`) is the one every copy of hello writes.
static BUILD: Mutex<()> = Mutex::new(());

/// Runs `f` while no build runs (e.g. to read `<target>/release/hello`).
pub(crate) fn between_builds<T>(f: impl FnOnce() -> T) -> T {
    let _guard = BUILD.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    f()
}

/// The cargo target folder every image test builds hello in: beside this test binary's own
/// (`<target>/tests/score-fly-build`), not inside it (the outer cargo holds its lock).
pub(crate) fn shared_target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // <target>/debug/deps/cli-<hash>
    let target = exe.ancestors().nth(3).expect("the test binary is in <target>/<profile>/deps");
    target.join("tests").join("score-fly-build")
}

/// The repository root.
fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("cargo-score-fly is in the repository")
}

/// The greeting hello answers on `/` (without `GREETING`).
pub(crate) const GREETING: &str = "Hello from score-fly!";

/// hello's manifest as a standalone package of `version`.
fn manifest(version: &str) -> String {
    format!(
        "[package]\nname = \"hello\"\nversion = \"{version}\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\nscore-fly-macros = {{ path = {:?} }}\n\n[workspace]\n",
        repository().join("score-fly-macros").display().to_string()
    )
}

/// A standalone copy of `examples/hello` (its dependency on `score-fly-macros` by path, the
/// repository's `Cargo.lock`) in a temporary project.
pub(crate) struct Hello {
    /// The project (the package folder).
    pub(crate) project: Project,
}

impl Hello {
    /// A fresh copy.
    pub(crate) fn new() -> Hello {
        let source = repository().join("examples/hello");
        let project = Project::new();
        project.write("Cargo.toml", manifest("0.1.0"));
        project.write("Cargo.lock", std::fs::read(repository().join("Cargo.lock")).expect("read Cargo.lock"));
        project.write("score.yaml", std::fs::read(source.join("score.yaml")).expect("read hello's score.yaml"));
        project.write("src/main.rs", std::fs::read(source.join("src/main.rs")).expect("read hello's main.rs"));
        Hello { project }
    }

    /// Gives this copy a version of its own, before its source changes.
    ///
    /// Cargo identifies a path package by its name, version and path *relative to its
    /// workspace root*: every copy of hello is one unit in the shared target folder, and a
    /// copy whose source was written before another copy was built looks up to date (with
    /// the other's binary). Unchanged copies can share that unit (same source, same binary);
    /// a changed one must not.
    fn make_private(&self) {
        static PRIVATE: AtomicU32 = AtomicU32::new(1);
        self.project.write("Cargo.toml", manifest(&format!("0.1.{}", PRIVATE.fetch_add(1, Ordering::Relaxed))));
    }

    /// Replaces one line of the service: the greeting.
    pub(crate) fn change_greeting(&self, greeting: &str) {
        self.make_private();
        let path = self.project.path().join("src/main.rs");
        let source = std::fs::read_to_string(&path).expect("read main.rs");
        let changed = source.replacen(&format!("\"{GREETING}\""), &format!("{greeting:?}"), 1);
        assert_ne!(changed, source, "main.rs holds the greeting");
        std::fs::write(&path, changed).expect("write main.rs");
    }

    /// Puts `size` incompressible bytes into the binary (`include_bytes!` of `src/payload.bin`).
    pub(crate) fn add_payload(&self, size: usize) {
        self.make_private();
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut bytes = Vec::with_capacity(size + 8);
        while bytes.len() < size {
            // xorshift64*: deterministic, and gzip cannot shrink it.
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            bytes.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
        }
        bytes.truncate(size);
        self.project.write("src/payload.bin", bytes);
        let path = self.project.path().join("src/main.rs");
        let source = std::fs::read_to_string(&path).expect("read main.rs");
        let opening = "fn main() -> std::io::Result<()> {\n";
        let changed = source.replacen(
            opening,
            &format!("{opening}    std::hint::black_box(include_bytes!(\"payload.bin\"));\n"),
            1,
        );
        assert_ne!(changed, source, "main.rs has `{opening}`");
        std::fs::write(&path, changed).expect("write main.rs");
    }

    /// Makes cargo compile hello again (its source is newer than the last build).
    pub(crate) fn touch(&self) {
        let file = File::options().append(true).open(self.project.path().join("src/main.rs")).expect("open main.rs");
        file.set_modified(std::time::SystemTime::now() + Duration::from_secs(2)).expect("set mtime");
    }

    /// `cargo-score-fly build ARGS` in the package with the shared target folder, offline,
    /// without any Fly or `SOURCE_DATE_EPOCH` variable of the host, plus `env`.
    pub(crate) fn build(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = self.project.command(std::iter::once("build").chain(args.iter().copied()));
        command.env("CARGO_TARGET_DIR", shared_target_dir()).env("CARGO_NET_OFFLINE", "true");
        for var in ["FLY_API_TOKEN", "FLY_ACCESS_TOKEN", "FLY_REGISTRY_HOST", "SOURCE_DATE_EPOCH"] {
            command.env_remove(var);
        }
        command.envs(env.iter().copied());
        let _guard = BUILD.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Run::from(command.output().expect("run cargo-score-fly build"))
    }

    /// `cargo-score-fly ARGS` (not a build) in the package, offline.
    pub(crate) fn cli(&self, args: &[&str]) -> Run {
        self.project.run_env(args, &[("CARGO_NET_OFFLINE", "true")])
    }

    /// The project state (`.score-fly/state.json`), `null` if there is none.
    pub(crate) fn state(&self) -> serde_json::Value {
        match std::fs::read(self.project.path().join(".score-fly/state.json")) {
            Ok(bytes) => serde_json::from_slice(&bytes).expect("the state is JSON"),
            Err(_) => serde_json::Value::Null,
        }
    }

    /// The `--format json` summary of a successful build (its only record).
    pub(crate) fn summary(run: &Run) -> serde_json::Value {
        run.assert_code(0);
        let records: Vec<serde_json::Value> = serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("stdout is a JSON array ({e})\n{}", run.stdout));
        assert_eq!(records.len(), 1, "one package, one record: {}", run.stdout);
        records.into_iter().next().expect("one record")
    }
}

/// A JSON array of strings as a sorted list.
pub(crate) fn strings(value: &serde_json::Value) -> Vec<String> {
    let mut out: Vec<String> = value
        .as_array()
        .unwrap_or_else(|| panic!("{value} is an array"))
        .iter()
        .map(|v| v.as_str().expect("strings").to_owned())
        .collect();
    out.sort();
    out
}

/// An OCI image layout folder written by `build --output-oci`.
pub(crate) struct Layout {
    dir: PathBuf,
}

impl Layout {
    /// The layout in `dir`.
    pub(crate) fn new(dir: impl Into<PathBuf>) -> Layout {
        Layout { dir: dir.into() }
    }

    /// A blob's path.
    pub(crate) fn blob_path(&self, digest: &str) -> PathBuf {
        self.dir.join("blobs/sha256").join(digest.trim_start_matches("sha256:"))
    }

    /// A JSON file of the layout (`index.json`, `oci-layout`) or a JSON blob (by digest).
    pub(crate) fn json(&self, name_or_digest: &str) -> serde_json::Value {
        let path = if name_or_digest.starts_with("sha256:") {
            self.blob_path(name_or_digest)
        } else {
            self.dir.join(name_or_digest)
        };
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
    }

    /// The manifest `index.json` points at (the only one).
    pub(crate) fn manifest(&self) -> serde_json::Value {
        let index = self.json("index.json");
        let manifests = index["manifests"].as_array().expect("index.json lists manifests");
        assert_eq!(manifests.len(), 1, "one image: {index}");
        self.json(manifests[0]["digest"].as_str().expect("a digest"))
    }

    /// The config of the image.
    pub(crate) fn config(&self) -> serde_json::Value {
        self.json(self.manifest()["config"]["digest"].as_str().expect("a config digest"))
    }

    /// The path of the image's last layer (the binary's).
    pub(crate) fn app_layer(&self) -> PathBuf {
        let manifest = self.manifest();
        let layers = manifest["layers"].as_array().expect("layers");
        self.blob_path(layers.last().expect("a layer")["digest"].as_str().expect("a digest"))
    }

    /// Every file of the layout (relative path → bytes).
    pub(crate) fn files(&self) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
        let mut out = std::collections::BTreeMap::new();
        let mut pending = vec![self.dir.clone()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).expect("list the layout") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    let relative = path.strip_prefix(&self.dir).expect("inside").to_path_buf();
                    out.insert(relative, std::fs::read(&path).expect("read a layout file"));
                }
            }
        }
        out
    }
}
