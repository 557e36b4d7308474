//! Building a package's container image without Docker (cargo, then the image assembled
//! on a base and written to an OCI layout and/or pushed), or writing a Dockerfile for Fly's
//! remote builder.
//!
//! [`native`]: everything that can be checked without the binary is checked before cargo
//! runs (the host, `SOURCE_DATE_EPOCH`, the base reference and the base itself, pulled once
//! and cached under the target folder or read from an `oci:`/`oci-archive:` path); then
//! `cargo build` of the binary, the workload it carries checked against its source, the
//! binary checked against the base (glibc, shared libraries), a reproducible image
//! assembled (the binary as one layer) and written to an OCI layout and/or pushed to the
//! target's registry. The report is a [`BuiltImage`]; what the project state records is
//! [`BuiltImage::entry`].
//!
//! [`dockerfile`] writes a multi-stage Dockerfile (and a `.dockerignore`) instead, for hosts
//! that cannot build Linux x86-64 binaries.

mod cargo;
pub mod crates;
mod error;
pub mod git;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

pub use error::BuildError;

pub use super::event::BuildEvent;
use super::event::{Event, Reporter};
use crate::fsutil::{self, PendingWrite};
use crate::image::{self, BaseRef, BlobCache, Credentials, Reference, Registry};
use crate::outputs::{self, Output, Protected};
use crate::spec::{Protocol, Workload};
use crate::state::ImageEntry;
use crate::target::FlyTarget;

/// One package to build: what the command line found in cargo's metadata and settings.
#[derive(Debug, Clone)]
pub struct Package {
    /// The package name.
    pub name: String,
    /// The folder of its `Cargo.toml`.
    pub dir: PathBuf,
    /// The binary that ships.
    pub binary: String,
    /// Its workload.
    pub workload: Workload,
    /// Whether the workload is declared by `#[score_workload]`: the binary must then carry it.
    pub declared_by_attribute: bool,
    /// The build-time environment (the `build-env` setting with `--build-env` over it:
    /// [`build_env`]).
    pub build_env: BTreeMap<String, String>,
    /// The base image reference, as written (a registry reference, `oci:PATH[:TAG]`,
    /// `oci-archive:PATH[:TAG]`).
    pub base_image: String,
}

/// cargo's compile flags, passed on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompileOptions {
    /// `--profile` (else `--release`).
    pub profile: Option<String>,
    /// `--features`.
    pub features: Vec<String>,
    /// `--all-features`.
    pub all_features: bool,
    /// `--no-default-features`.
    pub no_default_features: bool,
    /// `--target-dir`.
    pub target_dir: Option<PathBuf>,
}

/// How to build.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// The cargo workspace root (cargo runs there).
    pub workspace_root: PathBuf,
    /// Cargo's target folder (the base image cache is `score-fly/oci` below it).
    pub target_dir: PathBuf,
    /// cargo's flags.
    pub compile: CompileOptions,
    /// Push to the target's registry.
    pub push: bool,
    /// The image tag (default `sf-<first 12 hex digits of the digest>`).
    pub tag: Option<String>,
    /// Write the image into this OCI image layout.
    pub output_oci: Option<PathBuf>,
    /// Ask the registry for the base tag's current image instead of a cached pin.
    pub pull: bool,
    /// cargo's own output: `--quiet`.
    pub quiet: bool,
    /// cargo's own output: `--color always`.
    pub color: bool,
}

/// One image built: what `build --format json` prints for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuiltImage {
    /// The package.
    pub package: String,
    /// Its workload.
    pub workload: String,
    /// The binary cargo built.
    pub binary: PathBuf,
    /// The image manifest's digest.
    pub digest: String,
    /// Its tag.
    pub tag: String,
    /// The OCI image layout it was written to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oci_layout: Option<PathBuf>,
    /// Where it was pushed (its fields sit beside the others in JSON).
    #[serde(flatten)]
    pub pushed: Option<Pushed>,
    /// The git commit it was built from (`org.opencontainers.image.revision`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// Tracked files differed from that commit (`dev.score-fly.dirty`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dirty: bool,
    /// The digest of the SBOM artifact (a referrer of the image).
    pub sbom: String,
    /// The crates the SBOM lists, the package's own included.
    pub crates: usize,
}

