//! `fly mpg` (Managed Postgres) as fly-2026.md §1 describes flyctl v0.4.87: the commands
//! score-fly calls, their flags, the non-interactive rules (§0: a captured stdout is never
//! interactive), the token check every mpg command makes first (§1.2), outputs and JSON
//! shapes (§1.3–§1.8, §1.11) and error words. The clusters live in the fake server
//! (`fake_fly::mpg`), their databases and users in the test `PostgreSQL`.
//!
//! Commands: `mpg list -o ORG --json [--deleted]`, `mpg create -n NAME -o ORG -r REGION
//! [--plan P] [--volume-size GB] [--pg-major-version 16|17] [--enable-postgis-support]
//! [--v2]`, `mpg status ID --json`, `mpg destroy ID --yes`, `mpg attach ID -a APP
//! [--variable-name V] [-d DB] [-u USER]`, `mpg databases {list ID --json, create ID -n
//! DB}`, `mpg users {list ID --json, create ID -u U -r ROLE, delete ID -u U --yes}`, with
//! flyctl's aliases (`ls`, `delete|remove|rm` for destroy, `database|db|dbs`, `user`, and
//! `remove|rm|del` for `users delete`).

use serde_json::{Value, json};

use super::flags::{APP, Args, CONFIG, JSON, Kind, ORG, REGION, Spec, YES, flag};
use super::{Ctx, NON_INTERACTIVE};

/// The commands.
pub(super) const SPECS: &[Spec] = &[
    Spec { path: "mpg list", flags: &[ORG, JSON, flag("deleted", None, Kind::Bool)], args: Args::None, run: list },
    Spec {
        path: "mpg create",
        flags: &[
            flag("name", Some('n'), Kind::Str),
            ORG,
            REGION,
            flag("plan", None, Kind::Str),
            flag("volume-size", None, Kind::Int),
            flag("pg-major-version", None, Kind::Int),
            flag("enable-postgis-support", None, Kind::Bool),
            flag("v2", None, Kind::Bool),
        ],
        args: Args::None,
        run: create,
    },
    Spec { path: "mpg status", flags: &[JSON], args: Args::Range(0, 1), run: status },
    Spec { path: "mpg destroy", flags: &[YES], args: Args::Exact(1), run: destroy },
    Spec {
        path: "mpg attach",
        flags: &[
            APP,
            CONFIG,
            flag("variable-name", None, Kind::Str),
            flag("database", Some('d'), Kind::Str),
            flag("username", Some('u'), Kind::Str),
        ],
        args: Args::Range(0, 1),
        run: attach,
    },
    Spec { path: "mpg databases list", flags: &[JSON], args: Args::Range(0, 1), run: databases_list },
    Spec {
        path: "mpg databases create",
        flags: &[flag("name", Some('n'), Kind::Str)],
        args: Args::Range(0, 1),
        run: databases_create,
    },
    Spec { path: "mpg users list", flags: &[JSON], args: Args::Range(0, 1), run: users_list },
    Spec {
        path: "mpg users create",
        flags: &[flag("username", Some('u'), Kind::Str), flag("role", Some('r'), Kind::Str)],
        args: Args::Range(0, 1),
        run: users_create,
    },
    Spec {
        path: "mpg users delete",
        flags: &[flag("username", Some('u'), Kind::Str), YES],
        args: Args::Range(0, 1),
        run: users_delete,
    },
];

/// flyctl's aliases under `mpg` (§1.1), given the words before `word`.
pub(super) fn canonical<'w>(before: &[String], word: &'w str) -> &'w str {
    match (before.len(), before.get(1).map(String::as_str), word) {
        (1, _, "ls") | (2, Some("users" | "databases"), "ls") => "list",
        (1, _, "delete" | "remove" | "rm") => "destroy",
        (1, _, "database" | "db" | "dbs") => "databases",
        (1, _, "user") => "users",
        (2, Some("users"), "remove" | "rm" | "del") => "delete",
        (2, Some("users"), "update-role") => "set-role",
        _ => word,
    }
}

/// The MPG plans flyctl knows (§1.3), by key: display name, CPU, memory, price. The key of
/// Performance is capitalised in this flyctl version, so `--plan performance` is not found.
const PLANS: [(&str, &str, &str, &str, u32); 5] = [
    ("basic", "Basic", "Shared x 2", "1 GB", 38),
    ("starter", "Starter", "Shared x 2", "2 GB", 72),
    ("launch", "Launch", "Performance x 2", "8 GB", 282),
    ("scale", "Scale", "Performance x 4", "33 GB", 962),
    ("Performance", "Performance", "Performance x 8", "64 GB", 1922),
];

