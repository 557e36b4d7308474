//! `generate`: adds Score workloads to the project, provisions their resources, and writes
//! one `fly_<name>.toml` per workload of the project.
//!
//! Order: every Score file is loaded and validated first (nothing is touched on bad input);
//! then the project is locked, the workloads join those of earlier runs, every resource
//! gets a provisioner (or the run stops, naming what has none), resources are provisioned
//! (the state is saved as they complete), every workload is converted, and only when all
//! of that worked are the outputs written (all or nothing) and the workloads recorded.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use score_fly_core::fly::{self, ConvertOptions, LocalFiles};
use score_fly_core::fsutil::{self, PendingWrite};
use score_fly_core::provision::{self, Outcome, ProvisionOptions, Provisioning, definition};
use score_fly_core::spec::node::FieldPath;
use score_fly_core::spec::{self, Loaded, Overrides, Workload};
use score_fly_core::state::{State, WorkloadEntry};

use super::{CliEvents, Failure, Session, open_project};
use crate::cli::GenerateArgs;
use crate::render;

/// The default Score file name.
pub const DEFAULT_SCORE_FILE: &str = "score.yaml";

/// One Score file of this run, loaded.
struct Input {
    path: PathBuf,
    loaded: Loaded,
}

/// A workload of the project to convert (from this run or an earlier one).
struct Target {
    name: String,
    entry: WorkloadEntry,
    /// Set for workloads of this run: warnings and errors point into the file.
    loaded: Option<Loaded>,
}

