//! This run's workloads, found: from Score files given on the command line (or
//! `score.yaml`), or — without files, inside a cargo package or workspace — from its packages
//! (`score.yaml` beside `Cargo.toml` or `#[score_workload]` on a binary's `main`; see
//! [`crate::cargo`]). The project (where `.score-fly/` lives) is the current folder for Score
//! files, the workspace root for packages; paths in the state are relative to it. Every
//! workload is loaded and validated here, before anything is locked or written.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use score_fly_core::fly::regions;
use score_fly_core::fsutil;
use score_fly_core::input::{self, ReadError};
use score_fly_core::ops::project::{Input, Sources, declared_inputs, workspace_protected};
use score_fly_core::outputs::Protected;
use score_fly_core::spec::{self, Overrides};
use score_fly_core::state::STATE_DIR;
use score_fly_core::target::FlyTarget;

use crate::cargo;
use crate::cli::WorkloadArgs;
use crate::failure::Failure;
use crate::printer::Printer;
use crate::render;
use crate::settings::{Flags, Settings};

pub use score_fly_core::ops::init::DEFAULT_SCORE_FILE;

/// This run's workloads and settings.
pub struct Found {
    /// What the application layer opens.
    pub sources: Sources,
    /// The run's settings (the target, and per-package values such as the base image).
    pub settings: Settings,
    /// The cargo workspace, when the workloads come from packages.
    pub workspace: Option<cargo::Workspace>,
}

/// Finds and loads this run's workloads and resolves the run's settings (`base_image`: the
/// `--base-image` flag of commands that have one); nothing is locked or written.
pub fn find(args: &WorkloadArgs, base_image: Option<&String>, printer: &Printer) -> Result<Found, Failure> {
    let region = args.region.as_deref().map(|r| checked_region(r, "--region", printer)).transpose()?;
    let flags =
        Flags { app_prefix: args.app_prefix.clone(), org: args.org.clone(), region, base_image: base_image.cloned() };
    let found = if args.files.is_empty() && (args.packages.any() || cargo::find_manifest(Path::new(".")).is_some()) {
        from_packages(args, flags, printer)?
    } else {
        from_files(args, flags, printer)?
    };
    found.sources.check(&[])?;
    Ok(found)
}

/// The sources of a run: `root`, the inputs and their outputs, the settings.
fn sources(
    root: PathBuf,
    inputs: Vec<Input>,
    outputs: Vec<PathBuf>,
    protected: Vec<Protected>,
    settings: &Settings,
    args: &WorkloadArgs,
    from_packages: bool,
) -> Sources {
    Sources {
        root,
        inputs,
        outputs,
        protected,
        target: settings.target.clone(),
        asked_prefix: settings.asked_prefix.clone(),
        from_packages,
        allow_outside_source: args.allow_outside_source,
    }
}

/// Workloads from Score files on the command line (or `score.yaml`); the project is the
/// current folder.
fn from_files(args: &WorkloadArgs, flags: Flags, printer: &Printer) -> Result<Found, Failure> {
    let files = if args.files.is_empty() { vec![PathBuf::from(DEFAULT_SCORE_FILE)] } else { args.files.clone() };
    let overrides = overrides(args, files.len())?;
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for path in &files {
        let text = input::read_document(path).map_err(|e| {
            let e = match e {
                ReadError::Io { source, .. } => source,
                ReadError::NotText { .. } => std::io::Error::other("it is not UTF-8 text"),
                // Too large: the error names the file and the limit.
                other => return Failure::Invalid(format!("Score file {other}")),
            };
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                if path.as_os_str() == DEFAULT_SCORE_FILE {
                    "; create a score.yaml here (`cargo score-fly init` writes a sample) or pass the path of your Score file"
                } else {
                    "; check the path"
                }
            } else {
                ""
            };
            Failure::Invalid(format!("cannot read Score file {}: {e}{hint}", path.display()))
        })?;
        match spec::load(&path.display().to_string(), &text, &overrides) {
            Ok(loaded) => {
                for w in &loaded.warnings {
                    render::diagnostic(printer, &loaded.sources, w, false);
                }
                let patches = args.patch.clone();
                inputs.push(Input { file: path.clone(), dir: None, region: flags.region.clone(), patches, loaded });
            }
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(Failure::InvalidScore(errors));
    }
    check_names(&inputs)?;
    let outputs = output_paths(&inputs, args.output.as_deref(), Path::new(""))?;
    let mut protected = vec![Protected::folder(STATE_DIR, "the project folder")];
    for input in &inputs {
        protected.extend(declared_inputs(Path::new(""), &input.file, None, &input.loaded.workload));
    }
    protected.extend(args.overrides_file.iter().map(|p| Protected::file(p, "the overrides file")));
    let settings = Settings::from_flags(flags)?;
    let sources = sources(PathBuf::new(), inputs, outputs, protected, &settings, args, false);
    Ok(Found { sources, settings, workspace: None })
}