/// The check every mpg command makes first (§1.2): at least one macaroon token.
fn require_macaroon(ctx: &Ctx<'_>) -> Result<(), String> {
    let token = ctx
        .env("FLY_ACCESS_TOKEN")
        .or_else(|| ctx.env("FLY_API_TOKEN"))
        .or_else(|| ctx.parsed.get("access-token").filter(|t| !t.is_empty()))
        .ok_or("no access token available. Please login with 'flyctl auth login'")?;
    let macaroon = token.split(',').map(str::trim).any(|t| {
        let t = t.strip_prefix("FlyV1 ").or_else(|| t.strip_prefix("Bearer ")).unwrap_or(t);
        matches!(t.split_once('_').map(|(p, _)| p), Some("fm1r" | "fm1a" | "fm2"))
    });
    if macaroon {
        Ok(())
    } else {
        Err("MPG commands require updated tokens but found older-style tokens.\n\nPlease upgrade your authentication by running:\n  flyctl auth logout\n  flyctl auth login".to_owned())
    }
}

/// The cluster id argument; without it flyctl prompts, which fails (§1.5).
fn cluster_id(ctx: &Ctx<'_>) -> Result<String, String> {
    ctx.parsed.args.first().cloned().ok_or_else(|| "prompt: non interactive".to_owned())
}

/// `--json` output: Go's 4-space indentation (§0).
pub(super) fn go_json(ctx: &mut Ctx<'_>, value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap_or_default();
    // serde_json indents by two spaces; a JSON string never holds a raw newline.
    let text: Vec<String> = text
        .lines()
        .map(|line| {
            let body = line.trim_start_matches(' ');
            format!("{}{body}", " ".repeat(2 * (line.len() - body.len())))
        })
        .collect();
    ctx.say(text.join("\n").replace('<', "\\u003c").replace('>', "\\u003e").replace('&', "\\u0026"));
}

fn list(ctx: &mut Ctx<'_>) -> Result<(), String> {
    require_macaroon(ctx)?;
    let org = ctx
        .parsed
        .get("org")
        .filter(|o| !o.is_empty())
        .or_else(|| ctx.env("FLY_ORG"))
        .map(str::to_owned)
        .ok_or_else(|| format!("slug argument must be specified {NON_INTERACTIVE}"))?;
    let deleted = ctx.parsed.bool("deleted");
    let clusters = ctx.call("mpg list", &json!({ "org": org, "deleted": deleted }))?;
    let clusters = clusters.as_array().cloned().unwrap_or_default();
    if clusters.is_empty() {
        // Plain text even with --json (§1.4).
        let kind = if deleted { "deleted managed postgres clusters" } else { "managed postgres clusters" };
        ctx.say(format!("No {kind} found in organization {org}"));
    } else if ctx.parsed.bool("json") {
        go_json(ctx, &Value::Array(clusters));
    } else {
        let rows: Vec<Vec<String>> = clusters
            .iter()
            .map(|c| ["id", "name", "region", "status", "plan"].iter().map(|k| super::s(c, k)).collect())
            .collect();
        ctx.out.push_str(&super::table(&["ID", "NAME", "REGION", "STATUS", "PLAN"], &rows));
    }
    Ok(())
}

