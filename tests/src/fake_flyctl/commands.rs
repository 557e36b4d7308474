//! The commands: one runner each (`cmd_<group>_<command>`), against the fake server.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use base64::Engine as _;
use serde_json::{Value, json};

use super::{Ctx, NON_INTERACTIVE, VERSION, parse_secrets, s, table};

#[expect(clippy::unnecessary_wraps, reason = "every command has the same signature")]
pub(super) fn cmd_version(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let name = Path::new(&ctx.invocation.program).file_name().and_then(|n| n.to_str()).unwrap_or("flyctl");
    let name = if name == "fly" { "fly" } else { "flyctl" };
    if ctx.parsed.bool("json") {
        ctx.json(&json!({ "Name": name, "Version": VERSION.trim_start_matches('v'), "Commit": "fake", "BuildDate": "2025-06-01T00:00:00Z", "OS": "linux", "Architecture": "amd64" }));
    } else {
        ctx.say(format!("{name} {VERSION} linux/amd64 Commit: fake BuildDate: 2025-06-01T00:00:00Z"));
    }
    Ok(())
}

pub(super) fn cmd_apps_create(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let name = match (ctx.parsed.args.first(), ctx.parsed.get("name")) {
        (Some(arg), Some(flag)) if arg != flag => {
            return Err(format!("two app names specified {arg} and {flag}. Select and specify only one"));
        }
        (Some(arg), _) => arg.clone(),
        (None, Some(flag)) => flag.to_owned(),
        (None, None) => return Err(format!("name argument or flag must be specified {NON_INTERACTIVE}")),
    };
    ctx.session()?;
    let org = ctx.org()?;
    let app = ctx.call("apps create", &json!({ "name": name, "org": org, "network": ctx.parsed.get("network") }))?;
    if ctx.parsed.bool("json") {
        ctx.json(&app);
    } else {
        ctx.say(format!("New app created: {name}"));
    }
    Ok(())
}

pub(super) fn cmd_apps_destroy(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    ctx.require_yes()?;
    for name in ctx.parsed.args.clone() {
        ctx.call("apps destroy", &json!({ "name": name }))?;
        ctx.say(format!("Destroyed app {name}"));
    }
    Ok(())
}

pub(super) fn cmd_apps_list(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let org = ctx.parsed.get("org").map(str::to_owned);
    let list = ctx.call("apps list", &json!({ "org": org }))?;
    let apps = list["apps"].as_array().cloned().unwrap_or_default();
    if ctx.parsed.bool("json") {
        let rendered: Vec<Value> = apps
            .iter()
            .map(|a| {
                json!({
                    "ID": a["name"], "Name": a["name"], "Status": a["status"], "Deployed": a["deployed"],
                    "Hostname": a["hostname"], "Organization": { "Slug": a["organization"]["slug"] },
                    "PlatformVersion": "machines",
                })
            })
            .collect();
        ctx.json(&Value::Array(rendered));
    } else {
        let rows: Vec<Vec<String>> = apps
            .iter()
            .map(|a| vec![s(a, "name"), s(&a["organization"], "slug"), s(a, "status"), String::new()])
            .collect();
        ctx.out.push_str(&table(&["NAME", "OWNER", "STATUS", "LATEST DEPLOY"], &rows));
    }
    Ok(())
}

