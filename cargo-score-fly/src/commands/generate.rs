//! `generate`: adds Score workloads to the project, provisions their resources, and writes
//! one `fly_<name>.toml` per workload of the project.
//!
//! Workloads come from Score files given on the command line, or — without files, inside a
//! cargo package or workspace — from its packages (`score.yaml` beside `Cargo.toml` or
//! `#[score_workload]` on a binary's `main`; see [`crate::cargo`]). The project (where
//! `.score-fly/` lives) is the current folder for Score files, the workspace root for
//! packages; paths in the state are relative to it.
//!
//! Order: every workload is loaded and validated first (nothing is touched on bad input);
//! then the project is locked, the workloads join those of earlier runs, every resource gets
//! a provisioner (or the run stops, naming what has none), resources are provisioned (the
//! state is saved as they complete), every workload is converted, and only when all of that
//! worked are the outputs written (all or nothing) and the workloads recorded. `--check` does
//! all of that without provisioning or writing anything and reports what is out of date.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use score_fly_core::builtin::FlyEnv;
use score_fly_core::fly::{self, ConvertOptions, LocalFiles};
use score_fly_core::fsutil::{self, PendingWrite};
use score_fly_core::input::{self, ReadError};
use score_fly_core::outputs::{self, Output, Protected};
use score_fly_core::provision::{self, Outcome, ProvisionOptions, Provisioning, definition};
use score_fly_core::spec::node::FieldPath;
use score_fly_core::spec::{self, Loaded, Overrides, Workload};
use score_fly_core::state::{ImageEntry, Project, STATE_DIR, State, WorkloadEntry};

use score_fly_core::target::FlyTarget;

use super::{CliEvents, Failure, Session};

use crate::protected::{declared_inputs, package_protected, shown, workspace_protected};

use crate::cargo;
use crate::cli::{Format, GenerateArgs, WorkloadArgs};
use crate::render;
use crate::settings::{Flags, Settings};

/// The default Score file name.
pub const DEFAULT_SCORE_FILE: &str = "score.yaml";

/// One workload of this run, loaded.
pub(crate) struct Input {
    /// Where it was declared (a Score file or a binary's source), relative to the project.
    file: PathBuf,
    /// The folder `source` files are relative to, when not the file's folder.
    dir: Option<PathBuf>,
    /// Where its `fly.toml` goes by default (the package folder), when not the current one.
    home: Option<PathBuf>,
    /// The default primary region of this workload.
    region: Option<String>,
    /// The workload.
    pub(crate) loaded: Loaded,
}

/// A workload of the project to convert (from this run or an earlier one).
pub(crate) struct Target {
    /// The workload name.
    pub(crate) name: String,
    /// Its entry (as it will be recorded).
    pub(crate) entry: WorkloadEntry,
    /// Set for workloads of this run: warnings and errors point into the file.
    loaded: Option<Loaded>,
}

/// Where this run's workloads come from, and the settings that apply.
pub(crate) struct Sources {
    /// The project folder.
    pub(crate) root: PathBuf,
    /// This run's workloads.
    pub(crate) inputs: Vec<Input>,
    outputs: Vec<PathBuf>,
    /// What no output may replace: this run's inputs, the project folder, the packages.
    protected: Vec<Protected>,
    /// The settings of the run (flags, cargo metadata, environment): the Fly target.
    pub(crate) settings: Settings,
    /// The cargo workspace, when the workloads come from packages (its services keep their
    /// workloads too).
    pub(crate) workspace: Option<cargo::Workspace>,
    /// `--allow-outside-source`.
    pub(crate) allow_outside_source: bool,
}

/// Finds and loads this run's workloads and resolves the run's settings (`base_image`: the
/// `--base-image` flag of commands that have one); nothing is locked or written.
pub(crate) fn sources(args: &WorkloadArgs, base_image: Option<&String>, session: &Session) -> Result<Sources, Failure> {
    let flags = Flags {
        app_prefix: args.app_prefix.clone(),
        org: args.org.clone(),
        region: args.region.clone(),
        base_image: base_image.cloned(),
    };
    let sources = if args.files.is_empty() && (args.packages.any() || cargo::find_manifest(Path::new(".")).is_some()) {
        from_packages(args, flags, session)?
    } else {
        from_files(args, flags, session)?
    };
    sources.check_outputs(&[])?;
    check_recordable(&sources)?;
    Ok(sources)
}

