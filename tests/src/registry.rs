//! Real OCI registries and images for tests that build, push and run images.
//!
//! - [`Registry`]: Debian's `docker-registry` serving a temporary folder of its own on a free
//!   loopback port, with a config file of the test's own (open, or htpasswd Basic auth), and
//!   the requests it answered ([`Registry::requests`], read from its log);
//! - base images: [`make_base`] lays out a root filesystem ([`Base`]: this machine's glibc, an
//!   old or no libc, a merged `/usr`) and makes an OCI layout of it with `umoci`;
//!   [`push_layout`] and [`push_base`] push it with `skopeo`;
//! - reading images back: [`inspect`] and [`manifest_descriptor`] (`skopeo inspect`),
//!   [`pull_and_unpack`] (`skopeo copy` then `umoci unpack`) and [`unpack`];
//! - running what an image holds: [`rootfs_command`] runs a binary of an unpacked root
//!   filesystem with that filesystem's own loader and libraries, nothing of the host's;
//! - plain HTTP/1.1 on loopback ([`http_request`], [`http_get`], [`http_put`]), to talk to
//!   the registry and to the services run from images.
//!
//! The tools are required, never optional: [`require_tools`] fails the test, naming the
//! Debian packages to install (`scripts/test.sh` installs them). Nothing here reads
//! score-fly's code: images are checked with the registry's own tools.
//!
//! ```no_run
//! use score_fly_tests::registry::{Base, Registry, inspect, push_base};
//!
//! let registry = Registry::start();
//! let work = tempfile::tempdir().unwrap();
//! let base = push_base(Base::Glibc, &registry, work.path(), "base", None);
//! assert!(inspect(&base, None, None)["Digest"].is_string());
//! ```

use std::fmt::Write as _;
use std::fs::File;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;

use crate::free_port;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const TOOLS: &[(&str, &str)] = &[
    ("docker-registry", "docker-registry"),
    ("skopeo", "skopeo"),
    ("umoci", "umoci"),
    ("htpasswd", "apache2-utils"),
    ("cc", "gcc"),
    ("objdump", "binutils"),
    ("gzip", "gzip"),
];

/// Fails (never skips) when a tool the registry and image tests need is missing, naming the
/// Debian packages to install.
pub fn require_tools() {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let missing: Vec<&(&str, &str)> =
        TOOLS.iter().filter(|(tool, _)| !std::env::split_paths(&path).any(|dir| dir.join(tool).is_file())).collect();
    assert!(
        missing.is_empty(),
        "the registry and image tests need {} on PATH; install them with `apt-get install {}` (scripts/test.sh installs the registry tools)",
        missing.iter().map(|(t, _)| *t).collect::<Vec<_>>().join(", "),
        missing.iter().map(|(_, p)| *p).collect::<Vec<_>>().join(" ")
    );
}

/// Runs a command and returns its stdout; panics with both streams if it fails.
pub fn run_tool(command: &mut Command) -> Vec<u8> {
    try_run_tool(command).unwrap_or_else(|error| panic!("{error}"))
}

