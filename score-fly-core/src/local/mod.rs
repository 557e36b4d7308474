//! The **local provisioners**: the conventional Score resource types served on this machine,
//! for `cargo score-fly dev`, with the same names ([`crate::builtin::NAMES`]) and the same
//! output keys ([`crate::builtin::output_keys`]) as the builtin Fly provisioners, so one
//! Score file runs locally and on Fly.
//!
//! Everything lives under `.score-fly/dev/` ([`DEV_DIR`]), apart from the Fly state:
//!
//! | builtin | starts | data | values | secrets |
//! |---|---|---|---|---|
//! | `postgres` | one Postgres server per project (`initdb` once, `pg_ctl start`), a database and role per resource | `dev/pg/shared/` | `host`, `port`, `name`, `database`, `username` | `password`, `uri`, `direct_uri` |
//! | `postgres-instance` | a Postgres server per resource | `dev/pg/<id>_<hash>/` | as `postgres` | as `postgres` |
//! | `redis` | `redis-server` per resource, `requirepass` in its own config file | `dev/redis/<id>_<hash>/` | `host`, `port`, `username` | `password`, `url` |
//! | `s3` | an S3 server in this process (s3s + s3s-fs), one bucket | `dev/s3/<id>_<hash>/` | `bucket`, `endpoint`, `region` | `access_key_id`, `secret_key`, `aws_access_key_id`, `aws_secret_key` |
//! | `volume` | nothing: a folder | `dev/volumes/<id>_<hash>/` | `source`, `type`, `path` (the folder) | |
//! | `dns` | nothing | | `host` (`localhost`) | |
//! | `route` | nothing | | `host` (`localhost`), `port` (local), `path` | |
//! | `service-port` | nothing | | `hostname` (`localhost`), `port` (local) | |
//! | `environment` | nothing | | | every key the workloads read, from the environment |
//!
//! Servers listen on 127.0.0.1 only, on a free port below the ephemeral range
//! ([`process::PORTS`]; the port of the last run when it is free), and never outlive the
//! [`LocalEnv`] that started them: [`LocalEnv::stop_all`] (and `Drop`) stops them, last
//! started first. Each server runs in a process group (Postgres: a session, `pg_ctl`
//! makes it) of its own, so a Ctrl-C to the terminal's foreground group reaches `dev` and
//! the service only: `dev` then stops the servers cleanly (`pg_ctl stop -m fast`, SIGTERM to
//! Redis, which saves) instead of them dying mid-write. A server left running by a `dev`
//! that was killed is found by its pid file on the next run and stopped before its data
//! folder is used again; a pid file whose process is gone is ignored.
//!
//! Every builtin is called on every run ([`crate::provision::Builtins::always_call`]):
//! servers are started again, and the data and passwords of the last run reused (the
//! password from the provisioner state).

mod error;
pub mod postgres;
pub mod process;
pub mod redis;
pub mod s3;
mod simple;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub use error::LocalError;

use crate::builtin::FlyEnv;
use crate::provision::CallContext;
use crate::provision::protocol::{Mode, Request, Response};
use crate::secret::Secret;

/// `.score-fly/dev` under the project root: everything local lives there, never mixed with
/// the Fly state (joined under [`crate::state::STATE_DIR`]).
pub const DEV_DIR: &str = "dev";

/// The folders of `.score-fly/dev` holding the servers' data, which [`reset`] deletes.
pub const DATA_DIRS: &[&str] = &["pg", "redis", "s3", "volumes"];