impl Sources {
    /// This run's fly.toml outputs (and `extra` ones) against its inputs and the project's
    /// files, before anything is locked or provisioned.
    pub(crate) fn check_outputs(&self, extra: &[Output]) -> Result<(), Failure> {
        let mut all: Vec<Output> = self
            .inputs
            .iter()
            .zip(&self.outputs)
            .map(|(input, output)| {
                Output::named(
                    shown(&self.root.join(output)),
                    format!("the fly.toml of workload `{}`", input.loaded.workload.name()),
                    "choose another -o",
                )
            })
            .collect();
        all.extend_from_slice(extra);
        outputs::check(&self.protected, &all).map_err(|e| Failure::Invalid(e.to_string()))
    }
}

/// Files to write, each with what the user knows it as (for [`outputs::check`]).
#[derive(Default)]
pub(crate) struct Writes {
    /// The writes.
    pub(crate) files: Vec<PendingWrite>,
    outputs: Vec<Output>,
}

impl Writes {
    fn push(&mut self, write: PendingWrite, output: Output) {
        self.files.push(write);
        self.outputs.push(output);
    }
}

/// The state records each workload's file, folder and output path as JSON text: a path
/// that is not UTF-8 cannot be recorded (nor read back), so it is refused before anything
/// is locked, provisioned or written.
fn check_recordable(sources: &Sources) -> Result<(), Failure> {
    let paths = sources.inputs.iter().flat_map(|i| std::iter::once(&i.file).chain(&i.dir)).chain(&sources.outputs);
    match paths.into_iter().find(|p| p.to_str().is_none()) {
        Some(path) => Err(Failure::Invalid(format!(
            "the path \"{}\" is not valid UTF-8; the project state records paths as text: rename it",
            fly::config::comment_path(path)
        ))),
        None => Ok(()),
    }
}

/// The project, locked, with this run's workloads joined to those of earlier runs.
pub(crate) struct Opened {
    /// The project folder.
    pub(crate) root: PathBuf,
    /// The locked project.
    pub(crate) project: Project,
    /// Its state (this run's workloads are recorded by [`Opened::record`]).
    pub(crate) state: State,
    /// Every workload of the project.
    pub(crate) targets: BTreeMap<String, Target>,
    /// Every workload of the project, as specs.
    pub(crate) workloads: BTreeMap<String, Workload>,
    /// The provisioners.
    pub(crate) defs: Vec<definition::Located>,
    /// The run's settings; their target carries the project's app prefix.
    pub(crate) settings: Settings,
    /// What no output may replace (this run's inputs and earlier runs' too).
    protected: Vec<Protected>,
    /// `--allow-outside-source`: `source` files may be outside the project folder.
    allow_outside_source: bool,
    /// The builtin provisioners are in `defs` but not yet in `default.provisioners.yaml`
    /// (a project used without `init`): [`Opened::write_defaults`] writes them.
    pub(crate) unwritten_defaults: bool,
    /// The workloads come from cargo packages and nobody chose an app prefix: the project's
    /// is empty and neither a flag nor a setting asked for one.
    pub(crate) prefix_unchosen: bool,
}

/// One converted workload.
pub(crate) struct Converted {
    /// The workload name.
    pub(crate) name: String,
    /// Where its fly.toml goes (project-relative as recorded).
    pub(crate) output: PathBuf,
    /// The folder of its fly.toml (absolute).
    pub(crate) out_dir: PathBuf,
    /// The conversion.
    pub(crate) conversion: fly::Conversion,
    /// Where it was declared.
    source: PathBuf,
    /// The package folder, for a workload declared by `#[score_workload]` in a package.
    package_dir: Option<PathBuf>,
}