fn create(ctx: &mut Ctx<'_>) -> Result<(), String> {
    require_macaroon(ctx)?;
    if ctx.parsed.has("v2") {
        ctx.err.push_str(
            "The '--v2' flag is deprecated and no longer has any effect. Managed Postgres clusters are always created on v2.\n",
        );
    }
    let name = match ctx.parsed.get("name").filter(|n| !n.is_empty()) {
        Some(name) => name.to_owned(),
        // `<app>-db` when an app is in context (§1.3, derived).
        None => match ctx.app_name_if_present()? {
            Some(app) => format!("{app}-db"),
            None => return Err(format!("name argument or flag must be specified {NON_INTERACTIVE}")),
        },
    };
    let org = ctx.org()?;
    let region = ctx.parsed.get("region").filter(|r| !r.is_empty()).ok_or("prompt: non interactive")?.to_owned();
    if !crate::fake_fly::MPG_REGIONS.contains(&region.as_str()) {
        return Err(format!(
            "region {region} is not available for Managed Postgres. Available regions: [{}]",
            crate::fake_fly::MPG_REGIONS.join(" ")
        ));
    }
    // Not interactive: a missing or unknown plan silently becomes basic (§1.3).
    let asked = ctx.parsed.get("plan").unwrap_or_default().trim().to_lowercase();
    let plan = PLANS.iter().find(|p| p.0 == asked).unwrap_or(&PLANS[0]);
    let version = ctx.parsed.int("pg-major-version").unwrap_or(16);
    if version != 16 && version != 17 {
        return Err(format!("invalid Postgres major version: {version}. Supported versions are 16 and 17"));
    }
    let disk = ctx.parsed.int("volume-size").unwrap_or(10);
    let created = ctx
        .call(
            "mpg create",
            &json!({
                "name": name, "region": region, "org_slug": org, "plan": plan.0,
                "pg_major_version": version.to_string(), "storage_in_gb": disk,
                "postgis_enabled": ctx.parsed.bool("enable-postgis-support"),
            }),
        )
        .map_err(|e| format!("failed creating managed postgres cluster: {e}"))?;
    let data = &created["data"];
    let id = super::s(data, "id");
    ctx.say(format!("Selected Plan: {}", plan.1));
    ctx.say(format!("  CPU: {}", plan.2));
    ctx.say(format!("  Memory: {}", plan.3));
    ctx.say(format!("  Price: ${} per month\n", plan.4));
    ctx.say(format!("Waiting for cluster {name} ({id}) to be ready..."));
    ctx.say(format!("You can view the cluster in the UI at: https://fly.io/dashboard/{org}/managed_postgres/{id}"));
    ctx.say("You can cancel this wait with Ctrl+C - the cluster will continue provisioning in the background.");
    ctx.say(format!("Once ready, you can connect to the database with: fly mpg connect {id}\n\n"));
    ctx.say("Managed Postgres cluster created successfully!");
    ctx.say(format!("  ID: {id}"));
    ctx.say(format!("  Name: {name}"));
    ctx.say(format!("  Organization: {org}"));
    ctx.say(format!("  Region: {region}"));
    ctx.say(format!("  Plan: {}", plan.0));
    ctx.say(format!("  Disk: {disk}GB"));
    ctx.say(format!("  PostGIS: {}", ctx.parsed.bool("enable-postgis-support")));
    ctx.say(format!("  Connection string: {}", super::s(data, "pooled_uri")));
    Ok(())
}

fn status(ctx: &mut Ctx<'_>) -> Result<(), String> {
    require_macaroon(ctx)?;
    let id = cluster_id(ctx)?;
    let found = ctx.call("mpg status", &json!({ "id": id }))?;
    if ctx.parsed.bool("json") {
        go_json(ctx, &found);
    } else {
        let data = &found["data"];
        ctx.say("Cluster Status");
        for (label, key) in [("ID", "id"), ("Name", "name"), ("Region", "region"), ("Status", "status")] {
            ctx.say(format!("  {label} = {}", super::s(data, key)));
        }
        ctx.say(format!("  Organization = {}", super::s(&data["organization"], "Slug")));
        ctx.say(format!("  Allocated Disk (GB) = {}", super::s(data, "disk")));
        ctx.say(format!("  Replicas = {}", super::s(data, "replicas")));
        ctx.say(format!("  Direct IP = {}", super::s(&data["ip_assignments"], "direct")));
    }
    Ok(())
}

fn destroy(ctx: &mut Ctx<'_>) -> Result<(), String> {
    require_macaroon(ctx)?;
    confirmed(ctx)?;
    let id = cluster_id(ctx)?;
    let gone = ctx.call("mpg destroy", &json!({ "id": id }))?;
    ctx.say(format!(
        "Managed Postgres cluster {} ({id}) scheduled to be destroyed (may take some time)",
        super::s(&gone, "name")
    ));
    Ok(())
}

