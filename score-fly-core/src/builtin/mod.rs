//! The builtin Fly provisioners: Fly-native resources (Postgres, Redis, object storage,
//! volumes, hosts) for the conventional Score resource types.
//!
//! They run in-process as the `builtin` provisioner kind (`builtin: postgres` in a
//! provisioner file; `init` registers one per type) and, for score-flyio compatibility, as
//! `cargo score-fly builtin-provisioners <type> provision|deprovision` with the request on
//! stdin and the response on stdout. Both go through [`call`].
//!
//! Rules every builtin follows:
//! - Names of what it creates derive from the app prefix and the resource uid only
//!   ([`fly_name`], [`pg_name`]), and what already exists under that name is adopted: losing
//!   `.score-fly/` (a fresh CI runner) never creates a second cluster, database or bucket.
//! - A credential that cannot be recovered from Fly (a database password) is rotated, and
//!   the new value becomes the secret output. Tigris keys can be neither read back nor
//!   rotated through flyctl: `s3` then fails and says how to recover ([`s3`]).
//! - flyctl gets no secret on its command line; what it prints about credentials is masked
//!   before it is shown.
//!
//! | builtin | creates (name) | values | secrets |
//! |---|---|---|---|
//! | `postgres`, `postgres-instance` | a Managed Postgres cluster, a database and a user: see [`mpg`] (class `legacy`: unmanaged Fly Postgres, see [`postgres`]) | `host`, `port`, `name`, `database`, `username` | `password`, `uri`, `direct_uri` (legacy: `password`) |
//! | `redis` | Upstash Redis `<prefix>redis-<id>-<hash>` | `host`, `port`, `username` | `password`, `url` |
//! | `s3` | Tigris bucket `<prefix>s3-<id>-<hash>` | `bucket`, `endpoint`, `region` | `access_key_id`, `secret_key`, `aws_access_key_id`, `aws_secret_key` |
//! | `volume` | volume `<id>_<hash>` of the declaring workload's app | `source`, `type` | |
//! | `dns` | nothing | `host` (`<app>.fly.dev`) | |
//! | `route` | nothing (checks the host) | `host`, `port`, `path` | |
//! | `service-port` | the target app's private IPv6 (Flycast) | `hostname` (`<app>.flycast`), `port` | |
//! | `environment` | nothing | | every key the workloads read, from the environment |
//!
//! Each module documents its params and how it adopts what exists.

pub mod environment;
mod error;
pub mod hosts;
pub mod mpg;
pub mod postgres;
pub mod redis;
pub mod s3;
pub mod volume;
#[cfg(test)]
mod with_engine;

use std::collections::{BTreeMap, BTreeSet};

use sha2::{Digest as _, Sha256};

pub use error::{BuiltinError, RedisUrlError, SizeError};

use crate::flyio::api::{ApiError, AppLookup, MachinesApi};
use crate::flyio::cli::{Flyctl, FlyctlError, Output};
use crate::provision::CallContext;
use crate::provision::protocol::{Mode, Request, Response};
use crate::secret::Secret;
use crate::target::FlyTarget;

/// The builtin provisioners, by the name a `builtin:` entry uses (= the resource type).
pub const NAMES: &[&str] =
    &["postgres", "postgres-instance", "redis", "s3", "volume", "dns", "route", "service-port", "environment"];

/// The output keys builtin `name` answers with: (plain, secret), as in the table above.
/// `environment` is not listed: its outputs are the keys the workloads read, all secret.
/// Lets a dry run name the app secrets before anything is provisioned.
pub fn output_keys(name: &str) -> Option<(&'static [&'static str], &'static [&'static str])> {
    Some(match name {
        "postgres" | "postgres-instance" => {
            (&["host", "port", "name", "database", "username"], &["password", "uri", "direct_uri"])
        }
        "redis" => (&["host", "port", "username"], &["password", "url"]),
        "s3" => {
            (&["bucket", "endpoint", "region"], &["access_key_id", "secret_key", "aws_access_key_id", "aws_secret_key"])
        }
        "volume" => (&["source", "type"], &[]),
        "dns" => (&["host"], &[]),
        "route" => (&["host", "port", "path"], &[]),
        "service-port" => (&["hostname", "port"], &[]),
        _ => return None,
    })
}

