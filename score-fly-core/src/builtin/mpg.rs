//! `postgres` and `postgres-instance` on Fly Managed Postgres (`fly mpg`, fly-2026.md §1).
//!
//! - The cluster is named from the prefix (and, for `postgres-instance`, the uid): `postgres`
//!   shares `<prefix>pg` (or the `cluster` param) between the project's resources,
//!   `postgres-instance` gets `<prefix>pg-<id>-<hash>`. It is looked up by name first
//!   (`fly mpg list -o ORG --json`, §1.11) and adopted when it exists; else made with
//!   `fly mpg create -n NAME -o ORG -r REGION --plan PLAN --volume-size GB`, whose
//!   `Waiting for cluster NAME (ID)` line gives its id. flyctl then polls until the cluster is
//!   ready, with no timeout (§1.3): score-fly stops it after `create_timeout` (param, a Go
//!   duration, default 20m). A create that fails or times out is followed by a second lookup,
//!   so a cluster that appeared meanwhile is adopted, never doubled; an adopted cluster that
//!   is not `ready` yet is waited for (`fly mpg status ID --json`, every 2 s) within what is
//!   left of `create_timeout`, and a cluster still not ready then is an error that says to
//!   run again (the next run adopts it).
//! - Params: `plan` (`basic`, the default, `starter`, `launch`, `scale`; flyctl turns
//!   `performance` into `basic` when not interactive, §1.3, so it is refused), `volume_size`
//!   (GB, default 10, at most 500 at creation), `region` (else the workload's): a region MPG
//!   does not serve (§1.10) is refused, naming the nearest that it does.
//! - Each resource gets a database and a user (`schema_admin`) named `<id>_<hash>`, made
//!   through `fly mpg databases create` / `fly mpg users create` when `... list --json` lacks
//!   them. flyctl prints no user's password: `fly mpg attach ID -a APP -d DB -u USER
//!   --variable-name SCORE_FLY_MPG_<HASH>` is the one command that reveals it (§1.6); the
//!   URI it prints is read, the app secret it set is unset again (`--stage`), since
//!   score-fly imports its own secrets, and the attachment record goes too (`fly mpg detach
//!   ID -a APP`), so the cluster lists no attachment score-fly does not use. A password the state knows is reused; after a lost
//!   `.score-fly/` it is read again the same way: nothing is created twice, nothing rotated.
//! - Outputs: `host` (`pgbouncer.<id>.flympg.net`), `port` (5432), `name`, `database`,
//!   `username`; secrets `password`, `uri` (pooled, through `PgBouncer`) and `direct_uri`
//!   (the `direct.` host, for migrations and session features; §1.9).
//! - Deprovision: `fly mpg users delete` drops the resource's user. flyctl has no command
//!   that drops an MPG database (§1.1), so the database stays until its cluster goes: the
//!   cluster is destroyed (`fly mpg destroy ID --yes`) when no user but Fly's `fly-user` is
//!   left on it (`postgres`), or at once (`postgres-instance`).

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{BuiltinError, Call, pg_name, short_hash};
use crate::provision::protocol::Response;

/// The shared-state key of the shared cluster: `{"cluster": NAME, "id": ID, "databases": {DB: UID}}`.
pub const SHARED_KEY: &str = "score-fly-mpg";
/// Port of MPG's hosts (§1.9).
const PORT: u16 = 5432;
/// The plans `--plan` finds when not interactive (§1.3).
pub const PLANS: [&str; 4] = ["basic", "starter", "launch", "scale"];
/// The user every cluster starts with (§1.8): not one of ours.
const FLY_USER: &str = "fly-user";
/// How long a new cluster may take to become ready unless `create_timeout` says otherwise.
pub const DEFAULT_CREATE_TIMEOUT: Duration = Duration::from_mins(20);
/// How often a cluster that is not ready yet is asked again (flyctl asks every 5 s, §1.3).
const POLL_EVERY: Duration = Duration::from_secs(2);

/// A cluster `fly mpg list --json` shows.
struct Listed {
    id: String,
    status: String,
}