pub(super) fn cmd_status(ctx: &mut Ctx<'_>) -> Result<(), String> {
    if ctx.parsed.bool("watch") && ctx.parsed.bool("json") {
        return Err("--watch and --json are not supported together".to_owned());
    }
    ctx.session()?;
    let app = ctx.app_name()?;
    let status = ctx.call("status", &json!({ "app": app }))?;
    if ctx.parsed.bool("json") {
        // fly-2026.md §5.1: a Go map, so keys sorted; machines as the Machines API list (§5.6).
        let org = &status["organization"];
        let document = json!({
            "AppURL": format!("https://{}", s(&status, "hostname")),
            "Deployed": status["deployed"],
            "Hostname": status["hostname"],
            "ID": status["name"],
            "Machines": status["machines"],
            "Name": status["name"],
            "Organization": {
                "ID": org["slug"], "InternalNumericID": "", "Name": org["name"], "Slug": org["slug"],
                "RawSlug": org["slug"], "PaidPlan": false
            },
            "PlatformVersion": "machines",
            "Status": status["status"],
            "Version": status["version"],
        });
        super::go_json(ctx, &document);
        return Ok(());
    }
    ctx.say("App");
    ctx.say(format!("  Name     = {}", s(&status, "name")));
    ctx.say(format!("  Owner    = {}", s(&status["organization"], "slug")));
    ctx.say(format!("  Hostname = {}", s(&status, "hostname")));
    ctx.say(format!("  Image    = {}", s(&status, "image")));
    ctx.say("  Platform = machines");
    ctx.say("");
    let machines = status["machines"].as_array().cloned().unwrap_or_default();
    if machines.is_empty() {
        ctx.say("No machines are available on this app APP".replace("APP", &app));
    } else {
        let rows: Vec<Vec<String>> = machines
            .iter()
            .map(|m| {
                vec![
                    s(&m["config"]["metadata"], "fly_process_group"),
                    s(m, "id"),
                    s(&status, "version"),
                    s(m, "region"),
                    s(m, "state"),
                ]
            })
            .collect();
        ctx.say("Machines");
        ctx.out.push_str(&table(&["PROCESS", "ID", "VERSION", "REGION", "STATE"], &rows));
    }
    Ok(())
}

/// `fly releases -a APP --json` (fly-2026.md §5.3): at most the 25 newest releases, `Version`
/// descending, fly-go `Release` with `PascalCase` keys and every field.
pub(super) fn cmd_releases(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    let releases = ctx.call("releases", &json!({ "app": app }))?;
    let list = releases.as_array().cloned().unwrap_or_default();
    if ctx.parsed.bool("json") {
        super::go_json(ctx, &Value::Array(list));
        return Ok(());
    }
    let image = ctx.parsed.bool("image");
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|r| {
            let mut row = vec![
                format!("v{}", r["Version"]),
                s(r, "Status"),
                s(r, "Description"),
                s(&r["User"], "Email"),
                s(r, "CreatedAt"),
            ];
            if image {
                row.push(s(r, "ImageRef"));
            }
            row
        })
        .collect();
    let mut headers = vec!["VERSION", "STATUS", "DESCRIPTION", "USER", "DATE"];
    if image {
        headers.push("DOCKER IMAGE");
    }
    ctx.out.push_str(&table(&headers, &rows));
    Ok(())
}

pub(super) fn cmd_secrets_import(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    let text = ctx.read_stdin()?;
    let values = parse_secrets(&text).map_err(|e| format!("Failed to parse secrets from stdin: {e}"))?;
    if values.is_empty() {
        return Err("requires at least one SECRET=VALUE pair".to_owned());
    }
    let answer =
        ctx.call("secrets import", &json!({ "app": app, "values": values, "stage": ctx.parsed.bool("stage") }))?;
    ctx.say(s(&answer, "message"));
    Ok(())
}

pub(super) fn cmd_secrets_set(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    let mut values = BTreeMap::new();
    for pair in &ctx.parsed.args {
        let Some((name, value)) = pair.split_once('=') else {
            return Err(format!("Secrets must be provided as NAME=VALUE pairs ({pair} is invalid)"));
        };
        values.insert(name.to_owned(), value.to_owned());
    }
    let answer =
        ctx.call("secrets set", &json!({ "app": app, "values": values, "stage": ctx.parsed.bool("stage") }))?;
    ctx.say(s(&answer, "message"));
    Ok(())
}

pub(super) fn cmd_secrets_unset(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    let names = ctx.parsed.args.clone();
    let answer =
        ctx.call("secrets unset", &json!({ "app": app, "names": names, "stage": ctx.parsed.bool("stage") }))?;
    ctx.say(s(&answer, "message"));
    Ok(())
}