/// Whether the outputs of builtin `name` depend on more than its inputs (params, metadata),
/// so the engine must call it on every run rather than reuse its last outputs: `environment`
/// reads the deploying environment.
pub fn always_call(name: &str) -> bool {
    name == "environment"
}

/// How a provisioner relates to the project's app prefix (defined beside the state that
/// records what was made under it).
pub use crate::state::PrefixUse;

/// How builtin `name` uses the app prefix (an unknown name counts as creating things).
pub fn prefix_use(name: &str) -> PrefixUse {
    match name {
        "dns" | "route" | "service-port" => PrefixUse::Names,
        "environment" => PrefixUse::Unrelated,
        _ => PrefixUse::Creates,
    }
}

/// Serialises the check-then-create sections of builtins running concurrently in this
/// process (independent resources are provisioned in parallel): two resources needing the
/// same cluster, app or address must not both find it missing and both create it.
pub(crate) fn creating() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The Fly organisation when nothing says otherwise.
pub const DEFAULT_ORG: &str = crate::target::DEFAULT_ORG;

/// What the builtins need besides the request: where things go on Fly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlyEnv {
    /// The project's app prefix (names of everything created start with it).
    pub app_prefix: String,
    /// The organisation (`--org`, `FLY_ORG`, the `org` setting); else [`DEFAULT_ORG`].
    pub org: Option<String>,
    /// The primary region of each workload (by name): what a resource it declares is
    /// created in when its params set none.
    pub regions: BTreeMap<String, String>,
    /// The region when neither says (`--region`); else `FLY_REGION`/`FLY_REGION_NAME`.
    pub region: Option<String>,
    /// The service ports of each workload of the project: port name → `port` (what
    /// `service-port` and `route` resolve and check).
    pub ports: BTreeMap<String, BTreeMap<String, u16>>,
    /// The output keys the workloads read from each resource (by uid), from their
    /// `${resources.<name>.<key>}` placeholders: what `environment` must supply.
    pub referenced: BTreeMap<String, BTreeSet<String>>,
    /// Environment variables that win over the process environment for the builtins: read
    /// by them (`FLY_BIN`, `FLY_FLAPS_BASE_URL`, the token, `FLY_ORG`, `FLY_REGION`, the
    /// variables `environment` reads) and passed to flyctl. Empty in normal runs; lets a
    /// program embedding score-fly (or a test) point the builtins at another Fly without
    /// changing its own environment.
    pub vars: BTreeMap<String, Secret>,
}

impl FlyEnv {
    /// The environment of a project's workloads: each one's primary region (its
    /// `primary-region` annotation, else the region it was added with), service ports, and
    /// the resource outputs their placeholders read (`root`: the project folder, which the
    /// workloads' `file` and `dir` are relative to, to read `source` files, which must be
    /// inside it).
    pub fn for_workloads(
        app_prefix: &str,
        root: &std::path::Path,
        workloads: &BTreeMap<String, crate::state::WorkloadEntry>,
    ) -> FlyEnv {
        Self::for_workloads_reading(app_prefix, root, workloads, false)
    }

