//! A project run: open and lock the project, join this run's workloads to those of earlier
//! runs, preflight, provision, convert, write the outputs, record the workloads.
//!
//! Order: every workload is loaded and validated by the caller first ([`Sources`]: nothing
//! is touched on bad input); then [`open`] locks the project and joins the workloads to
//! those of earlier runs, [`Opened::preflight`] finds a provisioner for every resource (or
//! names what has none) and every problem that does not depend on outputs,
//! [`Opened::provision`] provisions (saving the state as resources complete),
//! [`Opened::convert`] converts every workload, and only when all of that worked
//! [`Opened::commit`] writes the outputs (all or nothing) and [`Opened::record`] records
//! the workloads.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::Error;
pub use super::event::ProjectEvent;
use super::event::{Event, Reporter};
use crate::builtin::{FlyEnv, PrefixUse};
use crate::fly::{self, ConvertOptions, LocalFiles};
use crate::fsutil::{self, PendingWrite, shown};
use crate::outputs::{self, Output, Protected};
use crate::provision::definition::{self, Kind, Located};
use crate::provision::{self, Outcome, ProvisionOptions, Provisioning};
use crate::spec::node::FieldPath;
use crate::spec::{Loaded, Workload};
use crate::state::{ImageEntry, LockWait, Project, ResourceEntry, STATE_DIR, State, WorkloadEntry, shown_prefix};
use crate::target::FlyTarget;

/// One workload of this run, loaded.
#[derive(Debug, Clone)]
pub struct Input {
    /// Where it was declared (a Score file or a binary's source), relative to the project.
    pub file: PathBuf,
    /// The folder `source` files are relative to, when not the file's folder.
    pub dir: Option<PathBuf>,
    /// The primary region of this workload.
    pub region: Option<String>,
    /// `--patch` files for its fly.toml, in order (see [`patch_files`]).
    pub patches: Vec<PathBuf>,
    /// The workload.
    pub loaded: Loaded,
}

/// Where this run's workloads come from, and the settings that apply: what a front end
/// found (Score files, or cargo packages) before anything is locked or written.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The project folder.
    pub root: PathBuf,
    /// This run's workloads.
    pub inputs: Vec<Input>,
    /// Where each input's fly.toml goes (project-relative), in the order of `inputs`.
    pub outputs: Vec<PathBuf>,
    /// What no output may replace: this run's inputs, the project folder, the packages.
    pub protected: Vec<Protected>,
    /// Where the run deploys; its app prefix is replaced by the project's on [`open`].
    pub target: FlyTarget,
    /// The app prefix a flag or a setting asks for; `None`: keep the project's.
    pub asked_prefix: Option<String>,
    /// The workloads come from cargo packages (a package's project must choose a prefix).
    pub from_packages: bool,
    /// `--allow-outside-source`: `source` files may be outside the project folder.
    pub allow_outside_source: bool,
}

impl Sources {
    /// This run's fly.toml outputs (and `extra` ones) against its inputs and the project's
    /// files, before anything is locked or provisioned; and every path the state records
    /// must be text.
    pub fn check(&self, extra: &[Output]) -> Result<(), Error> {
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
        outputs::check(&self.protected, &all)?;
        let paths = self.inputs.iter().flat_map(|i| std::iter::once(&i.file).chain(&i.dir)).chain(&self.outputs);
        match paths.into_iter().find(|p| p.to_str().is_none()) {
            Some(path) => Err(Error::Invalid(format!(
                "the path \"{}\" is not valid UTF-8; the project state records paths as text: rename it",
                fly::config::comment_path(path)
            ))),
            None => Ok(()),
        }
    }
}

/// A workload of the project to convert (from this run or an earlier one).
#[derive(Debug, Clone)]
pub struct ProjectWorkload {
    /// The workload name.
    pub name: String,
    /// Its entry (as it will be recorded).
    pub entry: WorkloadEntry,
    /// Set for workloads of this run: warnings and errors point into the file.
    pub loaded: Option<Loaded>,
}