pub(super) fn cmd_secrets_list(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    let list = ctx.call("secrets list", &json!({ "app": app }))?;
    if ctx.parsed.bool("json") {
        ctx.json(&list);
    } else {
        let rows: Vec<Vec<String>> = list
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|secret| vec![s(secret, "name"), s(secret, "digest"), s(secret, "status")])
            .collect();
        ctx.out.push_str(&table(&["NAME", "DIGEST", "STATUS"], &rows));
    }
    Ok(())
}

pub(super) fn cmd_secrets_deploy(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    let answer = ctx.call("secrets deploy", &json!({ "app": app }))?;
    ctx.say(s(&answer, "message"));
    Ok(())
}

/// Whether `text` is a Go duration (`300ms`, `5m`, `1h30m`, `1.5s`).
fn is_go_duration(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    if body == "0" {
        return true;
    }
    let mut rest = body;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let number_len = rest.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(rest.len());
        let number = &rest[..number_len];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return false;
        }
        rest = &rest[number_len..];
        let unit = ["ns", "us", "µs", "μs", "ms", "s", "m", "h"].iter().find(|u| rest.starts_with(*u));
        let Some(unit) = unit else { return false };
        rest = &rest[unit.len()..];
    }
    true
}

pub(super) fn cmd_deploy(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let p = &ctx.parsed;
    if p.bool("local-only") && p.bool("remote-only") {
        return Err(
            "if any flags in the group [local-only remote-only] are set none of the others can be; [local-only remote-only] were all set"
                .to_owned(),
        );
    }
    let strategy = p.get("strategy").map(str::to_owned);
    if let Some(strategy) = &strategy
        && !["canary", "rolling", "immediate", "bluegreen"].contains(&strategy.as_str())
    {
        return Err(format!("unsupported deployment strategy '{strategy}'"));
    }
    let wait_timeout = p.get("wait-timeout").map(str::to_owned);
    if let Some(timeout) = &wait_timeout
        && !is_go_duration(timeout)
    {
        return Err(format!(
            "invalid argument {timeout:?} for \"--wait-timeout\" flag: time: invalid duration {timeout:?}"
        ));
    }
    for (name, values) in [("build-arg", p.list("build-arg")), ("env", p.list("env"))] {
        if let Some(bad) = values.iter().find(|v| v.split_once('=').is_none_or(|(k, _)| k.is_empty())) {
            return Err(format!("invalid {name} '{bad}': must be in the format NAME=VALUE"));
        }
    }
    let workdir = match p.args.first() {
        Some(dir) => {
            let dir = ctx.resolve_path(dir);
            if !dir.is_dir() {
                return Err(format!("failed to change working directory to {}: no such directory", dir.display()));
            }
            dir
        }
        None => ctx.invocation.cwd.clone(),
    };
    let config_path = p.get("config").map_or_else(|| workdir.join("fly.toml"), |c| ctx.resolve_path(c));
    let original = std::fs::read_to_string(&config_path).map_err(|_| {
        format!(
            "failed loading app config from {}: open {}: no such file or directory",
            config_path.display(),
            config_path.display()
        )
    })?;
    ctx.say("==> Verifying app config");
    ctx.say(format!("Validating {}", config_path.display()));
    // The flags that rewrite the config are applied before validation, as flyctl does.
    let primary_region = ctx.parsed.get("primary-region").map(str::to_owned);
    let config = if strategy.is_some() || primary_region.is_some() {
        match original.parse::<toml::Table>() {
            Ok(mut table) => {
                if let Some(strategy) = &strategy {
                    let deploy = table.entry("deploy").or_insert_with(|| toml::Value::Table(toml::Table::new()));
                    if let Some(deploy) = deploy.as_table_mut() {
                        deploy.insert("strategy".to_owned(), toml::Value::String(strategy.clone()));
                    }
                }
                if let Some(region) = &primary_region {
                    table.insert("primary_region".to_owned(), toml::Value::String(region.clone()));
                }
                toml::to_string(&table).unwrap_or(original)
            }
            Err(_) => original,
        }
    } else {
        original
    };
    if let Err(problems) = crate::flytoml::check(&config) {
        for problem in problems {
            let _ = writeln!(ctx.err, "✘ {problem}");
        }
        return Err("App configuration is not valid".to_owned());
    }
    ctx.say("✓ Configuration is valid");
    ctx.say("--> Verified app config");
    let root: toml::Table = config.parse().map_err(|e| format!("invalid TOML: {e}"))?;

    let app = match ctx.parsed.get("app").filter(|a| !a.is_empty()).or_else(|| ctx.env("FLY_APP")) {
        Some(app) => app.to_owned(),
        None => root.get("app").and_then(toml::Value::as_str).map(str::to_owned).ok_or(
            "the config for your app is missing an app name, add an app field to the fly.toml file or specify with the -a flag",
        )?,
    };

    ctx.check_app(&app)?;

    // The image: --image, [build] image, else a Dockerfile to build.
    let build_section = root.get("build").and_then(toml::Value::as_table);
    let config_image = build_section.and_then(|b| b.get("image")).and_then(toml::Value::as_str);
    let image = ctx.parsed.get("image").map(str::to_owned).or_else(|| config_image.map(str::to_owned));
    let (build, dockerfile) = if image.is_some() {
        ("image", None)
    } else {
        let config_dir = config_path.parent().map_or_else(|| workdir.clone(), Path::to_path_buf);
        let dockerfile = match (
            ctx.parsed.get("dockerfile"),
            build_section.and_then(|b| b.get("dockerfile")).and_then(toml::Value::as_str),
        ) {
            (Some(flag), _) => ctx.resolve_path(flag),
            (None, Some(configured)) => config_dir.join(configured),
            (None, None) => workdir.join("Dockerfile"),
        };
        if !dockerfile.is_file() {
            return Err(
                if ctx.parsed.has("dockerfile") || build_section.is_some_and(|b| b.contains_key("dockerfile")) {
                    format!("dockerfile '{}' not found", dockerfile.display())
                } else {
                    "app does not have a Dockerfile or buildpacks configured. See https://fly.io/docs/reference/configuration/#the-build-section".to_owned()
                },
            );
        }
        (if ctx.parsed.bool("local-only") { "local" } else { "remote" }, Some(dockerfile.display().to_string()))
    };

    // [[files]] local_path: read from the working directory.
    let mut local_files = serde_json::Map::new();
    let files = match root.get("files") {
        Some(toml::Value::Array(items)) => items.iter().filter_map(toml::Value::as_table).cloned().collect(),
        _ => Vec::new(),
    };
    for file in files {
        if let (Some(guest), Some(local)) =
            (file.get("guest_path").and_then(toml::Value::as_str), file.get("local_path").and_then(toml::Value::as_str))
        {
            let path = ctx.resolve_path(local);
            let content = std::fs::read(&path).map_err(|e| {
                format!("failed to read local file {local} for [[files]] {guest}: open {}: {e}", path.display())
            })?;
            local_files.insert(guest.to_owned(), json!(base64::engine::general_purpose::STANDARD.encode(content)));
        }
    }

    // machine_config (fly-2026.md §2): read and its image container chosen as flyctl does.
    let machine_config = super::machine_config::resolve(&root, &workdir, image.as_deref().unwrap_or("."))?;
    if let Some(dockerfile) = &dockerfile {
        ctx.say(format!(
            "==> Building image with {} builder",
            if build == "local" { "a local Docker" } else { "Fly's remote" }
        ));
        ctx.say(format!("Building from {dockerfile}"));
    }
    let mut digest = None;
    if let (Some(image), None) = (&image, &dockerfile) {
        ctx.say(format!("Searching for image '{image}' remotely..."));
        digest = resolve_image(image)?;
    }
    let ha = ctx.parsed.get("ha").is_none_or(|v| v == "true");
    let body = json!({
        "app": app,
        "config": config,
        "image": image,
        "build": build,
        "dockerfile": dockerfile,
        "ha": ha,
        "strategy": strategy,
        "primary_region": primary_region,
        "detach": ctx.parsed.bool("detach"),
        "wait_timeout": wait_timeout,
        "build_args": ctx.parsed.list("build-arg"),
        "env": ctx.parsed.list("env"),
        "local_files": local_files,
        "machine_config": machine_config,
        "digest": digest,
    });
    // [deploy] release_command runs before any machine is updated (fly-2026.md §3.1).
    super::release::run(ctx, &app, &config, image.as_deref())?;
    let release = ctx.call("deploy", &body)?;
    if build == "image" {
        ctx.say(format!("image found: {}", s(&release, "image")));
    } else {
        ctx.say("--> Building image done");
        ctx.say(format!("image: {}", s(&release, "image")));
    }
    ctx.say("");
    ctx.say(format!("Watch your deployment at https://fly.io/apps/{app}/monitoring"));
    ctx.say("");
    ctx.say("-------");
    ctx.say(format!("Updating existing machines in '{app}' with {} strategy", s(&release, "strategy")));
    for machine in release["machines"].as_array().cloned().unwrap_or_default() {
        ctx.say(format!(
            " ✔ Machine {} [{}] update finished: success",
            s(&machine, "id"),
            s(&machine, "process_group")
        ));
    }
    ctx.say("-------");
    ctx.say("");
    ctx.say(format!("Visit your newly deployed app at https://{app}.fly.dev/"));
    Ok(())
}

