//! Managed Postgres (`fly mpg`, fly-2026.md §1) on the server side of the fake: clusters in
//! memory, and their databases and users **real** in the test `PostgreSQL`
//! ([`FakeFlyOptions::postgres`](super::FakeFlyOptions::postgres)): `databases create` runs
//! `CREATE DATABASE`, `users create` makes a login role with a random password and grants it
//! what its MPG role allows on the cluster's databases, `users delete` drops the role,
//! `destroy` drops the cluster's databases and roles.
//!
//! The test `PostgreSQL` is one server for every fake cluster, so database and user names must
//! be unique across clusters: a name another cluster holds is refused (a limit of the fake,
//! not of Fly). A cluster's default database `fly-db` and user `fly-user` (§1.7, §1.8) exist
//! as records only. Hosts `pgbouncer.<id>.flympg.net` and `direct.<id>.flympg.net` (§1.9)
//! both stand for the test server: tests log in by swapping the host for `127.0.0.1:<port>`.
//!
//! Answers are the JSON shapes of §1.4 (list), §1.5 (status) and §1.12 (create); errors
//! carry flyctl's words (`managed postgres cluster "<id>" not found`...).

use std::process::{Command, Stdio};

use serde_json::{Value, json};

use super::PostgresTarget;
use super::state::{ApiError, ApiResult, State, opt_str, req_str};

/// The regions MPG serves (fly-2026.md §1.10, the docs' list).
pub const MPG_REGIONS: [&str; 12] =
    ["ams", "fra", "gru", "iad", "lax", "lhr", "nrt", "ord", "sin", "sjc", "syd", "yyz"];
/// The default database and user of every cluster (§1.5, §1.7, §1.8).
const DEFAULT_DB: &str = "fly-db";
const DEFAULT_USER: &str = "fly-user";

/// A Managed Postgres cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpgCluster {
    /// 16 lowercase letters and digits (§1.3).
    pub id: String,
    /// Unique per organisation.
    pub name: String,
    /// The organisation slug.
    pub org: String,
    /// An MPG region.
    pub region: String,
    /// The plan key (`basic`...).
    pub plan: String,
    /// GB.
    pub disk: u64,
    /// `ready` (or `error`); reads say `initializing` until [`MpgCluster::ready_at`].
    pub status: String,
    /// When a cluster made while [`FakeFly::set_mpg_ready_after`](super::FakeFly::set_mpg_ready_after)
    /// was in force becomes ready; until then every read shows it `initializing` (a status
    /// flyctl's code knows, §1.4; create polls until `ready`, §1.3).
    pub ready_at: Option<std::time::Instant>,
    /// `16` or `17`.
    pub pg_major_version: String,
    /// `PostGIS` enabled.
    pub postgis: bool,
    /// Its databases, `fly-db` first.
    pub databases: Vec<String>,
    /// Its users, `fly-user` first.
    pub users: Vec<MpgUser>,
    /// Apps it was attached to.
    pub attached_apps: Vec<String>,
}

/// A user of a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MpgUser {
    /// The user name (a real role, except `fly-user`).
    pub name: String,
    /// `schema_admin`, `writer` or `reader`.
    pub role: String,
    /// Its password.
    pub password: String,
}

impl MpgCluster {
    /// The status a read shows now.
    pub fn current_status(&self) -> &str {
        match self.ready_at {
            Some(at) if std::time::Instant::now() < at => "initializing",
            _ => &self.status,
        }
    }

    /// `postgresql://USER:PW@pgbouncer.<id>.flympg.net/DB` (§1.9).
    pub fn pooled_uri(&self, user: &MpgUser, database: &str) -> String {
        format!("postgresql://{}:{}@pgbouncer.{}.flympg.net/{database}", user.name, user.password, self.id)
    }

    fn list_json(&self) -> Value {
        json!({
            "id": self.id, "mpgd_cluster_id": format!("mpgd-{}", self.id), "version": 2, "name": self.name,
            "region": self.region, "status": self.current_status(), "plan": self.plan, "disk": self.disk, "replicas": 1,
            "organization": organization(&self.org),
            "ip_assignments": { "direct": format!("fdaa:0:1:a7b:{}::2", &self.id[..4]) },
            "attached_apps": if self.attached_apps.is_empty() { Value::Null } else {
                Value::Array(self.attached_apps.iter().enumerate().map(|(i, a)| json!({"name": a, "id": i + 1})).collect())
            },
        })
    }
}

