//! `cargo score-fly dev`: a workload run on this machine, its resources provisioned by local
//! provisioners, its variables and files resolved by the conversion's own code
//! ([`fly::resolve_container`]), its binary run as a child process.
//!
//! - State: `.score-fly/dev/` ([`Project::open_dev`]): its own `state.json`, lock and files.
//!   The Fly state (`.score-fly/state.json`) is never read nor written here.
//! - Provisioners: `.score-fly/dev/*.provisioners.yaml` first (cmd/http/static/builtin
//!   entries overriding any other), then the project's own files in `.score-fly/` (its
//!   `builtin:` entries call the builtins the caller passes: local ones), as for Fly.
//! - Ports: each service port of each workload gets a local port ([`local_ports`]): the
//!   container port itself when it is free, else one the system gives. The child gets
//!   `PORT` (its first port) and `SCORE_FLY_PORT_<NAME>` for each.
//! - Files: written under `.score-fly/dev/files/<workload>/<path>` (modes kept);
//!   [`FILES_DIR_VAR`] points the child at that folder.
//! - The child runs in its own process group ([`Running`]); stopping it signals the group,
//!   then kills what is left, so nothing stays behind.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::Error;
use super::event::{Event, Reporter};
use crate::fly::{self, ConvertOptions, LocalFiles};
use crate::fsutil::{self, PendingWrite};
use crate::provision::definition::{self, Located};
use crate::provision::{self, Builtins, ProvisionOptions, Provisioning};
use crate::secret::{Redactor, Secret};
use crate::spec::Workload;
use crate::state::{DEV_DIR, LockWait, Project, STATE_DIR, STATE_FILE, State, WorkloadEntry};

pub use super::event::DevEvent;
use super::project::Input;

mod children;
#[cfg(feature = "local")]
pub use children::{DEBOUNCE, Watcher};
pub use children::{Launch, LineSink, Running, exit_code, first_exit_code, release, start_all};

/// The variable that names the folder holding a workload's Score `files`.
pub const FILES_DIR_VAR: &str = "SCORE_FLY_FILES_DIR";

/// The folder of the written files inside `.score-fly/dev/`.
pub const FILES_DIR: &str = "files";

/// How long a stopped service may take to exit after the signal before its process group
/// is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// Each workload's service ports: port name → local port.
pub type WorkloadPorts = BTreeMap<String, BTreeMap<String, u16>>;

/// The workloads of `inputs` as the dev state records them (no fly.toml output, no region,
/// no releases): what the local builtins are made for ([`crate::local::LocalOptions::for_workloads`]).
pub fn workload_entries(inputs: &[Input]) -> BTreeMap<String, WorkloadEntry> {
    inputs
        .iter()
        .map(|input| {
            let entry = WorkloadEntry {
                dir: input.dir.clone(),
                ..WorkloadEntry::new(&input.file, PathBuf::new(), input.loaded.workload.clone())
            };
            (input.loaded.workload.name().to_owned(), entry)
        })
        .collect()
}

/// The local state of a project, locked for the session.
#[derive(Debug)]
pub struct DevProject {
    project: Project,
    root: PathBuf,
}

/// A workload ready to run: its environment and files.
#[derive(Debug)]
pub struct Ready {
    /// The workload.
    pub name: String,
    /// Its environment: the Score variables resolved, then `PORT`, `SCORE_FLY_PORT_<NAME>`
    /// and [`FILES_DIR_VAR`]. Secret values are [`Secret`]s.
    pub env: BTreeMap<String, EnvValue>,
    /// Its service ports: name → local port.
    pub ports: BTreeMap<String, u16>,
    /// The folder of its files, when it has any.
    pub files_dir: Option<PathBuf>,
    /// Its release command (the annotation's text), run with the binary before it starts.
    pub release_command: Option<String>,
}

/// A variable's value for the child.
#[derive(Debug, Clone)]
pub enum EnvValue {
    /// May be shown.
    Plain(String),
    /// Read a secret output: never shown.
    Secret(Secret),
}

impl EnvValue {
    /// The value (for the child's environment only).
    pub fn expose(&self) -> &str {
        match self {
            EnvValue::Plain(v) => v,
            EnvValue::Secret(s) => s.expose(),
        }
    }
}

/// A resource as a dev run shows it: plain outputs (known secrets redacted) and the names
/// of the secret ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShownResource {
    /// `type.class#id`.
    pub uid: String,
    /// Plain outputs, redacted.
    pub values: BTreeMap<String, String>,
    /// Secret outputs' names.
    pub secrets: Vec<String>,
}

/// What [`DevProject::prepare`] gives.
#[derive(Debug)]
pub struct Prepared {
    /// The workloads, in the order of the inputs.
    pub workloads: Vec<Ready>,
    /// Every resource they use.
    pub resources: Vec<ShownResource>,
}