/// The remote image resolver of `fly deploy --image` (fly-2026.md §5.4; flyctl
/// `internal/build/imgsrc/resolver.go`): an image on a loopback registry is looked up there for
/// real (`skopeo inspect`) and its manifest digest returned; one the registry does not hold
/// fails as flyctl does (`failed to fetch an image or build from source: could not find image
/// "<ref>"`). Any other registry is not reachable from here: the server "finds" it (`None`).
fn resolve_image(image: &str) -> Result<Option<String>, String> {
    if !super::release::on_loopback(image) {
        return Ok(None);
    }
    let found = crate::registry::try_run_tool(std::process::Command::new("skopeo").args([
        "inspect",
        "--tls-verify=false",
        &format!("docker://{image}"),
    ]));
    match found {
        Ok(out) => {
            let value: Value = serde_json::from_slice(&out).map_err(|e| format!("skopeo inspect: {e}"))?;
            Ok(value["Digest"].as_str().map(str::to_owned))
        }
        Err(e) if e.contains("manifest unknown") || e.contains("name unknown") || e.contains("not found") => {
            Err(format!("failed to fetch an image or build from source: could not find image \"{image}\""))
        }
        Err(e) => Err(format!("failed to fetch an image or build from source: {e}")),
    }
}

pub(super) fn cmd_postgres_create(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let name = ctx.required("name")?;
    let org = ctx.org()?;
    let region = ctx.region()?;
    let vm_size = ctx.required("vm-size")?;
    let volume_size = ctx.required("volume-size")?;
    let cluster_size = ctx.required("initial-cluster-size")?;
    let (Ok(volume_size), Ok(cluster_size)) = (volume_size.parse::<u64>(), cluster_size.parse::<u64>()) else {
        return Err("--volume-size and --initial-cluster-size must be positive numbers".to_owned());
    };
    ctx.say(format!("Creating postgres cluster {name} in organization {org}"));
    let cluster = ctx.call(
        "postgres create",
        &json!({
            "name": name, "org": org, "region": region, "vm_size": vm_size, "volume_size": volume_size,
            "initial_cluster_size": cluster_size, "password": ctx.parsed.get("password"),
            "autostart": ctx.parsed.bool("autostart"), "image_ref": ctx.parsed.get("image-ref"),
        }),
    )?;
    let machines = cluster["machines"].as_array().cloned().unwrap_or_default();
    ctx.say("Creating app...");
    ctx.say(format!("Setting secrets on app {name}..."));
    for (index, machine) in machines.iter().enumerate() {
        ctx.say(format!(
            "Provisioning {} of {} machines with image flyio/postgres-flex:15.8",
            index + 1,
            machines.len()
        ));
        ctx.say(format!(
            "Waiting for machine to start...\nMachine {} is started",
            machine.as_str().unwrap_or_default()
        ));
    }
    if !ctx.parsed.bool("detach") {
        ctx.say("==> Monitoring health checks");
        for machine in &machines {
            ctx.say(format!("  Waiting for {} to become healthy (started, 3/3)", machine.as_str().unwrap_or_default()));
        }
        ctx.say("");
    }
    let password = s(&cluster, "password");
    ctx.say(format!("Postgres cluster {name} created"));
    ctx.say("  Username:    postgres");
    ctx.say(format!("  Password:    {password}"));
    ctx.say(format!("  Hostname:    {name}.internal"));
    ctx.say(format!("  Flycast:     {}", s(&cluster, "flycast")));
    ctx.say("  Proxy port:  5432");
    ctx.say("  Postgres port:  5433");
    ctx.say(format!("  Connection string: postgres://postgres:{password}@{name}.flycast:5432\n"));
    ctx.say("Save your credentials in a secure place -- you won't be able to see them again!");
    ctx.say("");
    ctx.say("Connect to postgres");
    ctx.say(format!(
        "Any app within the {org} organization can connect to this Postgres using the above connection string"
    ));
    Ok(())
}