/// Workloads of cargo packages; the project is the workspace root.
fn from_packages(args: &WorkloadArgs, flags: Flags, printer: &Printer) -> Result<Found, Failure> {
    let mut workspace = cargo::discover(&args.packages, Path::new("."))?;
    if flags.region.is_none() {
        check_region_settings(&mut workspace, printer)?;
    }
    let root = workspace.root.clone();
    let overrides = overrides(args, workspace.services.len())?;
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    let mut protected = Vec::new();
    let mut homes = Vec::new();
    protected.extend(args.overrides_file.iter().map(|p| Protected::file(p, "the overrides file")));
    for service in &workspace.services {
        let loaded = if overrides.is_empty() {
            service.loaded.clone()
        } else {
            // Overrides apply to the raw document; re-load it with them.
            let root_node = service.loaded.root.clone();
            match spec::load_tree(root_node, service.loaded.sources.clone(), &overrides) {
                Ok(l) => l,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            }
        };
        for w in &loaded.warnings {
            render::diagnostic(printer, &loaded.sources, w, false);
        }
        // `source` files are relative to the Score file, or to the package folder for an
        // inline attribute.
        protected.extend(crate::protected::package_protected(service));
        let (file, dir) = match &service.origin {
            cargo::Origin::ScoreFile(path) => (path.clone(), None),
            cargo::Origin::Attribute { file: Some(file), .. } => (file.clone(), None),
            cargo::Origin::Attribute { source, file: None } => (source.clone(), Some(service.dir.clone())),
        };
        let region = crate::settings::package_region(&flags, &service.package_settings, &workspace.settings);
        let patches = args.patch.iter().map(|p| within(&root, p)).collect();
        let input = Input { file: within(&root, &file), dir: dir.map(|d| within(&root, &d)), region, patches, loaded };
        protected.extend(declared_inputs(&root, &input.file, input.dir.as_deref(), &input.loaded.workload));
        homes.push(within(&root, &service.dir));
        inputs.push(input);
    }
    if !errors.is_empty() {
        return Err(Failure::InvalidScore(errors));
    }
    check_names(&inputs)?;
    // After the packages': a package at the root names its manifest better.
    protected.extend(workspace_protected(&root));
    let outputs = match &args.output {
        Some(output) => output_paths(&inputs, Some(output), &root)?,
        // Beside each package's Cargo.toml.
        None => inputs
            .iter()
            .zip(&homes)
            .map(|(i, home)| home.join(format!("fly_{}.toml", i.loaded.workload.name())))
            .collect(),
    };
    let own: Vec<&cargo::Settings> = workspace.services.iter().map(|s| &s.package_settings).collect();
    let settings = Settings::resolve(flags, &own, &workspace.settings, FlyTarget::from_env())?;
    let sources = sources(root, inputs, outputs, protected, &settings, args, true);
    Ok(Found { sources, settings, workspace: Some(workspace) })
}