/// The project, locked, with this run's workloads joined to those of earlier runs.
#[derive(Debug)]
pub struct Opened {
    /// The project folder.
    pub root: PathBuf,
    /// The locked project.
    pub project: Project,
    /// Its state (this run's workloads are recorded by [`Opened::record`]).
    pub state: State,
    /// Every workload of the project.
    pub workloads: BTreeMap<String, ProjectWorkload>,
    /// Every workload of the project, as specs.
    pub specs: BTreeMap<String, Workload>,
    /// The provisioners.
    pub defs: Vec<Located>,
    /// Where the run deploys, with the project's app prefix.
    pub target: FlyTarget,
    /// What no output may replace (this run's inputs and earlier runs' too).
    protected: Vec<Protected>,
    /// `--allow-outside-source`: `source` files may be outside the project folder.
    allow_outside_source: bool,
    /// The builtin provisioners are in `defs` but not yet in `default.provisioners.yaml`
    /// (a project used without `init`): [`Opened::write_defaults`] writes them.
    unwritten_defaults: bool,
    /// The workloads come from cargo packages and nobody chose an app prefix: the project's
    /// is empty and neither a flag nor a setting asked for one.
    pub prefix_unchosen: bool,
}

/// One converted workload.
#[derive(Debug, Clone)]
pub struct Converted {
    /// The workload name.
    pub name: String,
    /// Where its fly.toml goes (project-relative as recorded).
    pub output: PathBuf,
    /// The folder of its fly.toml (absolute).
    pub out_dir: PathBuf,
    /// The conversion.
    pub conversion: fly::Conversion,
    /// Where it was declared.
    pub source: PathBuf,
    /// The package folder, for a workload declared by `#[score_workload]` in a package.
    package_dir: Option<PathBuf>,
    /// The fly.toml body with its patches applied ([`Opened::patch`]), and the patch files.
    patched: Option<(String, Vec<PathBuf>)>,
}

impl Converted {
    /// The conversion of a workload of the project whose fly.toml goes to `out_dir`.
    pub fn new(w: &ProjectWorkload, out_dir: PathBuf, conversion: fly::Conversion) -> Converted {
        Converted {
            name: w.name.clone(),
            output: w.entry.output.clone(),
            out_dir,
            conversion,
            source: w.entry.file.clone(),
            package_dir: w.entry.dir.clone(),
            patched: None,
        }
    }

    /// The text of its fly.toml: the header naming where it was declared, then the config.
    pub fn fly_toml(&self) -> String {
        let declared = match &self.package_dir {
            Some(dir) if self.source.extension().is_some_and(|e| e == "rs") => fly::config::Declared::Attribute {
                source: &self.source,
                in_package: self.source.strip_prefix(dir).unwrap_or(&self.source),
            },
            _ => fly::config::Declared::ScoreFile(&self.source),
        };
        let header = fly::config::header(declared);
        match &self.patched {
            None => format!("{header}{}", self.conversion.to_toml()),
            Some((body, files)) => {
                let files: Vec<String> = files.iter().map(|f| fly::config::comment_path(f)).collect();
                format!("{}\n# Patched with {}.\n\n{body}", header.trim_end(), files.join(", "))
            }
        }
    }
}

/// Files to write, each with what the user knows it as (for [`outputs::check`]).
#[derive(Debug, Default)]
pub struct Writes {
    /// The writes.
    pub files: Vec<PendingWrite>,
    outputs: Vec<Output>,
}

impl Writes {
    /// Adds a write, known to the user as `output`.
    pub fn push(&mut self, write: PendingWrite, output: Output) {
        self.files.push(write);
        self.outputs.push(output);
    }
}

/// Opens (and locks) the project rooted at `root`, waiting up to `lock_timeout` for
/// another run's lock.
pub fn lock(root: &Path, lock_timeout: Duration, reporter: &dyn Reporter) -> Result<Project, Error> {
    let project = Project::open(root, LockWait { timeout: lock_timeout }, &mut |holder| {
        reporter.event(Event::Project(ProjectEvent::Blocking { holder }));
    })?;
    Ok(project)
}