/// [`run_tool`] that returns the failure (the command, its status and both streams) instead
/// of panicking: for the fake flyctl, which must answer with an error, never a panic.
pub fn try_run_tool(command: &mut Command) -> Result<Vec<u8>, String> {
    let output = command.output().map_err(|e| format!("run {command:?}: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{command:?} failed ({})\n--- stdout ---\n{}\n--- stderr ---\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(output.stdout)
}

/// A unique suffix for names within this test process (tags, repositories).
pub fn unique(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{prefix}{}-{}-{}", std::process::id(), nanos % 1_000_000_000, COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// One plain HTTP/1.1 request on loopback (`Connection: close`, a 10 s read timeout), with a
/// body of this content type if any: (status, body).
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    body: Option<(&str, &[u8])>,
) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    if let Some((content_type, bytes)) = body {
        write!(head, "Content-Type: {content_type}\r\nContent-Length: {}\r\n", bytes.len()).expect("string");
    }
    head.push_str("Connection: close\r\n\r\n");
    stream.write_all(head.as_bytes())?;
    if let Some((_, bytes)) = body {
        stream.write_all(bytes)?;
    }
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((text.as_str(), ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok((status, body.to_owned()))
}

/// `GET` of [`http_request`].
pub fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    http_request(port, "GET", path, None)
}

/// `PUT` of [`http_request`].
pub fn http_put(port: u16, path: &str, content_type: &str, body: &[u8]) -> std::io::Result<(u16, String)> {
    http_request(port, "PUT", path, Some((content_type, body)))
}

/// The manifest of a pushed image exactly as stored: (digest, size, media type).
pub fn manifest_descriptor(reference: &str) -> (String, usize, String) {
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
pub struct Request {
    /// `GET`, `HEAD`, `POST`, `PATCH`, `PUT`...
    pub method: String,
    /// Path and query as sent.
    pub uri: String,
    /// Status answered.
    pub status: u16,
}

impl Request {
    /// Whether it writes to the registry (starts, sends or finishes an upload, or stores a
    /// manifest).
    pub fn writes(&self) -> bool {
        matches!(self.method.as_str(), "POST" | "PATCH" | "PUT" | "DELETE")
    }

    /// The digest of a finished blob upload (`PUT .../blobs/uploads/...?digest=` answered 201).
    pub fn uploaded_digest(&self) -> Option<String> {
        if self.method != "PUT" || self.status != 201 || !self.uri.contains("/blobs/uploads/") {
            return None;
        }
        let query = self.uri.split_once('?')?.1;
        let digest = query.split('&').find_map(|p| p.strip_prefix("digest="))?;
        Some(digest.replace("%3A", ":").replace("%3a", ":"))
    }
}

/// A `docker-registry` serving a folder of its own on a loopback port.
pub struct Registry {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
    markers: AtomicU32,
}

impl Registry {
    /// An open registry.
    pub fn start() -> Registry {
        Registry::start_with(None, true)
    }

    /// An open registry that logs only warnings (no access log, so [`Registry::requests`]
    /// is empty): for benchmarks, where a log line per request is time not spent by a real
    /// registry's client.
    pub fn start_quiet() -> Registry {
        Registry::start_with(None, false)
    }

    /// A registry that accepts only user `x` with `token` (htpasswd, Basic auth).
    pub fn with_token(token: &str) -> Registry {
        Registry::start_with(Some(token), true)
    }

    fn start_with(token: Option<&str>, access_log: bool) -> Registry {
        require_tools();
        let dir = tempfile::tempdir().expect("create the registry folder");
        let mut auth = String::new();
        if let Some(token) = token {
            let line = run_tool(Command::new("htpasswd").args(["-nbB", "x", token]));
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, line).expect("write htpasswd");
            writeln!(auth, "auth: {{htpasswd: {{realm: basic-realm, path: {}}}}}", file.display()).expect("string");
        }
        let log_config = if access_log { "{level: info}" } else { "{level: warn, accesslog: {disabled: true}}" };
        // A port can be taken between choosing and binding it: try a few.
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            let config = dir.path().join("config.yml");
            std::fs::write(
                &config,
                format!(
                    "version: 0.1\nlog: {log_config}\nstorage: {{filesystem: {{rootdirectory: {}}}, delete: {{enabled: true}}}}\nhttp: {{addr: 127.0.0.1:{port}}}\n{auth}",
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
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Everything it logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    /// Every request it answered so far, in order. A marker request is made first and waited
    /// for, so every request a finished client made is in the log.
    pub fn requests(&self) -> Vec<Request> {
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
pub enum Base {
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
pub fn make_base(kind: Base, dir: &Path) -> PathBuf {
    make_base_with(kind, dir, &|_| {})
}

/// [`make_base`] with more in its one layer: `add` writes into the root filesystem (its
/// argument) before the layer is made.
pub fn make_base_with(kind: Base, dir: &Path, add: &dyn Fn(&Path)) -> PathBuf {
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
    add(&rootfs);
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

/// Adds a layer to the image `base` of a layout made by [`make_base`] that removes `paths`
/// (relative to the root): umoci writes them as whiteouts (`.wh.<name>`).
pub fn remove_in_new_layer(layout: &Path, paths: &[&str]) {
    let image = format!("{}:base", layout.display());
    let bundle = layout.with_extension("whiteout-bundle");
    run_tool(Command::new("umoci").args(["unpack", "--rootless", "--image", &image]).arg(&bundle));
    for path in paths {
        let path = bundle.join("rootfs").join(path);
        std::fs::remove_file(&path).unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
    }
    run_tool(Command::new("umoci").args(["repack", "--image", &image]).arg(&bundle));
}

/// The runtime config of every test base image (`umoci config` flags).
pub const BASE_CONFIG: &[&str] = &[
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
pub fn push_layout(layout: &Path, reference: &str, creds: Option<&str>, docker_v2: bool) {
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
pub fn push_base(kind: Base, registry: &Registry, dir: &Path, name: &str, creds: Option<&str>) -> String {
    let layout = make_base(kind, dir);
    let reference = format!("{}/{name}:{}", registry.host(), unique("t"));
    push_layout(&layout, &reference, creds, false);
    reference
}

/// `skopeo inspect` of an image: with `what` `--raw` the manifest, `--config` the config,
/// nothing the summary (with `Digest`).
pub fn inspect(reference: &str, what: Option<&str>, creds: Option<&str>) -> serde_json::Value {
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
pub fn pull_and_unpack(reference: &str, dir: &Path, creds: Option<&str>) -> PathBuf {
    pull(reference, dir, creds).unwrap_or_else(|error| panic!("{error}")).rootfs
}

/// An image [`pull`] copied and unpacked.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The unpacked root filesystem.
    pub rootfs: PathBuf,
    /// The image's runtime config (the `config` object of the OCI image config:
    /// `Entrypoint`, `Cmd`, `Env`, `WorkingDir`, `User`...).
    pub config: serde_json::Value,
}

/// [`pull_and_unpack`] that also reads the image's runtime config, and returns a failure
/// (skopeo's or umoci's message) instead of panicking.
pub fn pull(reference: &str, dir: &Path, creds: Option<&str>) -> Result<Pulled, String> {
    let layout = dir.join("pulled");
    let mut command = Command::new("skopeo");
    command.args(["copy", "--quiet", "--src-tls-verify=false"]);
    if let Some(creds) = creds {
        command.args(["--src-creds", creds]);
    }
    command.arg(format!("docker://{reference}")).arg(format!("oci:{}:image", layout.display()));
    try_run_tool(&mut command)?;
    let rootfs = try_unpack(&layout, "image", &dir.join("unpacked"))?;
    // index.json → the manifest → its config blob (one image was copied, so one manifest).
    let blob = |digest: &serde_json::Value| -> Result<serde_json::Value, String> {
        let digest = digest.as_str().ok_or("a descriptor without a digest")?;
        let path = layout.join("blobs").join(digest.replacen(':', "/", 1));
        let bytes = std::fs::read(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
        serde_json::from_slice(&bytes).map_err(|e| format!("{} is not JSON: {e}", path.display()))
    };
    let index = layout.join("index.json");
    let index: serde_json::Value = std::fs::read(&index)
        .map_err(|e| format!("read {}: {e}", index.display()))
        .and_then(|b| serde_json::from_slice(&b).map_err(|e| format!("index.json is not JSON: {e}")))?;
    let manifest = blob(&index["manifests"][0]["digest"])?;
    let config = blob(&manifest["config"]["digest"])?["config"].clone();
    Ok(Pulled { rootfs, config })
}

/// `umoci unpack` of `<layout>:<tag>` into `bundle`; returns its root filesystem.
pub fn unpack(layout: &Path, tag: &str, bundle: &Path) -> PathBuf {
    try_unpack(layout, tag, bundle).unwrap_or_else(|error| panic!("{error}"))
}

fn try_unpack(layout: &Path, tag: &str, bundle: &Path) -> Result<PathBuf, String> {
    try_run_tool(
        Command::new("umoci")
            .args(["unpack", "--rootless", "--image"])
            .arg(format!("{}:{tag}", layout.display()))
            .arg(bundle),
    )?;
    Ok(bundle.join("rootfs"))
}

/// A command that runs `binary` (a path inside `rootfs`, e.g. `app/hello`) of an unpacked
/// root filesystem with that filesystem's own x86-64 loader and libraries (nothing of the
/// host's), in an empty environment and with stdin closed.
pub fn rootfs_command(rootfs: &Path, binary: &str) -> Command {
    let mut command = Command::new(rootfs.join("lib64/ld-linux-x86-64.so.2"));
    command
        .arg("--library-path")
        .arg(rootfs.join("lib/x86_64-linux-gnu"))
        .arg(rootfs.join(binary))
        .env_clear()
        .stdin(Stdio::null());
    command
}