/// How a dev run provisions.
#[derive(Debug, Clone, Copy)]
pub struct DevOptions {
    /// Provisioners running at once.
    pub jobs: usize,
    /// Call provisioners even for resources whose inputs did not change.
    pub reprovision: bool,
}

/// Opens (and locks, for the session) the local state of the project rooted at `root`.
pub fn open(root: &Path, lock_timeout: Duration, reporter: &dyn Reporter) -> Result<DevProject, Error> {
    let project = Project::open_dev(root, LockWait { timeout: lock_timeout }, &mut |holder| {
        reporter.event(Event::Project(super::project::ProjectEvent::Blocking { holder }));
    })?;
    Ok(DevProject { project, root: root.to_path_buf() })
}

/// Local ports for every service port of `workloads`: `previous` ones kept, else the
/// container port when nothing listens on it (and no other port took it), else a free port
/// the system gives.
pub fn local_ports(workloads: &[&Workload], previous: &WorkloadPorts) -> Result<WorkloadPorts, Error> {
    let mut all = previous.clone();
    let mut taken: Vec<u16> = previous.values().flat_map(|p| p.values().copied()).collect();
    for workload in workloads {
        let Some(service) = &workload.service else { continue };
        let ports = all.entry(workload.name().to_owned()).or_default();
        for (name, port) in &service.ports {
            if ports.contains_key(name) {
                continue;
            }
            let wanted = port.target();
            let local = if !taken.contains(&wanted) && is_free(wanted) {
                wanted
            } else {
                TcpListener::bind(("127.0.0.1", 0))
                    .and_then(|l| l.local_addr())
                    .map_err(|e| Error::Failed(format!("cannot find a free local port: {e}")))?
                    .port()
            };
            taken.push(local);
            ports.insert(name.clone(), local);
        }
    }
    Ok(all)
}