/// A push.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pushed {
    /// `<registry>/<app>:<tag>`.
    pub reference: String,
    /// The digests of the blobs uploaded (the others were there or mounted).
    pub uploaded: Vec<String>,
    /// Their bytes.
    pub uploaded_bytes: u64,
}

impl BuiltImage {
    /// What the project state records for the workload: the pushed reference (`generate`
    /// then writes it for the workload's image `.`); nothing for an image not pushed.
    pub fn entry(&self) -> Option<ImageEntry> {
        self.pushed.as_ref().map(|p| ImageEntry::Pushed {
            reference: p.reference.clone(),
            digest: self.digest.clone(),
            revision: self.revision.clone(),
            dirty: self.dirty,
        })
    }
}

/// The build-time environment of `package`: its `build-env` setting (read from `origin`, for
/// messages) with `flags` (`NAME=VALUE`) over it; a value that looks secret is refused.
pub fn build_env(
    setting: &BTreeMap<String, String>,
    origin: &str,
    flags: &[String],
) -> Result<BTreeMap<String, String>, BuildError> {
    image::build_env::merge(setting, origin, flags).map_err(BuildError::BuildEnv)
}

/// Checks `--output-oci DIR` before anything is built: one package (`packages`: the chosen
/// ones), no `protected` path in or at it, and a new or empty folder or an OCI image layout.
pub fn check_output_oci(dir: &Path, packages: &[&str], protected: &[Protected]) -> Result<(), BuildError> {
    if packages.len() > 1 {
        return Err(BuildError::OutputOciSeveral {
            dir: dir.to_path_buf(),
            packages: packages.iter().map(|&p| p.to_owned()).collect(),
        });
    }
    let output = Output::folder(dir, "--output-oci", "choose a folder of its own for --output-oci");
    outputs::check(protected, &[output]).map_err(|e| BuildError::OutputRefused(Box::new(e)))?;
    Ok(image::check_layout_dir(dir)?)
}