pub(super) fn cmd_postgres_list(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.list("postgres list", &["NAME", "OWNER", "STATUS"], |c| {
        vec![s(c, "name"), s(&c["organization"], "slug"), s(c, "status")]
    })
}

pub(super) fn cmd_redis_create(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let name = ctx.required("name")?;
    let org = ctx.org()?;
    let region = ctx.region()?;
    let replicas = ctx.parsed.list("replica-regions");
    if ctx.parsed.bool("no-replicas") && !replicas.is_empty() {
        return Err("if any flags in the group [no-replicas replica-regions] are set none of the others can be; [no-replicas replica-regions] were all set".to_owned());
    }
    if !ctx.parsed.bool("no-replicas") && replicas.is_empty() {
        return Err(format!("--no-replicas or --replica-regions flag required {NON_INTERACTIVE}"));
    }
    let eviction = match (ctx.parsed.bool("enable-eviction"), ctx.parsed.bool("disable-eviction")) {
        (true, true) => return Err("if any flags in the group [enable-eviction disable-eviction] are set none of the others can be; [enable-eviction disable-eviction] were all set".to_owned()),
        (true, false) => true,
        (false, true) => false,
        (false, false) => return Err(format!("--enable-eviction or --disable-eviction flag required {NON_INTERACTIVE}")),
    };
    let db = ctx.call(
        "redis create",
        &json!({ "name": name, "org": org, "region": region, "replica_regions": replicas, "eviction": eviction, "plan": ctx.parsed.get("plan") }),
    )?;
    ctx.say("");
    ctx.say(format!(
        "Your Upstash Redis database {name} is ready. Check the pricing details at https://upstash.com/pricing."
    ));
    ctx.say(format!("Apps in the {org} org can connect to Redis at {}", s(&db, "private_url")));
    ctx.say("If you have redis-cli installed, use fly redis connect to get a Redis console.");
    Ok(())
}