/// Locks the project and joins this run's workloads to those of earlier runs.
pub fn open(sources: Sources, lock_timeout: Duration, reporter: &dyn Reporter) -> Result<Opened, Error> {
    let Sources { root, inputs, outputs, mut target, mut protected, allow_outside_source, asked_prefix, from_packages } =
        sources;
    let project = lock(&root, lock_timeout, reporter)?;
    let mut defs = definition::load_all(&project.dir())?;
    let stored = project.load()?;
    // A project used without `init` gets the builtin Fly provisioners as `init` registers
    // them: used from here, written once the run goes ahead (never by `--check` or a dry run).
    let implicit = implicit_defaults(&project, stored.is_some())?;
    let unwritten_defaults = implicit.is_some();
    defs.extend(implicit.unwrap_or_default());
    let state = match stored {
        Some(mut state) => {
            if let Some(prefix) = &asked_prefix {
                set_prefix(&mut state, prefix, &defs, reporter)?;
            }
            state
        }
        None => State::new(asked_prefix.clone().unwrap_or_default()),
    };
    let prefix_unchosen = from_packages && asked_prefix.is_none() && state.app_prefix.is_empty();
    state.app_prefix.clone_into(&mut target.app_prefix);
    let mut workloads: BTreeMap<String, ProjectWorkload> = state
        .workloads
        .iter()
        .map(|(name, entry)| (name.clone(), ProjectWorkload { name: name.clone(), entry: entry.clone(), loaded: None }))
        .collect();
    for (input, output) in inputs.into_iter().zip(outputs) {
        let name = input.loaded.workload.name().to_owned();
        if let Some(previous) = workloads.get(&name).filter(|t| t.entry.file != input.file) {
            reporter.event(Event::Project(ProjectEvent::Replaced {
                workload: &name,
                previous: &previous.entry.file,
                file: &input.file,
            }));
        }
        let entry = WorkloadEntry {
            file: input.file.clone(),
            output,
            dir: input.dir,
            region: input.region,
            patches: input.patches,
            spec: input.loaded.workload.clone(),
            // The app's releases stay with the workload when its Score file is read again.
            releases: workloads.get(&name).map(|p| p.entry.releases.clone()).unwrap_or_default(),
        };
        workloads.insert(name.clone(), ProjectWorkload { name, entry, loaded: Some(input.loaded) });
    }
    for w in workloads.values() {
        let entry = &w.entry;
        if w.loaded.is_none() {
            protected.extend(declared_inputs(&root, &entry.file, entry.dir.as_deref(), &entry.spec));
        }
        for file in patch_files(&root, entry) {
            let what = format!("a patch file of workload `{}`", w.name);
            protected.push(Protected::file(shown(&root.join(file)), what));
        }
    }
    let specs = workloads.iter().map(|(name, t)| (name.clone(), t.entry.spec.clone())).collect();
    Ok(Opened {
        root,
        project,
        state,
        workloads,
        specs,
        defs,
        target,
        protected,
        allow_outside_source,
        unwritten_defaults,
        prefix_unchosen,
    })
}

impl Opened {
    /// Writes `default.provisioners.yaml` when this run uses the builtin provisioners without
    /// it (a project used without `init`); from then on the file says which serve what.
    pub fn write_defaults(&mut self, reporter: &dyn Reporter) -> Result<(), Error> {
        if self.unwritten_defaults {
            register_defaults(&self.project, reporter)?;
            self.unwritten_defaults = false;
        }
        Ok(())
    }

    /// The apps of the project's workloads, named by the target ([`FlyTarget::app`]).
    pub fn app_names(&self) -> Vec<String> {
        self.workloads.keys().map(|name| self.target.app(name)).collect()
    }

    /// What to tell a user who never chose an app prefix for their cargo package (after
    /// "this project has no app prefix: ").
    pub fn unchosen_prefix_advice(&self) -> String {
        let apps = self.app_names().iter().map(|a| format!("`{a}`")).collect::<Vec<_>>().join(", ");
        format!(
            "apps are named after their workloads alone ({apps}), and Fly app names are global; choose a prefix with `cargo score-fly init` (it proposes one from the package name) or set `app-prefix` in [package.metadata.score-fly] (`app-prefix = \"\"` for none)"
        )
    }

    /// This run's workloads.
    pub fn this_run(&self) -> Vec<&ProjectWorkload> {
        self.workloads.values().filter(|t| t.loaded.is_some()).collect()
    }

