//! `build`: a package's container image without Docker, or a Dockerfile for Fly's remote
//! builder (`--builder dockerfile`).
//!
//! Arguments → settings (as `generate` and `deploy` resolve them, the app prefix through
//! [`super::set_prefix`]) → [`score_fly_core::ops::build`] per chosen package → the images
//! recorded in the project state (`generate` then writes a pushed reference for the
//! workload's image `.`) and, with `--format json`, one [`BuiltImage`] each on stdout.
//! `--output-oci` is checked before anything is built.

use std::path::Path;

use score_fly_core::ops::build::{self as op, BuildOptions, BuiltImage, CompileOptions, Package};
use score_fly_core::provision::definition;
use score_fly_core::state::State;
use score_fly_core::target::FlyTarget;

use super::{Failure, Session};
use crate::cargo::{self, Service};
use crate::cli::{BuildArgs, Builder, Format};
use crate::printer::Printer;
use crate::protected;
use crate::report::CliReporter;
use crate::settings::{Flags, Settings};

/// Runs `build`.
pub fn run(args: &BuildArgs, session: &Session) -> Result<(), Failure> {
    let printer = &session.printer;
    let workspace = cargo::discover(&args.packages, Path::new("."))?;
    if let Some(dir) = &args.output_oci {
        let packages: Vec<&str> = workspace.services.iter().map(|s| s.package.as_str()).collect();
        let mut protected: Vec<_> = workspace.services.iter().flat_map(protected::package_protected).collect();
        protected.extend(protected::workspace_protected(&workspace.root));
        op::check_output_oci(dir, &packages, &protected)?;
    }
    let project = super::open_project_at(&workspace.root, session)?;
    // The settings as generate and deploy resolve them: the prefix is the flag, else the
    // packages' setting; a change is allowed only while nothing exists on Fly under the old one.
    let flags =
        Flags { app_prefix: args.app_prefix.clone(), base_image: args.image.base_image.clone(), ..Flags::default() };
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
    let reporter = CliReporter::new(printer);
    let options = options(args, &workspace.root, &workspace.target_dir, printer);
    let mut built: Vec<BuiltImage> = Vec::new();
    for service in &workspace.services {
        let Some(bin) = &service.bin else {
            return Err(Failure::Invalid(format!(
                "package `{}` has several binaries and none declares the workload: choose the one that ships with --bin",
                service.package
            )));
        };
        let package = package(service, bin, &settings, &args.image.build_env)?;
        let entry = match args.image.builder {
            Builder::Dockerfile => Some(op::dockerfile(&package, &workspace.root, &reporter)?),
            Builder::Native => {
                let app = settings.target.app(service.loaded.workload.name());
                let image = op::native(&package, &options, &settings.target, &app, &reporter)?;
                let entry = image.entry();
                built.push(image);
                entry
            }
        };
        if let Some(entry) = entry {
            state.images.insert(service.loaded.workload.name().to_owned(), entry);
        }
    }
    project.save(&state)?;
    if args.format == Some(Format::Json) {
        printer.stdout(&format!("{}\n", serde_json::to_string_pretty(&built).expect("json")));
    }
    Ok(())
}

/// What the build operation needs of a chosen package: its binary `bin`, its base image from
/// `settings`, its build environment (the `build-env` setting with `build_env_flags` over it).
pub(crate) fn package(
    service: &Service,
    bin: &str,
    settings: &Settings,
    build_env_flags: &[String],
) -> Result<Package, Failure> {
    let origin = format!("the build-env setting of package `{}` (Cargo.toml)", service.package);
    Ok(Package {
        name: service.package.clone(),
        dir: service.dir.clone(),
        binary: bin.to_owned(),
        workload: service.loaded.workload.clone(),
        declared_by_attribute: matches!(service.origin, cargo::Origin::Attribute { .. }),
        build_env: op::build_env(&service.settings.build_env, &origin, build_env_flags)?,
        base_image: settings.base_image_for(&service.package_settings),
    })
}

/// The build options of `args` for the workspace at `root` (cargo's target folder
/// `target_dir` unless `--target-dir`); cargo's own output follows the printer's.
pub(crate) fn options(args: &BuildArgs, root: &Path, target_dir: &Path, printer: &Printer) -> BuildOptions {
    let c = &args.compile;
    BuildOptions {
        workspace_root: root.to_path_buf(),
        target_dir: c.target_dir.clone().unwrap_or_else(|| target_dir.to_path_buf()),
        compile: CompileOptions {
            profile: c.profile.clone(),
            features: c.features.clone(),
            all_features: c.all_features,
            no_default_features: c.no_default_features,
            target_dir: c.target_dir.clone(),
        },
        push: args.push,
        tag: args.tag.clone(),
        output_oci: args.output_oci.clone(),
        pull: args.image.pull,
        quiet: printer.is_quiet(),
        color: printer.styled(),
    }
}