/// Locks the project and joins this run's workloads to those of earlier runs.
pub(crate) fn open(sources: Sources, session: &Session) -> Result<Opened, Failure> {
    let printer = &session.printer;
    let cargo_mode = sources.workspace.is_some();
    let Sources { root, inputs, outputs, mut settings, mut protected, allow_outside_source, .. } = sources;
    let app_prefix = settings.asked_prefix.clone();
    let project = super::open_project_at(&root, session)?;
    let mut defs = definition::load_all(&project.dir())?;
    let stored = project.load()?;
    // A project used without `init` gets the builtin Fly provisioners as `init` registers
    // them: used from here, written once the run goes ahead (never by `--check` or a dry run).
    let implicit_defaults = super::init::implicit_defaults(&project, stored.is_some())?;
    let unwritten_defaults = implicit_defaults.is_some();
    defs.extend(implicit_defaults.unwrap_or_default());
    let state = match stored {
        Some(mut state) => {
            if let Some(prefix) = &app_prefix {
                super::set_prefix(&mut state, prefix, &defs, printer)?;
            }
            state
        }
        None => State::new(app_prefix.clone().unwrap_or_default()),
    };
    let prefix_unchosen = cargo_mode && app_prefix.is_none() && state.app_prefix.is_empty();
    settings.with_project_prefix(&state.app_prefix);
    let mut targets: BTreeMap<String, Target> = state
        .workloads
        .iter()
        .map(|(name, entry)| (name.clone(), Target { name: name.clone(), entry: entry.clone(), loaded: None }))
        .collect();
    for (input, output) in inputs.into_iter().zip(outputs) {
        let name = input.loaded.workload.name().to_owned();
        if let Some(previous) = targets.get(&name).filter(|t| t.entry.file != input.file) {
            printer.verbose(&format!(
                "workload `{name}` was added from {}; {} replaces it",
                previous.entry.file.display(),
                input.file.display()
            ));
        }
        let entry = WorkloadEntry {
            file: input.file.clone(),
            output,
            dir: input.dir,
            region: input.region,
            spec: input.loaded.workload.clone(),
        };
        targets.insert(name.clone(), Target { name, entry, loaded: Some(input.loaded) });
    }
    for target in targets.values().filter(|t| t.loaded.is_none()) {
        let entry = &target.entry;
        protected.extend(declared_inputs(&root, &entry.file, entry.dir.as_deref(), &entry.spec));
    }
    let workloads = targets.iter().map(|(name, t)| (name.clone(), t.entry.spec.clone())).collect();
    Ok(Opened {
        root,
        project,
        state,
        targets,
        workloads,
        defs,
        settings,
        protected,
        allow_outside_source,
        unwritten_defaults,
        prefix_unchosen,
    })
}

impl Opened {
    /// Writes `default.provisioners.yaml` when this run uses the builtin provisioners without
    /// it (see [`Opened::unwritten_defaults`]); from then on the file says which serve what.
    /// `generate` writes it with the first state it saves, `deploy` once an app exists.
    pub(crate) fn write_defaults(&mut self, session: &Session) -> Result<(), Failure> {
        if self.unwritten_defaults {
            super::init::register_defaults(&self.project, session)?;
            self.unwritten_defaults = false;
        }
        Ok(())
    }

    /// The apps of the project's workloads, named by the target ([`FlyTarget::app`]).
    pub(crate) fn app_names(&self) -> Vec<String> {
        self.targets.keys().map(|name| self.settings.target.app(name)).collect()
    }

    /// The Fly target of the run, with the project's app prefix.
    pub(crate) fn target(&self) -> &FlyTarget {
        &self.settings.target
    }

    /// What to tell a user who never chose an app prefix for their cargo package (after
    /// "this project has no app prefix: ").
    pub(crate) fn unchosen_prefix_advice(&self) -> String {
        let apps = self.app_names().iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ");
        format!(
            "apps are named after their workloads alone ({apps}), and Fly app names are global; choose a prefix with `cargo score-fly init` (it proposes one from the package name) or set `app-prefix` in [package.metadata.score-fly] (`app-prefix = \"\"` for none)"
        )
    }