    /// [`FlyEnv::for_workloads`], reading `source` files outside the project too when
    /// `allow_outside_source` (`--allow-outside-source`).
    pub fn for_workloads_reading(
        app_prefix: &str,
        root: &std::path::Path,
        workloads: &BTreeMap<String, crate::state::WorkloadEntry>,
        allow_outside_source: bool,
    ) -> FlyEnv {
        let ports = workloads
            .iter()
            .map(|(name, entry)| {
                let ports = entry
                    .spec
                    .service
                    .as_ref()
                    .map(|s| s.ports.iter().map(|(port, p)| (port.clone(), p.port)).collect())
                    .unwrap_or_default();
                (name.clone(), ports)
            })
            .collect();
        let mut referenced = BTreeMap::new();
        let sources = crate::fly::SourcePolicy { root: Some(root.to_path_buf()), allow_outside: allow_outside_source };
        for (name, entry) in workloads {
            let file_dir = entry.file.parent().unwrap_or(std::path::Path::new(""));
            let source_dir = root.join(entry.dir.as_deref().unwrap_or(file_dir));
            referenced_outputs(name, &entry.spec, &source_dir, &sources, &mut referenced);
        }
        let regions = workloads
            .iter()
            .filter_map(|(name, entry)| {
                let port_names: Vec<&str> = entry
                    .spec
                    .service
                    .as_ref()
                    .map(|s| s.ports.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                let annotations =
                    crate::fly::annotations::parse(&entry.spec.metadata.annotations, &port_names, &mut Vec::new());
                let region = annotations.primary_region.or_else(|| entry.region.clone())?;
                Some((name.clone(), region))
            })
            .collect();
        FlyEnv {
            app_prefix: app_prefix.to_owned(),
            org: None,
            regions,
            region: None,
            ports,
            referenced,
            vars: BTreeMap::new(),
        }
    }

    /// The environment of a project's workloads ([`FlyEnv::for_workloads_reading`]) for a
    /// resolved [`FlyTarget`]: its app prefix, organisation and default region.
    pub fn for_target(
        target: &FlyTarget,
        root: &std::path::Path,
        workloads: &BTreeMap<String, crate::state::WorkloadEntry>,
        allow_outside_source: bool,
    ) -> FlyEnv {
        let mut env = Self::for_workloads_reading(&target.app_prefix, root, workloads, allow_outside_source);
        env.org = Some(target.org.clone());
        env.region.clone_from(&target.region);
        env
    }

    /// Where the builtins deploy: [`FlyEnv::vars`] over the process environment, read by
    /// [`FlyTarget::from_lookup`], with this environment's prefix, and its organisation and
    /// region when set.
    pub fn target(&self) -> FlyTarget {
        let mut target = FlyTarget::from_lookup(&|name| match self.vars.get(name) {
            Some(value) => Some(value.expose().into()),
            None => std::env::var_os(name),
        })
        .with_prefix(&self.app_prefix);
        if let Some(org) = &self.org {
            target.org.clone_from(org);
        }
        if self.region.is_some() {
            target.region.clone_from(&self.region);
        }
        target
    }

    /// The organisation slug to create things in.
    pub fn org(&self) -> String {
        self.target().org
    }

    /// An environment variable: [`FlyEnv::vars`], else the process environment (`None` when
    /// unset or not UTF-8).
    pub fn var(&self, name: &str) -> Option<String> {
        match self.vars.get(name) {
            Some(value) => Some(value.expose().to_owned()),
            None => std::env::var(name).ok(),
        }
    }

    /// The app of a workload: `<prefix><workload>` ([`crate::target::app_name`]).
    pub fn app(&self, workload: &str) -> String {
        crate::target::app_name(&self.app_prefix, workload)
    }
}

/// Adds the output keys `workload`'s placeholders read, by resource uid, wherever
/// placeholders can appear ([`crate::spec::sites::placeholder_sites`]): the content of a
/// `source` file is read relative to `source_dir` as the conversion reads it
/// ([`crate::fly::read_source`]); one that cannot be read as text is skipped here (the
/// conversion reports it).
fn referenced_outputs(
    workload_name: &str,
    workload: &crate::spec::Workload,
    source_dir: &std::path::Path,
    sources: &crate::fly::SourcePolicy,
    out: &mut BTreeMap<String, BTreeSet<String>>,
) {
    for site in crate::spec::sites::placeholder_sites(workload) {
        let text = if site.kind == crate::spec::sites::SiteKind::FileSource {
            let Ok(bytes) = crate::fly::read_source(&crate::fly::LocalFiles, sources, source_dir, &site.text) else {
                continue;
            };
            let Ok(text) = String::from_utf8(bytes) else { continue };
            text
        } else {
            site.text
        };
        for reference in crate::placeholder::resource_references(&text) {
            if let [name, key, ..] = reference.as_slice()
                && let Some(resource) = workload.resources.get(name)
            {
                out.entry(resource.uid(workload_name, name)).or_default().insert(key.clone());
            }
        }
    }
}

/// One builtin call: the request, the environment, and helpers to reach Fly.
pub(crate) struct Call<'a> {
    pub(crate) request: &'a Request,
    pub(crate) env: &'a FlyEnv,
    pub(crate) cx: &'a CallContext<'a>,
}

