//! What the image tests run against beyond the registries, base images and image readers of
//! [`score_fly_tests::registry`]: a standalone copy of `examples/hello` built in the cargo
//! target folder shared by every test that builds a service
//! ([`score_fly_tests::shared_target_dir`]), hello run from an unpacked image, and readers of
//! what `build --output-oci` writes (an OCI layout, and a ustar reader for its layers).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use score_fly_tests::free_port;
use score_fly_tests::registry::{http_get, rootfs_command, run_tool};

use crate::support::{Project, Run};

/// Runs `/app/hello` of an unpacked root filesystem with that filesystem's loader and
/// libraries (nothing of the host's), with `PORT` free, and returns what `GET` of each path
/// answers (status, body).
pub(crate) fn run_hello(rootfs: &Path, paths: &[&str]) -> Vec<(u16, String)> {
    let port = free_port();
    let mut child = rootfs_command(rootfs, "app/hello")
        .env("PORT", port.to_string())
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

/// Runs `f` while no build runs (e.g. to read `<target>/release/hello`: the binary every
/// copy of hello writes in the shared target folder).
pub(crate) fn between_builds<T>(f: impl FnOnce() -> T) -> T {
    let _guard = score_fly_tests::build_lock();
    f()
}

/// The cargo target folder every image test builds hello in (see
/// [`score_fly_tests::shared_target_dir`]).
pub(crate) fn shared_target_dir() -> PathBuf {
    score_fly_tests::shared_target_dir()
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

    /// A copy of hello changed as a user's service would be: `Cargo.toml` of `version` with
    /// `extra` appended (e.g. a `[package.metadata.score-fly]` table), `main.rs` passed
    /// through `edit`. Copies with the same version must have the same source (they share
    /// one unit in the shared target folder, see [`Hello::make_private`]).
    pub(crate) fn variant(version: &str, extra: &str, edit: impl FnOnce(String) -> String) -> Hello {
        let hello = Hello::new();
        hello.project.write("Cargo.toml", format!("{}{extra}", manifest(version)));
        let path = hello.project.path().join("src/main.rs");
        let source = std::fs::read_to_string(&path).expect("read main.rs");
        let changed = edit(source.clone());
        assert_ne!(changed, source, "the variant changes main.rs");
        std::fs::write(&path, changed).expect("write main.rs");
        hello
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
        let _guard = score_fly_tests::build_lock();
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

    /// The image manifest `index.json` points at (the only one; its SBOM referrer aside).
    pub(crate) fn manifest(&self) -> serde_json::Value {
        let index = self.json("index.json");
        let manifests: Vec<&serde_json::Value> = index["manifests"]
            .as_array()
            .expect("index.json lists manifests")
            .iter()
            .filter(|m| m.get("artifactType").is_none())
            .collect();
        assert_eq!(manifests.len(), 1, "one image: {index}");
        self.json(manifests[0]["digest"].as_str().expect("a digest"))
    }

    /// The SBOM referrers `index.json` lists (`artifactType` CycloneDX): their manifests.
    pub(crate) fn referrers(&self) -> Vec<serde_json::Value> {
        let index = self.json("index.json");
        index["manifests"]
            .as_array()
            .expect("index.json lists manifests")
            .iter()
            .filter(|m| m["artifactType"] == "application/vnd.cyclonedx+json")
            .map(|m| self.json(m["digest"].as_str().expect("a digest")))
            .collect()
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