    /// Names of this run's workloads.
    pub(crate) fn this_run(&self) -> Vec<&Target> {
        self.targets.values().filter(|t| t.loaded.is_some()).collect()
    }

    /// The Fly environment of builtin provisioners for this project: the run's target.
    pub(crate) fn fly_env(&self) -> FlyEnv {
        let entries: BTreeMap<String, WorkloadEntry> =
            self.targets.iter().map(|(name, t)| (name.clone(), t.entry.clone())).collect();
        FlyEnv::for_target(self.target(), &self.root, &entries, self.allow_outside_source)
    }

    /// Conversion options of a workload; `pretend_built` stands in for an image that will be
    /// built before the real conversion.
    pub(crate) fn convert_options(
        &self,
        target: &Target,
        preflight: bool,
        pretend_built: bool,
    ) -> Result<ConvertOptions, Failure> {
        let root = &self.root;
        let file_dir = target.entry.file.parent().unwrap_or(Path::new("")).to_path_buf();
        let built = match self.state.images.get(&target.name) {
            _ if pretend_built => {
                Some(fly::Built::Image(self.target().image_ref(&self.target().app(&target.name), "pending")))
            }
            Some(ImageEntry::Pushed { reference, .. }) => Some(fly::Built::Image(reference.clone())),
            Some(ImageEntry::Dockerfile { dockerfile, ignorefile }) => {
                Some(fly::Built::Dockerfile(absolute(&root.join(dockerfile))?, absolute(&root.join(ignorefile))?))
            }
            None => None,
        };
        Ok(ConvertOptions {
            app_prefix: self.target().app_prefix.clone(),
            score_dir: absolute(&root.join(target.entry.dir.as_ref().unwrap_or(&file_dir)))?,
            out_dir: absolute(&root.join(target.entry.output.parent().unwrap_or(Path::new(""))))?,
            resources: if preflight {
                BTreeMap::new()
            } else {
                provision::outputs_for(&target.name, &target.entry.spec, &self.state)
            },
            preflight,
            primary_region: target.entry.region.clone(),
            built,
            sources: fly::SourcePolicy { root: Some(absolute(root)?), allow_outside: self.allow_outside_source },
        })
    }

    /// Before provisioning anything: every problem that does not depend on outputs, and a
    /// provisioner for every resource. Workloads in `to_be_built` get their image later.
    pub(crate) fn preflight(&self, to_be_built: &BTreeSet<String>) -> Result<provision::Plan, Failure> {
        let mut options = Vec::new();
        for target in self.targets.values() {
            options.push(self.convert_options(target, true, to_be_built.contains(&target.name))?);
        }
        preflight(&self.targets, &options, &self.workloads, &self.defs, &self.state)
    }

    /// Provisions the plan (saving the state as resources complete); provisioner failures
    /// are an error naming each.
    pub(crate) fn provision(
        &mut self,
        plan: &provision::Plan,
        options: ProvisionOptions,
        fly: &FlyEnv,
        session: &Session,
    ) -> Result<provision::Report, Failure> {
        let events = CliEvents::new(&session.printer);
        let run = Provisioning {
            defs: &self.defs,
            workloads: &self.workloads,
            options,
            project_root: self.project.root(),
            events: &events,
            builtins: fly,
        };
        let had_state = self.project.state_path().exists();
        let project = &self.project;
        let defaults = std::cell::Cell::new(self.unwritten_defaults);
        let report = provision::execute(plan, run, &mut self.state, &mut |s| {
            // Saving is only needed once something exists; a project without resources gets
            // its state when the run succeeds. The builtin provisioners it used are written
            // with its first state, so the next run has them too.
            if had_state || !s.resources.is_empty() {
                if defaults.replace(false) {
                    super::init::write_default_file(project)?;
                }
                project.save(s)
            } else {
                Ok(())
            }
        })?;
        self.unwritten_defaults = defaults.get();
        let failures = report.failures();
        if !failures.is_empty() {
            let done = report.outcomes.values().filter(|o| matches!(o, Outcome::Provisioned | Outcome::Reused)).count();
            let kept = if options.dry_run {
                "(a check or dry run saves nothing); fix the problem and run it again"
            } else {
                "and kept in the project state; fix the problem and run again to continue"
            };
            return Err(Failure::Error(format!(
                "{}\n{} of {} resources are ready {kept}",
                failures.join("\n"),
                done,
                report.outcomes.len()
            )));
        }
        Ok(report)
    }