/// What the local provisioners need besides the requests.
#[derive(Debug, Clone, Default)]
pub struct LocalOptions {
    /// Folder of `initdb`/`pg_ctl`/`postgres` (else `SCORE_FLY_PG_BIN`, else `PATH`, else
    /// `/usr/lib/postgresql/<newest>/bin`).
    pub pg_bin: Option<PathBuf>,
    /// `redis-server` (else `SCORE_FLY_REDIS_BIN`, else `PATH`).
    pub redis_bin: Option<PathBuf>,
    /// Local ports of the workloads' service ports: workload → port name → local port
    /// (filled by `dev`; used by `dns`/`route`/`service-port`).
    pub workload_ports: BTreeMap<String, BTreeMap<String, u16>>,
    /// The service ports of each workload as declared (workload → port name → `port`), to
    /// find a `route`'s or `service-port`'s port given by number
    /// ([`LocalOptions::for_workloads`] fills it).
    pub service_ports: BTreeMap<String, BTreeMap<String, u16>>,
    /// The output keys the workloads read from each resource (by uid): what `environment`
    /// supplies ([`LocalOptions::for_workloads`] fills it, as for Fly).
    pub referenced: BTreeMap<String, BTreeSet<String>>,
    /// Variables that win over the process environment (`SCORE_FLY_PG_BIN`,
    /// `SCORE_FLY_REDIS_BIN`, the variables `environment` reads); empty in normal runs.
    pub vars: BTreeMap<String, Secret>,
}

impl LocalOptions {
    /// The options for a project's workloads: their service ports and the outputs their
    /// placeholders read, found as for Fly ([`FlyEnv::for_workloads`]); `workload_ports`
    /// is left for the caller.
    pub fn for_workloads(root: &Path, workloads: &BTreeMap<String, crate::state::WorkloadEntry>) -> LocalOptions {
        let fly = FlyEnv::for_workloads("", root, workloads);
        LocalOptions { service_ports: fly.ports, referenced: fly.referenced, ..LocalOptions::default() }
    }

    /// A variable: [`LocalOptions::vars`], else the process environment.
    pub(crate) fn var(&self, name: &str) -> Option<String> {
        match self.vars.get(name) {
            Some(value) => Some(value.expose().to_owned()),
            None => std::env::var(name).ok(),
        }
    }
}

/// Where a started server listens (for `dev` to print). No secrets.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ServerInfo {
    /// The resource whose provisioning started it.
    pub uid: String,
    /// Every resource it serves (a shared Postgres serves every `postgres` resource).
    pub serves: Vec<String>,
    /// `postgres`, `redis` or `s3`.
    pub kind: &'static str,
    /// `127.0.0.1:<port>`.
    pub address: String,
    /// Its data folder.
    pub data: PathBuf,
    /// Its process (`None` for the S3 server, which runs in this process).
    pub pid: Option<u32>,
}

/// A server this env started.
enum Running {
    Postgres(postgres::Started),
    Redis(redis::Started),
    S3(s3::Started),
}

struct Server {
    info: ServerInfo,
    running: Running,
}

/// The local provisioners of one `dev` session: implements [`crate::provision::Builtins`]
/// and owns the servers its provisioning starts.
pub struct LocalEnv {
    root: PathBuf,
    options: LocalOptions,
    /// For `environment`, whose code is the Fly builtin's.
    fly: FlyEnv,
    servers: Mutex<Vec<Server>>,
    /// Held while a Postgres cluster is found, made or started (resources sharing it are
    /// provisioned concurrently).
    pg: Mutex<()>,
}

impl std::fmt::Debug for LocalEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEnv").field("root", &self.root).field("servers", &self.servers()).finish_non_exhaustive()
    }
}

impl LocalEnv {
    /// The local provisioners of the project at `project_root`.
    pub fn new(project_root: &Path, options: LocalOptions) -> LocalEnv {
        let fly = FlyEnv {
            ports: options.service_ports.clone(),
            referenced: options.referenced.clone(),
            vars: options.vars.clone(),
            ..FlyEnv::default()
        };
        LocalEnv { root: project_root.to_path_buf(), options, fly, servers: Mutex::new(Vec::new()), pg: Mutex::new(()) }
    }

    /// The options it was made with, the workloads of the last [`LocalEnv::set_workloads`].
    pub fn options(&self) -> &LocalOptions {
        &self.options
    }