fn attach(ctx: &mut Ctx<'_>) -> Result<(), String> {
    require_macaroon(ctx)?;
    let id = cluster_id(ctx)?;
    let app = ctx.app_name()?;
    let variable = ctx.parsed.get("variable-name").filter(|v| !v.is_empty()).unwrap_or("DATABASE_URL").to_owned();
    let attached = ctx.call(
        "mpg attach",
        &json!({
            "id": id, "app": app, "variable": variable,
            "database": ctx.parsed.get("database").filter(|d| !d.is_empty()),
            "username": ctx.parsed.get("username").filter(|u| !u.is_empty()),
        }),
    )?;
    ctx.say("");
    ctx.say(format!("Postgres cluster {id} is being attached to {app}"));
    ctx.say(format!("The following secret was added to {app}:"));
    ctx.say(format!("  {variable}={}", super::s(&attached, "uri")));
    Ok(())
}

/// A flag flyctl would otherwise prompt for (§1.7, §1.8).
fn asked(ctx: &Ctx<'_>, flag: &str, what: &str) -> Result<String, String> {
    ctx.parsed
        .get(flag)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .ok_or_else(|| format!("{what} must be specified with --{flag} flag {NON_INTERACTIVE}"))
}

/// `--yes`, which a confirmation needs when not interactive (§0).
fn confirmed(ctx: &Ctx<'_>) -> Result<(), String> {
    if ctx.parsed.bool("yes") { Ok(()) } else { Err(format!("--yes flag must be specified {NON_INTERACTIVE}")) }
}

/// `mpg databases list` / `mpg users list`: JSON, a table, or plain text when empty.
fn list_in_cluster(ctx: &mut Ctx<'_>, what: &str, keys: &[&str]) -> Result<(), String> {
    require_macaroon(ctx)?;
    let id = cluster_id(ctx)?;
    let found = ctx.call(&format!("mpg {what} list"), &json!({ "id": id }))?;
    let items = found.as_array().cloned().unwrap_or_default();
    if items.is_empty() {
        ctx.say(format!("No {what} found for cluster {id}"));
    } else if ctx.parsed.bool("json") {
        go_json(ctx, &found);
    } else {
        let rows: Vec<Vec<String>> = items.iter().map(|i| keys.iter().map(|k| super::s(i, k)).collect()).collect();
        let headers: Vec<String> = keys.iter().map(|k| k.to_uppercase()).collect();
        ctx.out.push_str(&super::table(&headers.iter().map(String::as_str).collect::<Vec<_>>(), &rows));
    }
    Ok(())
}

fn databases_list(ctx: &mut Ctx<'_>) -> Result<(), String> {
    list_in_cluster(ctx, "databases", &["name"])
}

fn databases_create(ctx: &mut Ctx<'_>) -> Result<(), String> {
    require_macaroon(ctx)?;
    let id = cluster_id(ctx)?;
    let name = asked(ctx, "name", "database name")?;
    ctx.say(format!("Creating database {name} in cluster {id}..."));
    ctx.call("mpg databases create", &json!({ "id": id, "name": name }))
        .map_err(|e| if e.starts_with("managed postgres") { e } else { format!("failed to create database: {e}") })?;
    ctx.say("Database created successfully!");
    ctx.say(format!("  Name: {name}"));
    Ok(())
}

fn users_list(ctx: &mut Ctx<'_>) -> Result<(), String> {
    list_in_cluster(ctx, "users", &["name", "role"])
}

fn users_create(ctx: &mut Ctx<'_>) -> Result<(), String> {
    require_macaroon(ctx)?;
    let id = cluster_id(ctx)?;
    let username = asked(ctx, "username", "username")?;
    let role = asked(ctx, "role", "user role")?;
    if !["schema_admin", "writer", "reader"].contains(&role.as_str()) {
        return Err(format!("invalid role {role:?}. Must be one of: schema_admin, writer, reader"));
    }
    ctx.say(format!("Creating user {username} with role {role} in cluster {id}..."));
    ctx.call("mpg users create", &json!({ "id": id, "username": username, "role": role }))?;
    ctx.say("User created successfully!");
    ctx.say(format!("  Name: {username}"));
    ctx.say(format!("  Role: {role}"));
    Ok(())
}

fn users_delete(ctx: &mut Ctx<'_>) -> Result<(), String> {
    require_macaroon(ctx)?;
    let id = cluster_id(ctx)?;
    let username = asked(ctx, "username", "username")?;
    confirmed(ctx)?;
    ctx.call("mpg users delete", &json!({ "id": id, "username": username }))?;
    ctx.say(format!("User {username} deleted from cluster {id}"));
    Ok(())
}
