//! `build`: a package's container image without Docker.
//!
//! For each chosen package: `cargo build` its binary (release by default, cargo's flags
//! respected, `build-env` in its environment), check that the binary carries the workload
//! the source declares, refuse a binary that needs a newer glibc or a shared library the base
//! lacks, assemble a reproducible image (the binary as one layer), and write it into an OCI
//! layout and/or push it to Fly's registry. Everything that can be checked without the
//! binary is checked before cargo runs: the base reference (and the base itself, pulled once
//! and cached under the target folder, or read from an `oci:`/`oci-archive:` path), the
//! `--output-oci` folder, the build environment. The pushed reference is
//! recorded in the project state: `generate` then writes it for the workload's image `.`.
//!
//! `--builder dockerfile` instead writes a multi-stage Dockerfile for Fly's remote builder,
//! for hosts that cannot build Linux x86-64 binaries.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use std::collections::BTreeMap;

use score_fly_core::image::{self, BaseRef, BlobCache, Credentials, PushEvent, Reference, Registry};
use score_fly_core::outputs::{self, Output};
use score_fly_core::provision::definition;
use score_fly_core::state::{ImageEntry, State};
use score_fly_core::target::FlyTarget;

use super::{Failure, Session};
use crate::cargo::{self, Service};
use crate::cli::{BuildArgs, Builder, Format};
use crate::settings::{Flags, Settings};

/// Runs `build`.
pub fn run(args: &BuildArgs, session: &Session) -> Result<(), Failure> {
    let printer = &session.printer;
    let workspace = cargo::discover(&args.packages, Path::new("."))?;
    if let Some(dir) = &args.output_oci {
        check_output_oci(dir, &workspace)?;
    }
    let project = super::open_project_at(&workspace.root, session)?;
    // The settings as generate and deploy resolve them: the prefix is the flag, else the
    // packages' setting; a change is allowed only while nothing exists on Fly under the old one.
    let flags = Flags { app_prefix: args.app_prefix.clone(), base_image: args.base_image.clone(), ..Flags::default() };
    let own: Vec<&cargo::Settings> = workspace.services.iter().map(|s| &s.package_settings).collect();
    let mut settings = Settings::resolve(flags, &own, &workspace.settings, FlyTarget::from_env())?;
    let asked = settings.asked_prefix.clone();
    let mut state = match project.load()? {
        Some(mut state) => {
            if let Some(prefix) = &asked {
                let defs = definition::load_all(&project.dir())?;
                super::set_prefix(&mut state, prefix, &defs, session)?;
            }
            state
        }
        None => State::new(asked.unwrap_or_default()),
    };
    settings.with_project_prefix(&state.app_prefix);
    let mut summary = Vec::new();
    for service in &workspace.services {
        let app = settings.target.app(service.loaded.workload.name());
        let Some(bin) = service.bin.clone() else {
            return Err(Failure::Invalid(format!(
                "package `{}` has several binaries and none declares the workload: choose the one that ships with --bin",
                service.package
            )));
        };
        let entry = match args.builder {
            Builder::Dockerfile => dockerfile_with(service, &bin, &workspace.root, session, &args.build_env)?,
            Builder::Native => native(args, &settings, service, &bin, &app, &workspace, session, &mut summary)?,
        };
        if let Some(entry) = entry {
            state.images.insert(service.loaded.workload.name().to_owned(), entry);
        }
    }
    project.save(&state)?;
    if args.format == Some(Format::Json) {
        printer.stdout(&format!("{}\n", serde_json::to_string_pretty(&summary).expect("json")));
    }
    Ok(())
}

/// `--output-oci DIR` holds one image layout and nothing else: not the project, not a
/// package, not `.score-fly/`.
fn check_output_oci(dir: &Path, workspace: &cargo::Workspace) -> Result<(), Failure> {
    if workspace.services.len() > 1 {
        let packages: Vec<&str> = workspace.services.iter().map(|s| s.package.as_str()).collect();
        return Err(Failure::Invalid(format!(
            "--output-oci {} holds one image, but {} packages are chosen ({}): choose one with -p",
            dir.display(),
            packages.len(),
            packages.join(", ")
        )));
    }
    let mut protected = Vec::new();
    for service in &workspace.services {
        protected.extend(crate::sources::package_protected(service));
    }
    protected.extend(score_fly_core::ops::project::workspace_protected(&workspace.root));
    let output = Output::folder(dir, "--output-oci", "choose a folder of its own for --output-oci");
    outputs::check(&protected, &[output]).map_err(|e| Failure::Invalid(e.to_string()))?;
    image::check_layout_dir(dir).map_err(|e| image_failure(&e))
}