/// `postgres` and `postgres-instance` provision: the cluster (made or adopted), then this
/// resource's database and user.
pub(super) fn provision(call: &Call<'_>, cluster: &str, shared: bool) -> Result<Response, BuiltinError> {
    let id = ensure_cluster(call, cluster)?;
    let name = pg_name(call.request, 63);
    let databases = names(call, &["mpg", "databases", "list", &id, "--json"])?;
    if databases.contains(&name) {
        call.say(&format!("using the existing database {name} on {cluster}"));
    } else {
        call.fly(&["mpg", "databases", "create", &id, "--name", &name])?;
    }
    let users = names(call, &["mpg", "users", "list", &id, "--json"])?;
    if !users.contains(&name) {
        call.fly(&["mpg", "users", "create", &id, "--username", &name, "--role", "schema_admin"])?;
    }
    let known = call.state_str("password").filter(|_| {
        call.state_str("cluster_id").as_deref() == Some(id.as_str())
            && call.state_str("username").as_deref() == Some(&name)
    });
    let password = match known {
        Some(password) => password,
        None => read_password(call, &id, &name)?,
    };
    call.cx.redactor.add([password.as_str()]);
    let host = format!("pgbouncer.{id}.flympg.net");
    let uri = |host: &str| {
        let user = crate::encoding::percent_encode(&name, b"-._~");
        let secret = crate::encoding::percent_encode(&password, b"-._~");
        format!("postgresql://{user}:{secret}@{host}/{name}")
    };
    let (pooled, direct) = (uri(&host), uri(&format!("direct.{id}.flympg.net")));
    call.cx.redactor.add([pooled.as_str(), direct.as_str()]);
    let values = serde_json::json!({ "host": host, "port": PORT, "name": name, "database": name, "username": name });
    let secrets = serde_json::json!({ "password": password, "uri": pooled, "direct_uri": direct });
    let state = serde_json::json!({
        "managed": true, "cluster": cluster, "cluster_id": id, "database": name, "username": name, "password": password,
    });
    let shared = shared.then(|| {
        let mut databases = serde_json::Map::new();
        databases.insert(name.clone(), serde_json::json!(call.request.resource_uid));
        serde_json::json!({ SHARED_KEY: { "cluster": cluster, "id": id, "databases": databases } })
    });
    Ok(Response {
        state: state.as_object().cloned(),
        values: values.as_object().cloned().unwrap_or_default(),
        secrets: secrets.as_object().cloned().unwrap_or_default(),
        shared,
    })
}

/// `postgres` deprovision: the resource's user goes; the cluster goes with the last user
/// score-fly (or anyone) made on it. `postgres-instance` (`shared` false): the cluster goes.
pub(super) fn deprovision(call: &Call<'_>, cluster: &str, shared: bool) -> Result<Option<Response>, BuiltinError> {
    let gone = || Response { shared: shared.then(|| serde_json::json!({ SHARED_KEY: null })), ..Response::default() };
    let Some(id) = lookup(call, cluster)?.map(|c| c.id) else {
        call.say(&format!("the Managed Postgres cluster {cluster} does not exist; nothing to drop"));
        return Ok(Some(gone()));
    };
    if !shared {
        call.fly(&["mpg", "destroy", &id, "--yes"])?;
        return Ok(None);
    }
    let name = call.state_str("username").unwrap_or_else(|| pg_name(call.request, 63));
    if names(call, &["mpg", "users", "list", &id, "--json"])?.contains(&name) {
        call.fly(&["mpg", "users", "delete", &id, "--username", &name, "--yes"])?;
    }
    let left: Vec<String> =
        names(call, &["mpg", "users", "list", &id, "--json"])?.into_iter().filter(|u| u != FLY_USER).collect();
    if left.is_empty() {
        call.say(&format!("{name} was the last user on {cluster}: destroying the cluster (its databases go with it)"));
        call.fly(&["mpg", "destroy", &id, "--yes"])?;
        return Ok(Some(gone()));
    }
    call.say(&format!(
        "dropped user {name}; database {name} stays on {cluster} until the cluster goes (flyctl cannot drop an MPG database; `fly mpg connect {id}` then `DROP DATABASE` does)"
    ));
    Ok(Some(Response {
        shared: Some(serde_json::json!({ SHARED_KEY: { "databases": { name: null } } })),
        ..Response::default()
    }))
}