impl Call<'_> {
    /// A string param, if set.
    pub(crate) fn param(&self, key: &str) -> Option<String> {
        match self.request.resource_params.get(key)? {
            serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// A string from the provisioner's own state.
    pub(crate) fn state_str(&self, key: &str) -> Option<String> {
        self.request.state.get(key).and_then(|v| v.as_str()).map(str::to_owned)
    }

    /// The region for something new: `region` param, the workload's region, `FLY_REGION`,
    /// `FLY_REGION_NAME` (score-flyio's variable).
    pub(crate) fn region(&self) -> Result<String, BuiltinError> {
        let from_workload = self.cx.declared_by.iter().find_map(|d| {
            let workload = d.split_once('.').map_or(d.as_str(), |(w, _)| w);
            self.env.regions.get(workload).cloned()
        });
        let (region, what) = match (self.param("region"), from_workload) {
            (Some(param), _) => (Some(param), "the `region` param"),
            (None, Some(workload)) => (Some(workload), "the workload's primary region"),
            (None, None) => (
                self.env.target().region,
                "the default region (--region, the `region` setting, FLY_REGION or FLY_REGION_NAME)",
            ),
        };
        let region = region.ok_or_else(|| BuiltinError::NoRegion { uid: self.request.resource_uid.clone() })?;
        // Fly's list (fly-2026.md §4): a deprecated code becomes its replacement, with a
        // line saying so; an unknown one is an error listing the nearest codes.
        let checked = crate::fly::regions::check(&region).map_err(|source| BuiltinError::BadRegion { what, source })?;
        if let Some(replaced) = checked.warning() {
            self.say(&format!("warning: {what}: {replaced}"));
        }
        Ok(checked.code().to_owned())
    }

    /// A line of progress (redacted: it may quote what flyctl or the API said).
    pub(crate) fn say(&self, line: &str) {
        self.cx.events.output(self.cx.uid, &self.cx.redactor.redact(line));
    }

    /// Runs flyctl; its output lines are shown (credentials masked) as progress. It runs in
    /// the project's `.score-fly/` folder without `FLY_APP`, so no `fly.toml` or app of the
    /// surroundings changes what a command acts on.
    pub(crate) fn fly(&self, args: &[&str]) -> Result<Output, FlyctlError> {
        self.fly_showing(args, &|_| true)
    }

    /// [`Call::fly`], showing only the output lines `show` accepts (for commands that print
    /// credentials masking cannot recognise, such as access key ids).
    pub(crate) fn fly_showing(&self, args: &[&str], show: &dyn Fn(&str) -> bool) -> Result<Output, FlyctlError> {
        self.run_fly(args, show, None)
    }

    /// [`Call::fly`] for a command that may wait without a limit of its own (`fly mpg
    /// create`): stopped after `deadline` ([`FlyctlError::TimedOut`]).
    pub(crate) fn fly_within(&self, args: &[&str], deadline: std::time::Duration) -> Result<Output, FlyctlError> {
        self.run_fly(args, &|_| true, Some(deadline))
    }

    fn run_fly(
        &self,
        args: &[&str],
        show: &dyn Fn(&str) -> bool,
        deadline: Option<std::time::Duration>,
    ) -> Result<Output, FlyctlError> {
        let flyctl = Flyctl::for_target(&self.env.target())?;
        let root =
            if self.cx.project_root.as_os_str().is_empty() { std::path::Path::new(".") } else { self.cx.project_root };
        let dir = root.join(crate::state::STATE_DIR);
        let dir = if dir.is_dir() { dir } else { std::env::temp_dir() };
        let mut command = flyctl.command(args).current_dir(&dir);
        for (name, value) in &self.env.vars {
            command = command.env(name, value.expose());
        }
        if let Some(deadline) = deadline {
            command = command.deadline(deadline);
        }
        command.env_remove("FLY_APP").redact(self.cx.redactor).mask_credentials().run(&mut |line| {
            if !line.trim().is_empty() && show(line) {
                self.say(line);
            }
        })
    }

    /// The Machines API client of [`FlyEnv::target`] (`FLY_FLAPS_BASE_URL` and the token from
    /// [`FlyEnv::vars`] or the process environment).
    pub(crate) fn api(&self) -> Result<MachinesApi, ApiError> {
        MachinesApi::for_target(&self.env.target())
    }

    /// Makes a workload's app unless it exists (`fly apps create`), so what belongs to it (a
    /// volume, an IP address) can be made before its first deploy.
    pub(crate) fn ensure_app(&self, api: &MachinesApi, app: &str) -> Result<(), BuiltinError> {
        let _one_at_a_time = creating();
        match api.app(app)? {
            AppLookup::Exists { .. } => Ok(()),
            AppLookup::TakenElsewhere => {
                Err(BuiltinError::AppTakenElsewhere { app: app.to_owned(), uid: self.request.resource_uid.clone() })
            }
            AppLookup::Missing => {
                let org = self.env.org();
                self.say(&format!("creating app {app} (org {org})"));
                self.fly(&["apps", "create", app, "--org", &org])?;
                Ok(())
            }
        }
    }

    /// The workload a per-app resource (a volume) belongs to: the one declaring it.
    pub(crate) fn workload(&self) -> Result<String, BuiltinError> {
        let mut workloads: Vec<&str> =
            self.cx.declared_by.iter().map(|d| d.split_once('.').map_or(d.as_str(), |(w, _)| w)).collect();
        workloads.dedup();
        match workloads.as_slice() {
            [one] => Ok((*one).to_owned()),
            [] => self
                .request
                .resource_id
                .split_once('.')
                .map(|(w, _)| w.to_owned())
                .ok_or_else(|| BuiltinError::NoWorkload { uid: self.request.resource_uid.clone() }),
            many => Err(BuiltinError::SharedByWorkloads {
                uid: self.request.resource_uid.clone(),
                workloads: many.iter().map(|w| (*w).to_owned()).collect(),
            }),
        }
    }
}

/// The builtin Fly provisioners as the engine's `builtin` kind: a run that is given a
/// `FlyEnv` ([`crate::provision::Provisioning::builtins`]) has them all.
impl crate::provision::Builtins for FlyEnv {
    fn names(&self) -> &[&'static str] {
        NAMES
    }

    fn call(&self, name: &str, mode: Mode, request: &Request, cx: &CallContext<'_>) -> crate::provision::BuiltinResult {
        Ok(call(name, mode, request, self, cx)?)
    }

    fn always_call(&self, name: &str) -> bool {
        always_call(name)
    }

    fn derived_name(&self, name: &str, prefix: &str, uid: &str, id: &str) -> Option<String> {
        derived_name(name, prefix, uid, id)
    }

    /// The Fly token (from [`FlyEnv::vars`], else the process environment).
    fn secrets(&self) -> Vec<Secret> {
        crate::target::TOKEN_VARS.iter().filter_map(|var| self.var(var)).map(Secret::new).collect()
    }
}

/// Runs a builtin provisioner. `Ok(None)` is an empty answer (a deprovision).
pub fn call(
    name: &str,
    mode: Mode,
    request: &Request,
    env: &FlyEnv,
    cx: &CallContext<'_>,
) -> Result<Option<Response>, BuiltinError> {
    let call = Call { request, env, cx };
    match (name, mode) {
        ("postgres" | "postgres-instance", _) if postgres::legacy(&call, mode) => match (name, mode) {
            ("postgres", Mode::Provision) => postgres::provision_shared(&call).map(Some),
            ("postgres", Mode::Deprovision) => postgres::deprovision_shared(&call),
            (_, Mode::Provision) => postgres::provision_instance(&call).map(Some),
            (_, Mode::Deprovision) => postgres::deprovision_instance(&call),
        },
        ("postgres", Mode::Provision) => mpg::provision(&call, &postgres::shared_cluster(&call)?, true).map(Some),
        ("postgres", Mode::Deprovision) => mpg::deprovision(&call, &postgres::shared_cluster(&call)?, true),
        ("postgres-instance", Mode::Provision) => {
            mpg::provision(&call, &postgres::instance_cluster(&call), false).map(Some)
        }
        ("postgres-instance", Mode::Deprovision) => mpg::deprovision(&call, &postgres::instance_cluster(&call), false),
        ("redis", Mode::Provision) => redis::provision(&call).map(Some),
        ("redis", Mode::Deprovision) => redis::deprovision(&call),
        ("s3", Mode::Provision) => s3::provision(&call).map(Some),
        ("s3", Mode::Deprovision) => s3::deprovision(&call),
        ("volume", Mode::Provision) => volume::provision(&call).map(Some),
        ("volume", Mode::Deprovision) => volume::deprovision(&call),
        ("dns", Mode::Provision) => hosts::provision_dns(&call).map(Some),
        ("route", Mode::Provision) => hosts::provision_route(&call).map(Some),
        ("service-port", Mode::Provision) => hosts::provision_service_port(&call).map(Some),
        ("environment", Mode::Provision) => environment::provision(&call).map(Some),
        // Nothing was created: nothing to remove.
        ("dns" | "route" | "service-port" | "environment", Mode::Deprovision) => Ok(None),
        _ => Err(crate::provision::NoBuiltin { name: name.to_owned(), known: NAMES.to_vec() }.into()),
    }
}

/// Whether a flyctl failure says the thing does not exist: flyctl ran, failed, and what it
/// printed says so.
pub(crate) fn is_not_found(error: &FlyctlError) -> bool {
    let FlyctlError::Failed { tail, .. } = error else { return false };
    let printed = tail.join("\n").to_ascii_lowercase();
    // Not "no such" or "could not resolve": network failures say that ("no such host").
    ["could not find", "not found"].iter().any(|p| printed.contains(p))
}

/// A short, stable hash of a resource uid (6 hex digits).
pub fn short_hash(text: &str) -> String {
    crate::encoding::hex(&Sha256::digest(text.as_bytes())[..3])
}

/// The name builtin `builtin` derives for what it creates for resource `uid` (declared with
/// id `id`) in a project whose app prefix is `prefix` — and adopts when it already exists —
/// or `None` for builtins that create nothing of their own. Two resources served by the same
/// builtin must never derive the same name: the second would adopt the first's database,
/// Redis, bucket or volume (and its password). The plan refuses that
/// ([`crate::provision::plan_for`]); each builtin names what it creates through this rule.
pub fn derived_name(builtin: &str, prefix: &str, uid: &str, id: &str) -> Option<String> {
    let request = Request {
        resource_uid: uid.to_owned(),
        resource_type: String::new(),
        resource_class: String::new(),
        resource_id: id.to_owned(),
        state: serde_json::Map::new(),
        shared: serde_json::Value::Null,
        resource_params: serde_json::Map::new(),
        resource_metadata: serde_json::Map::new(),
    };
    match builtin {
        "postgres" => Some(postgres::database_name(&request)),
        "postgres-instance" => Some(postgres::instance_cluster_name(prefix, &request)),
        "redis" => Some(redis::derived_name(prefix, &request)),
        "s3" => Some(s3::derived_name(prefix, &request)),
        "volume" => Some(volume::derived_name(&request)),
        _ => None,
    }
}

/// A Fly name (app, Redis database, bucket) for a resource: `<prefix><kind>-<id>-<hash>`,
/// lowercase letters, digits and `-`, at most `max` characters. The hash (of the uid) keeps
/// names of resources that differ only in class or punctuation apart.
pub fn fly_name(prefix: &str, kind: &str, request: &Request, max: usize) -> String {
    let hash = short_hash(&request.resource_uid);
    let mut id: String = request
        .resource_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect();
    while id.contains("--") {
        id = id.replace("--", "-");
    }
    let id = id.trim_matches('-');
    let fixed = prefix.len() + kind.len() + 1 + 1 + hash.len();
    let room = max.saturating_sub(fixed + 1);
    let id: String = id.chars().take(room).collect();
    let id = id.trim_end_matches('-');
    if id.is_empty() { format!("{prefix}{kind}-{hash}") } else { format!("{prefix}{kind}-{id}-{hash}") }
}

/// A Postgres identifier (database, role, volume) for a resource: `<id>_<hash>`, lowercase
/// letters, digits and `_`, at most `max` characters, starting with a letter.
pub fn pg_name(request: &Request, max: usize) -> String {
    let hash = short_hash(&request.resource_uid);
    let mut id: String = request
        .resource_id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .collect();
    while id.contains("__") {
        id = id.replace("__", "_");
    }
    let mut id = id.trim_matches('_').to_owned();
    if !id.starts_with(|c: char| c.is_ascii_lowercase()) {
        id.insert(0, 'r');
    }
    let room = max.saturating_sub(hash.len() + 1);
    let id: String = id.chars().take(room).collect();
    format!("{}_{hash}", id.trim_end_matches('_'))
}

/// A random password: 32 letters and digits from the operating system's generator.
pub fn random_password() -> Result<String, BuiltinError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let bytes = random_bytes(64)?;
    // 62 letters: reject bytes >= 248 (= 4 × 62) so every letter is equally likely.
    let password: String = bytes
        .iter()
        .filter(|b| **b < 248)
        .take(32)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect();
    if password.len() < 32 {
        return random_password();
    }
    Ok(password)
}