fn overrides(args: &WorkloadArgs, workloads: usize) -> Result<Overrides, Failure> {
    if workloads > 1 && (!args.overrides_file.is_empty() || !args.override_property.is_empty()) {
        return Err(Failure::Invalid(
            "--overrides-file and --override-property apply to one workload; run generate once per workload to override"
                .to_owned(),
        ));
    }
    let mut overrides =
        Overrides { files: Vec::new(), properties: args.override_property.clone(), image: args.image.clone() };
    for path in &args.overrides_file {
        let text = input::read_document(path).map_err(|e| {
            Failure::Invalid(match e {
                ReadError::Io { path, source } => {
                    format!("cannot read overrides file: failed to read {}: {source}", path.display())
                }
                // Too large (naming the file and the limit), not text.
                other => format!("cannot read overrides file: {other}"),
            })
        })?;
        overrides.files.push((path.display().to_string(), text));
    }
    Ok(overrides)
}

/// `path` relative to `root` when below it, else as is.
fn within(root: &Path, path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).map_or_else(|_| path.to_path_buf(), |p| fsutil::normalize(&p));
    absolute.strip_prefix(root).map(Path::to_path_buf).unwrap_or(absolute)
}

fn check_names(inputs: &[Input]) -> Result<(), Failure> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for input in inputs {
        let name = input.loaded.workload.name();
        if !seen.insert(name) {
            return Err(Failure::Invalid(format!(
                "two workloads are named `{name}` (the second in {}); workload names must be unique",
                input.file.display()
            )));
        }
    }
    Ok(())
}

/// `-o`: a file for one workload, a folder for several; relative to the project `root`
/// when given relative.
fn output_paths(inputs: &[Input], output: Option<&Path>, root: &Path) -> Result<Vec<PathBuf>, Failure> {
    let default_name = |input: &Input| format!("fly_{}.toml", input.loaded.workload.name());
    let Some(output) = output else {
        return Ok(inputs.iter().map(|i| PathBuf::from(default_name(i))).collect());
    };
    let named_folder = output.as_os_str().to_string_lossy().ends_with('/');
    let output = if root.as_os_str().is_empty() { output.to_path_buf() } else { within(root, output) };
    let is_dir = named_folder || root.join(&output).is_dir();
    if is_dir {
        return Ok(inputs.iter().map(|i| output.join(default_name(i))).collect());
    }
    if inputs.len() > 1 {
        return Err(Failure::Invalid(format!(
            "-o {} names one file but there are {} workloads; pass a folder (ending in `/`) instead",
            output.display(),
            inputs.len()
        )));
    }
    Ok(vec![output])
}

/// A region given by `what` (a flag or a setting) checked against Fly's list
/// ([`regions::check`]): a deprecated code is replaced by its successor with a warning
/// naming both; an unknown one is an error listing the nearest codes.
fn checked_region(region: &str, what: &str, printer: &Printer) -> Result<String, Failure> {
    let checked = regions::check(region).map_err(|e| Failure::Invalid(format!("{what}: {e}")))?;
    if let Some(replaced) = checked.warning() {
        printer.warning(&format!("{what}: {replaced}"), "");
    }
    Ok(checked.code().to_owned())
}

/// Without `--region`: the `region` settings of the workspace and of each chosen package,
/// checked (and replaced when deprecated) once, before anything reads them.
fn check_region_settings(workspace: &mut cargo::Workspace, printer: &Printer) -> Result<(), Failure> {
    let what = "the `region` setting of [workspace.metadata.score-fly]";
    let shared = workspace.settings.region.as_deref().map(|r| checked_region(r, what, printer)).transpose()?;
    if let Some(code) = &shared {
        workspace.settings.region = Some(code.clone());
    }
    for service in &mut workspace.services {
        let own = match service.package_settings.region.as_deref() {
            Some(r) => {
                Some(checked_region(r, &format!("the `region` setting of package `{}`", service.package), printer)?)
            }
            None => None,
        };
        if let Some(code) = own.clone().or_else(|| shared.clone()) {
            service.settings.region = Some(code);
        }
        service.package_settings.region = own;
    }
    Ok(())
}