    /// Converts every workload of the project (warnings printed, pointing into the files).
    pub(crate) fn convert(&self, session: &Session) -> Result<Vec<Converted>, Failure> {
        self.convert_pretending(session, &BTreeSet::new())
    }

    /// [`Opened::convert`], with a stand-in image for the workloads in `to_be_built` (a dry
    /// run, which builds nothing).
    pub(crate) fn convert_pretending(
        &self,
        session: &Session,
        to_be_built: &BTreeSet<String>,
    ) -> Result<Vec<Converted>, Failure> {
        let printer = &session.printer;
        let mut converted = Vec::new();
        let mut problems = Vec::new();
        for target in self.targets.values() {
            let options = self.convert_options(target, false, to_be_built.contains(&target.name))?;
            match fly::convert(&target.entry.spec, &options, &LocalFiles) {
                Ok(conversion) => {
                    for w in &conversion.warnings {
                        match &target.loaded {
                            Some(l) => {
                                printer.warning(
                                    &w.to_string(),
                                    &render::snippet(&l.sources, l.locate(&w.path), printer.styled()),
                                );
                            }
                            None => printer.warning(&format!("{} (workload `{}`)", w, target.name), ""),
                        }
                    }
                    converted.push(Converted {
                        name: target.name.clone(),
                        output: target.entry.output.clone(),
                        out_dir: options.out_dir,
                        conversion,
                        source: target.entry.file.clone(),
                        package_dir: target.entry.dir.clone(),
                    });
                }
                Err(e) => problems.push((e, target.loaded.clone())),
            }
        }
        if problems.is_empty() { Ok(converted) } else { Err(Failure::Unconvertible(problems)) }
    }

    /// Every file to write for these conversions (fly.toml files and the generated files in
    /// `.score-fly/files/<app>/` beside them, where no link is followed).
    pub(crate) fn writes(&self, converted: &[Converted]) -> Writes {
        let mut writes = Writes::default();
        for c in converted {
            for file in &c.conversion.generated_files {
                let write = PendingWrite::inside(&c.out_dir, &file.path, file.bytes.clone());
                let what = format!("the generated file of workload `{}`", c.name);
                writes.push(write.clone(), Output::generated(write.path, what));
            }
            let declared = match &c.package_dir {
                Some(dir) if c.source.extension().is_some_and(|e| e == "rs") => fly::config::Declared::Attribute {
                    source: &c.source,
                    in_package: c.source.strip_prefix(dir).unwrap_or(&c.source),
                },
                _ => fly::config::Declared::ScoreFile(&c.source),
            };
            let text = format!("{}{}", fly::config::header(declared), c.conversion.to_toml());
            let path = self.root.join(&c.output);
            let what = format!("the fly.toml of workload `{}`", c.name);
            writes.push(
                PendingWrite::new(path.clone(), text.into_bytes()),
                Output::named(shown(&path), what, "write it elsewhere with -o"),
            );
        }
        writes
    }

    /// Writes every file, all or nothing, once none of them is an input, a project file or
    /// another one of them ([`outputs::check`]).
    pub(crate) fn commit(&self, writes: &Writes) -> Result<(), Failure> {
        outputs::check(&self.protected, &writes.outputs).map_err(|e| Failure::Invalid(e.to_string()))?;
        fsutil::write_all_atomic(&writes.files).map_err(|e| Failure::Error(e.to_string()))
    }