/// The cluster's id: adopted when `fly mpg list` shows it, else created. Concurrent
/// resources of this process create it once ([`super::creating`]).
fn ensure_cluster(call: &Call<'_>, cluster: &str) -> Result<String, BuiltinError> {
    let _one_at_a_time = super::creating();
    let uid = || call.request.resource_uid.clone();
    let timeout = match call.param("create_timeout") {
        None => DEFAULT_CREATE_TIMEOUT,
        Some(text) => crate::fly::annotations::parse_duration(&text)
            .ok()
            .filter(|d| !d.is_zero() && *d <= crate::limits::MAX_TIMEOUT)
            .ok_or_else(|| BuiltinError::MpgCreateTimeout { uid: uid(), text })?,
    };
    let deadline = Instant::now() + timeout;
    if let Some(found) = lookup(call, cluster)? {
        call.say(&format!("using the existing Managed Postgres cluster {cluster} ({})", found.id));
        return wait_ready(call, cluster, found, deadline, timeout);
    }
    let plan = call.param("plan").unwrap_or_else(|| PLANS[0].to_owned());
    if !PLANS.contains(&plan.as_str()) {
        return Err(BuiltinError::MpgPlan { uid: uid(), plan });
    }
    let volume_size = match call.param("volume_size") {
        None => 10,
        Some(text) => {
            super::volume::parse_size(&text).map_err(|source| BuiltinError::MpgVolumeSize { uid: uid(), source })?
        }
    };
    let region = call.region()?;
    if !crate::fly::regions::find(&region).is_some_and(|r| r.mpg) {
        let nearest = crate::fly::regions::nearest(&region, |r| r.mpg).iter().map(ToString::to_string).collect();
        return Err(BuiltinError::MpgRegion { uid: uid(), region, nearest });
    }
    let org = call.env.org();
    call.say(&format!(
        "creating Managed Postgres cluster {cluster} in {region} (org {org}, plan {plan}, {volume_size} GB)"
    ));
    let size = volume_size.to_string();
    let flags =
        [("--name", cluster), ("--org", &org), ("--region", &region), ("--plan", &plan), ("--volume-size", &size)];
    let args: Vec<&str> = ["mpg", "create"].into_iter().chain(flags.iter().flat_map(|(f, v)| [*f, *v])).collect();
    match call.fly_within(&args, timeout) {
        Ok(out) => {
            let prefix = format!("Waiting for cluster {cluster} (");
            out.stdout
                .lines()
                .find_map(|l| l.strip_prefix(&prefix)?.split_once(')').map(|(id, _)| id.to_owned()))
                .or_else(|| out.stdout.lines().find_map(|l| l.strip_prefix("  ID: ").map(|id| id.trim().to_owned())))
                .ok_or_else(|| BuiltinError::MpgNoId { cluster: cluster.to_owned() })
        }
        // Made meanwhile, made before a failed status poll, or still being made when the
        // deadline stopped flyctl (§1.11): adopt it, never make a second one.
        Err(error) => match lookup(call, cluster)? {
            Some(found) => {
                call.say(&format!("{cluster} exists after all ({error}); using it"));
                wait_ready(call, cluster, found, deadline, timeout)
            }
            None => Err(error.into()),
        },
    }
}

/// The id of a cluster once it is `ready`: asked again every [`POLL_EVERY`] until `deadline`.
fn wait_ready(
    call: &Call<'_>,
    cluster: &str,
    mut found: Listed,
    deadline: Instant,
    timeout: Duration,
) -> Result<String, BuiltinError> {
    let mut said = false;
    loop {
        match found.status.as_str() {
            "ready" => return Ok(found.id),
            "error" => return Err(BuiltinError::MpgClusterFailed { cluster: cluster.to_owned(), id: found.id }),
            _ => {}
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(BuiltinError::MpgNotReady {
                uid: call.request.resource_uid.clone(),
                cluster: cluster.to_owned(),
                id: found.id,
                status: found.status,
                timeout: crate::fly::annotations::format_duration(timeout),
            });
        }
        if !said {
            call.say(&format!("waiting for {cluster} ({}) to be ready (status `{}`)", found.id, found.status));
            said = true;
        }
        std::thread::sleep(POLL_EVERY.min(left));
        // The JSON holds the default user's password (§1.5): nothing of it is shown.
        let out = call.fly_showing(&["mpg", "status", &found.id, "--json"], &|_| false)?;
        let status: Value = serde_json::from_str(&out.stdout)
            .map_err(|e| BuiltinError::MpgJson { command: "fly mpg status".to_owned(), detail: e.to_string() })?;
        status["data"]["status"].as_str().unwrap_or_default().clone_into(&mut found.status);
    }
}