/// Runs `generate`.
pub fn run(args: &GenerateArgs, session: &Session) -> Result<(), Failure> {
    let printer = &session.printer;
    let files = if args.files.is_empty() { vec![PathBuf::from(DEFAULT_SCORE_FILE)] } else { args.files.clone() };
    if files.len() > 1 && (!args.overrides_file.is_empty() || !args.override_property.is_empty()) {
        return Err(Failure::Invalid(
            "--overrides-file and --override-property apply to one Score file; run generate once per file to override"
                .to_owned(),
        ));
    }
    let mut overrides =
        Overrides { files: Vec::new(), properties: args.override_property.clone(), image: args.image.clone() };
    for path in &args.overrides_file {
        let text =
            fsutil::read_to_string(path).map_err(|e| Failure::Invalid(format!("cannot read overrides file: {e}")))?;
        overrides.files.push((path.display().to_string(), text));
    }

    let inputs = load_all(&files, &overrides, session)?;
    check_names(&inputs)?;
    let outputs = output_paths(&inputs, args.output.as_deref())?;
    check_outputs_spare_inputs(&outputs, files.iter().chain(&args.overrides_file))?;

    let project = open_project(session)?;
    let existing = project.load()?;
    let mut state = match existing {
        Some(state) => {
            if !args.app_prefix.is_empty() && args.app_prefix != state.app_prefix {
                return Err(Failure::Invalid(format!(
                    "the project's app prefix is `{}` and cannot change; drop --app-prefix or pass `{}`",
                    state.app_prefix, state.app_prefix
                )));
            }
            state
        }
        None => State::new(args.app_prefix.clone()),
    };

    // This run's workloads join (or replace) those of earlier runs.
    let mut targets: BTreeMap<String, Target> = state
        .workloads
        .iter()
        .map(|(name, entry)| (name.clone(), Target { name: name.clone(), entry: entry.clone(), loaded: None }))
        .collect();
    for (input, output) in inputs.into_iter().zip(outputs) {
        let name = input.loaded.workload.name().to_owned();
        if let Some(previous) = targets.get(&name).filter(|t| t.entry.file != input.path) {
            printer.verbose(&format!(
                "workload `{name}` was added from {}; {} replaces it",
                previous.entry.file.display(),
                input.path.display()
            ));
        }
        let entry = WorkloadEntry { file: input.path.clone(), output, spec: input.loaded.workload.clone() };
        targets.insert(name.clone(), Target { name, entry, loaded: Some(input.loaded) });
    }
    let workloads: BTreeMap<String, Workload> =
        targets.iter().map(|(name, t)| (name.clone(), t.entry.spec.clone())).collect();

    // Before provisioning anything: every problem that does not depend on outputs, and a
    // provisioner for every resource.
    let defs = definition::load_all(&project.dir())?;
    let plan = preflight(&targets, &workloads, &defs, &state.app_prefix)?;
    let events = CliEvents::new(printer);
    let run = Provisioning {
        defs: &defs,
        workloads: &workloads,
        options: ProvisionOptions { jobs: args.jobs, reprovision: args.reprovision },
        project_root: project.root(),
        events: &events,
    };
    let had_state = project.state_path().exists();
    let report = provision::execute(&plan, run, &mut state, &mut |s| {
        // Saving is only needed once something exists; a project without resources gets
        // its state when the run succeeds.
        if had_state || !s.resources.is_empty() { project.save(s) } else { Ok(()) }
    })?;
    let failures = report.failures();
    if !failures.is_empty() {
        let done = report.outcomes.values().filter(|o| matches!(o, Outcome::Provisioned | Outcome::Reused)).count();
        return Err(Failure::Error(format!(
            "{}\n{} of {} resources are ready and kept in the project state; fix the problem and run generate again to continue",
            failures.join("\n"),
            done,
            report.outcomes.len()
        )));
    }

    // Convert every workload of the project.
    let mut converted = Vec::new();
    let mut problems = Vec::new();
    for target in targets.values() {
        let options = ConvertOptions {
            app_prefix: state.app_prefix.clone(),
            score_dir: absolute(target.entry.file.parent().unwrap_or(Path::new("")))?,
            out_dir: absolute(target.entry.output.parent().unwrap_or(Path::new("")))?,
            resources: provision::outputs_for(&target.name, &target.entry.spec, &state),
            preflight: false,
        };
        match fly::convert(&target.entry.spec, &options, &LocalFiles) {
            Ok(conversion) => {
                for w in &conversion.warnings {
                    match &target.loaded {
                        Some(l) => printer
                            .warning(&w.to_string(), &render::snippet(&l.sources, l.locate(&w.path), printer.styled())),
                        None => printer.warning(&format!("{} (workload `{}`)", w, target.name), ""),
                    }
                }
                converted.push((target, options.out_dir, conversion));
            }
            Err(e) => problems.push((e, target.loaded.clone())),
        }
    }
    if !problems.is_empty() {
        return Err(Failure::Unconvertible(problems));
    }

    // Everything to write, then write it all or nothing.
    let mut writes: Vec<PendingWrite> = Vec::new();
    for (target, out_dir, conversion) in &converted {
        for file in &conversion.generated_files {
            writes.push(PendingWrite::new(out_dir.join(&file.path), file.bytes.clone()));
        }
        let text = format!(
            "# Generated by score-fly from {}. Edit the Score file, not this file.\n\n{}",
            target.entry.file.display(),
            conversion.to_toml()
        );
        writes.push(PendingWrite::new(target.entry.output.clone(), text.into_bytes()));
    }
    let with_secrets: Vec<(&str, &BTreeMap<String, score_fly_core::secret::Secret>)> = converted
        .iter()
        .filter(|(_, _, c)| !c.secrets.is_empty())
        .map(|(_, _, c)| (c.config.app.as_str(), &c.secrets))
        .collect();
    let stdout_secrets = secrets_output(args.secrets_file.as_deref(), &with_secrets, &mut writes)?;

    fsutil::write_all_atomic(&writes).map_err(|e| Failure::Error(e.to_string()))?;
    state.workloads = targets.iter().map(|(name, t)| (name.clone(), t.entry.clone())).collect();
    project.save(&state)?;

    for write in &writes {
        printer.verbose(&format!("wrote {}", write.path.display()));
    }
    for (target, _, conversion) in &converted {
        printer.status("Generated", &format!("{} (app {})", target.entry.output.display(), conversion.config.app));
    }
    if let Some(text) = stdout_secrets {
        printer.stdout(&text);
    } else if args.secrets_file.is_none() {
        for (app, secrets) in &with_secrets {
            let names: Vec<&str> = secrets.keys().map(String::as_str).collect();
            printer.warning(
                &format!(
                    "app {app} needs {} secret{} that fly.toml does not hold ({}): write them with --secrets-file and import them with `fly secrets import -a {app} < FILE`",
                    names.len(),
                    if names.len() == 1 { "" } else { "s" },
                    names.join(", ")
                ),
                "",
            );
        }
    }
    Ok(())
}

/// Converts every workload without outputs and plans its resources; reports all problems
/// of both, located in the Score files of this run.
fn preflight(
    targets: &BTreeMap<String, Target>,
    workloads: &BTreeMap<String, Workload>,
    defs: &[definition::Located],
    app_prefix: &str,
) -> Result<provision::Plan, Failure> {
    let mut problems: BTreeMap<&str, Vec<fly::Problem>> = BTreeMap::new();
    for target in targets.values() {
        let options = ConvertOptions {
            app_prefix: app_prefix.to_owned(),
            score_dir: absolute(target.entry.file.parent().unwrap_or(Path::new("")))?,
            out_dir: absolute(target.entry.output.parent().unwrap_or(Path::new("")))?,
            resources: BTreeMap::new(),
            preflight: true,
        };
        if let Err(e) = fly::convert(&target.entry.spec, &options, &LocalFiles) {
            problems.entry(target.name.as_str()).or_default().extend(e.problems);
        }
    }
    let plan = match provision::plan(workloads, defs) {
        Ok(plan) => Some(plan),
        Err(e) => {
            for p in e.problems {
                let Some((name, _)) = targets.get_key_value(&p.workload) else { continue };
                problems.entry(name.as_str()).or_default().push(fly::Problem {
                    path: FieldPath::root().key("resources").key(&p.resource),
                    message: p.message,
                });
            }
            None
        }
    };
    match plan {
        Some(plan) if problems.is_empty() => Ok(plan),
        _ => Err(Failure::Unconvertible(
            problems
                .into_iter()
                .map(|(name, problems)| {
                    (fly::ConvertError { workload: name.to_owned(), problems }, targets[name].loaded.clone())
                })
                .collect(),
        )),
    }
}