    /// Records the project's workloads in the state and saves it.
    pub(crate) fn record(&mut self) -> Result<(), Failure> {
        self.state.workloads = self.targets.iter().map(|(name, t)| (name.clone(), t.entry.clone())).collect();
        if self.unwritten_defaults {
            super::init::write_default_file(&self.project).map_err(|e| Failure::Error(e.to_string()))?;
            self.unwritten_defaults = false;
        }
        self.project.save(&self.state)?;
        Ok(())
    }
}

/// Runs `generate`.
pub fn run(args: &GenerateArgs, session: &Session) -> Result<(), Failure> {
    let printer = &session.printer;
    let w = &args.workloads;
    let sources = sources(w, None, session)?;
    if let Some(output) = args.secrets_file.as_deref().and_then(secrets_stand_in) {
        sources.check_outputs(&[output])?;
    }
    let mut opened = open(sources, session)?;
    let plan = opened.preflight(&BTreeSet::new())?;
    if opened.prefix_unchosen {
        printer.warning(&format!("this project has no app prefix: {}", opened.unchosen_prefix_advice()), "");
    }

    // Provision (or, with --check, only find out whether anything would be).
    let fly_env = opened.fly_env();
    // `--check` reads `environment` resources as a run does (they create nothing).
    let options =
        ProvisionOptions { jobs: w.jobs, reprovision: w.reprovision, dry_run: args.check, read_in_dry_run: true };
    let report = opened.provision(&plan, options, &fly_env, session)?;
    let pending = report.pending();
    if !pending.is_empty() {
        let stale: Vec<String> =
            pending.iter().map(|uid| format!("resource `{uid}` is not provisioned with its current inputs")).collect();
        if args.format == Some(Format::Json) {
            let doc = serde_json::json!({"workloads": [], "up_to_date": false, "out_of_date": stale});
            printer.stdout(&format!("{}\n", serde_json::to_string_pretty(&doc).expect("json")));
        }
        return Err(Failure::OutOfDate(stale));
    }

    let converted = opened.convert(session)?;
    let mut writes = opened.writes(&converted);
    let with_secrets: Vec<(&str, &BTreeMap<String, score_fly_core::secret::Secret>)> = converted
        .iter()
        .filter(|c| !c.conversion.secrets.is_empty())
        .map(|c| (c.conversion.config.app.as_str(), &c.conversion.secrets))
        .collect();

    if args.check {
        let stale: Vec<String> = writes
            .files
            .iter()
            .filter(|w| w.current(score_fly_core::limits::MAX_GENERATED_BYTES).as_deref() != Some(&w.bytes[..]))
            .map(|w| {
                let shown = cargo::relative(&w.path);
                if w.path.exists() { format!("{shown} is out of date") } else { format!("{shown} is missing") }
            })
            .collect();
        if args.format == Some(Format::Json) {
            print_summary(printer, &converted, &with_secrets, Some(&stale));
        }
        if !stale.is_empty() {
            return Err(Failure::OutOfDate(stale));
        }
        printer.status("Checked", &format!("{} fly.toml file(s) are up to date", converted.len()));
        return Ok(());
    }

    let stdout_secrets = secrets_output(args.secrets_file.as_deref(), &with_secrets, &mut writes)?;
    opened.commit(&writes)?;
    opened.record()?;

    for write in &writes.files {
        printer.verbose(&format!("wrote {}", write.path.display()));
    }
    for c in &converted {
        let shown = cargo::relative(&opened.root.join(&c.output));
        printer.status("Generated", &format!("{shown} (app {})", c.conversion.config.app));
    }
    if let Some(text) = stdout_secrets {
        printer.stdout(&text);
    } else if args.format == Some(Format::Json) {
        print_summary(printer, &converted, &with_secrets, None);
    }
    if args.secrets_file.is_none() && !args.deploy {
        for (app, secrets) in &with_secrets {
            let names: Vec<&str> = secrets.keys().map(String::as_str).collect();
            printer.warning(
                &format!(
                    "app {app} needs {} secret{} that fly.toml does not hold ({}): write them with --secrets-file and import them with `fly secrets import -a {app} < FILE`, or deploy with `cargo score-fly deploy`",
                    names.len(),
                    if names.len() == 1 { "" } else { "s" },
                    names.join(", ")
                ),
                "",
            );
        }
    }
    if args.deploy {
        let apps: Vec<super::deploy::AppDeploy> = converted
            .iter()
            .filter(|c| opened.targets.get(&c.name).is_some_and(|t| t.loaded.is_some()))
            .map(|c| super::deploy::AppDeploy::of(&opened.root, c, w.image.clone()))
            .collect();
        let settings = super::deploy::DeploySettings::from_generate(args, opened.target().org.clone());
        super::deploy::deploy_apps(&mut opened, &apps, &settings, &mut BTreeSet::new(), session)?;
    }
    Ok(())
}