/// `n` random bytes from the operating system.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, BuiltinError> {
    use std::io::Read as _;
    let mut bytes = vec![0; n];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).map_err(BuiltinError::Random)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uid: &str) -> Request {
        let (kind_class, id) = uid.split_once('#').unwrap();
        let (kind, class) = kind_class.split_once('.').unwrap();
        Request {
            resource_uid: uid.into(),
            resource_type: kind.into(),
            resource_class: class.into(),
            resource_id: id.into(),
            state: serde_json::Map::new(),
            shared: serde_json::json!({}),
            resource_params: serde_json::Map::new(),
            resource_metadata: serde_json::Map::new(),
        }
    }

    #[test]
    fn names_are_stable_valid_and_distinct() {
        let a = fly_name("demo-", "redis", &request("redis.default#todo.cache"), 63);
        assert_eq!(a, format!("demo-redis-todo-cache-{}", short_hash("redis.default#todo.cache")));
        assert_eq!(a, fly_name("demo-", "redis", &request("redis.default#todo.cache"), 63));
        let b = fly_name("demo-", "redis", &request("redis.large#todo.cache"), 63);
        assert_ne!(a, b);
        let long = fly_name(
            "a-very-long-prefix-",
            "pg",
            &request(&format!("postgres-instance.default#{}", "x".repeat(80))),
            63,
        );
        assert!(long.len() <= 63, "{long}");
        assert!(crate::fly::check_app_name(&long).is_ok(), "{long}");

        let db = pg_name(&request("postgres.default#todo.db"), 63);
        assert_eq!(db, format!("todo_db_{}", short_hash("postgres.default#todo.db")));
        let odd = pg_name(&request("postgres.default#9-lives"), 63);
        assert!(odd.starts_with("r9_lives_"), "{odd}");
    }

    #[test]
    fn not_found_errors_are_recognised() {
        let failed = |printed: &[&str]| FlyctlError::Failed {
            command: "fly redis destroy x -y".into(),
            how: "exited with status 1".into(),
            tail: printed.iter().map(|l| (*l).to_owned()).collect(),
        };
        assert!(is_not_found(&failed(&["Error: Could not find Redis database \"x\""])));
        assert!(!is_not_found(&failed(&["Error: unauthorized"])));
        assert!(!is_not_found(&failed(&[])));
        // flyctl itself missing is no answer about the database.
        assert!(!is_not_found(&FlyctlError::NotFound));
        assert!(!is_not_found(&failed(&["Error: dial tcp: lookup api.fly.io: no such host"])));
    }

    #[test]
    fn the_environment_knows_ports_and_referenced_outputs() {
        let text = "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\n    variables:\n      A: ${resources.env.TOKEN}-${resources.env.OTHER.nested}\n      B: ${resources.db.host} $${resources.env.ESCAPED}\n    files:\n      /etc/x: {content: \"${resources.env.IN_FILE}\"}\n      /etc/y: {content: \"${resources.env.NOT_EXPANDED}\", noExpand: true}\n      /etc/z: {source: conf/z.conf}\n      /etc/w: {source: conf/w.conf, noExpand: true}\n      /etc/v: {source: conf/missing.conf}\n    volumes:\n      /data: {source: \"${resources.data}\"}\nservice:\n  ports:\n    http: {port: 80, targetPort: 8080}\n    admin: {port: 9000}\nresources:\n  env:\n    type: environment\n  db:\n    type: postgres\n    params: {x: \"${resources.env.IN_PARAMS}\"}\n  shared:\n    type: environment\n    id: common\n  data:\n    type: volume\n";
        let spec = crate::spec::load_str("score.yaml", text).unwrap().workload;
        // `source` files are read relative to the Score file's folder, itself relative to the root.
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("svc/conf")).unwrap();
        std::fs::write(root.path().join("svc/conf/z.conf"), "token=${resources.env.IN_SOURCE}\n").unwrap();
        std::fs::write(root.path().join("svc/conf/w.conf"), "token=${resources.env.SOURCE_NOT_EXPANDED}\n").unwrap();
        let entry = crate::state::WorkloadEntry {
            region: Some("ams".into()),
            ..crate::state::WorkloadEntry::new("svc/score.yaml", "fly.toml", spec)
        };
        let env = FlyEnv::for_workloads("demo-", root.path(), &BTreeMap::from([("web".to_owned(), entry)]));
        assert_eq!(env.ports["web"], BTreeMap::from([("admin".to_owned(), 9000), ("http".to_owned(), 80)]));
        assert_eq!(env.regions["web"], "ams");
        let keys: Vec<&str> = env.referenced["environment.default#web.env"].iter().map(String::as_str).collect();
        assert_eq!(keys, ["IN_FILE", "IN_PARAMS", "IN_SOURCE", "OTHER", "TOKEN"]);
        assert_eq!(env.referenced["postgres.default#web.db"].iter().collect::<Vec<_>>(), ["host"]);
        assert!(!env.referenced.contains_key("environment.default#common"));
        assert!(!env.referenced.contains_key("volume.default#web.data"), "a bare uid reference reads no key");
        assert_eq!(env.app("web"), "demo-web");
    }

    #[test]
    fn referenced_keys_are_read_from_source_files_as_the_conversion_reads_them() {
        let text = "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\n    files:\n      /etc/a: {source: inside.conf}\n      /etc/b: {source: fifo}\n      /etc/c: {source: OUTSIDE}\n      /etc/d: {source: linked.conf}\n      /etc/e: {source: /proc/self/environ}\nresources:\n  env:\n    type: environment\n";
        let outside = tempfile::tempdir().unwrap();
        let outside_file = outside.path().join("out.conf");
        std::fs::write(&outside_file, "${resources.env.OUTSIDE}").unwrap();
        let text = text.replace("OUTSIDE", outside_file.to_str().unwrap());
        let spec = crate::spec::load_str("score.yaml", &text).unwrap().workload;
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("inside.conf"), "${resources.env.INSIDE}").unwrap();
        let fifo = root.path().join("fifo");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        std::os::unix::fs::symlink(&outside_file, root.path().join("linked.conf")).unwrap();
        let entry = crate::state::WorkloadEntry::new("score.yaml", "fly.toml", spec);
        let workloads = BTreeMap::from([("web".to_owned(), entry)]);
        // The FIFO is not waited on (this would hang), the outside file and the symlink to
        // it are not read, /proc never.
        let keys =
            |env: FlyEnv| -> Vec<String> { env.referenced["environment.default#web.env"].iter().cloned().collect() };
        assert_eq!(keys(FlyEnv::for_workloads("demo-", root.path(), &workloads)), ["INSIDE"]);
        let allowed = FlyEnv::for_workloads_reading("demo-", root.path(), &workloads, true);
        assert_eq!(keys(allowed), ["INSIDE", "OUTSIDE"]);
    }

    #[test]
    fn variables_given_in_the_environment_win() {
        let env = FlyEnv {
            vars: BTreeMap::from([("FLY_ORG".to_owned(), Secret::new("acme")), ("EMPTY".to_owned(), Secret::new(""))]),
            ..FlyEnv::default()
        };
        assert_eq!(env.org(), "acme");
        assert_eq!(env.var("EMPTY").as_deref(), Some(""));
        assert_eq!(FlyEnv { org: Some("x".into()), ..env.clone() }.org(), "x");
        assert!(format!("{env:?}").contains("FLY_ORG") && !format!("{env:?}").contains("acme"), "values stay hidden");
    }

    #[test]
    fn passwords_are_long_random_and_alphanumeric() {
        let a = random_password().unwrap();
        let b = random_password().unwrap();
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