fn is_free(port: u16) -> bool {
    TcpListener::bind(("0.0.0.0", port)).is_ok() && TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// `SCORE_FLY_PORT_<NAME>`: the name upper-cased, other characters than letters and digits
/// as `_`.
pub fn port_variable(name: &str) -> String {
    let name: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("SCORE_FLY_PORT_{name}")
}

impl DevProject {
    /// The project root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The local state folder (`.score-fly/dev`).
    pub fn dir(&self) -> PathBuf {
        self.project.dir()
    }

    /// The provisioners of a dev run: `.score-fly/dev/*.provisioners.yaml`, then the
    /// project's files (an id defined in both: the dev one), then, for a project that has
    /// neither state nor `default.provisioners.yaml`, the builtins as `init` registers them.
    pub fn provisioners(&self) -> Result<Vec<Located>, Error> {
        let mut defs = definition::load_all(&self.project.dir())?;
        let fly_dir = self.root.join(STATE_DIR);
        for def in definition::load_all(&fly_dir)? {
            if !defs.iter().any(|d| d.def.id == def.def.id) {
                defs.push(def);
            }
        }
        let default_file = fly_dir.join(definition::DEFAULT_FILE);
        let has_state = std::fs::symlink_metadata(fly_dir.join(STATE_FILE)).is_ok();
        if !has_state && std::fs::symlink_metadata(&default_file).is_err() {
            let text = super::project::default_provisioners();
            for def in definition::parse_file(&default_file, &text)? {
                if !defs.iter().any(|d| d.def.id == def.id) {
                    defs.push(Located { def, file: default_file.clone() });
                }
            }
        }
        Ok(defs)
    }

    /// Provisions the resources of `inputs` with `builtins` (the local ones) into the local
    /// state, resolves each workload's variables and files (writing the files) with the
    /// ports `ports`.
    pub fn prepare(
        &mut self,
        inputs: &[Input],
        ports: &WorkloadPorts,
        allow_outside_source: bool,
        builtins: &dyn Builtins,
        options: DevOptions,
        reporter: &dyn Reporter,
    ) -> Result<Prepared, Error> {
        let defs = self.provisioners()?;
        let mut state = self.project.load()?.unwrap_or_else(|| State::new(""));
        let specs: BTreeMap<String, Workload> =
            inputs.iter().map(|i| (i.loaded.workload.name().to_owned(), i.loaded.workload.clone())).collect();
        let plan = provision::plan_for(&specs, &defs, &state, builtins).map_err(|e| {
            Error::Invalid(
                e.problems.iter().map(|p| format!("{}: {}", p.workload, p.message)).collect::<Vec<_>>().join("\n"),
            )
        })?;
        let run = Provisioning {
            defs: &defs,
            workloads: &specs,
            options: ProvisionOptions {
                jobs: options.jobs,
                reprovision: options.reprovision,
                ..ProvisionOptions::default()
            },
            project_root: &self.root,
            events: reporter,
            builtins,
        };
        let project = &self.project;
        let report = provision::execute(&plan, run, &mut state, &mut |s| project.save(s))?;
        let failures = report.failures();
        if !failures.is_empty() {
            return Err(Error::Failed(format!(
                "{}\nwhat was provisioned is kept in {}; fix the problem and run `cargo score-fly dev` again",
                failures.join("\n"),
                fsutil::shown(&self.project.state_path()).display()
            )));
        }
        state.workloads.extend(workload_entries(inputs));
        self.project.save(&state)?;
        let redactor = Redactor::for_state(&state);
        let mut workloads = Vec::new();
        for input in inputs {
            workloads.push(self.ready(input, &state, ports, allow_outside_source, reporter)?);
        }
        let mut uids: Vec<String> = Vec::new();
        for (name, spec) in &specs {
            for (res, resource) in &spec.resources {
                let uid = resource.uid(name, res);
                if !uids.contains(&uid) {
                    uids.push(uid);
                }
            }
        }
        let resources = uids
            .into_iter()
            .filter_map(|uid| {
                let entry = state.resources.get(&uid)?;
                let values = entry
                    .values
                    .iter()
                    .map(|(k, v)| {
                        let text = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                        (k.clone(), redactor.redact(&text))
                    })
                    .collect();
                Some(ShownResource { uid, values, secrets: entry.secrets.keys().cloned().collect() })
            })
            .collect();
        Ok(Prepared { workloads, resources })
    }

    /// One workload's environment and files.
    fn ready(
        &self,
        input: &Input,
        state: &State,
        ports: &WorkloadPorts,
        allow_outside_source: bool,
        reporter: &dyn Reporter,
    ) -> Result<Ready, Error> {
        let workload = &input.loaded.workload;
        let name = workload.name().to_owned();
        let container = run_container(workload)?;
        let file_dir = input.file.parent().unwrap_or(Path::new("")).to_path_buf();
        let root = std::path::absolute(if self.root.as_os_str().is_empty() { Path::new(".") } else { &self.root })
            .map_err(|e| Error::Failed(format!("cannot resolve the project folder: {e}")))?;
        let options = ConvertOptions {
            score_dir: root.join(input.dir.as_ref().unwrap_or(&file_dir)),
            out_dir: root.clone(),
            resources: provision::outputs_for(&name, workload, state),
            sources: fly::SourcePolicy { root: Some(root.clone()), allow_outside: allow_outside_source },
            ..ConvertOptions::default()
        };
        let resolved = fly::resolve_container(workload, &container, &options, &LocalFiles)
            .map_err(|e| Error::Unconvertible(vec![(e, Some(input.loaded.clone()))]))?;
        let mut env: BTreeMap<String, EnvValue> = resolved
            .variables
            .into_iter()
            .map(|(k, v)| (k, if v.secret { EnvValue::Secret(Secret::new(v.value)) } else { EnvValue::Plain(v.value) }))
            .collect();
        let own_ports = ports.get(&name).cloned().unwrap_or_default();
        if let Some(service) = &workload.service {
            for (port_name, port) in &service.ports {
                let Some(local) = own_ports.get(port_name) else { continue };
                if *local != port.target() {
                    let event =
                        DevEvent::PortMoved { workload: &name, port: port_name, wanted: port.target(), local: *local };
                    reporter.event(Event::Dev(event));
                }
                env.insert(port_variable(port_name), EnvValue::Plain(local.to_string()));
            }
            if let Some(first) = service.ports.keys().next().and_then(|p| own_ports.get(p)) {
                env.insert("PORT".to_owned(), EnvValue::Plain(first.to_string()));
            }
        }
        let files_dir = self.write_files(&name, &resolved.files, reporter)?;
        if let Some(dir) = &files_dir {
            env.insert(FILES_DIR_VAR.to_owned(), EnvValue::Plain(dir.display().to_string()));
        }
        let port_names: Vec<&str> = workload.service.iter().flat_map(|s| s.ports.keys().map(String::as_str)).collect();
        let mut problems = Vec::new();
        let release_command = fly::annotations::parse(&workload.metadata.annotations, &port_names, &mut problems)
            .release_command
            .filter(|c| !c.trim().is_empty());
        Ok(Ready { name, env, ports: own_ports, files_dir, release_command })
    }

    /// Writes `files` under `.score-fly/dev/files/<workload>/` (replacing what an earlier run
    /// wrote there), all or nothing; returns the folder (absolute) when there are files.
    fn write_files(
        &self,
        workload: &str,
        files: &BTreeMap<String, fly::ResolvedFile>,
        reporter: &dyn Reporter,
    ) -> Result<Option<PathBuf>, Error> {
        let relative = Path::new(STATE_DIR).join(DEV_DIR).join(FILES_DIR).join(workload);
        let dir = self.root.join(&relative);
        match std::fs::symlink_metadata(&dir) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(fsutil::link_error("replace", &dir, &dir, &self.project.dir()).into());
            }
            Ok(_) => std::fs::remove_dir_all(&dir).map_err(|e| fsutil::FsError::new("remove", &dir, e))?,
            Err(_) => {}
        }
        if files.is_empty() {
            return Ok(None);
        }
        let mut writes = Vec::new();
        for (target, file) in files {
            let mode = match file.mode.as_deref().map(|m| u32::from_str_radix(m, 8)) {
                Some(Ok(mode)) => Some(mode & 0o7777),
                Some(Err(_)) => {
                    return Err(Error::Invalid(format!(
                        "file `{target}` of workload `{workload}`: mode must be octal digits such as \"0644\""
                    )));
                }
                None if file.secret => Some(0o600),
                None => None,
            };
            let inside = relative.join(target.trim_start_matches('/'));
            let mut write = PendingWrite::inside(&self.root, inside, file.bytes.clone());
            if let Some(mode) = mode {
                write = write.with_mode(mode);
            }
            writes.push(write);
        }
        fsutil::write_all_atomic(&writes)?;
        let absolute = std::path::absolute(&dir).map_err(|e| fsutil::FsError::new("resolve", &dir, e))?;
        let targets = files.keys().map(String::as_str).collect();
        reporter.event(Event::Dev(DevEvent::Files { workload, dir: &absolute, targets }));
        Ok(Some(absolute))
    }

    /// `dev --reset`: removes the local state and the written files (the lock is held, so no
    /// dev session is running). Returns what was removed.
    pub fn reset(&self) -> Result<Vec<PathBuf>, Error> {
        let mut removed = Vec::new();
        let state = self.project.state_path();
        if std::fs::symlink_metadata(&state).is_ok() {
            fsutil::remove_inside(&self.root, &self.project.relative(STATE_FILE))?;
            removed.push(state);
        }
        let files = self.project.dir().join(FILES_DIR);
        match std::fs::symlink_metadata(&files) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(fsutil::link_error("remove", &files, &files, &self.project.dir()).into());
            }
            Ok(_) => {
                std::fs::remove_dir_all(&files).map_err(|e| fsutil::FsError::new("remove", &files, e))?;
                removed.push(files);
            }
            Err(_) => {}
        }
        Ok(removed)
    }
}