/// Builds `package`'s image natively for `app` of `target` (its registry and token).
pub fn native(
    package: &Package,
    options: &BuildOptions,
    target: &FlyTarget,
    app: &str,
    reporter: &dyn Reporter,
) -> Result<BuiltImage, BuildError> {
    if !(cfg!(target_os = "linux") && cfg!(target_arch = "x86_64")) {
        return Err(BuildError::HostCannotBuild { os: std::env::consts::OS, arch: std::env::consts::ARCH });
    }
    let mtime = image::layer::source_date_epoch()?;

    // The base first: a wrong reference or a base that cannot be had fails in seconds,
    // not after a build of minutes.
    let base_ref = BaseRef::parse(&package.base_image).map_err(BuildError::BadBase)?;
    let cache = BlobCache::new(options.target_dir.join("score-fly").join("oci"));
    let started = Instant::now();
    let base = match &base_ref {
        BaseRef::Registry(reference) => {
            let credentials = (reference.host == target.registry_host).then(|| fly_credentials(target)).flatten();
            image::pull_base(reference, &cache, &Registry::new(reference, credentials), options.pull)
        }
        BaseRef::Local(local) => image::local::load(local, &cache),
    }?;
    let shown_base = base_ref.to_string();
    emit(reporter, BuildEvent::Base { base: &shown_base, digest: &base.manifest_digest, elapsed: started.elapsed() });
    if let Some(pinned) = &base.pinned {
        emit(reporter, BuildEvent::BasePinned { base: &shown_base, digest: &pinned.digest, age: pinned.age });
    }

    if !package.build_env.is_empty() {
        emit(reporter, BuildEvent::BuildEnv { names: package.build_env.keys().map(String::as_str).collect() });
    }
    // The sources as committed, read before cargo runs (cargo may rewrite Cargo.lock).
    let provenance = git::provenance(&package.dir);
    let binary_path = cargo::build(&package.name, &package.binary, options, &package.build_env)?;
    let binary =
        std::fs::read(&binary_path).map_err(|source| BuildError::ReadBinary { path: binary_path.clone(), source })?;
    check_embedded(&binary, package, &binary_path)?;
    image::check_binary(&binary, &package.binary, &binary_path.display().to_string(), &base, &cache)?;

    let (root, crates) = crates::crates(&package.name, &options.workspace_root, &options.compile, &package.build_env)
        .map_err(|why| BuildError::Sbom { package: package.name.clone(), why })?;
    // `created`: SOURCE_DATE_EPOCH when set, else the commit's time (never the clock).
    let epoch_set = std::env::var("SOURCE_DATE_EPOCH").is_ok_and(|v| !v.trim().is_empty());
    let created = if epoch_set { Some(mtime) } else { provenance.commit_time };
    let annotations = annotations(&provenance, created, &root.version);
    let bom = image::sbom::Bom { root, crates, timestamp: created };
    let listed = bom.crates.len() + 1;
    let spec = image::ImageSpec {
        binary: &binary,
        binary_name: &package.binary,
        exposed_ports: exposed_ports(&package.workload),
        mtime,
        annotations,
    };
    let built = image::assemble(&spec, &base)?;
    let sbom = image::sbom::Artifact::new(&built, image::sbom::cyclonedx(&bom), created.map(image::rfc3339).as_deref());
    let tag = options.tag.clone().unwrap_or_else(|| default_tag(&built.digest));
    let mut image = BuiltImage {
        package: package.name.clone(),
        workload: package.workload.name().to_owned(),
        binary: binary_path,
        digest: built.digest.clone(),
        tag,
        oci_layout: None,
        pushed: None,
        revision: provenance.revision.clone(),
        dirty: provenance.dirty,
        sbom: sbom.digest.clone(),
        crates: listed,
    };
    if let Some(dir) = &options.output_oci {
        let written = image::write_layout(&built, &cache, dir, &image.tag, Some(&sbom))?;
        emit(reporter, BuildEvent::WroteLayout { dir, tag: &image.tag, digest: &image.digest, report: &written });
        image.oci_layout = Some(dir.clone());
    }
    if options.push {
        let credentials = fly_credentials(target)
            .ok_or_else(|| BuildError::NoToken { registry: target.registry_host.clone(), app: app.to_owned() })?;
        let destination = Reference::parse(&target.image_ref(app, &image.tag))
            .map_err(|why| BuildError::ImageName { app: app.to_owned(), why })?;
        let registry = Registry::new(&destination, Some(credentials));
        let mount_from = match &base_ref {
            BaseRef::Registry(r) if r.host == destination.host => Some(r.repository.as_str()),
            _ => None,
        };
        let pushed = image::push(&built, &cache, &registry, &destination, mount_from, &mut |e| {
            emit(reporter, BuildEvent::Push(&e));
        })?;
        let reference = destination.to_string();
        let how = image::sbom::push(&sbom, &registry, &destination.repository, &built.digest)?;
        emit(
            reporter,
            BuildEvent::Pushed {
                reference: &reference,
                digest: &image.digest,
                uploaded: pushed.uploaded.len(),
                blobs: pushed.uploaded.len() + pushed.reused,
                bytes: pushed.bytes,
            },
        );
        emit(reporter, BuildEvent::SbomAttached { reference: &reference, digest: &sbom.digest, how, crates: listed });
        image.pushed = Some(Pushed { reference, uploaded: pushed.uploaded, uploaded_bytes: pushed.bytes });
    } else if options.output_oci.is_none() {
        emit(reporter, BuildEvent::BuiltNotPushed { package: &package.name, digest: &image.digest });
    }
    Ok(image)
}

/// Builds binary `binary` of package `package` with cargo as [`native`] does (the same
/// arguments from `options.compile`, `env` added, cargo's diagnostics on stderr) and returns
/// the executable's path: for running it on this machine (`cargo score-fly dev`).
pub fn compile(
    package: &str,
    binary: &str,
    options: &BuildOptions,
    env: &BTreeMap<String, String>,
) -> Result<PathBuf, BuildError> {
    cargo::build(package, binary, options, env)
}

