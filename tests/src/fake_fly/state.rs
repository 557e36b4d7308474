//! The fake backend's state and every rule that depends on it, shared by the Machines API
//! routes and the flyctl RPC routes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use super::{
    App, AppKind, Bucket, Build, FakeFlyOptions, Fault, IpAddress, Machine, PostgresCluster, RedisDb, Release,
    RequestRecord, Secret, Volume,
};

/// The regions the fake accepts (Fly's gateway regions, as `fly.md` lists them).
pub(crate) const REGIONS: &[&str] = &[
    "ams", "arn", "bom", "cdg", "dfw", "ewr", "fra", "gru", "iad", "jnb", "lax", "lhr", "nrt", "ord", "sin", "sjc",
    "syd", "yyz",
];

/// The region used when nothing says which.
const DEFAULT_REGION: &str = "iad";
/// Longest app name (a DNS label).
const MAX_APP_NAME: usize = 63;
/// Longest volume name.
const MAX_VOLUME_NAME: usize = 30;
/// Largest volume, in GB.
const MAX_VOLUME_GB: u64 = 500;

/// An error answered as `{"error": message}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: u16,
    pub(crate) message: String,
}

impl ApiError {
    pub(crate) fn new(status: u16, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }
}

/// Result of an operation.
pub(crate) type ApiResult<T = Value> = Result<T, ApiError>;

/// Everything the fake backend holds.
pub(crate) struct State {
    orgs: Vec<String>,
    taken: Vec<String>,
    pub(crate) apps: BTreeMap<String, App>,
    pub(crate) postgres: BTreeMap<String, PostgresCluster>,
    pub(crate) redis: BTreeMap<String, RedisDb>,
    pub(crate) buckets: BTreeMap<String, Bucket>,
    pub(crate) volumes: Vec<Volume>,
    pub(crate) requests: Vec<RequestRecord>,
    pub(crate) faults: Vec<Fault>,
    /// Managed Postgres clusters by id (`super::mpg`).
    pub(crate) mpg: BTreeMap<String, super::mpg::MpgCluster>,
    /// How long a new MPG cluster stays `initializing` (`FakeFly::set_mpg_ready_after`).
    pub(crate) mpg_ready_after: Option<std::time::Duration>,
    rng: u64,
    secrets_version: u64,
    /// The port of the real Postgres behind the fake's clusters ([`FakeFlyOptions::postgres`]).
    postgres_port: Option<u16>,
}

// ----- small helpers ---------------------------------------------------------------------

/// The current time as RFC 3339 (UTC, seconds).
pub(crate) fn now_rfc3339() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let days = i64::try_from(secs / 86_400).unwrap_or(0);
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The digest flyctl shows for a secret value.
pub(crate) fn digest(value: &str) -> String {
    let hash = Sha256::digest(value.as_bytes());
    hash.iter().take(8).fold(String::new(), |mut text, b| {
        let _ = write!(text, "{b:02x}");
        text
    })
}

/// Whether `name` is a valid app (and Redis) name: lowercase letters, digits and dashes, not
/// starting or ending with a dash, at most 63 characters.
pub(crate) fn app_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("Name can't be blank".to_owned());
    }
    if name.len() > MAX_APP_NAME {
        return Some(format!("Name is too long (maximum is {MAX_APP_NAME} characters)"));
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        || name.starts_with('-')
        || name.ends_with('-')
    {
        return Some("Name can only contain lowercase letters, numbers, and dashes".to_owned());
    }
    None
}

/// Whether `name` is a valid volume name.
pub(crate) fn volume_name_problem(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_VOLUME_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    (!ok).then(|| {
        format!(
            "invalid volume name {name:?}: volume names must be {MAX_VOLUME_NAME} characters or less and contain only letters, numbers and underscores"
        )
    })
}