/// The cluster of that name in the organisation (§1.4: plain text with exit 0 is no cluster).
fn lookup(call: &Call<'_>, cluster: &str) -> Result<Option<Listed>, BuiltinError> {
    let org = call.env.org();
    let out = call.fly_showing(&["mpg", "list", "--org", &org, "--json"], &|_| false)?;
    let list = json_list(&out.stdout, "fly mpg list")?;
    Ok(list.iter().find(|c| c["name"].as_str() == Some(cluster)).map(|c| Listed {
        id: c["id"].as_str().unwrap_or_default().to_owned(),
        status: c["status"].as_str().unwrap_or_default().to_owned(),
    }))
}

/// The `name`s a `... list --json` prints (plain text: none).
fn names(call: &Call<'_>, args: &[&str]) -> Result<Vec<String>, BuiltinError> {
    let out = call.fly_showing(args, &|_| false)?;
    let shown = format!("fly {}", args.join(" "));
    Ok(json_list(&out.stdout, &shown)?.iter().filter_map(|v| v["name"].as_str().map(str::to_owned)).collect())
}

fn json_list(stdout: &str, command: &str) -> Result<Vec<Value>, BuiltinError> {
    if !stdout.trim_start().starts_with('[') {
        return Ok(Vec::new());
    }
    serde_json::from_str(stdout)
        .map_err(|source| BuiltinError::MpgJson { command: command.to_owned(), detail: source.to_string() })
}

/// The user's password, through `fly mpg attach` (the one command that shows it), on the
/// declaring workload's app; the secret attach sets there is unset again.
fn read_password(call: &Call<'_>, id: &str, name: &str) -> Result<String, BuiltinError> {
    let workload = call
        .cx
        .declared_by
        .first()
        .map_or_else(|| call.workload(), |d| Ok(d.split_once('.').map_or(d.as_str(), |(w, _)| w).to_owned()))?;
    let app = call.env.app(&workload);
    let api = call.api()?;
    call.ensure_app(&api, &app)?;
    let variable = format!("SCORE_FLY_MPG_{}", short_hash(&call.request.resource_uid).to_ascii_uppercase());
    // Attach refuses a name the app has (§1.6): one left by an interrupted run goes first.
    let secrets = call.fly_showing(&["secrets", "list", "-a", &app, "--json"], &|_| false)?;
    if json_list(&secrets.stdout, "fly secrets list")?.iter().any(|s| s["name"].as_str() == Some(&variable)) {
        call.fly(&["secrets", "unset", &variable, "-a", &app, "--stage"])?;
    }
    let out = call.fly(&["mpg", "attach", id, "-a", &app, "-d", name, "-u", name, "--variable-name", &variable])?;
    call.fly(&["secrets", "unset", &variable, "-a", &app, "--stage"])?;
    // The attachment record attach made (§1.6) goes too; a missing one (attach only warns
    // when it cannot make it) is no problem.
    if let Err(error) = call.fly(&["mpg", "detach", id, "-a", &app])
        && !error.to_string().contains("attachment not found")
    {
        return Err(error.into());
    }
    let marker = format!("{variable}=");
    let uri = out.stdout.lines().find_map(|l| l.trim().strip_prefix(&marker).map(str::to_owned));
    let password = uri.as_deref().and_then(|uri| {
        let rest = uri.strip_prefix("postgresql://").or_else(|| uri.strip_prefix("postgres://"))?;
        let (auth, _) = rest.rsplit_once('@')?;
        let (_, password) = auth.split_once(':')?;
        Some(crate::encoding::percent_decode(password, false))
    });
    if let Some(uri) = &uri {
        call.cx.redactor.add([uri.as_str()]);
    }
    password
        .filter(|p| !p.is_empty())
        .ok_or_else(|| BuiltinError::MpgNoPassword { id: id.to_owned(), user: name.to_owned() })
}