/// The image manifest's annotations (also its config's labels): the package version, and
/// from git the commit, the remote (credentials removed) and `dev.score-fly.dirty=true` for
/// a tree with uncommitted changes; `created` from `SOURCE_DATE_EPOCH` or the commit time.
/// What is unknown is left out.
fn annotations(provenance: &git::Provenance, created: Option<u64>, version: &str) -> BTreeMap<String, String> {
    use image::oci;
    let mut out = BTreeMap::from([(oci::VERSION.to_owned(), version.to_owned())]);
    if let Some(seconds) = created {
        out.insert(oci::CREATED.to_owned(), image::rfc3339(seconds));
    }
    if let Some(revision) = &provenance.revision {
        out.insert(oci::REVISION.to_owned(), revision.clone());
    }
    if let Some(source) = &provenance.source {
        out.insert(oci::SOURCE.to_owned(), source.clone());
    }
    if provenance.dirty {
        out.insert(oci::DIRTY.to_owned(), "true".to_owned());
    }
    out
}

/// Sends a build event.
fn emit(reporter: &dyn Reporter, event: BuildEvent<'_>) {
    reporter.event(Event::Build(event));
}

/// `sf-` and the first 12 hex digits of the image digest.
fn default_tag(digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!("sf-{}", hex.get(..12).unwrap_or(hex))
}

/// The workload's ports as the image exposes them (`8080/tcp`).
fn exposed_ports(workload: &Workload) -> Vec<String> {
    let Some(service) = &workload.service else { return Vec::new() };
    service
        .ports
        .values()
        .map(|p| format!("{}/{}", p.target(), if p.protocol() == Protocol::Udp { "udp" } else { "tcp" }))
        .collect()
}

/// The binary must carry the workload the source declares (when it was built with the
/// attribute): otherwise the image would not match what is deployed.
fn check_embedded(binary: &[u8], package: &Package, path: &Path) -> Result<(), BuildError> {
    let Some(embedded) = crate::spec::embedded::find_embedded(binary) else {
        if package.declared_by_attribute {
            return Err(BuildError::EmbeddedMissing { path: path.to_path_buf() });
        }
        return Ok(());
    };
    let embedded: serde_json::Value = serde_json::from_str(embedded)
        .map_err(|source| BuildError::EmbeddedInvalid { path: path.to_path_buf(), source })?;
    let declared = serde_json::to_value(&package.workload).expect("workloads serialise");
    if embedded != declared {
        return Err(BuildError::EmbeddedMismatch { path: path.to_path_buf() });
    }
    Ok(())
}

/// The target's Fly token as registry credentials (user `x`).
pub(super) fn fly_credentials(target: &FlyTarget) -> Option<Credentials> {
    Some(Credentials { username: "x".to_owned(), password: target.registry_password()? })
}

/// The first line of comment of the Dockerfiles [`dockerfile`] writes.
pub const DOCKERFILE_MARK: &str = "# Written by `cargo score-fly build --builder dockerfile`";

/// Writes the Dockerfile (and a `.dockerignore` when there is none) for Fly's remote builder
/// into the workspace `root`: `Dockerfile` for a package at the root, `<package>.Dockerfile`
/// otherwise. An existing Dockerfile is replaced only if score-fly wrote it. Returns what the
/// project state records.
pub fn dockerfile(package: &Package, root: &Path, reporter: &dyn Reporter) -> Result<ImageEntry, BuildError> {
    let single = package.dir == root;
    let name = if single { "Dockerfile".to_owned() } else { format!("{}.Dockerfile", package.name) };
    let path = root.join(&name);
    let ignorefile = root.join(".dockerignore");
    check_ours(root, &name)?;
    let text = image::dockerfile::dockerfile(&package.name, &package.binary, &package.build_env)
        .map_err(BuildError::Dockerfile)?;
    let mut writes = vec![PendingWrite::new(path.clone(), text.into_bytes())];
    if !ignorefile.exists() {
        writes.push(PendingWrite::new(ignorefile, image::dockerfile::DOCKERIGNORE.as_bytes().to_vec()));
    }
    fsutil::write_all_atomic(&writes)?;
    emit(reporter, BuildEvent::WroteDockerfile { path: &path });
    Ok(ImageEntry::Dockerfile { dockerfile: PathBuf::from(name), ignorefile: PathBuf::from(".dockerignore") })
}