/// fly-go `Organization` without JSON tags: `PascalCase` keys, every field (§1.4).
fn organization(slug: &str) -> Value {
    json!({
        "ID": "", "InternalNumericID": "", "Name": slug, "RemoteBuilderImage": "", "RemoteBuilderApp": null,
        "Slug": slug, "RawSlug": slug, "Type": "", "PaidPlan": false, "Billable": false, "Settings": null,
        "AllowedReplaySourceOrgSlugs": null, "AllowAllCrossNetworkReplays": false, "WireGuardPeer": null,
        "WireGuardPeers": { "Nodes": null, "Edges": null }, "DelegatedWireGuardTokens": { "Nodes": null, "Edges": null },
        "LoggedCertificates": null,
    })
}

/// One `mpg ...` command of the flyctl RPC.
pub(super) fn command(state: &mut State, pg: Option<&PostgresTarget>, command: &str, body: &Value) -> ApiResult {
    match command {
        "mpg list" => {
            let org = req_str(body, "org")?;
            state.org_exists(&org).map_err(|_| ApiError::new(404, format!("organization {org} not found")))?;
            if body.get("deleted").and_then(Value::as_bool) == Some(true) {
                return Ok(json!([]));
            }
            Ok(Value::Array(state.mpg.values().filter(|c| c.org == org).map(MpgCluster::list_json).collect()))
        }
        "mpg create" => create(state, body),
        "mpg status" => {
            let cluster = find(state, body)?;
            let user = &cluster.users[0];
            let mut data = cluster.list_json();
            data["engine"] = json!(format!("postgres-{}", cluster.pg_major_version));
            Ok(json!({
                "data": data,
                "credentials": { "status": cluster.current_status(), "user": user.name, "password": user.password,
                    "dbname": DEFAULT_DB, "pgbouncer_uri": cluster.pooled_uri(user, DEFAULT_DB) },
            }))
        }
        "mpg destroy" => {
            let cluster = find(state, body)?.clone();
            let pg = target(pg)?;
            for user in cluster.users.iter().skip(1) {
                drop_role(pg, &cluster, &user.name)?;
            }
            for db in cluster.databases.iter().skip(1) {
                psql(pg, "postgres", &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", ident(db)))?;
            }
            state.mpg.remove(&cluster.id);
            Ok(json!({ "name": cluster.name, "id": cluster.id }))
        }
        "mpg databases list" => {
            Ok(json!(find(state, body)?.databases.iter().map(|d| json!({"name": d})).collect::<Vec<_>>()))
        }
        "mpg databases create" => {
            let name = req_str(body, "name")?;
            let cluster = find(state, body)?.clone();
            if cluster.databases.contains(&name) {
                return Err(ApiError::new(
                    409,
                    format!("failed to create database (status 409): database {name} already exists"),
                ));
            }
            unique_elsewhere(state, &cluster.id, &name, |c| &c.databases)?;
            let pg = target(pg)?;
            psql(pg, "postgres", &format!("CREATE DATABASE {}", ident(&name)))?;
            for user in cluster.users.iter().skip(1) {
                grant(pg, &name, user)?;
            }
            cluster_mut(state, &cluster.id)?.databases.push(name.clone());
            Ok(json!({ "name": name }))
        }
        "mpg users list" => Ok(json!(
            find(state, body)?.users.iter().map(|u| json!({"name": u.name, "role": u.role})).collect::<Vec<_>>()
        )),
        "mpg users create" => {
            let name = req_str(body, "username")?;
            let role = req_str(body, "role")?;
            let cluster = find(state, body)?.clone();
            if cluster.users.iter().any(|u| u.name == name) {
                return Err(ApiError::new(
                    409,
                    format!("failed to create user (status 409): user {name} already exists"),
                ));
            }
            let taken: Vec<String> = state
                .mpg
                .values()
                .filter(|c| c.id != cluster.id)
                .flat_map(|c| c.users.iter().map(|u| u.name.clone()))
                .collect();
            if taken.contains(&name) || name == DEFAULT_USER {
                return Err(ApiError::new(
                    409,
                    format!(
                        "fake fly: user {name} exists in another cluster (the fake's clusters share one PostgreSQL)"
                    ),
                ));
            }
            let user = MpgUser { name: name.clone(), role, password: state.alnum(32) };
            let pg = target(pg)?;
            psql(pg, "postgres", &format!("CREATE ROLE {} LOGIN PASSWORD {}", ident(&name), literal(&user.password)))?;
            for db in cluster.databases.iter().skip(1) {
                grant(pg, db, &user)?;
            }
            cluster_mut(state, &cluster.id)?.users.push(user.clone());
            Ok(json!({ "data": { "name": user.name, "role": user.role } }))
        }
        "mpg users delete" => {
            let name = req_str(body, "username")?;
            let cluster = find(state, body)?.clone();
            if !cluster.users.iter().any(|u| u.name == name) {
                return Err(ApiError::new(404, format!("failed to delete user (status 404): user {name} not found")));
            }
            drop_role(target(pg)?, &cluster, &name)?;
            cluster_mut(state, &cluster.id)?.users.retain(|u| u.name != name);
            Ok(json!({}))
        }
        "mpg attach" => attach(state, body),
        "mpg detach" => detach(state, body),
        other => Err(ApiError::new(404, format!("fake fly: unknown flyctl command {other:?}"))),
    }
}

fn create(state: &mut State, body: &Value) -> ApiResult {
    let name = req_str(body, "name")?;
    let org = req_str(body, "org_slug")?;
    let region = req_str(body, "region")?;
    state.org_exists(&org).map_err(|_| ApiError::new(404, format!("organization {org} not found")))?;
    if !MPG_REGIONS.contains(&region.as_str()) {
        return Err(ApiError::new(400, format!("region {region} is not available for Managed Postgres")));
    }
    // What a duplicate name returns is unconfirmed (§1.3); names are unique per org (docs).
    if state.mpg.values().any(|c| c.org == org && c.name == name) {
        return Err(ApiError::new(
            409,
            format!("failed to create cluster (status 409): a cluster named {name} already exists in {org}"),
        ));
    }
    let id = state.lower_alnum(16);
    let cluster = MpgCluster {
        id: id.clone(),
        name,
        org,
        region,
        plan: req_str(body, "plan")?,
        disk: body.get("storage_in_gb").and_then(Value::as_u64).unwrap_or(10),
        status: "ready".to_owned(),
        ready_at: state.mpg_ready_after.map(|after| std::time::Instant::now() + after),
        pg_major_version: req_str(body, "pg_major_version")?,
        postgis: body.get("postgis_enabled").and_then(Value::as_bool).unwrap_or(false),
        databases: vec![DEFAULT_DB.to_owned()],
        users: vec![MpgUser {
            name: DEFAULT_USER.to_owned(),
            role: "schema_admin".to_owned(),
            password: state.alnum(24),
        }],
        attached_apps: Vec::new(),
    };
    let mut data = cluster.list_json();
    data["postgis_enabled"] = json!(cluster.postgis);
    data["environment"] = json!("production");
    data["pooled_uri"] = json!(cluster.pooled_uri(&cluster.users[0], DEFAULT_DB));
    state.mpg.insert(id, cluster);
    Ok(json!({ "ok": true, "errors": { "detail": "" }, "data": data }))
}

/// `mpg attach`: one app secret `<VAR>=<pooled URI>`, staged (§1.6).
fn attach(state: &mut State, body: &Value) -> ApiResult {
    let app = req_str(body, "app")?;
    let variable = req_str(body, "variable")?;
    let cluster = find(state, body)?.clone();
    let found = same_org(state, &app, &cluster, " to attach")?;
    if found.secrets.contains_key(&variable) {
        return Err(ApiError::new(
            400,
            format!("app {app} already has {variable} set. Use 'fly secrets unset {variable}' to remove it first"),
        ));
    }
    let user = match opt_str(body, "username") {
        Some(name) => cluster.users.iter().find(|u| u.name == name).ok_or_else(|| {
            ApiError::new(404, format!("failed to get user credentials (status 404): user {name} not found"))
        })?,
        None => &cluster.users[0],
    };
    let database = opt_str(body, "database").unwrap_or_else(|| DEFAULT_DB.to_owned());
    let uri = cluster.pooled_uri(user, &database);
    state.set_secrets(&app, &std::iter::once((variable, uri.clone())).collect(), false)?;
    let attached = &mut cluster_mut(state, &cluster.id)?.attached_apps;
    if !attached.contains(&app) {
        attached.push(app);
    }
    Ok(json!({ "uri": uri }))
}

/// `mpg detach`: deletes the attachment record only; the app's secrets stay (§1.6, flyctl
/// `uiex/mpg/v2` `DeleteAttachment`: 404 is `attachment not found for app '<app>' on cluster <id>`).
fn detach(state: &mut State, body: &Value) -> ApiResult {
    let app = req_str(body, "app")?;
    let cluster = find(state, body)?.clone();
    same_org(state, &app, &cluster, "")?;
    if !cluster.attached_apps.contains(&app) {
        return Err(ApiError::new(404, format!("attachment not found for app '{app}' on cluster {}", cluster.id)));
    }
    cluster_mut(state, &cluster.id)?.attached_apps.retain(|a| *a != app);
    Ok(json!({ "data": { "message": "detached" } }))
}

/// App `app`, refused unless it is in `cluster`'s organisation (flyctl's words, with
/// attach's ` to attach` or detach's nothing at the end, §1.6).
fn same_org<'s>(state: &'s State, app: &str, cluster: &MpgCluster, end: &str) -> ApiResult<&'s super::App> {
    let found = state.command_app(app)?;
    if found.org != cluster.org {
        return Err(ApiError::new(
            400,
            format!(
                "app {app} is in organization {}, but cluster {} is in organization {}. They must be in the same organization{end}",
                found.org, cluster.id, cluster.org
            ),
        ));
    }
    Ok(found)
}