/// Whether `name` is a valid secret name (an environment variable name).
fn secret_name_ok(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn check_region(region: &str) -> ApiResult<()> {
    if REGIONS.contains(&region) {
        Ok(())
    } else {
        Err(ApiError::new(400, format!("Invalid region {region:?}: valid regions are {}", REGIONS.join(", "))))
    }
}

/// A string field of a JSON object.
pub(crate) fn opt_str(body: &Value, key: &str) -> Option<String> {
    body.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// A required, non-empty string field of a JSON object.
pub(crate) fn req_str(body: &Value, key: &str) -> ApiResult<String> {
    opt_str(body, key).filter(|s| !s.is_empty()).ok_or_else(|| ApiError::new(400, format!("{key} is required")))
}

fn opt_bool(body: &Value, key: &str) -> bool {
    body.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn opt_u64(body: &Value, key: &str) -> Option<u64> {
    body.get(key).and_then(Value::as_u64)
}

fn str_list(body: &Value, key: &str) -> Vec<String> {
    body.get(key)
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The app's `[env]` with `fly deploy -e K=V` values laid over it.
fn config_env(root: &toml::Table, body: &Value) -> Map<String, Value> {
    let mut env: Map<String, Value> = root
        .get("env")
        .and_then(toml::Value::as_table)
        .map(|t| {
            t.iter().map(|(k, v)| (k.clone(), json!(v.as_str().map_or_else(|| v.to_string(), str::to_owned)))).collect()
        })
        .unwrap_or_default();
    for pair in str_list(body, "env") {
        if let Some((k, v)) = pair.split_once('=') {
            env.insert(k.to_owned(), json!(v));
        }
    }
    env
}

fn toml_to_json(value: &toml::Value) -> Value {
    match value {
        toml::Value::String(s) => json!(s),
        toml::Value::Integer(i) => json!(i),
        toml::Value::Float(f) => json!(f),
        toml::Value::Boolean(b) => json!(b),
        toml::Value::Datetime(d) => json!(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => {
            Value::Object(table.iter().map(|(k, v)| (k.clone(), toml_to_json(v))).collect::<Map<_, _>>())
        }
    }
}

/// `[[x]]` or a single `[x]`, as a list of tables.
fn tables<'a>(root: &'a toml::Table, key: &str) -> Vec<&'a toml::Table> {
    match root.get(key) {
        Some(toml::Value::Array(items)) => items.iter().filter_map(toml::Value::as_table).collect(),
        Some(toml::Value::Table(table)) => vec![table],
        _ => Vec::new(),
    }
}

fn processes_of(table: &toml::Table) -> Vec<String> {
    table
        .get("processes")
        .and_then(toml::Value::as_array)
        .map(|items| items.iter().filter_map(toml::Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Memory in MB from a `[[vm]]` `memory` value (`512`, `"512mb"`, `"1gb"`).
fn memory_mb(value: &toml::Value) -> Option<i64> {
    match value {
        toml::Value::Integer(mb) => Some(*mb),
        toml::Value::String(text) => {
            let lower = text.to_ascii_lowercase();
            let digits: String = lower.chars().take_while(char::is_ascii_digit).collect();
            let number: i64 = digits.parse().ok()?;
            match lower[digits.len()..].trim() {
                "" | "m" | "mb" | "mib" => Some(number),
                "g" | "gb" | "gib" => Some(number * 1024),
                _ => None,
            }
        }
        _ => None,
    }
}

/// The `guest` of a machine in `group`, from `[[vm]]`.
fn guest_for(root: &toml::Table, group: &str) -> Value {
    let vm = tables(root, "vm").into_iter().find(|vm| {
        let processes = processes_of(vm);
        processes.is_empty() || processes.iter().any(|p| p == group)
    });
    let (mut kind, mut cpus) = ("shared".to_owned(), 1_i64);
    let mut memory = None;
    if let Some(vm) = vm {
        if let Some(size) = vm.get("size").and_then(toml::Value::as_str) {
            if let Some(n) = size.strip_prefix("shared-cpu-").and_then(|r| r.strip_suffix('x')) {
                cpus = n.parse().unwrap_or(1);
            } else if let Some(n) = size.strip_prefix("performance-").and_then(|r| r.strip_suffix('x')) {
                "performance".clone_into(&mut kind);
                cpus = n.parse().unwrap_or(1);
            }
        }
        if let Some(k) = vm.get("cpu_kind").and_then(toml::Value::as_str) {
            k.clone_into(&mut kind);
        }
        if let Some(n) = vm.get("cpus").and_then(toml::Value::as_integer) {
            cpus = n;
        }
        memory = vm.get("memory").and_then(memory_mb).or_else(|| vm.get("memory_mb").and_then(toml::Value::as_integer));
    }
    let default_memory = if kind == "performance" { 2048 * cpus } else { 256 * cpus };
    json!({ "cpu_kind": kind, "cpus": cpus, "memory_mb": memory.unwrap_or(default_memory) })
}

// ----- the state -------------------------------------------------------------------------

impl State {
    pub(crate) fn new(options: &FakeFlyOptions, port: u16) -> Self {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        Self {
            orgs: options.orgs.clone(),
            taken: options.taken_names.clone(),
            apps: BTreeMap::new(),
            postgres: BTreeMap::new(),
            redis: BTreeMap::new(),
            buckets: BTreeMap::new(),
            volumes: Vec::new(),
            requests: Vec::new(),
            faults: Vec::new(),
            mpg: BTreeMap::new(),
            mpg_ready_after: None,
            rng: (u64::from(port) << 32) ^ u64::from(nanos) ^ 0x9e37_79b9_7f4a_7c15,
            secrets_version: 0,
            postgres_port: options.postgres.as_ref().map(|pg| pg.port),
        }
    }

    // ----- random values -----

    fn next_u64(&mut self) -> u64 {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn random_from(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| {
                let index = usize::try_from(self.next_u64() % alphabet.len() as u64).unwrap_or(0);
                char::from(alphabet[index])
            })
            .collect()
    }

    fn hex(&mut self, len: usize) -> String {
        self.random_from(b"0123456789abcdef", len)
    }

    pub(super) fn lower_alnum(&mut self, len: usize) -> String {
        self.random_from(b"abcdefghijklmnopqrstuvwxyz0123456789", len)
    }

    pub(super) fn alnum(&mut self, len: usize) -> String {
        self.random_from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", len)
    }

    fn private_ip(&mut self) -> String {
        format!("fdaa:0:{}:a7b:{}:{}:{}:2", self.hex(4), self.hex(3), self.hex(4), self.hex(4))
    }

    fn new_machine(&mut self, group: &str, region: &str, config: Value) -> Machine {
        let id = self.hex(14);
        let name = format!("{}-{}", ["bold", "quiet", "green", "swift", "late"][id.len() % 5], self.hex(6));
        Machine {
            id,
            name,
            state: "started".to_owned(),
            region: region.to_owned(),
            process_group: group.to_owned(),
            private_ip: self.private_ip(),
            config,
        }
    }

    // ----- lookups -----

    pub(crate) fn org_exists(&self, org: &str) -> ApiResult<()> {
        if self.orgs.iter().any(|o| o == org) {
            Ok(())
        } else {
            Err(ApiError::new(404, format!("Could not find organization {org:?}")))
        }
    }

    fn name_taken(&self, name: &str) -> bool {
        self.apps.contains_key(name) || self.taken.iter().any(|t| t == name)
    }

    /// An app for the Machines API: `403` when another organisation has it, `404` when free.
    pub(crate) fn api_app(&self, name: &str) -> ApiResult<&App> {
        if self.taken.iter().any(|t| t == name) {
            return Err(ApiError::new(403, "unauthorized: the app belongs to an organization you are not a member of"));
        }
        self.apps.get(name).ok_or_else(|| ApiError::new(404, "app not found"))
    }

    /// An app for a flyctl command (apps of other organisations are invisible, as in flyctl).
    pub(crate) fn command_app(&self, name: &str) -> ApiResult<&App> {
        self.apps.get(name).ok_or_else(|| ApiError::new(404, format!("Could not find App {name:?}")))
    }

    fn command_app_mut(&mut self, name: &str) -> ApiResult<&mut App> {
        self.apps.get_mut(name).ok_or_else(|| ApiError::new(404, format!("Could not find App {name:?}")))
    }

    // ----- JSON shapes -----

    pub(crate) fn app_json(app: &App) -> Value {
        json!({
            "id": app.id,
            "name": app.name,
            "organization": { "name": app.org, "slug": app.org },
            "status": app.status,
        })
    }

    /// `fly releases -a APP --json` (fly-2026.md §5.3): the 25 newest, `Version` descending,
    /// fly-go `Release` (`PascalCase`, every field).
    pub(crate) fn releases_json(app: &App) -> Value {
        let list: Vec<Value> = app
            .releases
            .iter()
            .rev()
            .take(25)
            .map(|r| {
                json!({
                    "ID": r.id, "Version": r.version, "Stable": true, "InProgress": false, "Reason": "",
                    "Description": "Release", "Status": "complete", "DeploymentStrategy": r.strategy.clone().unwrap_or_default(),
                    "Metadata": null,
                    "User": { "ID": "", "Name": "", "Email": "fake@fly.test", "EnablePaidHobby": false },
                    "EvaluationID": "", "CreatedAt": r.created_at, "ImageRef": r.image,
                })
            })
            .collect();
        Value::Array(list)
    }

    pub(crate) fn machine_json(machine: &Machine) -> Value {
        let image = machine.config.get("image").and_then(Value::as_str).unwrap_or("");
        let (repository, tag) = image.rsplit_once(':').unwrap_or((image, "latest"));
        let (registry, repository) = repository.split_once('/').unwrap_or(("docker.io", repository));
        json!({
            "id": machine.id,
            "name": machine.name,
            "state": machine.state,
            "region": machine.region,
            "instance_id": format!("01H{}", machine.id.to_ascii_uppercase()),
            "private_ip": machine.private_ip,
            "config": machine.config,
            "image_ref": { "registry": registry, "repository": repository, "tag": tag },
            "host_status": "ok",
        })
    }

    pub(crate) fn volume_json(volume: &Volume) -> Value {
        json!({
            "id": volume.id,
            "name": volume.name,
            "state": "created",
            "size_gb": volume.size_gb,
            "region": volume.region,
            "zone": volume.zone,
            "encrypted": true,
            "fstype": "ext4",
            "attached_machine_id": volume.attached_machine_id,
            "attached_alloc_id": null,
            "created_at": volume.created_at,
            "host_status": "ok",
            "snapshot_retention": 5,
            "auto_backup_enabled": true,
        })
    }

    pub(crate) fn secrets_json(app: &App) -> Value {
        Value::Array(
            app.secrets
                .iter()
                .map(|(name, secret)| {
                    json!({
                        "name": name,
                        "digest": secret.digest,
                        "created_at": secret.created_at,
                        "updated_at": secret.created_at,
                        "status": if secret.deployed { "Deployed" } else { "Staged" },
                    })
                })
                .collect(),
        )
    }

    fn redis_json(db: &RedisDb, with_secret: bool) -> Value {
        let mut value = json!({
            "id": db.id,
            "name": db.name,
            "organization": { "slug": db.org },
            "primary_region": db.region,
            "read_regions": db.replica_regions,
            "plan": db.plan,
            "eviction": db.eviction,
        });
        if with_secret {
            value["private_url"] = json!(db.url());
            value["password"] = json!(db.password);
        }
        value
    }

    fn bucket_json(bucket: &Bucket) -> Value {
        json!({ "name": bucket.name, "organization": { "slug": bucket.org }, "public": bucket.public, "app": bucket.app })
    }

    // ----- apps -----

    pub(crate) fn list_apps(&self, org: Option<&str>) -> Value {
        let apps: Vec<Value> = self
            .apps
            .values()
            .filter(|app| org.is_none_or(|o| app.org == o))
            .map(|app| {
                json!({
                    "id": app.id,
                    "name": app.name,
                    "machine_count": app.machines.len(),
                    "network": app.network.clone().unwrap_or_else(|| "default".to_owned()),
                    "organization": { "slug": app.org },
                    "status": app.status,
                    "deployed": !app.releases.is_empty(),
                    "kind": match app.kind { AppKind::App => "app", AppKind::Postgres => "postgres" },
                    "hostname": format!("{}.fly.dev", app.name),
                    "version": app.releases.len(),
                })
            })
            .collect();
        json!({ "total_apps": apps.len(), "apps": apps })
    }

    pub(crate) fn create_app(
        &mut self,
        name: &str,
        org: &str,
        network: Option<String>,
        kind: AppKind,
    ) -> ApiResult<&App> {
        if let Some(problem) = app_name_problem(name) {
            return Err(ApiError::new(400, problem));
        }
        self.org_exists(org)?;
        if self.name_taken(name) {
            return Err(ApiError::new(422, "Name has already been taken"));
        }
        let id = self.lower_alnum(16);
        let app = App {
            id,
            name: name.to_owned(),
            org: org.to_owned(),
            status: "pending".to_owned(),
            network,
            kind,
            machines: Vec::new(),
            secrets: BTreeMap::new(),
            releases: Vec::new(),
            ips: Vec::new(),
            logs: Vec::new(),
        };
        Ok(self.apps.entry(name.to_owned()).or_insert(app))
    }

    pub(crate) fn destroy_app(&mut self, name: &str) -> ApiResult<()> {
        self.command_app(name)?;
        self.apps.remove(name);
        self.postgres.remove(name);
        self.volumes.retain(|v| v.app != name);
        for bucket in self.buckets.values_mut() {
            if bucket.app.as_deref() == Some(name) {
                bucket.app = None;
            }
        }
        Ok(())
    }

    // ----- secrets -----

    /// Sets secrets; `deployed` says whether they reach the machines now.
    pub(crate) fn set_secrets(
        &mut self,
        app: &str,
        values: &BTreeMap<String, String>,
        deployed: bool,
    ) -> ApiResult<u64> {
        if values.is_empty() {
            return Err(ApiError::new(400, "requires at least one SECRET=VALUE pair"));
        }
        if let Some(bad) = values.keys().find(|name| !secret_name_ok(name)) {
            return Err(ApiError::new(
                400,
                format!(
                    "invalid secret name {bad:?}: names may only hold letters, digits and underscores, and not start with a digit"
                ),
            ));
        }
        let created_at = now_rfc3339();
        let app = self.command_app_mut(app)?;
        for (name, value) in values {
            app.secrets.insert(
                name.clone(),
                Secret { value: value.clone(), digest: digest(value), deployed, created_at: created_at.clone() },
            );
        }
        self.secrets_version += 1;
        Ok(self.secrets_version)
    }

    pub(crate) fn unset_secrets(&mut self, app: &str, names: &[String]) -> ApiResult<u64> {
        let app = self.command_app_mut(app)?;
        if let Some(missing) = names.iter().find(|name| !app.secrets.contains_key(*name)) {
            return Err(ApiError::new(404, format!("secret {missing:?} is not set on app {:?}", app.name)));
        }
        for name in names {
            app.secrets.remove(name);
        }
        self.secrets_version += 1;
        Ok(self.secrets_version)
    }

    /// After secrets changed without `--stage`: what flyctl says, and whether they are live.
    pub(crate) fn secrets_outcome(&mut self, app: &str, stage: bool) -> ApiResult<String> {
        let app = self.command_app_mut(app)?;
        if stage {
            return Ok("Secrets have been staged, but not set on VMs. Deploy or update machines in this app for the secrets to take effect.".to_owned());
        }
        if app.releases.is_empty() && app.machines.is_empty() {
            return Ok("Secrets are staged for the first deployment".to_owned());
        }
        for secret in app.secrets.values_mut() {
            secret.deployed = true;
        }
        Ok("Secrets are deployed".to_owned())
    }

    // ----- deploy -----

    /// `fly deploy`: the request the fake flyctl sends (see `fake_flyctl::deploy`).
    pub(crate) fn deploy(&mut self, body: &Value) -> ApiResult {
        let app_name = req_str(body, "app")?;
        let config = req_str(body, "config")?;
        self.command_app(&app_name)?;
        if let Err(problems) = crate::flytoml::check(&config) {
            let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
            return Err(ApiError::new(422, format!("App configuration is not valid: {}", list.join("; "))));
        }
        let root: toml::Table = config.parse().map_err(|e| ApiError::new(422, format!("invalid TOML: {e}")))?;
        let build = match opt_str(body, "build").as_deref() {
            Some("image") => Build::Image,
            Some("remote") => Build::Remote,
            Some("local") => Build::Local,
            other => return Err(ApiError::new(400, format!("build must be image, remote or local, not {other:?}"))),
        };
        let image = match build {
            Build::Image => req_str(body, "image")?,
            Build::Remote | Build::Local => {
                format!("registry.fly.io/{app_name}:deployment-{}", self.alnum(26).to_ascii_uppercase())
            }
        };
        let ha = body.get("ha").and_then(Value::as_bool).unwrap_or(true);
        let region = opt_str(body, "primary_region")
            .or_else(|| root.get("primary_region").and_then(toml::Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| DEFAULT_REGION.to_owned());
        check_region(&region)?;

        // Process groups and the default one, as flyctl computes them.
        let mut groups: Vec<String> = root
            .get("processes")
            .and_then(toml::Value::as_table)
            .map(|t| t.keys().cloned().collect())
            .unwrap_or_default();
        groups.sort();
        let default_group =
            if groups.is_empty() || groups.iter().any(|g| g == "app") { "app".to_owned() } else { groups[0].clone() };
        if groups.is_empty() {
            groups.push("app".to_owned());
        }
        let in_group = |table: &toml::Table, group: &str| {
            let processes = processes_of(table);
            if processes.is_empty() { group == default_group } else { processes.iter().any(|p| p == group) }
        };

        // [[files]]: secrets must exist (and hold base64); local files arrive with the request.
        let app = self.command_app(&app_name)?;
        let local_files = body.get("local_files").cloned().unwrap_or(Value::Null);
        let mut files: Vec<(toml::Table, Value)> = Vec::new();
        for (index, file) in tables(&root, "files").into_iter().enumerate() {
            let guest_path = file.get("guest_path").and_then(toml::Value::as_str).unwrap_or_default();
            let mut entry = json!({ "guest_path": guest_path });
            if let Some(name) = file.get("secret_name").and_then(toml::Value::as_str) {
                let Some(secret) = app.secrets.get(name) else {
                    return Err(ApiError::new(
                        422,
                        format!("files[{index}].secret_name: secret {name:?} is not set on app {app_name:?}"),
                    ));
                };
                if base64::engine::general_purpose::STANDARD.decode(secret.value.trim_end()).is_err() {
                    return Err(ApiError::new(
                        422,
                        format!(
                            "files[{index}].secret_name: secret {name:?} must hold base64 (Fly decodes it into the file)"
                        ),
                    ));
                }
                entry["secret_name"] = json!(name);
            } else if let Some(raw) = file.get("raw_value").and_then(toml::Value::as_str) {
                entry["raw_value"] = json!(base64::engine::general_purpose::STANDARD.encode(raw));
            } else if let Some(local) = file.get("local_path").and_then(toml::Value::as_str) {
                let Some(content) = local_files.get(guest_path).and_then(Value::as_str) else {
                    return Err(ApiError::new(
                        422,
                        format!("files[{index}].local_path: the content of {local:?} was not sent"),
                    ));
                };
                entry["raw_value"] = json!(content);
            }
            files.push((file.clone(), entry));
        }

        // [[mounts]]: the volume must exist in the app.
        let mut mounts: Vec<(toml::Table, String, String)> = Vec::new();
        for mount in tables(&root, "mounts") {
            let source = mount.get("source").and_then(toml::Value::as_str).unwrap_or_default().to_owned();
            let destination = mount.get("destination").and_then(toml::Value::as_str).unwrap_or_default().to_owned();
            for group in &groups {
                if in_group(mount, group) && !self.volumes.iter().any(|v| v.app == app_name && v.name == source) {
                    return Err(ApiError::new(
                        422,
                        format!(
                            "creating a new machine in group '{group}' requires an unattached '{source}' volume. Create it with 'fly volume create {source} -a {app_name}'"
                        ),
                    ));
                }
            }
            mounts.push((mount.clone(), source, destination));
        }

        // Which groups have services (2 machines with --ha).
        let mut served: BTreeSet<String> = BTreeSet::new();
        let mut services_by_group: BTreeMap<String, Vec<Value>> = BTreeMap::new();
        if let Some(http) = root.get("http_service").and_then(toml::Value::as_table) {
            for group in groups.iter().filter(|g| in_group(http, g)) {
                served.insert(group.clone());
                services_by_group
                    .entry(group.clone())
                    .or_default()
                    .push(json!({ "http_service": toml_to_json(&toml::Value::Table(http.clone())) }));
            }
        }
        for service in tables(&root, "services") {
            for group in groups.iter().filter(|g| in_group(service, g)) {
                served.insert(group.clone());
                services_by_group
                    .entry(group.clone())
                    .or_default()
                    .push(toml_to_json(&toml::Value::Table(service.clone())));
            }
        }

        let mut env = config_env(&root, body);
        env.insert("PRIMARY_REGION".to_owned(), json!(region));
        let version = u32::try_from(app.releases.len()).unwrap_or(u32::MAX - 1) + 1;
        let strategy = opt_str(body, "strategy").or_else(|| {
            root.get("deploy").and_then(|d| d.get("strategy")).and_then(toml::Value::as_str).map(str::to_owned)
        });

        // Machines: reuse the group's machines in order, create the missing ones, drop the rest.
        let mut old: Vec<Machine> = app.machines.clone();
        let mut machines: Vec<Machine> = Vec::new();
        let mut attachments: Vec<(String, String)> = Vec::new();
        for group in &groups {
            let mut count = if served.contains(group) && ha { 2 } else { 1 };
            let group_mounts: Vec<&(toml::Table, String, String)> =
                mounts.iter().filter(|(m, _, _)| in_group(m, group)).collect();
            let mut free_volumes: Vec<String> = Vec::new();
            if let Some((_, source, _)) = group_mounts.first() {
                free_volumes = self
                    .volumes
                    .iter()
                    .filter(|v| v.app == app_name && &v.name == source)
                    .map(|v| v.id.clone())
                    .collect();
                count = count.min(free_volumes.len());
            }
            let mut group_env = env.clone();
            group_env.insert("FLY_PROCESS_GROUP".to_owned(), json!(group));
            let command = root.get("processes").and_then(|p| p.get(group.as_str())).map(toml_to_json);
            let config = json!({
                "image": image,
                "env": group_env,
                "guest": guest_for(&root, group),
                "metadata": {
                    "fly_process_group": group,
                    "fly_release_version": version.to_string(),
                    "fly_platform_version": "v2",
                },
                "services": services_by_group.get(group).cloned().unwrap_or_default(),
                "mounts": group_mounts.iter().map(|(_, source, destination)| json!({ "name": source, "path": destination })).collect::<Vec<_>>(),
                "files": files.iter().filter(|(f, _)| in_group(f, group)).map(|(_, entry)| entry.clone()).collect::<Vec<_>>(),
                "init": { "cmd": command },
            });
            for index in 0..count {
                let machine = if let Some(position) = old.iter().position(|m| &m.process_group == group) {
                    let mut machine = old.remove(position);
                    machine.config = config.clone();
                    machine.region.clone_from(&region);
                    machine
                } else {
                    self.new_machine(group, &region, config.clone())
                };
                if let Some(volume) = free_volumes.get(index) {
                    attachments.push((volume.clone(), machine.id.clone()));
                }
                machines.push(machine);
            }
        }
        let machine_ids: BTreeSet<String> = machines.iter().map(|m| m.id.clone()).collect();
        for volume in self.volumes.iter_mut().filter(|v| v.app == app_name) {
            if volume.attached_machine_id.as_ref().is_some_and(|id| !machine_ids.contains(id)) {
                volume.attached_machine_id = None;
            }
            if let Some((_, machine)) = attachments.iter().find(|(id, _)| *id == volume.id) {
                volume.attached_machine_id = Some(machine.clone());
            }
        }
        let image_digest = opt_str(body, "digest").unwrap_or_else(|| {
            format!(
                "sha256:{}",
                Sha256::digest(image.as_bytes()).iter().fold(String::new(), |mut t, b| {
                    let _ = write!(t, "{b:02x}");
                    t
                })
            )
        });
        let release = Release {
            version,
            config,
            image: image.clone(),
            digest: image_digest,
            id: self.alnum(25),
            created_at: now_rfc3339(),
            build,
            dockerfile: opt_str(body, "dockerfile"),
            ha,
            strategy,
            primary_region: region.clone(),
            detach: opt_bool(body, "detach"),
            wait_timeout: opt_str(body, "wait_timeout"),
            build_args: str_list(body, "build_args"),
            env: str_list(body, "env"),
        };
        let app = self.command_app_mut(&app_name)?;
        let summary: Vec<Value> = machines
            .iter()
            .map(|m| json!({ "id": m.id, "process_group": m.process_group, "region": m.region }))
            .collect();
        app.machines = machines;
        app.releases.push(release);
        "deployed".clone_into(&mut app.status);
        for secret in app.secrets.values_mut() {
            secret.deployed = true;
        }
        Ok(json!({
            "version": version,
            "image": image,
            "hostname": format!("{app_name}.fly.dev"),
            "machines": summary,
            "strategy": app.releases.last().and_then(|r| r.strategy.clone()).unwrap_or_else(|| "rolling".to_owned()),
        }))
    }

    /// The temporary machine of a `[deploy] release_command` (fly-2026.md §3.1): its id and
    /// the environment it runs with: the config's `[env]` (with `-e` values), every secret of
    /// the app (staged ones too: flyctl asks for the secrets version it just wrote),
    /// `RELEASE_COMMAND=1`, `FLY_PROCESS_GROUP=fly_app_release_command` and `PRIMARY_REGION`
    /// when one is set. The fake flyctl runs it on this host, where Fly's Postgres hosts do not
    /// resolve, so a value naming a fake Postgres cluster is pointed at the real
    /// server behind it ([`crate::postgres::reach_locally`]). Nothing is recorded here: the
    /// release is recorded by `deploy`, which flyctl calls only after the command exited 0.
    pub(crate) fn release_machine(&mut self, body: &Value) -> ApiResult {
        let app_name = req_str(body, "app")?;
        let config = req_str(body, "config")?;
        let root: toml::Table = config.parse().map_err(|e| ApiError::new(422, format!("invalid TOML: {e}")))?;
        let mut env = config_env(&root, body);
        for (name, secret) in &self.command_app(&app_name)?.secrets {
            env.insert(name.clone(), json!(secret.value));
        }
        env.insert("RELEASE_COMMAND".to_owned(), json!("1"));
        env.insert("FLY_PROCESS_GROUP".to_owned(), json!("fly_app_release_command"));
        let region = opt_str(body, "primary_region")
            .or_else(|| root.get("primary_region").and_then(toml::Value::as_str).map(str::to_owned));
        if let Some(region) = region {
            check_region(&region)?;
            env.insert("PRIMARY_REGION".to_owned(), json!(region));
        }
        if let Some(port) = self.postgres_port {
            for value in env.values_mut() {
                if let Some(text) = value.as_str() {
                    *value = json!(crate::postgres::reach_locally(text, port));
                }
            }
        }
        Ok(json!({ "machine": self.hex(14), "env": env }))
    }

    // ----- Postgres -----

    pub(crate) fn postgres_create(&mut self, body: &Value) -> ApiResult {
        let name = req_str(body, "name")?;
        let org = req_str(body, "org")?;
        let region = req_str(body, "region")?;
        let vm_size = req_str(body, "vm_size")?;
        let volume_size = opt_u64(body, "volume_size").ok_or_else(|| ApiError::new(400, "volume_size is required"))?;
        let cluster_size = opt_u64(body, "initial_cluster_size")
            .ok_or_else(|| ApiError::new(400, "initial_cluster_size is required"))?;
        self.org_exists(&org)?;
        check_region(&region)?;
        let valid_size = ["shared-cpu-", "performance-"].iter().any(|prefix| {
            vm_size
                .strip_prefix(prefix)
                .and_then(|r| r.strip_suffix('x'))
                .and_then(|n| n.parse::<u32>().ok())
                .is_some_and(|n| {
                    if *prefix == "shared-cpu-" {
                        [1, 2, 4, 6, 8].contains(&n)
                    } else {
                        [1, 2, 4, 6, 8, 10, 12, 14, 16].contains(&n)
                    }
                })
        });
        if !valid_size {
            return Err(ApiError::new(
                400,
                format!("VM size {vm_size:?} is not valid (shared-cpu-1x, performance-2x...)"),
            ));
        }
        if !(1..=MAX_VOLUME_GB).contains(&volume_size) {
            return Err(ApiError::new(
                400,
                format!("volume size must be between 1 and {MAX_VOLUME_GB} GB, not {volume_size}"),
            ));
        }
        if !(1..=10).contains(&cluster_size) {
            return Err(ApiError::new(
                400,
                format!("initial cluster size must be between 1 and 10, not {cluster_size}"),
            ));
        }
        let password = match opt_str(body, "password") {
            Some(p) if p.is_empty() => return Err(ApiError::new(400, "password must not be empty")),
            Some(p) => p,
            None => self.alnum(16),
        };
        let image = opt_str(body, "image_ref").unwrap_or_else(|| "flyio/postgres-flex:15.8".to_owned());
        self.create_app(&name, &org, None, AppKind::Postgres)?;
        let flycast = self.private_ip().replace(":2", ":0");
        let mut machines = Vec::new();
        let mut volumes = Vec::new();
        for _ in 0..cluster_size {
            let config = json!({
                "image": image,
                "env": { "PRIMARY_REGION": region, "FLY_APP_NAME": name },
                "guest": { "cpu_kind": if vm_size.starts_with("performance") { "performance" } else { "shared" } },
                "metadata": { "fly-managed-postgres": "true", "managed-by-fly-deploy": "true", "role": "primary" },
                "mounts": [{ "name": "pg_data", "path": "/data" }],
                "services": [{ "protocol": "tcp", "internal_port": 5432, "ports": [{ "port": 5432, "handlers": ["pg_tls"] }] }],
                "autostart": opt_bool(body, "autostart"),
            });
            let machine = self.new_machine("app", &region, config);
            volumes.push(Volume {
                id: format!("vol_{}", self.lower_alnum(16)),
                name: "pg_data".to_owned(),
                app: name.clone(),
                region: region.clone(),
                zone: self.hex(4),
                size_gb: u32::try_from(volume_size).unwrap_or(u32::MAX),
                attached_machine_id: Some(machine.id.clone()),
                created_at: now_rfc3339(),
            });
            machines.push(machine);
        }
        self.volumes.extend(volumes);
        let created_at = now_rfc3339();
        let app = self.command_app_mut(&name)?;
        app.machines = machines;
        "deployed".clone_into(&mut app.status);
        app.ips.push(IpAddress { address: flycast.clone(), kind: "private_v6".to_owned() });
        for secret_name in ["OPERATOR_PASSWORD", "SU_PASSWORD", "REPL_PASSWORD"] {
            app.secrets.insert(
                secret_name.to_owned(),
                Secret {
                    value: password.clone(),
                    digest: digest(&password),
                    deployed: true,
                    created_at: created_at.clone(),
                },
            );
        }
        let machine_ids: Vec<String> = app.machines.iter().map(|m| m.id.clone()).collect();
        let cluster = PostgresCluster {
            name: name.clone(),
            org: org.clone(),
            region,
            password: password.clone(),
            vm_size,
            volume_size_gb: u32::try_from(volume_size).unwrap_or(u32::MAX),
            initial_cluster_size: u32::try_from(cluster_size).unwrap_or(u32::MAX),
            autostart: opt_bool(body, "autostart"),
            flycast_ip: flycast.clone(),
        };
        self.postgres.insert(name.clone(), cluster);
        Ok(json!({
            "name": name,
            "org": org,
            "username": "postgres",
            "password": password,
            "hostname": format!("{name}.internal"),
            "flycast": flycast,
            "machines": machine_ids,
            "connection_string": format!("postgres://postgres:{password}@{name}.flycast:5432"),
        }))
    }

    pub(crate) fn postgres_list(&self) -> Value {
        Value::Array(
            self.postgres
                .values()
                .map(|c| {
                    json!({
                        "name": c.name,
                        "organization": { "slug": c.org },
                        "region": c.region,
                        "status": "deployed",
                        "hostname": format!("{}.internal", c.name),
                    })
                })
                .collect(),
        )
    }

    // ----- Redis -----

    pub(crate) fn redis_create(&mut self, body: &Value) -> ApiResult {
        let name = req_str(body, "name")?;
        let org = req_str(body, "org")?;
        let region = req_str(body, "region")?;
        self.org_exists(&org)?;
        check_region(&region)?;
        if let Some(problem) = app_name_problem(&name) {
            return Err(ApiError::new(400, problem));
        }
        let replica_regions = str_list(body, "replica_regions");
        let invalid: Vec<&String> =
            replica_regions.iter().filter(|r| !REGIONS.contains(&r.as_str()) || **r == region).collect();
        if !invalid.is_empty() {
            return Err(ApiError::new(400, format!("invalid replica regions: {invalid:?}")));
        }
        if self.redis.contains_key(&name) {
            return Err(ApiError::new(422, "Name has already been taken"));
        }
        let db = RedisDb {
            id: self.alnum(20),
            name: name.clone(),
            org,
            region,
            replica_regions,
            plan: opt_str(body, "plan").unwrap_or_else(|| "Free".to_owned()),
            eviction: opt_bool(body, "eviction"),
            password: self.lower_alnum(32),
        };
        let value = Self::redis_json(&db, true);
        self.redis.insert(name, db);
        Ok(value)
    }

    pub(crate) fn redis_get(&self, name: &str) -> ApiResult {
        self.redis
            .get(name)
            .map(|db| Self::redis_json(db, true))
            .ok_or_else(|| ApiError::new(404, format!("Could not find Redis database {name:?}")))
    }

    pub(crate) fn redis_destroy(&mut self, name: &str) -> ApiResult<()> {
        self.redis
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| ApiError::new(404, format!("Could not find Redis database {name:?}")))
    }

    pub(crate) fn redis_list(&self) -> Value {
        Value::Array(self.redis.values().map(|db| Self::redis_json(db, false)).collect())
    }

    // ----- Tigris -----

    pub(crate) fn storage_create(&mut self, body: &Value) -> ApiResult {
        let name = req_str(body, "name")?;
        let app = opt_str(body, "app");
        let org = match (&app, opt_str(body, "org")) {
            (Some(app), org) => {
                let app_org = self.command_app(app)?.org.clone();
                if org.as_ref().is_some_and(|o| *o != app_org) {
                    return Err(ApiError::new(400, format!("app {app:?} belongs to organization {app_org:?}")));
                }
                app_org
            }
            (None, Some(org)) => org,
            (None, None) => return Err(ApiError::new(400, "org is required")),
        };
        self.org_exists(&org)?;
        let valid = (3..=63).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !name.starts_with('-')
            && !name.ends_with('-');
        if !valid {
            return Err(ApiError::new(
                400,
                "bucket names must be 3 to 63 characters of lowercase letters, numbers and dashes, starting and ending with a letter or number",
            ));
        }
        if self.buckets.contains_key(&name) {
            return Err(ApiError::new(422, "Name has already been taken"));
        }
        let bucket = Bucket {
            name: name.clone(),
            org: org.clone(),
            public: opt_bool(body, "public"),
            access_key_id: format!("tid_{}", self.alnum(30)),
            secret_access_key: format!("tsec_{}", self.alnum(40)),
            app: app.clone(),
        };
        let secrets: BTreeMap<String, String> = BTreeMap::from([
            ("AWS_ACCESS_KEY_ID".to_owned(), bucket.access_key_id.clone()),
            ("AWS_ENDPOINT_URL_S3".to_owned(), "https://fly.storage.tigris.dev".to_owned()),
            ("AWS_REGION".to_owned(), "auto".to_owned()),
            ("AWS_SECRET_ACCESS_KEY".to_owned(), bucket.secret_access_key.clone()),
            ("BUCKET_NAME".to_owned(), name.clone()),
        ]);
        self.buckets.insert(name.clone(), bucket);
        let mut message = None;
        if let Some(app) = &app {
            self.set_secrets(app, &secrets, false)?;
            message = Some(self.secrets_outcome(app, false)?);
        }
        Ok(json!({ "name": name, "org": org, "app": app, "secrets": secrets, "message": message }))
    }

    pub(crate) fn storage_destroy(&mut self, name: &str) -> ApiResult<()> {
        self.buckets
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| ApiError::new(404, format!("Could not find bucket {name:?}")))
    }

    pub(crate) fn storage_list(&self) -> Value {
        Value::Array(self.buckets.values().map(Self::bucket_json).collect())
    }

    // ----- volumes -----

    pub(crate) fn volumes_create(&mut self, body: &Value) -> ApiResult {
        let app = req_str(body, "app")?;
        let name = req_str(body, "name")?;
        let region = req_str(body, "region")?;
        let size = opt_u64(body, "size_gb").unwrap_or(1);
        let count = opt_u64(body, "count").unwrap_or(1);
        self.command_app(&app)?;
        if let Some(problem) = volume_name_problem(&name) {
            return Err(ApiError::new(400, problem));
        }
        check_region(&region)?;
        if !(1..=MAX_VOLUME_GB).contains(&size) {
            return Err(ApiError::new(
                400,
                format!("volume size must be between 1 and {MAX_VOLUME_GB} GB, not {size}"),
            ));
        }
        if !(1..=20).contains(&count) {
            return Err(ApiError::new(400, format!("count must be between 1 and 20, not {count}")));
        }
        let confirmed = body.get("yes").and_then(Value::as_bool).unwrap_or(true);
        if !confirmed && !self.volumes.iter().any(|v| v.app == app && v.name == name) {
            return Err(ApiError::new(400, "yes flag must be specified when not running interactively"));
        }
        let mut created = Vec::new();
        for _ in 0..count {
            let volume = Volume {
                id: format!("vol_{}", self.lower_alnum(16)),
                name: name.clone(),
                app: app.clone(),
                region: region.clone(),
                zone: self.hex(4),
                size_gb: u32::try_from(size).unwrap_or(u32::MAX),
                attached_machine_id: None,
                created_at: now_rfc3339(),
            };
            created.push(Self::volume_json(&volume));
            self.volumes.push(volume);
        }
        Ok(Value::Array(created))
    }

    pub(crate) fn volumes_list(&self, app: &str) -> ApiResult {
        self.command_app(app)?;
        Ok(Value::Array(self.volumes.iter().filter(|v| v.app == app).map(Self::volume_json).collect()))
    }

    pub(crate) fn volume_destroy(&mut self, id: &str, app: Option<&str>) -> ApiResult {
        let position = self
            .volumes
            .iter()
            .position(|v| v.id == id && app.is_none_or(|a| v.app == a))
            .ok_or_else(|| ApiError::new(404, format!("volume {id} not found")))?;
        if let Some(machine) = &self.volumes[position].attached_machine_id {
            return Err(ApiError::new(
                412,
                format!("volume {id} is attached to machine {machine}: destroy the machine first"),
            ));
        }
        let volume = self.volumes.remove(position);
        Ok(json!({ "id": volume.id, "app": volume.app }))
    }

    // ----- IP addresses -----

    pub(crate) fn allocate_ip(&mut self, app: &str, kind: &str) -> ApiResult {
        self.command_app(app)?;
        let address = match kind {
            "shared_v4" => format!("66.241.124.{}", self.next_u64() % 250 + 1),
            "v4" => format!("137.66.{}.{}", self.next_u64() % 250 + 1, self.next_u64() % 250 + 1),
            "v6" => format!("2a09:8280:1::{}:{}", self.hex(2), self.hex(4)),
            "private_v6" => self.private_ip().replace(":2", ":0"),
            other => {
                return Err(ApiError::new(400, format!("unknown IP type {other:?}: v4, shared_v4, v6 or private_v6")));
            }
        };
        let app = self.command_app_mut(app)?;
        if kind == "shared_v4"
            && let Some(existing) = app.ips.iter().find(|ip| ip.kind == "shared_v4")
        {
            return Ok(Self::ip_json(existing));
        }
        let ip = IpAddress { address, kind: kind.to_owned() };
        app.ips.push(ip.clone());
        Ok(Self::ip_json(&ip))
    }

    pub(crate) fn ip_json(ip: &IpAddress) -> Value {
        json!({
            "ip": ip.address,
            "type": ip.kind,
            "region": "global",
            "shared": ip.kind == "shared_v4",
            "service_name": "",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert_eq!(app_name_problem("demo-1"), None);
        assert!(app_name_problem("Demo").is_some());
        assert!(app_name_problem("-demo").is_some());
        assert!(app_name_problem(&"a".repeat(64)).is_some());
        assert_eq!(volume_name_problem("pg_data"), None);
        assert!(volume_name_problem("pg-data").is_some());
        assert!(volume_name_problem(&"a".repeat(31)).is_some());
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let now = now_rfc3339();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.starts_with("20") && now.ends_with('Z'), "{now}");
    }

    #[test]
    fn digests_are_16_hex_digits() {
        assert_eq!(digest("abc"), "ba7816bf8f01cfea");
    }
}