pub(super) fn cmd_redis_status(ctx: &mut Ctx<'_>) -> Result<(), String> {
    let name = ctx.parsed.args[0].clone();
    let db = ctx.call("redis status", &json!({ "name": name }))?;
    let read = db["read_regions"]
        .as_array()
        .filter(|r| !r.is_empty())
        .map_or_else(|| "None".to_owned(), |r| r.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(","));
    ctx.say("Redis");
    ctx.say(format!("  ID             = {}", s(&db, "id")));
    ctx.say(format!("  Name           = {}", s(&db, "name")));
    ctx.say(format!("  Plan           = {}", s(&db, "plan")));
    ctx.say(format!("  Primary Region = {}", s(&db, "primary_region")));
    ctx.say(format!("  Read Regions   = {read}"));
    ctx.say(format!("  Eviction       = {}", s(&db, "eviction")));
    ctx.say(format!("  Private URL    = {}", s(&db, "private_url")));
    Ok(())
}

pub(super) fn cmd_redis_destroy(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    ctx.require_yes()?;
    let name = ctx.parsed.args[0].clone();
    ctx.call("redis destroy", &json!({ "name": name }))?;
    ctx.say(format!("Your Redis database {name} was destroyed"));
    Ok(())
}

pub(super) fn cmd_redis_list(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.list("redis list", &["NAME", "ORG", "PLAN", "EVICTION", "PRIMARY REGION"], |d| {
        vec![s(d, "name"), s(&d["organization"], "slug"), s(d, "plan"), s(d, "eviction"), s(d, "primary_region")]
    })
}