/// Adds the secrets files to `writes`, or returns the text for stdout (`-`).
fn secrets_output(
    target: Option<&Path>,
    with_secrets: &[(&str, &BTreeMap<String, score_fly_core::secret::Secret>)],
    writes: &mut Vec<PendingWrite>,
) -> Result<Option<String>, Failure> {
    let Some(target) = target else { return Ok(None) };
    let text_of = |secrets| fly::secrets::import_text(secrets).map_err(|e| Failure::Invalid(e.to_string()));
    let is_dir = target.is_dir() || target.as_os_str().to_string_lossy().ends_with('/');
    if is_dir {
        for (app, secrets) in with_secrets {
            let mut write = PendingWrite::new(target.join(format!("{app}.secrets")), text_of(secrets)?.into_bytes());
            write.mode = Some(0o600);
            writes.push(write);
        }
        return Ok(None);
    }
    if with_secrets.len() > 1 {
        let apps: Vec<&str> = with_secrets.iter().map(|(a, _)| *a).collect();
        return Err(Failure::Invalid(format!(
            "{} apps have secrets ({}): pass a folder to --secrets-file (ending in `/`) to get one file per app",
            apps.len(),
            apps.join(", ")
        )));
    }
    let text = match with_secrets.first() {
        Some((_, secrets)) => text_of(secrets)?,
        None => String::new(),
    };
    if target.as_os_str() == "-" {
        return Ok(Some(text));
    }
    let mut write = PendingWrite::new(target.to_path_buf(), text.into_bytes());
    write.mode = Some(0o600);
    writes.push(write);
    Ok(None)
}

fn load_all(files: &[PathBuf], overrides: &Overrides, session: &Session) -> Result<Vec<Input>, Failure> {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path).map_err(|e| {
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
        match spec::load(&path.display().to_string(), &text, overrides) {
            Ok(loaded) => {
                for w in &loaded.warnings {
                    render::diagnostic(&session.printer, &loaded.sources, w, false);
                }
                inputs.push(Input { path: path.clone(), loaded });
            }
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() { Ok(inputs) } else { Err(Failure::InvalidScore(errors)) }
}

fn check_names(inputs: &[Input]) -> Result<(), Failure> {
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for input in inputs {
        let name = input.loaded.workload.name();
        if !seen.insert(name) {
            return Err(Failure::Invalid(format!(
                "two Score files declare the workload `{name}` (the second is {}); workload names must be unique",
                input.path.display()
            )));
        }
    }
    Ok(())
}

/// An output must never replace an input (a Score or overrides file).
fn check_outputs_spare_inputs<'p>(
    outputs: &[PathBuf],
    inputs: impl Iterator<Item = &'p PathBuf>,
) -> Result<(), Failure> {
    let identity = |p: &Path| std::fs::canonicalize(p).ok();
    // Canonicalise each path once (outputs that do not exist yet cannot be inputs).
    let existing: Vec<(PathBuf, &PathBuf)> = outputs.iter().filter_map(|o| Some((identity(o)?, o))).collect();
    if existing.is_empty() {
        return Ok(());
    }
    for input in inputs {
        let Some(input_id) = identity(input) else { continue };
        if let Some((_, out)) = existing.iter().find(|(id, _)| *id == input_id) {
            return Err(Failure::Invalid(format!(
                "the output {} is the input file {}; choose another -o so the input is not overwritten",
                out.display(),
                input.display()
            )));
        }
    }
    Ok(())
}

fn output_paths(inputs: &[Input], output: Option<&Path>) -> Result<Vec<PathBuf>, Failure> {
    let default_name = |input: &Input| format!("fly_{}.toml", input.loaded.workload.name());
    let Some(output) = output else {
        return Ok(inputs.iter().map(|i| PathBuf::from(default_name(i))).collect());
    };
    let is_dir = output.is_dir() || output.as_os_str().to_string_lossy().ends_with('/');
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
    Ok(vec![output.to_path_buf()])
}

fn absolute(path: &Path) -> Result<PathBuf, Failure> {
    let path = if path.as_os_str().is_empty() { Path::new(".") } else { path };
    std::path::absolute(path)
        .map(|p| fsutil::normalize(&p))
        .map_err(|e| Failure::Error(format!("cannot resolve {}: {e}", path.display())))
}