/// `--format json`: one object per workload (secret names, never values).
fn print_summary(
    printer: &crate::printer::Printer,
    converted: &[Converted],
    with_secrets: &[(&str, &BTreeMap<String, score_fly_core::secret::Secret>)],
    stale: Option<&[String]>,
) {
    let workloads: Vec<serde_json::Value> = converted
        .iter()
        .map(|c| {
            let secrets: Vec<&String> = with_secrets
                .iter()
                .find(|(app, _)| *app == c.conversion.config.app)
                .map(|(_, s)| s.keys().collect())
                .unwrap_or_default();
            serde_json::json!({
                "name": c.name,
                "app": c.conversion.config.app,
                "source": c.source,
                "output": c.output,
                "secrets": secrets,
                "warnings": c.conversion.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut doc = serde_json::json!({ "workloads": workloads });
    if let Some(stale) = stale {
        doc["up_to_date"] = serde_json::Value::Bool(stale.is_empty());
        doc["out_of_date"] = serde_json::json!(stale);
    }
    printer.stdout(&format!("{}\n", serde_json::to_string_pretty(&doc).expect("json")));
}

/// Workloads from Score files on the command line (or `score.yaml`); the project is the
/// current folder.
fn from_files(args: &WorkloadArgs, flags: Flags, session: &Session) -> Result<Sources, Failure> {
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
                    render::diagnostic(&session.printer, &loaded.sources, w, false);
                }
                inputs.push(Input { file: path.clone(), dir: None, home: None, region: args.region.clone(), loaded });
            }
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(Failure::InvalidScore(errors));
    }
    check_names(&inputs)?;
    if let Some(region) = &args.region {
        check_region(region, "--region")?;
    }
    let outputs = output_paths(&inputs, args.output.as_deref(), Path::new(""))?;
    let mut protected = vec![Protected::folder(STATE_DIR, "the project folder")];
    for input in &inputs {
        protected.extend(declared_inputs(Path::new(""), &input.file, None, &input.loaded.workload));
    }
    protected.extend(args.overrides_file.iter().map(|p| Protected::file(p, "the overrides file")));
    Ok(Sources {
        root: PathBuf::new(),
        inputs,
        outputs,
        protected,
        settings: Settings::from_flags(flags)?,
        workspace: None,
        allow_outside_source: args.allow_outside_source,
    })
}

/// Workloads of cargo packages; the project is the workspace root.
fn from_packages(args: &WorkloadArgs, flags: Flags, session: &Session) -> Result<Sources, Failure> {
    let workspace = cargo::discover(&args.packages, Path::new("."))?;
    let root = workspace.root.clone();
    let overrides = overrides(args, workspace.services.len())?;
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    let mut protected = Vec::new();
    protected.extend(args.overrides_file.iter().map(|p| Protected::file(p, "the overrides file")));
    if let Some(region) = &args.region {
        check_region(region, "--region")?;
    }
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
            render::diagnostic(&session.printer, &loaded.sources, w, false);
        }
        // `source` files are relative to the Score file, or to the package folder for an
        // inline attribute.
        protected.extend(package_protected(service));
        let (file, dir) = match &service.origin {
            cargo::Origin::ScoreFile(path) => (path.clone(), None),
            cargo::Origin::Attribute { file: Some(file), .. } => (file.clone(), None),
            cargo::Origin::Attribute { source, file: None } => (source.clone(), Some(service.dir.clone())),
        };
        let region = crate::settings::package_region(&flags, &service.package_settings, &workspace.settings);
        if let (Some(r), None) = (&region, &args.region) {
            check_region(r, &format!("the `region` setting of package `{}`", service.package))?;
        }
        let input = Input {
            file: within(&root, &file),
            dir: dir.map(|d| within(&root, &d)),
            home: Some(within(&root, &service.dir)),
            region,
            loaded,
        };
        protected.extend(declared_inputs(&root, &input.file, input.dir.as_deref(), &input.loaded.workload));
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
            .map(|i| i.home.clone().unwrap_or_default().join(format!("fly_{}.toml", i.loaded.workload.name())))
            .collect(),
    };
    let own: Vec<&cargo::Settings> = workspace.services.iter().map(|s| &s.package_settings).collect();
    let settings = Settings::resolve(flags, &own, &workspace.settings, FlyTarget::from_env())?;
    Ok(Sources {
        root,
        inputs,
        outputs,
        protected,
        settings,
        workspace: Some(workspace),
        allow_outside_source: args.allow_outside_source,
    })
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