    /// Takes the workloads of a new `dev` cycle (the first, or one after a change under
    /// `--watch`): their service ports and the outputs their placeholders read, as
    /// [`LocalOptions::for_workloads`] finds them, and their local ports `workload_ports`. The
    /// servers already started keep running.
    pub fn set_workloads(
        &mut self,
        workloads: &BTreeMap<String, crate::state::WorkloadEntry>,
        workload_ports: &BTreeMap<String, BTreeMap<String, u16>>,
    ) {
        let fresh = LocalOptions::for_workloads(&self.root, workloads);
        self.fly.ports.clone_from(&fresh.service_ports);
        self.fly.referenced.clone_from(&fresh.referenced);
        self.options.service_ports = fresh.service_ports;
        self.options.referenced = fresh.referenced;
        self.options.workload_ports.clone_from(workload_ports);
    }

    /// `.score-fly/dev` of the project.
    pub fn dev_dir(&self) -> PathBuf {
        dev_dir(&self.root)
    }

    /// Stops every server this env started, last started first; idempotent. `Drop` calls
    /// it too.
    pub fn stop_all(&self) -> Vec<LocalError> {
        let servers = std::mem::take(&mut *self.lock_servers());
        let mut errors = Vec::new();
        for server in servers.into_iter().rev() {
            let stopped = match server.running {
                Running::Postgres(pg) => pg.stop(),
                Running::Redis(redis) => redis.stop(),
                Running::S3(s3) => s3.stop(),
            };
            if let Err(e) = stopped {
                errors.push(e);
            }
        }
        errors
    }

    /// Where each started server listens (uid, kind, address, data folder), no secrets.
    pub fn servers(&self) -> Vec<ServerInfo> {
        self.lock_servers().iter().map(|s| s.info.clone()).collect()
    }

    fn lock_servers(&self) -> std::sync::MutexGuard<'_, Vec<Server>> {
        self.servers.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn add(&self, info: ServerInfo, running: Running) {
        self.lock_servers().push(Server { info, running });
    }

    /// The Postgres server this env started on data folder `data`, if any: its port and
    /// socket folder; `uid` is added to the resources it serves.
    fn postgres_running(&self, data: &Path, uid: &str) -> Option<(u16, PathBuf)> {
        let mut servers = self.lock_servers();
        servers.iter_mut().find_map(|s| match &s.running {
            Running::Postgres(pg) if pg.data == data => {
                if !s.info.serves.iter().any(|u| u == uid) {
                    s.info.serves.push(uid.to_owned());
                }
                Some((pg.port, pg.socket_dir.clone()))
            }
            _ => None,
        })
    }

    /// A folder below `.score-fly/dev` (`parts`), made when missing; no link is followed.
    pub(crate) fn folder(&self, parts: &[&str]) -> Result<PathBuf, LocalError> {
        let mut at = self.root.join(crate::state::STATE_DIR);
        let mut all = vec![DEV_DIR];
        all.extend_from_slice(parts);
        make_dir(&at)?;
        for (i, part) in all.iter().enumerate() {
            at.push(part);
            make_dir(&at)?;
            if i == 0 {
                let ignore = at.join(".gitignore");
                if !ignore.exists() {
                    crate::fsutil::write_atomic(&ignore, b"# score-fly dev: local data, passwords\n*\n", None)?;
                }
            }
        }
        Ok(at)
    }

    fn call_local(
        &self,
        name: &str,
        mode: Mode,
        request: &Request,
        cx: &CallContext<'_>,
    ) -> Result<Option<Response>, LocalError> {
        let call = crate::builtin::Call { request, env: &self.fly, cx };
        match (name, mode) {
            ("postgres" | "postgres-instance", Mode::Provision) => {
                postgres::provision(self, &call, name == "postgres").map(Some)
            }
            ("redis", Mode::Provision) => redis::provision(self, &call).map(Some),
            ("s3", Mode::Provision) => s3::provision(self, &call).map(Some),
            ("volume", Mode::Provision) => simple::volume(self, &call).map(Some),
            ("dns", Mode::Provision) => simple::dns(&call).map(Some),
            ("route", Mode::Provision) => simple::route(self, &call).map(Some),
            ("service-port", Mode::Provision) => simple::service_port(self, &call).map(Some),
            ("environment", _) => Ok(crate::builtin::call(name, mode, request, &self.fly, cx)?),
            // The data stays until `dev --reset`: a deprovision forgets the resource only.
            (_, Mode::Deprovision) if crate::builtin::NAMES.contains(&name) => Ok(None),
            _ => Err(crate::provision::no_builtin(self, name).into()),
        }
    }
}