fn find<'s>(state: &'s State, body: &Value) -> ApiResult<&'s MpgCluster> {
    let id = req_str(body, "id")?;
    state.mpg.get(&id).ok_or_else(|| ApiError::new(404, format!("managed postgres cluster {id:?} not found")))
}

fn cluster_mut<'s>(state: &'s mut State, id: &str) -> ApiResult<&'s mut MpgCluster> {
    state.mpg.get_mut(id).ok_or_else(|| ApiError::new(404, format!("managed postgres cluster {id:?} not found")))
}

fn unique_elsewhere(state: &State, id: &str, name: &str, names: impl Fn(&MpgCluster) -> &Vec<String>) -> ApiResult<()> {
    if state.mpg.values().any(|c| c.id != id && names(c).iter().any(|n| n == name)) {
        return Err(ApiError::new(
            409,
            format!("fake fly: database {name} exists in another cluster (the fake's clusters share one PostgreSQL)"),
        ));
    }
    Ok(())
}

fn target(pg: Option<&PostgresTarget>) -> ApiResult<&PostgresTarget> {
    pg.ok_or_else(|| {
        ApiError::new(
            503,
            "fake fly: no PostgreSQL behind Managed Postgres (set FakeFlyOptions::postgres, e.g. from PgServer::target)",
        )
    })
}