/// The build-time environment: the `build-env` setting, overridden by `--build-env`.
fn build_env(flags: &[String], service: &Service) -> Result<BTreeMap<String, String>, Failure> {
    image::build_env::merge(
        &service.settings.build_env,
        &format!("the build-env setting of package `{}` (Cargo.toml)", service.package),
        flags,
    )
    .map_err(|e| Failure::Invalid(format!("failed to {e}")))
}

pub(crate) fn dockerfile(
    service: &Service,
    bin: &str,
    root: &Path,
    session: &Session,
) -> Result<Option<ImageEntry>, Failure> {
    dockerfile_with(service, bin, root, session, &[])
}

/// [`dockerfile`] with `--build-env` flags.
fn dockerfile_with(
    service: &Service,
    bin: &str,
    root: &Path,
    session: &Session,
    build_env_flags: &[String],
) -> Result<Option<ImageEntry>, Failure> {
    let env = build_env(build_env_flags, service)?;
    let single = service.dir == root;
    let name = if single { "Dockerfile".to_owned() } else { format!("{}.Dockerfile", service.package) };
    let dockerfile = root.join(&name);
    let ignorefile = root.join(".dockerignore");
    check_ours(root, &name)?;
    let mut writes = vec![score_fly_core::fsutil::PendingWrite::new(
        dockerfile.clone(),
        image::dockerfile::dockerfile(&service.package, bin, &env)
            .map_err(|e| Failure::Invalid(format!("failed to {e}")))?
            .into_bytes(),
    )];
    if !ignorefile.exists() {
        writes.push(score_fly_core::fsutil::PendingWrite::new(
            ignorefile.clone(),
            image::dockerfile::DOCKERIGNORE.as_bytes().to_vec(),
        ));
    }
    score_fly_core::fsutil::write_all_atomic(&writes).map_err(|e| Failure::Error(e.to_string()))?;
    session.printer.status(
        "Wrote",
        &format!(
            "{} for Fly's remote builder (context: the workspace root); `generate` points fly.toml at it",
            cargo::relative(&dockerfile)
        ),
    );
    Ok(Some(ImageEntry::Dockerfile { dockerfile: PathBuf::from(name), ignorefile: PathBuf::from(".dockerignore") }))
}

/// The first line of comment of the Dockerfiles `--builder dockerfile` writes.
const DOCKERFILE_MARK: &str = "# Written by `cargo score-fly build --builder dockerfile`";

/// An existing Dockerfile is replaced only if score-fly wrote it: a user's own one (or a
/// link, a FIFO...) is refused, never overwritten.
fn check_ours(root: &Path, name: &str) -> Result<(), Failure> {
    let path = root.join(name);
    let Ok(meta) = std::fs::symlink_metadata(&path) else { return Ok(()) };
    let ours = meta.is_file()
        && score_fly_core::fsutil::read_inside(root, Path::new(name), score_fly_core::limits::MAX_DOCUMENT_BYTES)
            .ok()
            .flatten()
            .is_some_and(|bytes| String::from_utf8_lossy(&bytes).lines().any(|l| l.starts_with(DOCKERFILE_MARK)));
    if ours {
        return Ok(());
    }
    Err(Failure::Invalid(format!(
        "{} exists and score-fly did not write it (it lacks the line `{DOCKERFILE_MARK} ...`); move it away to let `--builder dockerfile` write one, or build natively",
        cargo::relative(&path)
    )))
}