impl Drop for LocalEnv {
    fn drop(&mut self) {
        let _ = self.stop_all();
    }
}

/// The local provisioners as the engine's `builtin` kind, under the Fly builtins' names.
impl crate::provision::Builtins for LocalEnv {
    fn names(&self) -> &[&'static str] {
        crate::builtin::NAMES
    }

    fn call(&self, name: &str, mode: Mode, request: &Request, cx: &CallContext<'_>) -> crate::provision::BuiltinResult {
        Ok(self.call_local(name, mode, request, cx)?)
    }

    /// Every one: servers must be started on each run, and ports and the environment change
    /// between runs while the params stay the same.
    fn always_call(&self, _name: &str) -> bool {
        true
    }

    /// Only what `dev` passes in [`LocalOptions::vars`] is known to be secret here.
    fn secrets(&self) -> Vec<Secret> {
        Vec::new()
    }
}

/// `.score-fly/dev` of the project at `root`.
pub fn dev_dir(root: &Path) -> PathBuf {
    root.join(crate::state::STATE_DIR).join(DEV_DIR)
}

/// Makes folder `path` unless it exists; a link there is an error.
fn make_dir(path: &Path) -> Result<(), LocalError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(LocalError::Link { path: path.to_path_buf() }),
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(LocalError::io("use as a folder", path, std::io::Error::from(std::io::ErrorKind::NotADirectory))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => match std::fs::create_dir(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => make_dir(path),
            Err(e) => Err(LocalError::io("create", path, e)),
        },
        Err(e) => Err(LocalError::io("inspect", path, e)),
    }
}

/// The folder name of a resource's server data: `<id>_<hash>` ([`crate::builtin::pg_name`]).
pub(crate) fn resource_folder(request: &Request) -> String {
    crate::builtin::pg_name(request, 40)
}

/// What [`reset`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ResetReport {
    /// The folders deleted (those of [`DATA_DIRS`] that existed).
    pub removed: Vec<PathBuf>,
}

/// `dev --reset`: deletes the local data (`.score-fly/dev/{pg,redis,s3,volumes}`) after
/// checking that no server of it runs (a Postgres or Redis whose pid file names a live
/// server, an S3 server of a live process). Nothing is deleted when one runs.
pub fn reset(project_root: &Path) -> Result<ResetReport, LocalError> {
    let dev = dev_dir(project_root);
    match std::fs::symlink_metadata(&dev) {
        Ok(meta) if meta.file_type().is_symlink() => return Err(LocalError::Link { path: dev }),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(ResetReport::default()),
        Err(e) => return Err(LocalError::io("inspect", dev, e)),
    }
    let mut running = Vec::new();
    for (kind, pid_file, program) in [
        ("pg", "data/postmaster.pid", Some("postgres")),
        ("redis", redis::PID_FILE, Some("redis-server")),
        ("s3", s3::PID_FILE, None),
    ] {
        let Ok(entries) = std::fs::read_dir(dev.join(kind)) else { continue };
        for entry in entries.flatten() {
            let Some(pid) = process::read_pid(&entry.path().join(pid_file)) else { continue };
            let runs = match program {
                Some(program) => process::runs(pid, program),
                None => process::alive(pid),
            };
            if runs {
                let shown = crate::fsutil::relative_path(project_root, &entry.path());
                running.push(format!("{} (pid {pid}, {shown})", program.unwrap_or("s3")));
            }
        }
    }
    if !running.is_empty() {
        return Err(LocalError::Running { root: project_root.to_path_buf(), running });
    }
    let mut removed = Vec::new();
    for name in DATA_DIRS {
        let path = dev.join(name);
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(LocalError::io("inspect", path, e)),
            // A link is removed, never followed.
            Ok(meta) if !meta.is_dir() => {
                std::fs::remove_file(&path).map_err(|e| LocalError::io("remove", &path, e))?;
            }
            Ok(_) => std::fs::remove_dir_all(&path).map_err(|e| LocalError::io("remove", &path, e))?,
        }
        removed.push(path);
    }
    Ok(ResetReport { removed })
}