    /// The Fly environment of builtin provisioners for this project: the run's target.
    pub fn fly_env(&self) -> FlyEnv {
        let entries: BTreeMap<String, WorkloadEntry> =
            self.workloads.iter().map(|(name, t)| (name.clone(), t.entry.clone())).collect();
        FlyEnv::for_target(&self.target, &self.root, &entries, self.allow_outside_source)
    }

    /// Conversion options of a workload. `preflight`: without resource outputs. A workload
    /// in `to_be_built` gets an image later: the one recorded by its last build stands in
    /// (a rebuild of the same sources gives the same image), else `<built>`.
    pub fn convert_options(
        &self,
        workload: &ProjectWorkload,
        preflight: bool,
        to_be_built: &BTreeSet<String>,
    ) -> Result<ConvertOptions, Error> {
        let root = &self.root;
        let file_dir = workload.entry.file.parent().unwrap_or(Path::new("")).to_path_buf();
        let recorded = self.state.images.get(&workload.name);
        let built = match recorded {
            // By digest: a tag pushed again later cannot change what this fly.toml deploys.
            Some(entry @ ImageEntry::Pushed { .. }) => entry.pinned().map(fly::Built::Image),
            _ if to_be_built.contains(&workload.name) => {
                Some(fly::Built::Image(self.target.image_ref(&self.target.app(&workload.name), "<built>")))
            }
            Some(ImageEntry::Dockerfile { dockerfile, ignorefile }) => {
                Some(fly::Built::Dockerfile(absolute(&root.join(dockerfile))?, absolute(&root.join(ignorefile))?))
            }
            None => None,
        };
        Ok(ConvertOptions {
            app_prefix: self.target.app_prefix.clone(),
            score_dir: absolute(&root.join(workload.entry.dir.as_ref().unwrap_or(&file_dir)))?,
            out_dir: absolute(&root.join(workload.entry.output.parent().unwrap_or(Path::new(""))))?,
            resources: if preflight {
                BTreeMap::new()
            } else {
                provision::outputs_for(&workload.name, &workload.entry.spec, &self.state)
            },
            preflight,
            primary_region: workload.entry.region.clone(),
            built,
            sources: fly::SourcePolicy { root: Some(absolute(root)?), allow_outside: self.allow_outside_source },
        })
    }