/// Builds a package's image natively; `settings` give the base image, the registry and the
/// token.
#[expect(clippy::too_many_arguments, reason = "one build step's inputs, passed through from build and deploy")]
pub(crate) fn native(
    args: &BuildArgs,
    settings: &Settings,
    service: &Service,
    bin: &str,
    app: &str,
    workspace: &cargo::Workspace,
    session: &Session,
    summary: &mut Vec<serde_json::Value>,
) -> Result<Option<ImageEntry>, Failure> {
    let printer = &session.printer;
    if !(cfg!(target_os = "linux") && cfg!(target_arch = "x86_64")) {
        return Err(Failure::Invalid(format!(
            "this host ({}/{}) cannot build Linux x86-64 binaries for Fly; run `cargo score-fly build --builder dockerfile` to build on Fly's remote builder instead",
            std::env::consts::OS,
            std::env::consts::ARCH
        )));
    }
    let mtime = image::layer::source_date_epoch().map_err(Failure::Invalid)?;
    let env = build_env(&args.build_env, service)?;

    // The base first: a wrong reference or a base that cannot be had fails in seconds,
    // not after a build of minutes.
    let target = &settings.target;
    let base_text = settings.base_image_for(&service.package_settings);
    let base_ref = BaseRef::parse(&base_text).map_err(|e| Failure::Invalid(format!("base image: {e}")))?;
    let target_dir = args.compile.target_dir.clone().unwrap_or_else(|| workspace.target_dir.clone());
    let cache = BlobCache::new(target_dir.join("score-fly").join("oci"));
    let registry_host = &target.registry_host;
    let started = Instant::now();
    let base = match &base_ref {
        BaseRef::Registry(reference) => {
            let credentials = (&reference.host == registry_host).then(|| fly_credentials(target)).flatten();
            image::pull_base(reference, &cache, &Registry::new(reference, credentials), args.pull)
        }
        BaseRef::Local(local) => image::local::load(local, &cache),
    }
    .map_err(|e| image_failure(&e))?;
    printer.verbose(&format!("base image {base_ref} is {} ({:?})", base.manifest_digest, started.elapsed()));
    if let Some(pinned) = &base.pinned {
        printer.status(
            "Using",
            &format!(
                "base image {base_ref} as pinned {}: {} (cached; --pull asks the registry for the tag's current image)",
                pinned.age.map_or_else(|| "earlier".to_owned(), |age| format!("{} ago", human_age(age))),
                pinned.digest
            ),
        );
    }

    let binary_path = cargo_build(args, service, bin, workspace, &env, session)?;
    let binary = std::fs::read(&binary_path)
        .map_err(|e| Failure::Error(format!("cannot read the binary {}: {e}", binary_path.display())))?;
    check_embedded(&binary, service, &binary_path)?;
    image::check_binary(&binary, bin, &binary_path.display().to_string(), &base, &cache)
        .map_err(|e| image_failure(&e))?;

    let exposed_ports: Vec<String> = service
        .loaded
        .workload
        .service
        .as_ref()
        .map(|s| {
            s.ports
                .values()
                .map(|p| {
                    format!(
                        "{}/{}",
                        p.target(),
                        if p.protocol() == score_fly_core::spec::Protocol::Udp { "udp" } else { "tcp" }
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let spec = image::ImageSpec { binary: &binary, binary_name: bin, exposed_ports, mtime };
    let built = image::assemble(&spec, &base).map_err(|e| image_failure(&e))?;
    let tag =
        args.tag.clone().unwrap_or_else(|| format!("sf-{}", &built.digest["sha256:".len().."sha256:".len() + 12]));
    let mut record = serde_json::json!({
        "package": service.package,
        "workload": service.loaded.workload.name(),
        "binary": binary_path,
        "digest": built.digest,
        "tag": tag,
    });
    if let Some(dir) = &args.output_oci {
        let written = image::write_layout(&built, &cache, dir, &tag).map_err(|e| image_failure(&e))?;
        let mut notes = Vec::new();
        if written.replaced {
            notes.push(format!("replaced the earlier {tag}"));
        }
        if !written.kept.is_empty() {
            notes.push(format!("kept {}", written.kept.join(", ")));
        }
        if written.removed > 0 {
            notes.push(format!("removed {} blobs no tag uses", written.removed));
        }
        let note = if notes.is_empty() { String::new() } else { format!("; {}", notes.join("; ")) };
        printer.status("Wrote", &format!("OCI image layout {} ({tag}, {}{note})", cargo::relative(dir), built.digest));
        record["oci_layout"] = serde_json::json!(dir);
    }
    let mut entry = None;
    if args.push {
        let credentials = fly_credentials(target).ok_or_else(|| {
            Failure::Invalid(format!(
                "pushing to {registry_host} needs a Fly token: set FLY_API_TOKEN (e.g. from `fly tokens create deploy -a {app}`)"
            ))
        })?;
        let target = Reference::parse(&target.image_ref(app, &tag))
            .map_err(|e| Failure::Invalid(format!("image name for app `{app}`: {e}")))?;
        let registry = Registry::new(&target, Some(credentials));
        let mount_from = match &base_ref {
            BaseRef::Registry(r) if r.host == target.host => Some(r.repository.as_str()),
            _ => None,
        };
        let mut progress = Progress::new(printer);
        let report = image::push(&built, &cache, &registry, &target, mount_from, &mut |e| progress.event(&e))
            .map_err(|e| image_failure(&e))?;
        progress.finish();
        printer.status(
            "Pushed",
            &format!(
                "{target} ({}; {} of {} blobs uploaded, {})",
                built.digest,
                report.uploaded.len(),
                report.uploaded.len() + report.reused,
                human_bytes(report.bytes)
            ),
        );
        record["reference"] = serde_json::json!(target.to_string());
        record["uploaded"] = serde_json::json!(report.uploaded);
        record["uploaded_bytes"] = serde_json::json!(report.bytes);
        entry = Some(ImageEntry::Pushed { reference: target.to_string(), digest: built.digest.clone() });
    } else if args.output_oci.is_none() {
        printer.status(
            "Built",
            &format!("image {} for {} (not pushed: add --push, or --output-oci DIR)", built.digest, service.package),
        );
    }
    summary.push(record);
    Ok(entry)
}

/// `cargo build` of one binary; returns its path.
fn cargo_build(
    args: &BuildArgs,
    service: &Service,
    bin: &str,
    workspace: &cargo::Workspace,
    env: &BTreeMap<String, String>,
    session: &Session,
) -> Result<PathBuf, Failure> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    if !env.is_empty() {
        // Names only: values may be long, and are the user's business.
        session.printer.verbose(&format!("build-env: {}", env.keys().cloned().collect::<Vec<_>>().join(", ")));
    }
    command.envs(env);
    command.current_dir(&workspace.root).args([
        "build",
        "--message-format=json-render-diagnostics",
        "-p",
        &service.package,
        "--bin",
        bin,
    ]);
    let c = &args.compile;
    match &c.profile {
        Some(profile) => {
            command.args(["--profile", profile]);
        }
        None => {
            command.arg("--release");
        }
    }
    if !c.features.is_empty() {
        command.args(["--features", &c.features.join(",")]);
    }
    if c.all_features {
        command.arg("--all-features");
    }
    if c.no_default_features {
        command.arg("--no-default-features");
    }
    if let Some(dir) = &c.target_dir {
        command.arg("--target-dir").arg(dir);
    }
    if session.printer.is_quiet() {
        command.arg("--quiet");
    }
    if session.printer.styled() {
        command.args(["--color", "always"]);
    }
    command.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = command.spawn().map_err(|e| Failure::Error(format!("cannot run cargo: {e}")))?;
    let stdout = child.stdout.take().expect("piped");
    let mut executable = None;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
        if message["reason"] == "compiler-artifact"
            && message["target"]["name"] == bin
            && message["target"]["kind"].as_array().is_some_and(|k| k.iter().any(|k| k == "bin"))
        {
            executable = message["executable"].as_str().map(PathBuf::from);
        }
    }
    let status = child.wait().map_err(|e| Failure::Error(format!("cannot wait for cargo: {e}")))?;
    if !status.success() {
        return Err(Failure::Error(format!(
            "cargo build of `{}` (binary `{bin}`) failed; see cargo's output above",
            service.package
        )));
    }
    executable
        .ok_or_else(|| Failure::Error(format!("cargo built `{}` but reported no `{bin}` executable", service.package)))
}

/// The binary must carry the workload the source declares (when it was built with the
/// attribute): otherwise the image would not match what is deployed.
fn check_embedded(binary: &[u8], service: &Service, path: &Path) -> Result<(), Failure> {
    let Some(embedded) = score_fly_core::attr::find_embedded(binary) else {
        if matches!(service.origin, cargo::Origin::Attribute { .. }) {
            return Err(Failure::Error(format!(
                "{} carries no #[score_workload] although its source declares one; was it built from other sources?",
                path.display()
            )));
        }
        return Ok(());
    };
    let embedded: serde_json::Value = serde_json::from_str(embedded)
        .map_err(|e| Failure::Error(format!("the workload embedded in {} is not valid JSON: {e}", path.display())))?;
    let declared = serde_json::to_value(&service.loaded.workload).expect("workloads serialise");
    if embedded != declared {
        return Err(Failure::Invalid(format!(
            "{} carries a different workload than its source declares (built with other features or sources?); rebuild, or check #[score_workload] and the Score file",
            path.display()
        )));
    }
    Ok(())
}

/// The target's Fly token as registry credentials (user `x`).
fn fly_credentials(target: &FlyTarget) -> Option<Credentials> {
    Some(Credentials { username: "x".to_owned(), password: target.registry_password()? })
}

fn image_failure(e: &image::ImageError) -> Failure {
    match e {
        image::ImageError::Glibc { .. }
        | image::ImageError::NoGlibc { .. }
        | image::ImageError::MissingLibraries { .. }
        | image::ImageError::NotALayout { .. }
        | image::ImageError::Local(_)
        | image::ImageError::Registry(image::RegistryError::Unauthorized { .. }) => Failure::Invalid(e.to_string()),
        _ => Failure::Error(e.to_string()),
    }
}

/// `40 s`, `12 min`, `5 h`, `3 days`.
fn human_age(age: std::time::Duration) -> String {
    let s = age.as_secs();
    match s {
        0..120 => format!("{s} s"),
        120..7200 => format!("{} min", s / 60),
        7200..172_800 => format!("{} h", s / 3600),
        _ => format!("{} days", s / 86_400),
    }
}

fn human_bytes(bytes: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "display only")]
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / 1024.0 / 1024.0)
    } else if b >= 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