/// What the MPG role allows on a database (§1.8): `schema_admin` DDL and all data,
/// `writer` reads and writes data, `reader` selects.
fn grant(pg: &PostgresTarget, database: &str, user: &MpgUser) -> ApiResult<()> {
    let (db, role) = (ident(database), ident(&user.name));
    let sql = match user.role.as_str() {
        "schema_admin" => format!(
            "GRANT ALL ON DATABASE {db} TO {role}; GRANT ALL ON SCHEMA public TO {role}; GRANT ALL ON ALL TABLES IN SCHEMA public TO {role};"
        ),
        "writer" => format!(
            "GRANT CONNECT ON DATABASE {db} TO {role}; GRANT USAGE ON SCHEMA public TO {role}; GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role};"
        ),
        _ => format!(
            "GRANT CONNECT ON DATABASE {db} TO {role}; GRANT USAGE ON SCHEMA public TO {role}; GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role};"
        ),
    };
    psql(pg, database, &sql).map(drop)
}

/// Drops a user's role: what it owns in the cluster's databases first.
fn drop_role(pg: &PostgresTarget, cluster: &MpgCluster, name: &str) -> ApiResult<()> {
    for db in cluster.databases.iter().skip(1) {
        psql(pg, db, &format!("DROP OWNED BY {} CASCADE", ident(name)))?;
    }
    psql(pg, "postgres", &format!("DROP ROLE IF EXISTS {}", ident(name))).map(drop)
}

/// Runs SQL as the superuser over the socket.
fn psql(pg: &PostgresTarget, database: &str, sql: &str) -> ApiResult<String> {
    let program = pg.bin_dir.as_ref().map(|d| d.join("psql")).filter(|p| p.is_file());
    let output = Command::new(program.map_or_else(|| "psql".into(), std::path::PathBuf::into_os_string))
        .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", database, "-c", sql])
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("PGHOST", &pg.socket_dir)
        .env("PGPORT", pg.port.to_string())
        .env("PGUSER", &pg.superuser)
        .env("PSQLRC", "/dev/null")
        .current_dir(&pg.socket_dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| ApiError::new(500, format!("fake fly: cannot run psql: {e}")))?;
    if !output.status.success() {
        return Err(ApiError::new(500, format!("server error: {}", String::from_utf8_lossy(&output.stderr).trim())));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}