    /// Before provisioning anything: every problem that does not depend on outputs, and a
    /// provisioner for every resource, reported together and located in this run's files.
    /// Workloads in `to_be_built` get their image later.
    pub fn preflight(&self, to_be_built: &BTreeSet<String>) -> Result<provision::Plan, Error> {
        let mut problems: BTreeMap<&str, Vec<fly::Problem>> = BTreeMap::new();
        for w in self.workloads.values() {
            let options = self.convert_options(w, true, to_be_built)?;
            if let Err(e) = fly::convert(&w.entry.spec, &options, &LocalFiles) {
                problems.entry(w.name.as_str()).or_default().extend(e.problems);
            }
        }
        let plan = match provision::plan_for(&self.specs, &self.defs, &self.state, &FlyEnv::default()) {
            Ok(plan) => Some(plan),
            Err(e) => {
                for p in e.problems {
                    let Some((name, _)) = self.workloads.get_key_value(&p.workload) else { continue };
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
            _ => Err(Error::Unconvertible(
                problems
                    .into_iter()
                    .map(|(name, problems)| {
                        (fly::ConvertError { workload: name.to_owned(), problems }, self.workloads[name].loaded.clone())
                    })
                    .collect(),
            )),
        }
    }

    /// Provisions the plan (saving the state as resources complete); provisioner failures
    /// are an error naming each. With `options.dry_run`, nothing is run that creates
    /// anything and nothing is saved: the report says what is pending.
    pub fn provision(
        &mut self,
        plan: &provision::Plan,
        options: ProvisionOptions,
        fly: &FlyEnv,
        reporter: &dyn Reporter,
    ) -> Result<provision::Report, Error> {
        let run = Provisioning {
            defs: &self.defs,
            workloads: &self.specs,
            options,
            project_root: self.project.root(),
            events: reporter,
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
                    write_default_file(project)?;
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
            return Err(Error::Failed(format!(
                "{}\n{} of {} resources are ready {kept}",
                failures.join("\n"),
                done,
                report.outcomes.len()
            )));
        }
        Ok(report)
    }

    /// Converts every workload of the project (warnings reported, pointing into the files),
    /// with a stand-in image for the workloads in `to_be_built` (see
    /// [`Opened::convert_options`]).
    pub fn convert(&self, to_be_built: &BTreeSet<String>, reporter: &dyn Reporter) -> Result<Vec<Converted>, Error> {
        let mut converted = Vec::new();
        let mut problems = Vec::new();
        for w in self.workloads.values() {
            let options = self.convert_options(w, false, to_be_built)?;
            match convert_one(w, options, reporter) {
                Ok(c) => converted.push(c),
                Err(e) => problems.push((e, w.loaded.clone())),
            }
        }
        if !problems.is_empty() {
            return Err(Error::Unconvertible(problems));
        }
        for c in &mut converted {
            self.patch(&self.workloads[&c.name], c)?;
        }
        Ok(converted)
    }

    /// Applies the patches of `w` ([`patch_files`]) to its conversion `c`
    /// ([`fly::patch::apply`]): the patched text is what [`Converted::fly_toml`] gives.
    pub fn patch(&self, w: &ProjectWorkload, c: &mut Converted) -> Result<(), Error> {
        let files = patch_files(&self.root, &w.entry);
        if files.is_empty() {
            return Ok(());
        }
        let mut patches = Vec::new();
        for file in &files {
            let path = self.root.join(file);
            // A regular file only (a FIFO named fly.patch.toml is refused, never waited on).
            let limit =
                ("MAX_DOCUMENT_BYTES", crate::limits::MAX_DOCUMENT_BYTES, "keep a patch to what Score cannot say");
            let text = std::fs::canonicalize(&path)
                .map_err(|source| crate::input::ReadError::Io { path: path.clone(), source })
                .and_then(|real| crate::input::read_regular(&real, limit))
                .map_err(|e| Error::Invalid(format!("cannot read patch file: {e}")))
                .and_then(|bytes| {
                    String::from_utf8(bytes)
                        .map_err(|_| Error::Invalid(format!("patch file {} is not UTF-8 text", shown(&path).display())))
                })?;
            patches.push(fly::patch::parse(&shown(&path), &text)?);
        }
        let base: toml::Table = c
            .conversion
            .to_toml()
            .parse()
            .map_err(|e| Error::Failed(format!("the generated fly.toml does not read back as TOML: {e}")))?;
        let secrets = c.conversion.secrets.keys().cloned().collect();
        let patched = fly::patch::apply(&base, &patches, &secrets)?;
        let body =
            toml::to_string(&patched).map_err(|e| Error::Failed(format!("cannot write the patched fly.toml: {e}")))?;
        c.patched = Some((body, files.iter().map(|f| shown(&self.root.join(f))).collect()));
        Ok(())
    }

    /// Every file to write for these conversions (fly.toml files and the generated files in
    /// `.score-fly/files/<app>/` beside them, where no link is followed).
    pub fn writes(&self, converted: &[Converted]) -> Writes {
        let mut writes = Writes::default();
        for c in converted {
            for file in &c.conversion.generated_files {
                let write = PendingWrite::inside(&c.out_dir, &file.path, file.bytes.clone());
                let what = format!("the generated file of workload `{}`", c.name);
                writes.push(write.clone(), Output::generated(write.path, what));
            }
            let path = self.root.join(&c.output);
            let what = format!("the fly.toml of workload `{}`", c.name);
            writes.push(
                PendingWrite::new(path.clone(), c.fly_toml().into_bytes()),
                Output::named(shown(&path), what, "write it elsewhere with -o"),
            );
        }
        writes
    }

    /// Writes every file, all or nothing, once none of them is an input, a project file or
    /// another one of them ([`outputs::check`]).
    pub fn commit(&self, writes: &Writes, reporter: &dyn Reporter) -> Result<(), Error> {
        outputs::check(&self.protected, &writes.outputs)?;
        fsutil::write_all_atomic(&writes.files)?;
        for write in &writes.files {
            reporter.event(Event::Project(ProjectEvent::Wrote { path: &write.path }));
        }
        Ok(())
    }

    /// Records the project's workloads in the state and saves it.
    pub fn record(&mut self) -> Result<(), Error> {
        self.state.workloads = self.workloads.iter().map(|(name, t)| (name.clone(), t.entry.clone())).collect();
        if self.unwritten_defaults {
            write_default_file(&self.project)?;
            self.unwritten_defaults = false;
        }
        self.save()
    }

    /// Saves the state as it is.
    pub fn save(&self) -> Result<(), Error> {
        Ok(self.project.save(&self.state)?)
    }
}

/// Converts one workload of the project with `options`, reporting its warnings (pointing
/// into its file when it was loaded this run).
pub fn convert_one(
    w: &ProjectWorkload,
    options: ConvertOptions,
    reporter: &dyn Reporter,
) -> Result<Converted, fly::ConvertError> {
    let conversion = fly::convert(&w.entry.spec, &options, &LocalFiles)?;
    for warning in &conversion.warnings {
        reporter.event(Event::Project(ProjectEvent::Warning { workload: &w.name, warning, loaded: w.loaded.as_ref() }));
    }
    Ok(Converted::new(w, options.out_dir, conversion))
}

/// How the provisioner that provisioned `entry` uses the app prefix, by the project's
/// provisioner definitions `defs`: a builtin by its name (also run score-flyio style, as
/// `cargo-score-fly builtin-provisioners NAME ...`); one no longer defined by its id when that
/// names a builtin (`builtin-postgres`); any other provisioner is not given the prefix.
pub fn prefix_use(defs: &[Located], entry: &ResourceEntry) -> PrefixUse {
    let builtin_use = |name: &str| {
        if crate::builtin::NAMES.contains(&name) { crate::builtin::prefix_use(name) } else { PrefixUse::Unrelated }
    };
    match defs.iter().find(|d| d.def.id == entry.provisioner).map(|d| d.def.kind()) {
        Some(Kind::Builtin(name)) => crate::builtin::prefix_use(&name),
        Some(Kind::Cmd(cmd)) => cmd
            .args
            .iter()
            .position(|a| a == "builtin-provisioners")
            .and_then(|i| cmd.args.get(i + 1))
            .map_or(PrefixUse::Unrelated, |name| builtin_use(name)),
        Some(_) => PrefixUse::Unrelated,
        None => entry.provisioner.strip_prefix("builtin-").map_or(PrefixUse::Unrelated, builtin_use),
    }
}

/// Sets the project's app prefix to `asked` (a flag or setting): allowed while nothing exists
/// on Fly under the current one, otherwise an error naming what exists and how to migrate
/// ([`State::change_prefix`]).
pub fn set_prefix(state: &mut State, asked: &str, defs: &[Located], reporter: &dyn Reporter) -> Result<(), Error> {
    let old = state.app_prefix.clone();
    if old == asked {
        return Ok(());
    }
    let forgotten = state.change_prefix(asked, |entry| prefix_use(defs, entry))?;
    reporter.event(Event::Project(ProjectEvent::PrefixChanged { old: &old, new: asked }));
    for uid in forgotten {
        reporter.event(Event::Project(ProjectEvent::PrefixForgotten { uid: &uid }));
    }
    Ok(())
}

/// A prefix as messages show it (re-exported for front ends).
pub fn prefix_shown(prefix: &str) -> String {
    shown_prefix(prefix)
}

/// The builtin Fly provisioners as `init` registers them (last in matching order: any
/// other provisioner file, and `provisioners add`, come first).
pub fn default_provisioners() -> String {
    let mut text = String::from(
        "# The builtin Fly provisioners, registered by `cargo score-fly init`. They match last: a\n\
         # provisioner added with `cargo score-fly provisioners add` or written in another\n\
         # *.provisioners.yaml file wins. Delete an entry to stop using that builtin.\n",
    );
    for name in crate::builtin::NAMES {
        let _ = write!(text, "- id: builtin-{name}\n  type: {name}\n  builtin: {name}\n");
    }
    text
}

/// Writes `default.provisioners.yaml` unless it exists (a user may have edited it),
/// reporting it when it did.
pub fn register_defaults(project: &Project, reporter: &dyn Reporter) -> Result<(), Error> {
    if write_default_file(project)? {
        let path = project.dir().join(definition::DEFAULT_FILE);
        reporter.event(Event::Project(ProjectEvent::Registered { path: &path }));
    }
    Ok(())
}

/// Writes `default.provisioners.yaml` unless it exists; whether it wrote it.
pub fn write_default_file(project: &Project) -> Result<bool, fsutil::FsError> {
    let path = project.dir().join(definition::DEFAULT_FILE);
    if std::fs::symlink_metadata(&path).is_ok() {
        return Ok(false);
    }
    project.write(definition::DEFAULT_FILE, default_provisioners().as_bytes(), None)?;
    Ok(true)
}

/// The builtin provisioners of a project used without `init` (no state, no
/// `default.provisioners.yaml`): runs use them as `init` registers them, and write the file
/// once the run goes ahead ([`register_defaults`]). `None` otherwise: a project with a state
/// has the provisioners its files say (a removed builtin stays removed).
pub fn implicit_defaults(project: &Project, has_state: bool) -> Result<Option<Vec<Located>>, Error> {
    let file = project.dir().join(definition::DEFAULT_FILE);
    if has_state || std::fs::symlink_metadata(&file).is_ok() {
        return Ok(None);
    }
    let defs = definition::parse_file(&file, &default_provisioners())?;
    Ok(Some(defs.into_iter().map(|def| Located { def, file: file.clone() }).collect()))
}

/// The patch files of a workload, project-relative: the [`fly::patch::FILE_NAME`] in the
/// folder its `source` files are relative to (beside its Score file, or its package's
/// `Cargo.toml`) when it exists, then its `--patch` files in order.
pub fn patch_files(root: &Path, entry: &WorkloadEntry) -> Vec<PathBuf> {
    let file_dir = entry.file.parent().unwrap_or(Path::new(""));
    let beside = entry.dir.as_deref().unwrap_or(file_dir).join(fly::patch::FILE_NAME);
    let mut files = Vec::new();
    if std::fs::symlink_metadata(root.join(&beside)).is_ok() && !entry.patches.contains(&beside) {
        files.push(beside);
    }
    files.extend(entry.patches.iter().cloned());
    files
}

/// The files a workload was declared with, relative to the project `root`: its Score file
/// (or the Rust source holding `#[score_workload]`) and the `source` files its containers
/// read. No output may replace them.
pub fn declared_inputs(root: &Path, file: &Path, dir: Option<&Path>, spec: &Workload) -> Vec<Protected> {
    let name = spec.name();
    let is_rust = file.extension().is_some_and(|e| e == "rs");
    let what = if is_rust { "the source declaring workload" } else { "the Score file of workload" };
    let mut protected = vec![Protected::file(shown(&root.join(file)), format!("{what} `{name}`"))];
    let file_dir = file.parent().unwrap_or(Path::new(""));
    let source_dir = root.join(dir.unwrap_or(file_dir));
    for container in spec.containers.values() {
        for (target, file) in &container.files {
            if let Some(source) = &file.source {
                protected.push(Protected::file(
                    shown(&source_dir.join(source)),
                    format!("the source file of `{target}` in workload `{name}`"),
                ));
            }
        }
    }
    protected
}

/// What no output may replace in a cargo workspace rooted at `root`: the project folder, the
/// workspace's manifest and lock file.
pub fn workspace_protected(root: &Path) -> Vec<Protected> {
    vec![
        Protected::folder(shown(&root.join(STATE_DIR)), "the project folder"),
        Protected::file(shown(&root.join("Cargo.toml")), "the workspace manifest"),
        Protected::file(shown(&root.join("Cargo.lock")), "the lock file"),
    ]
}

fn absolute(path: &Path) -> Result<PathBuf, Error> {
    let path = if path.as_os_str().is_empty() { Path::new(".") } else { path };
    std::path::absolute(path)
        .map(|p| fsutil::normalize(&p))
        .map_err(|e| Error::Failed(format!("cannot resolve {}: {e}", path.display())))
}