/// Upload progress: a bar per blob (bytes and rate) on a terminal, a line per blob otherwise.
/// Blobs go up concurrently, so bars are keyed by digest.
struct Progress<'p> {
    printer: &'p crate::printer::Printer,
    bars: indicatif::MultiProgress,
    active: std::collections::BTreeMap<String, indicatif::ProgressBar>,
}

impl<'p> Progress<'p> {
    fn new(printer: &'p crate::printer::Printer) -> Self {
        Progress { printer, bars: indicatif::MultiProgress::new(), active: std::collections::BTreeMap::new() }
    }

    fn event(&mut self, event: &PushEvent) {
        match event {
            PushEvent::Skipped { digest, size } => {
                self.printer.verbose(&format!("{} already in the registry ({})", short(digest), human_bytes(*size)));
            }
            PushEvent::Mounted { digest } => {
                self.printer.verbose(&format!("{} mounted from the base image", short(digest)));
            }
            PushEvent::Uploading { digest, size } => {
                if self.printer.is_terminal() && !self.printer.is_quiet() {
                    let bar = self.bars.add(indicatif::ProgressBar::new(*size));
                    bar.set_style(
                        indicatif::ProgressStyle::with_template(
                            "   Uploading {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                        )
                        .expect("valid template")
                        .progress_chars("=> "),
                    );
                    bar.set_message(short(digest));
                    self.active.insert(digest.clone(), bar);
                } else {
                    self.printer.status("Uploading", &format!("{} ({})", short(digest), human_bytes(*size)));
                }
            }
            PushEvent::Progress { digest, sent } => {
                if let Some(bar) = self.active.get(digest) {
                    bar.set_position(*sent);
                }
            }
            PushEvent::Uploaded { digest } => {
                if let Some(bar) = self.active.remove(digest) {
                    bar.finish_and_clear();
                }
            }
        }
    }

    fn finish(&mut self) {
        for (_, bar) in std::mem::take(&mut self.active) {
            bar.finish_and_clear();
        }
    }
}

fn short(digest: &str) -> String {
    digest.trim_start_matches("sha256:").chars().take(12).collect()
}