pub(super) fn cmd_storage_create(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let name = ctx.required("name")?;
    let app = ctx.app_name_if_present()?;
    let org = ctx.parsed.get("org").filter(|o| !o.is_empty()).or_else(|| ctx.env("FLY_ORG")).map(str::to_owned);
    if app.is_none() && org.is_none() {
        return Err(format!("org slug must be specified {NON_INTERACTIVE}"));
    }
    let answer = ctx.call(
        "storage create",
        &json!({ "name": name, "org": org, "app": app, "public": ctx.parsed.bool("public") }),
    )?;
    ctx.say(format!(
        "Your Tigris Object Storage bucket ({name}) is ready. See details and next steps with: https://fly.io/docs/tigris/"
    ));
    ctx.say("");
    let secrets = answer["secrets"].as_object().cloned().unwrap_or_default();
    if let Some(app) = app {
        ctx.say(format!("Setting the following secrets on {app}:"));
        for key in secrets.keys() {
            ctx.say(key);
        }
        ctx.say("");
        ctx.say(s(&answer, "message"));
    } else {
        ctx.say("Set one or more of the following secrets on your target app.");
        for (key, value) in &secrets {
            ctx.say(format!("{key}: {}", value.as_str().unwrap_or_default()));
        }
    }
    Ok(())
}

pub(super) fn cmd_storage_list(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.list("storage list", &["NAME", "ORG", "PUBLIC"], |b| {
        vec![s(b, "name"), s(&b["organization"], "slug"), s(b, "public")]
    })
}

pub(super) fn cmd_storage_destroy(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    ctx.require_yes()?;
    let name = ctx.parsed.args[0].clone();
    ctx.call("storage destroy", &json!({ "name": name }))?;
    ctx.say(format!("Your Tigris Object Storage bucket {name} was destroyed"));
    Ok(())
}

fn volume_block(volume: &Value, app: &str) -> String {
    let rows = [
        ("ID", s(volume, "id")),
        ("Name", s(volume, "name")),
        ("App", app.to_owned()),
        ("Region", s(volume, "region")),
        ("Zone", s(volume, "zone")),
        ("Size GB", s(volume, "size_gb")),
        ("Encrypted", s(volume, "encrypted")),
        ("Created at", s(volume, "created_at")),
        ("Snapshot retention", s(volume, "snapshot_retention")),
        ("Scheduled snapshots", s(volume, "auto_backup_enabled")),
    ];
    let mut text = String::new();
    for (label, value) in rows {
        let _ = writeln!(text, "{label:>20}: {value}");
    }
    text
}