/// Converts every workload without outputs and plans its resources; reports all problems
/// of both, located in the files of this run.
fn preflight(
    targets: &BTreeMap<String, Target>,
    options: &[ConvertOptions],
    workloads: &BTreeMap<String, Workload>,
    defs: &[definition::Located],
    state: &State,
) -> Result<provision::Plan, Failure> {
    let mut problems: BTreeMap<&str, Vec<fly::Problem>> = BTreeMap::new();
    for (target, options) in targets.values().zip(options) {
        if let Err(e) = fly::convert(&target.entry.spec, options, &LocalFiles) {
            problems.entry(target.name.as_str()).or_default().extend(e.problems);
        }
    }
    let plan = match provision::plan_for(workloads, defs, state, &FlyEnv::default()) {
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
    writes: &mut Writes,
) -> Result<Option<String>, Failure> {
    let Some(target) = target else { return Ok(None) };
    let text_of = |secrets| fly::secrets::import_text(secrets).map_err(|e| Failure::Invalid(e.to_string()));
    let is_dir = target.is_dir() || target.as_os_str().to_string_lossy().ends_with('/');
    if is_dir {
        for (app, secrets) in with_secrets {
            let path = target.join(format!("{app}.secrets"));
            let write = PendingWrite::new(path.clone(), text_of(secrets)?.into_bytes()).with_mode(0o600);
            writes.push(write, Output::named(path, "--secrets-file", "choose another --secrets-file"));
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
    let write = PendingWrite::new(target.to_path_buf(), text.into_bytes()).with_mode(0o600);
    writes.push(write, Output::named(target, "--secrets-file", "choose another --secrets-file"));
    Ok(None)
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

/// `--secrets-file` as an output to check before provisioning: the file, or for a folder a
/// stand-in for the `<app>.secrets` files it will hold (apps are named later).
fn secrets_stand_in(target: &Path) -> Option<Output> {
    if target.as_os_str() == "-" {
        return None;
    }
    let is_dir = target.is_dir() || target.as_os_str().to_string_lossy().ends_with('/');
    let path = if is_dir { target.join("<app>.secrets") } else { target.to_path_buf() };
    Some(Output::named(path, "--secrets-file", "choose another --secrets-file"))
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

/// A Fly region code: three lowercase letters.
fn check_region(region: &str, what: &str) -> Result<(), Failure> {
    if region.len() == 3 && region.bytes().all(|b| b.is_ascii_lowercase()) {
        Ok(())
    } else {
        Err(Failure::Invalid(format!(
            "{what}: `{region}` is not a Fly region code (three lowercase letters, e.g. ams, iad)"
        )))
    }
}

fn absolute(path: &Path) -> Result<PathBuf, Failure> {
    let path = if path.as_os_str().is_empty() { Path::new(".") } else { path };
    std::path::absolute(path)
        .map(|p| fsutil::normalize(&p))
        .map_err(|e| Failure::Error(format!("cannot resolve {}: {e}", path.display())))
}