/// The container a dev run runs the binary as: the only one, else the only one whose image
/// is `.` (built from this project).
fn run_container(workload: &Workload) -> Result<String, Error> {
    if workload.containers.len() == 1 {
        return Ok(workload.containers.keys().next().cloned().unwrap_or_default());
    }
    let built: Vec<&String> = workload.containers.iter().filter(|(_, c)| c.image == ".").map(|(n, _)| n).collect();
    match built.as_slice() {
        [one] => Ok((*one).clone()),
        _ => Err(Error::Invalid(format!(
            "workload `{}` has several containers and not exactly one with image `.`: `dev` runs the package's binary as that one; set `image: .` on the container the binary is",
            workload.name()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workload(yaml: &str) -> Workload {
        crate::spec::load_str("score.yaml", yaml).expect("valid").workload
    }

    #[test]
    fn ports_keep_the_container_port_when_free_and_move_when_taken() {
        let taken = TcpListener::bind(("0.0.0.0", 0)).expect("bind");
        let busy = taken.local_addr().expect("addr").port();
        let free = TcpListener::bind(("127.0.0.1", 0)).expect("bind").local_addr().expect("addr").port();
        let doc = format!(
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: .\nservice:\n  ports:\n    aa:\n      port: {free}\n    bb:\n      port: 80\n      targetPort: {busy}\n"
        );
        let w = workload(&doc);
        let ports = local_ports(&[&w], &WorkloadPorts::new()).expect("ports");
        assert_eq!(ports["web"]["aa"], free);
        assert_ne!(ports["web"]["bb"], busy, "taken: another port");
        let again = local_ports(&[&w], &ports).expect("ports");
        assert_eq!(again, ports, "kept across restarts");
        assert_eq!(port_variable("web-api.v2"), "SCORE_FLY_PORT_WEB_API_V2");
    }

    #[test]
    fn several_containers_need_one_built_here() {
        let two = "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  aa:\n    image: nginx\n  bb:\n    image: .\n";
        assert_eq!(run_container(&workload(two)).expect("bb"), "bb");
        let e = run_container(&workload(&two.replace("image: .", "image: redis"))).unwrap_err();
        assert!(e.to_string().contains("several containers"), "{e}");
    }
}