pub(super) fn cmd_volumes_create(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    let name = ctx.parsed.args[0].clone();
    let region = ctx.region()?;
    let size = ctx.parsed.int("size").unwrap_or(1);
    let count = ctx.parsed.int("count").unwrap_or(1);
    if size < 1 || count < 1 {
        return Err("--size and --count must be at least 1".to_owned());
    }
    let created = ctx.call(
        "volumes create",
        &json!({ "app": app, "name": name, "region": region, "size_gb": size, "count": count, "yes": ctx.parsed.bool("yes") }),
    )?;
    if ctx.parsed.bool("json") {
        ctx.json(&created);
        return Ok(());
    }
    let blocks: Vec<String> =
        created.as_array().cloned().unwrap_or_default().iter().map(|v| volume_block(v, &app)).collect();
    ctx.out.push_str(&blocks.join("\n"));
    Ok(())
}

pub(super) fn cmd_volumes_list(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    let list = ctx.call("volumes list", &json!({ "app": app }))?;
    if ctx.parsed.bool("json") {
        ctx.json(&list);
    } else {
        let rows: Vec<Vec<String>> = list
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|v| {
                vec![
                    s(v, "id"),
                    s(v, "state"),
                    s(v, "name"),
                    format!("{}GB", s(v, "size_gb")),
                    s(v, "region"),
                    s(v, "zone"),
                    s(v, "encrypted"),
                    s(v, "attached_machine_id"),
                    s(v, "created_at"),
                ]
            })
            .collect();
        ctx.out.push_str(&table(
            &["ID", "STATE", "NAME", "SIZE", "REGION", "ZONE", "ENCRYPTED", "ATTACHED VM", "CREATED AT"],
            &rows,
        ));
    }
    Ok(())
}

pub(super) fn cmd_volumes_destroy(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    ctx.require_yes()?;
    let id = ctx.parsed.args[0].clone();
    let app = ctx.app_name_if_present()?;
    let answer = ctx.call("volumes destroy", &json!({ "id": id, "app": app }))?;
    ctx.say(format!("Destroyed volume {id} from {}", s(&answer, "app")));
    Ok(())
}

fn ip_table(ip: &Value) -> String {
    let kind = match s(ip, "type").as_str() {
        "shared_v4" => "public (shared)",
        "private_v6" => "private",
        _ => "public (dedicated)",
    };
    let version = if s(ip, "type").ends_with("v4") { "v4" } else { "v6" };
    table(
        &["VERSION", "IP", "TYPE", "REGION"],
        &[vec![version.to_owned(), s(ip, "ip"), kind.to_owned(), s(ip, "region")]],
    )
}

pub(super) fn cmd_ips_v4(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    let shared = ctx.parsed.bool("shared");
    if !shared && !ctx.parsed.bool("yes") {
        return Err(format!("yes flag required {NON_INTERACTIVE} (dedicated IPv4 addresses cost money)"));
    }
    let ip = ctx.call("ips allocate-v4", &json!({ "app": app, "shared": shared }))?;
    ctx.out.push_str(&ip_table(&ip));
    Ok(())
}

pub(super) fn cmd_ips_v6(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    let ip = ctx.call("ips allocate-v6", &json!({ "app": app, "private": ctx.parsed.bool("private") }))?;
    ctx.out.push_str(&ip_table(&ip));
    Ok(())
}

pub(super) fn cmd_ips_list(ctx: &mut Ctx<'_>) -> Result<(), String> {
    ctx.session()?;
    let app = ctx.app_name()?;
    let list = ctx.call("ips list", &json!({ "app": app }))?;
    if ctx.parsed.bool("json") {
        ctx.json(&list);
    } else {
        for ip in list.as_array().cloned().unwrap_or_default() {
            ctx.out.push_str(&ip_table(&ip));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_go_duration;

    #[test]
    fn go_durations() {
        for ok in ["5m", "300s", "1h30m", "1.5s", "250ms", "0"] {
            assert!(is_go_duration(ok), "{ok}");
        }
        for bad in ["5", "", "m", "5 m", "five"] {
            assert!(!is_go_duration(bad), "{bad}");
        }
    }
}