/// An existing Dockerfile is replaced only if score-fly wrote it: a user's own one (or a
/// link, a FIFO...) is refused, never overwritten.
fn check_ours(root: &Path, name: &str) -> Result<(), BuildError> {
    let path = root.join(name);
    let Ok(meta) = std::fs::symlink_metadata(&path) else { return Ok(()) };
    let ours = meta.is_file()
        && fsutil::read_inside(root, Path::new(name), crate::limits::MAX_DOCUMENT_BYTES)
            .ok()
            .flatten()
            .is_some_and(|bytes| String::from_utf8_lossy(&bytes).lines().any(|l| l.starts_with(DOCKERFILE_MARK)));
    if ours {
        return Ok(());
    }
    Err(BuildError::NotOurDockerfile { path: shown(&path) })
}

/// `path` as messages show it: relative to the current folder when below it.
fn shown(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd).unwrap_or(path).to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(yaml: &str) -> Workload {
        crate::spec::load_str("score.yaml", yaml).expect("valid").workload
    }

    const WEB: &str = "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: .\nservice:\n  ports:\n    http:\n      port: 80\n      targetPort: 8080\n    dns:\n      port: 53\n      protocol: UDP\n";

    fn package(workload: Workload, by_attribute: bool) -> Package {
        Package {
            name: "web".into(),
            dir: PathBuf::from("/ws/web"),
            binary: "web".into(),
            workload,
            declared_by_attribute: by_attribute,
            build_env: BTreeMap::new(),
            base_image: "gcr.io/distroless/cc-debian12".into(),
        }
    }

    #[test]
    fn ports_are_exposed_with_their_protocol() {
        let mut ports = exposed_ports(&workload(WEB));
        ports.sort();
        assert_eq!(ports, ["53/udp", "8080/tcp"]);
        let no_service = "apiVersion: score.dev/v1b1\nmetadata:\n  name: worker\ncontainers:\n  main:\n    image: .\n";
        assert!(exposed_ports(&workload(no_service)).is_empty());
    }

    #[test]
    fn annotations_say_what_git_knows_and_leave_out_the_rest() {
        use image::oci;
        let none = annotations(&git::Provenance::default(), None, "1.2.3");
        assert_eq!(none, BTreeMap::from([(oci::VERSION.to_owned(), "1.2.3".to_owned())]), "no git, no time");
        let provenance = git::Provenance {
            revision: Some("ab".repeat(20)),
            dirty: true,
            commit_time: Some(1_600_000_000),
            source: Some("https://example.com/acme/web.git".into()),
        };
        let all = annotations(&provenance, Some(1_700_000_000), "1.2.3");
        assert_eq!(all[oci::REVISION], "ab".repeat(20));
        assert_eq!(all[oci::SOURCE], "https://example.com/acme/web.git");
        assert_eq!(all[oci::CREATED], "2023-11-14T22:13:20Z");
        assert_eq!(all[oci::DIRTY], "true");
        let clean = git::Provenance { dirty: false, ..provenance };
        assert!(!annotations(&clean, None, "1").contains_key(oci::DIRTY));
    }

    #[test]
    fn the_default_tag_is_the_digests_start() {
        let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
        assert_eq!(default_tag(&digest), "sf-0123456789ab");
    }

    #[test]
    fn the_embedded_workload_must_be_the_declared_one() {
        let w = workload(WEB);
        let json = serde_json::to_string(&w).expect("json");
        let path = Path::new("target/release/web");
        let mut binary = b"\x7fELF".to_vec();
        binary.extend(crate::spec::embedded::embedded(&json));
        assert!(check_embedded(&binary, &package(w.clone(), true), path).is_ok());

        let other = workload(&WEB.replace("targetPort: 8080", "targetPort: 9090"));
        let e = check_embedded(&binary, &package(other, true), path).unwrap_err();
        assert!(matches!(e, BuildError::EmbeddedMismatch { .. }), "{e}");

        let plain = b"\x7fELF no workload".to_vec();
        let e = check_embedded(&plain, &package(w.clone(), true), path).unwrap_err();
        assert!(matches!(e, BuildError::EmbeddedMissing { .. }), "{e}");
        assert!(check_embedded(&plain, &package(w.clone(), false), path).is_ok(), "a Score file's binary need not");

        let mut broken = b"\x7fELF".to_vec();
        broken.extend(crate::spec::embedded::embedded("{not json"));
        let e = check_embedded(&broken, &package(w, false), path).unwrap_err();
        assert!(matches!(e, BuildError::EmbeddedInvalid { .. }), "{e}");
    }

    #[test]
    fn the_report_keeps_its_json_field_names_and_records_only_a_push() {
        let mut image = BuiltImage {
            package: "web".into(),
            workload: "web".into(),
            binary: PathBuf::from("/t/web"),
            digest: "sha256:ab".into(),
            tag: "v1".into(),
            oci_layout: None,
            pushed: None,
            revision: None,
            dirty: false,
            sbom: "sha256:cd".into(),
            crates: 1,
        };
        let json = serde_json::to_value(&image).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"package": "web", "workload": "web", "binary": "/t/web", "digest": "sha256:ab", "tag": "v1", "sbom": "sha256:cd", "crates": 1})
        );
        image.revision = Some("0123".into());
        image.dirty = true;
        assert_eq!(image.entry(), None);
        image.oci_layout = Some(PathBuf::from("oci"));
        image.pushed =
            Some(Pushed { reference: "r/acme-web:v1".into(), uploaded: vec!["sha256:cd".into()], uploaded_bytes: 7 });
        let json = serde_json::to_value(&image).expect("json");
        assert_eq!(json["oci_layout"], "oci");
        assert_eq!(json["reference"], "r/acme-web:v1");
        assert_eq!(json["uploaded"], serde_json::json!(["sha256:cd"]));
        assert_eq!(json["uploaded_bytes"], 7);
        assert_eq!(json["revision"], "0123");
        assert_eq!(json["dirty"], true);
        assert_eq!(
            image.entry(),
            Some(ImageEntry::Pushed {
                reference: "r/acme-web:v1".into(),
                digest: "sha256:ab".into(),
                revision: Some("0123".into()),
                dirty: true
            })
        );
    }

    #[test]
    fn a_dockerfile_of_the_users_is_never_replaced() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let mut p = package(workload(WEB), false);
        p.dir = root.to_path_buf();
        std::fs::write(root.join("Dockerfile"), "FROM scratch\n").expect("write");
        let e = dockerfile(&p, root, &crate::ops::event::Silent).unwrap_err();
        assert!(matches!(e, BuildError::NotOurDockerfile { .. }), "{e}");
        assert_eq!(std::fs::read_to_string(root.join("Dockerfile")).expect("read"), "FROM scratch\n");
        assert!(!root.join(".dockerignore").exists(), "nothing written");

        std::fs::remove_file(root.join("Dockerfile")).expect("remove");
        let entry = dockerfile(&p, root, &crate::ops::event::Silent).expect("written");
        assert_eq!(
            entry,
            ImageEntry::Dockerfile { dockerfile: "Dockerfile".into(), ignorefile: ".dockerignore".into() }
        );
        let text = std::fs::read_to_string(root.join("Dockerfile")).expect("read");
        assert!(text.lines().any(|l| l.starts_with(DOCKERFILE_MARK)), "{text}");
        dockerfile(&p, root, &crate::ops::event::Silent).expect("ours is replaced");
    }
}
