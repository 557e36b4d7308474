//! Tests of the test doubles themselves: the fake Fly backend, the fake `flyctl` binary
//! (run as a real process, as score-fly will run it) and the throwaway Postgres server.
//!
//! Each test starts its own `FakeFly` (own port, own invocation log) and works in its own
//! temporary folder, so tests run in parallel.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use score_fly_tests::fake_fly::{AppKind, Build, FakeFly, FakeFlyOptions, http};
use score_fly_tests::postgres::PgServer;
use serde_json::{Value, json};

const FLYCTL: &str = env!("CARGO_BIN_EXE_fake-flyctl");

/// What one fake flyctl run printed.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    #[track_caller]
    fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "{self:#?}");
        self
    }

    #[track_caller]
    fn fails_with(&self, fragment: &str) -> &Self {
        assert_eq!(self.code, 1, "{self:#?}");
        assert!(self.stderr.contains(fragment), "stderr lacks {fragment:?}: {self:#?}");
        self
    }
}

/// A fake Fly backend and a working folder for flyctl runs.
struct World {
    fake: FakeFly,
    dir: tempfile::TempDir,
}

impl World {
    fn new() -> Self {
        Self::with(FakeFlyOptions {
            orgs: vec!["personal".to_owned(), "acme".to_owned()],
            taken_names: vec!["someone-elses".to_owned()],
            ..FakeFlyOptions::default()
        })
    }

    fn with(options: FakeFlyOptions) -> Self {
        Self { fake: FakeFly::start(options), dir: tempfile::tempdir().expect("create a working folder") }
    }

    fn cwd(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, name: &str, content: &str) {
        let path = self.cwd().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, content).unwrap();
    }

    /// Runs the fake flyctl with the server's environment, `extra` added and `removed` unset.
    fn fly_env(&self, args: &[&str], stdin: Option<&str>, extra: &[(&str, &str)], removed: &[&str]) -> Run {
        let mut command = Command::new(FLYCTL);
        for (name, _) in std::env::vars() {
            if name.starts_with("FLY_") {
                command.env_remove(name);
            }
        }
        command.envs(self.fake.env()).envs(extra.iter().copied());
        for name in removed {
            command.env_remove(name);
        }
        command.args(args).current_dir(self.cwd()).stdout(Stdio::piped()).stderr(Stdio::piped());
        command.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() });
        let mut child = command.spawn().expect("start fake-flyctl");
        if let Some(text) = stdin {
            child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        }
        let output = child.wait_with_output().unwrap();
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    fn fly(&self, args: &[&str]) -> Run {
        self.fly_env(args, None, &[], &[])
    }

    fn api(&self, method: &str, path: &str, auth: Option<&str>, body: Option<&Value>) -> http::Response {
        http::send_json(&self.fake.url(), method, path, auth, body).expect("reach the fake Fly server")
    }

    fn bearer(&self) -> String {
        format!("Bearer {}", self.fake.token())
    }
}

// ----- strictness ------------------------------------------------------------------------

#[test]
fn flyctl_rejects_what_flyctl_rejects() {
    let w = World::new();
    w.fly(&["deploy", "--x"]).fails_with("Error: unknown flag: --x");
    w.fly(&["deploy", "-q"]).fails_with("Error: unknown shorthand flag: 'q' in -q");
    w.fly(&["deploy", "--image"]).fails_with("Error: flag needs an argument: --image");
    w.fly(&["launch"]).fails_with("Error: unknown command \"launch\" for \"flyctl\"");
    w.fly(&["apps", "explode"]).fails_with("Error: unknown command \"explode\" for \"flyctl apps\"");
    w.fly(&["volumes", "create", "-r", "iad", "-a", "x"]).fails_with("Error: accepts 1 arg(s), received 0");
    w.fly(&["secrets", "import", "extra", "-a", "x"]).fails_with("unknown command \"extra\"");
    w.fly(&["deploy", "--ha=maybe"]).fails_with("strconv.ParseBool");
    w.fly(&["volumes", "create", "data", "-a", "x", "-r", "iad", "-s", "ten"]).fails_with("strconv.ParseInt");
    // What flyctl would prompt for is an error without a terminal.
    let pg = ["postgres", "create", "--name", "db", "--org", "personal", "--region", "iad"];
    w.fly(&pg).fails_with("Error: vm-size flag required when not running interactively");
    w.fly(&[&pg[..], &["--vm-size", "shared-cpu-1x", "--volume-size", "1"]].concat())
        .fails_with("initial-cluster-size flag required");
    w.fly(&["apps", "create", "demo"]).fails_with("Error: org slug must be specified when not running interactively");
    w.fly(&["apps", "destroy", "demo"]).fails_with("yes flag required");
    w.fly(&["redis", "create", "-n", "cache", "-o", "personal", "-r", "iad", "--no-replicas"])
        .fails_with("--enable-eviction or --disable-eviction flag required");
    // Both `--flag value` and `--flag=value`, and the short forms, are accepted.
    w.fly(&["apps", "create", "demo", "--org=acme"]).ok();
    w.fly(&["apps", "create", "--name", "demo2", "-o", "acme", "-y"]).ok();
    w.fly(&["app", "destroy", "demo2", "-y"]).ok();
    // A group alone prints its commands, as cobra does.
    let help = w.fly(&["secrets"]);
    assert!(help.ok().stdout.contains("import"), "{help:#?}");
    // No request reached the server for the rejected invocations.
    assert_eq!(w.fake.commands(), ["apps create", "apps create", "apps destroy"]);
}

#[test]
fn flyctl_needs_a_token_and_sends_it() {
    let w = World::new();
    let none = w.fly_env(&["apps", "list"], None, &[], &["FLY_API_TOKEN"]);
    none.fails_with("Error: no access token available. Please login with 'flyctl auth login'");
    assert!(w.fake.requests().is_empty());
    // --access-token (-t) works when no variable is set.
    let token = w.fake.token().to_owned();
    w.fly_env(&["apps", "list", "-t", &token], None, &[], &["FLY_API_TOKEN"]).ok();
    // FLY_ACCESS_TOKEN wins over FLY_API_TOKEN.
    w.fly_env(&["apps", "list"], None, &[("FLY_ACCESS_TOKEN", "wrong")], &[])
        .fails_with("Error: You must be authenticated to view this.");
    let requests = w.fake.requests();
    assert_eq!(requests.len(), 2);
    assert!(requests[0].authorized && !requests[1].authorized, "{requests:#?}");
    assert_eq!(requests[0].auth_scheme.as_deref(), Some("Bearer"));
    // Macaroon tokens go as FlyV1.
    let macaroon = World::with(FakeFlyOptions { token: "fm2_abc,fm2_def".to_owned(), ..FakeFlyOptions::default() });
    macaroon.fly(&["apps", "list"]).ok();
    assert_eq!(macaroon.fake.requests()[0].auth_scheme.as_deref(), Some("FlyV1"));
}

#[test]
fn machines_api_checks_the_token_and_follows_the_openapi_shapes() {
    let w = World::new();
    let unauthorized = json!({"error": "unauthorized"});
    let no_auth = w.api("GET", "/v1/apps/demo", None, None);
    assert_eq!((no_auth.status, no_auth.json_body()), (401, unauthorized.clone()));
    let bad = w.api("GET", "/v1/apps/demo", Some("Bearer nope"), None);
    assert_eq!((bad.status, bad.json_body()), (401, unauthorized.clone()));
    let wrong_scheme = w.api("GET", "/v1/apps/demo", Some(&format!("Token {}", w.fake.token())), None);
    assert_eq!(wrong_scheme.status, 401);

    let auth = w.bearer();
    let free = w.api("GET", "/v1/apps/demo", Some(&auth), None);
    assert_eq!((free.status, free.json_body()), (404, json!({"error": "app not found"})));
    assert_eq!(w.api("GET", "/v1/apps/someone-elses", Some(&auth), None).status, 403);

    // Apps are created by flyctl (`fly apps create`), as score-fly does.
    w.fly(&["apps", "create", "demo", "--org", "acme"]).ok();

    let shown = w.api("GET", "/v1/apps/demo", Some(&format!("FlyV1 {}", w.fake.token())), None);
    assert_eq!(shown.status, 200);
    assert_eq!(shown.header("content-type"), Some("application/json"));
    let app = shown.json_body();
    assert_eq!(app["name"], "demo");
    assert_eq!(app["organization"]["slug"], "acme");
    assert_eq!(app["status"], "pending");
    assert!(app["id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(w.api("GET", "/v1/apps/demo/machines", Some(&auth), None).json_body(), json!([]));
    assert_eq!(w.api("GET", "/v1/apps/demo/volumes", Some(&auth), None).json_body(), json!([]));

    // Only the routes score-fly calls exist; every other one is a 404, as Fly's unknown routes.
    for (method, path, body) in [
        ("GET", "/v1/apps?org_slug=acme", None),
        ("POST", "/v1/apps", Some(json!({"app_name": "other", "org_slug": "acme"}))),
        ("GET", "/v1/apps/demo/secrets", None),
        ("POST", "/v1/apps/demo/secrets", Some(json!({"values": {"A": "1"}}))),
        ("POST", "/v1/apps/demo/volumes", Some(json!({"name": "data", "region": "ams", "size_gb": 1}))),
        ("GET", "/v1/apps/demo/ip_assignments", None),
        ("PUT", "/v1/apps/demo", None),
    ] {
        let refused = w.api(method, path, Some(&auth), body.as_ref());
        assert_eq!(refused.status, 404, "{method} {path} is not a route score-fly calls: {refused:?}");
    }
    assert!(w.fake.app("other").is_none(), "nothing was created by a refused route");

    let deleted = w.api("DELETE", "/v1/apps/demo", Some(&auth), None);
    assert_eq!((deleted.status, deleted.body.as_str()), (202, ""));
    assert!(w.fake.app("demo").is_none());
    assert_eq!(w.api("GET", "/v1/nowhere", Some(&auth), None).status, 404);

    let log = w.fake.requests();
    assert!(!log[0].authorized && log[0].auth_scheme.is_none());
    assert_eq!(log[0].status, 401);
    let deleted = log.iter().find(|r| r.method == "DELETE").expect("the DELETE is logged");
    assert_eq!((deleted.path.as_str(), deleted.status), ("/v1/apps/demo", 202));
}

// ----- deploy --------------------------------------------------------------------------

const GOOD_TOML: &str = r#"app = "web"
primary_region = "ams"

[build]
image = "registry.fly.io/web:v1"

[env]
MODE = "prod"

[http_service]
internal_port = 8080
force_https = true

[[files]]
guest_path = "/etc/app/config.json"
local_path = "config/app.json"

[[files]]
guest_path = "/etc/app/key.pem"
secret_name = "TLS_KEY"

[[mounts]]
source = "data"
destination = "/data"
"#;

#[test]
fn deploy_rejects_an_invalid_config_with_the_checkers_message() {
    let w = World::new();
    w.fake.create_app("web", "personal");
    w.write("fly.toml", "app = \"web\"\n[build]\nimage = \"x:1\"\n[http_service]\nforce_https = true\n");
    let run = w.fly(&["deploy"]);
    run.fails_with("Error: App configuration is not valid");
    assert!(run.stderr.contains("✘ http_service.internal_port: is required"), "{run:#?}");
    // --strategy is applied before checking: canary is not allowed with mounts.
    w.write("fly.toml", "app = \"web\"\n[build]\nimage = \"x:1\"\n[[mounts]]\nsource = \"d\"\ndestination = \"/d\"\n");
    w.fly(&["deploy", "--strategy", "canary"]).fails_with("App configuration is not valid");
    w.fly(&["deploy", "--strategy", "sideways"]).fails_with("unsupported deployment strategy 'sideways'");
    w.fly(&["deploy", "--wait-timeout", "5"]).fails_with("--wait-timeout");
    w.fly(&["deploy", "-c", "missing.toml"]).fails_with("failed loading app config from");
    assert!(w.fake.commands().is_empty(), "nothing reached the server");
    assert!(w.fake.app("web").unwrap().releases.is_empty());
}

#[test]
fn deploy_checks_the_app_files_secrets_and_volumes() {
    let w = World::new();
    w.write("fly.toml", GOOD_TOML);
    w.fly(&["deploy"]).fails_with("Error: Could not find App \"web\"");
    w.fake.create_app("web", "personal");

    // [[files]] local_path is read from the working directory.
    w.fly(&["deploy"]).fails_with("failed to read local file config/app.json");
    w.write("config/app.json", "{\"debug\": false}\n");

    // [[files]] secret_name must name a secret of the app, holding base64.
    w.fly(&["deploy"]).fails_with("files[1].secret_name: secret \"TLS_KEY\" is not set on app \"web\"");
    w.fake.set_secrets("web", &[("TLS_KEY", "not base64!")], true);
    w.fly(&["deploy"]).fails_with("must hold base64");
    w.fly_env(&["secrets", "import", "--stage"], Some("TLS_KEY=LS0tLS1CRUdJTgo=\n"), &[("FLY_APP", "web")], &[]).ok();

    // [[mounts]] source must be a volume of the app.
    w.fly(&["deploy"]).fails_with("requires an unattached 'data' volume");
    w.fly(&["volumes", "create", "my-data", "-r", "ams", "-a", "web", "-y"])
        .fails_with("letters, numbers and underscores");
    w.fly(&["volumes", "create", "data", "-r", "ams", "-a", "web"]).fails_with("yes flag");
    let volume = w.fly(&["volumes", "create", "data", "-r", "ams", "-s", "3", "-a", "web", "-y", "--count", "2"]);
    assert_eq!(volume.ok().stdout.matches("                  ID: vol_").count(), 2, "{volume:#?}");
    assert!(volume.stdout.contains("             Size GB: 3\n"), "{volume:#?}");

    assert!(w.fake.app("web").unwrap().has_staged_secrets());
    let deployed = w.fly(&["deploy", "--wait-timeout=5m", "-e", "EXTRA=1"]);
    assert!(deployed.ok().stdout.ends_with("Visit your newly deployed app at https://web.fly.dev/\n"), "{deployed:#?}");
    let app = w.fake.app("web").unwrap();
    assert_eq!(app.status, "deployed");
    assert!(!app.has_staged_secrets(), "deploying makes staged secrets live");
    let release = app.current_release().unwrap();
    assert_eq!((release.version, release.image.as_str(), release.build), (1, "registry.fly.io/web:v1", Build::Image));
    assert_eq!(release.config, GOOD_TOML);
    assert_eq!((release.ha, release.primary_region.as_str()), (true, "ams"));
    assert_eq!(release.wait_timeout.as_deref(), Some("5m"));
    // --ha: two machines for the served group, each with its own volume.
    assert_eq!(app.machines.len(), 2);
    let config = &app.machines[0].config;
    assert_eq!(config["env"]["MODE"], "prod");
    assert_eq!(config["env"]["PRIMARY_REGION"], "ams");
    assert_eq!(config["env"]["EXTRA"], "1");
    assert_eq!(config["files"][0]["raw_value"], "eyJkZWJ1ZyI6IGZhbHNlfQo=");
    assert_eq!(config["files"][1]["secret_name"], "TLS_KEY");
    assert_eq!(config["mounts"][0], json!({"name": "data", "path": "/data"}));
    assert!(w.fake.volumes().iter().all(|v| v.attached_machine_id.is_some()));

    // A second deploy with --image and --ha=false: version 2, one machine, same first id.
    let first_id = app.machines[0].id.clone();
    w.fly(&["deploy", "--image", "registry.fly.io/web:v2", "--ha=false", "-a", "web"]).ok();
    let app = w.fake.app("web").unwrap();
    assert_eq!(app.releases.len(), 2);
    assert_eq!(app.current_release().unwrap().image, "registry.fly.io/web:v2");
    assert_eq!(app.machines.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), [first_id.as_str()]);

    // A Dockerfile build when there is no image.
    w.write("plain/fly.toml", "app = \"web\"\n");
    w.fly(&["deploy", "plain"]).fails_with("does not have a Dockerfile");
    w.write("plain/Dockerfile", "FROM scratch\n");
    let built = w.fly(&["deploy", "plain", "--remote-only"]);
    assert!(built.ok().stdout.contains("image: registry.fly.io/web:deployment-"), "{built:#?}");
    assert_eq!(w.fake.app("web").unwrap().current_release().unwrap().build, Build::Remote);
    w.fly(&["deploy", "plain", "--remote-only", "--local-only"]).fails_with("[local-only remote-only]");
}

// ----- secrets -------------------------------------------------------------------------

#[test]
fn secrets_import_carries_values_byte_exact_and_never_in_argv() {
    let w = World::new();
    w.fake.create_app("web", "personal");
    let pem = "-----BEGIN KEY-----\nMIIB\n  indented \"line\"\n-----END KEY-----\n";
    let stdin = format!(
        "# a comment\n\nPLAIN=p@ss word=1\nQUOTED=\"  kept spaces  \"\nSPACED=   left-trimmed\nPEM=\"\"\"{pem}\"\"\"\nEMPTY=\n"
    );
    let run = w.fly_env(&["secrets", "import", "-a", "web"], Some(&stdin), &[], &[]);
    assert_eq!(run.ok().stdout, "Secrets are staged for the first deployment\n");
    let value = |name: &str| w.fake.secret_value("web", name);
    assert_eq!(value("PLAIN").as_deref(), Some("p@ss word=1"));
    assert_eq!(value("QUOTED").as_deref(), Some("  kept spaces  "));
    assert_eq!(value("SPACED").as_deref(), Some("left-trimmed"));
    assert_eq!(value("PEM").as_deref(), Some(pem));
    assert_eq!(value("EMPTY").as_deref(), Some(""));

    // --stage says so; after a deploy, an import deploys.
    let staged = w.fly_env(&["secrets", "import", "--stage", "-a", "web"], Some("X=1\n"), &[], &[]);
    assert!(staged.ok().stdout.starts_with("Secrets have been staged, but not set on VMs."), "{staged:#?}");

    // list: names and digests, never values.
    let list = w.fly(&["secrets", "list", "-a", "web", "--json"]);
    let listed: Value = serde_json::from_str(&list.ok().stdout).unwrap();
    let names: Vec<&str> = listed.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["EMPTY", "PEM", "PLAIN", "QUOTED", "SPACED", "X"]);
    assert_eq!(listed[2]["digest"].as_str().unwrap().len(), 16);
    assert!(!list.stdout.contains("p@ss"), "{list:#?}");

    // Parse errors, as flyctl words them; nothing is stored.
    w.fly_env(&["secrets", "import", "-a", "web"], Some("NOT A PAIR\n"), &[], &[])
        .fails_with("Error: Failed to parse secrets from stdin: Secrets must be provided as NAME=VALUE pairs");
    w.fly_env(&["secrets", "import", "-a", "web"], Some("# only a comment\n"), &[], &[])
        .fails_with("requires at least one SECRET=VALUE pair");
    w.fly_env(&["secrets", "import", "-a", "web"], Some("K=\"\"\"never closed\n"), &[], &[]).fails_with("never closed");
    w.fly_env(&["secrets", "import", "-a", "nope"], Some("K=v\n"), &[], &[]).fails_with("Could not find App \"nope\"");

    w.fly(&["secrets", "unset", "X", "-a", "web"]).ok();
    w.fly(&["secrets", "unset", "X", "-a", "web"]).fails_with("secret \"X\" is not set");
    assert!(w.fake.secret_value("web", "X").is_none());

    // The invocation log: stdin recorded for import, no secret value in any argv.
    let log = w.fake.invocations();
    let import = &log[0];
    assert_eq!(import["argv"], json!(["secrets", "import", "-a", "web"]));
    assert_eq!(import["stdin"], json!(stdin));
    assert_eq!(import["exit_code"], 0);
    assert_eq!(import["env"]["FLY_API_TOKEN"], true);
    assert_eq!(import["env"]["FLY_ACCESS_TOKEN"], false);
    assert_eq!(import["env"]["FLY_FLAPS_BASE_URL"], json!(w.fake.url()));
    assert_eq!(import["cwd"], json!(w.cwd().display().to_string()));
    assert_eq!(log[2]["stdin"], Value::Null, "secrets list does not read stdin");
    for entry in &log {
        let argv = entry["argv"].to_string();
        for secret in ["p@ss", "kept spaces", "MIIB", "left-trimmed"] {
            assert!(!argv.contains(secret), "{argv}");
        }
        assert!(!entry.to_string().contains(w.fake.token()), "the token is never logged: {entry}");
    }
    assert!(log.iter().all(|e| e["argv"][1] != "set"), "secrets set is never used");
}

#[test]
fn the_invocation_log_is_mandatory() {
    let w = World::new();
    let run = w.fly_env(&["version"], None, &[], &["FAKE_FLY_LOG"]);
    run.fails_with("FAKE_FLY_LOG is not set");
    let version = w.fly(&["version"]);
    assert!(version.ok().stdout.starts_with("flyctl v0.3."), "{version:#?}");
    let log = w.fake.invocations();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["argv"], json!(["version"]));
    assert_eq!(log[0]["stdout"], json!(version.stdout));
}

// ----- fault injection -----------------------------------------------------------------

#[test]
fn faults_fail_the_next_matching_request_once() {
    let w = World::new();
    w.fake.fail_next("apps create", 500, "the API is having a bad day");
    w.fly(&["apps", "create", "demo", "-o", "personal"]).fails_with("Error: the API is having a bad day");
    assert!(w.fake.app("demo").is_none());
    assert_eq!(w.fly(&["apps", "create", "demo", "-o", "personal"]).ok().stdout, "New app created: demo\n");
    w.fly(&["apps", "create", "demo", "-o", "personal"]).fails_with("Error: Name has already been taken");
    w.fly(&["apps", "create", "someone-elses", "-o", "personal"]).fails_with("Error: Name has already been taken");
    w.fly(&["apps", "create", "x", "-o", "nope"]).fails_with("Could not find organization \"nope\"");

    w.fake.fail_next("GET /v1/apps/demo", 503, "maintenance");
    let auth = w.bearer();
    let failed = w.api("GET", "/v1/apps/demo", Some(&auth), None);
    assert_eq!((failed.status, failed.json_body()), (503, json!({"error": "maintenance"})));
    assert_eq!(w.api("GET", "/v1/apps/demo", Some(&auth), None).status, 200);

    w.fake.fail_next("deploy", 422, "could not reserve resource for machine: insufficient memory");
    w.write("fly.toml", "app = \"demo\"\n[build]\nimage = \"x:1\"\n");
    w.fly(&["deploy"]).fails_with("insufficient memory");
    w.fly(&["deploy"]).ok();
}

// ----- add-ons ---------------------------------------------------------------------------

#[test]
fn redis_storage_and_volumes_print_what_the_product_parses() {
    let w = World::new();
    let redis =
        w.fly(&["redis", "create", "-n", "cache", "-o", "acme", "-r", "ams", "--no-replicas", "--disable-eviction"]);
    let db = w.fake.redis().pop().unwrap();
    assert!(redis.ok().stdout.contains("Your Upstash Redis database cache is ready."), "{redis:#?}");
    assert!(redis.stdout.contains(&format!("Apps in the acme org can connect to Redis at {}\n", db.url())));
    assert!(db.url().starts_with("redis://default:") && db.url().ends_with("@fly-cache.upstash.io:6379"));
    let status = w.fly(&["redis", "status", "cache"]);
    assert!(status.ok().stdout.contains(&format!("  Private URL    = {}\n", db.url())), "{status:#?}");
    w.fly(&["redis", "create", "-n", "cache", "-o", "acme", "-r", "ams", "--no-replicas", "--enable-eviction"])
        .fails_with("Name has already been taken");
    w.fly(&["redis", "destroy", "cache", "-y"]).ok();
    assert!(w.fake.redis().is_empty());

    // Storage without an app: the credentials are printed.
    let bucket = w.fly(&["storage", "create", "-n", "media", "-o", "acme", "-y"]);
    let b = w.fake.buckets().pop().unwrap();
    let expected = format!(
        "Set one or more of the following secrets on your target app.\nAWS_ACCESS_KEY_ID: {}\nAWS_ENDPOINT_URL_S3: https://fly.storage.tigris.dev\nAWS_REGION: auto\nAWS_SECRET_ACCESS_KEY: {}\nBUCKET_NAME: media\n",
        b.access_key_id, b.secret_access_key
    );
    assert!(bucket.ok().stdout.ends_with(&expected), "{bucket:#?}");
    assert!(b.access_key_id.starts_with("tid_") && b.secret_access_key.starts_with("tsec_"));
    w.fly(&["storage", "create", "-n", "media", "-o", "acme"]).fails_with("Name has already been taken");
    // With an app (here from ./fly.toml, as flyctl does), the values go into its secrets.
    w.fake.create_app("web", "acme");
    w.write("fly.toml", "app = \"web\"\n");
    let attached = w.fly(&["storage", "create", "-n", "uploads"]);
    assert!(
        attached.ok().stdout.contains("Setting the following secrets on web:\nAWS_ACCESS_KEY_ID\n"),
        "{attached:#?}"
    );
    assert!(!attached.stdout.contains("tsec_"), "{attached:#?}");
    assert_eq!(w.fake.secret_value("web", "BUCKET_NAME").as_deref(), Some("uploads"));

    // Volumes.
    w.fly(&["volumes", "create", &"v".repeat(31), "-r", "ams", "-a", "web", "-y"]).fails_with("30 characters or less");
    w.fly(&["volumes", "create", "data", "-r", "xyz", "-a", "web", "-y"]).fails_with("Invalid region \"xyz\"");
    w.fly(&["volumes", "create", "data", "-r", "ams", "-a", "web", "-y"]).ok();
    let list = w.fly(&["volumes", "list", "-a", "web", "--json"]);
    let volumes: Value = serde_json::from_str(&list.ok().stdout).unwrap();
    assert_eq!(volumes[0]["name"], "data");
    assert_eq!(volumes[0]["size_gb"], 1);
    let id = volumes[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(w.fly(&["volumes", "destroy", &id, "-y"]).ok().stdout, format!("Destroyed volume {id} from web\n"));
    assert!(w.fake.volumes().is_empty());
}

// ----- Postgres --------------------------------------------------------------------------

#[test]
fn postgres_create_then_exec_runs_real_sql() {
    let pg = PgServer::start();
    let w = World::with(FakeFlyOptions { postgres: Some(pg.target()), ..FakeFlyOptions::default() });
    let run = w.fly(&[
        "postgres",
        "create",
        "--name",
        "shop-db",
        "--org",
        "personal",
        "--region",
        "ams",
        "--vm-size",
        "shared-cpu-1x",
        "--volume-size",
        "1",
        "--initial-cluster-size",
        "1",
        "--autostart",
    ]);
    let out = &run.ok().stdout;
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("  Password:    "))
        .unwrap_or_else(|| panic!("no password line: {out}"))
        .to_owned();
    assert!(out.starts_with("Creating postgres cluster shop-db in organization personal\n"), "{out}");
    assert!(out.contains("Postgres cluster shop-db created\n  Username:    postgres\n"), "{out}");
    assert!(out.contains("  Hostname:    shop-db.internal\n"), "{out}");
    assert!(
        out.contains(&format!("  Connection string: postgres://postgres:{password}@shop-db.flycast:5432\n")),
        "{out}"
    );
    let cluster = w.fake.postgres_clusters().pop().unwrap();
    assert_eq!((cluster.password.as_str(), cluster.volume_size_gb, cluster.autostart), (password.as_str(), 1, true));
    let app = w.fake.app("shop-db").unwrap();
    assert_eq!(app.kind, AppKind::Postgres);
    w.fly(&[
        "postgres",
        "create",
        "--name",
        "shop-db",
        "--org",
        "personal",
        "--region",
        "ams",
        "--vm-size",
        "shared-cpu-1x",
        "--volume-size",
        "1",
        "--initial-cluster-size",
        "1",
    ])
    .fails_with("Name has already been taken");

    // The machine, through the Machines API, then exec for real.
    let auth = w.bearer();
    let machines = w.api("GET", "/v1/apps/shop-db/machines", Some(&auth), None).json_body();
    let id = machines[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 14);
    assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(machines[0]["state"], "started");
    let exec = |body: Value| w.api("POST", &format!("/v1/apps/shop-db/machines/{id}/exec"), Some(&auth), Some(&body));
    let role = exec(json!({
        "command": ["psql", "-v", "ON_ERROR_STOP=1", "-c", "CREATE ROLE shop LOGIN PASSWORD 'sh0p-pw'"],
        "timeout": 30,
    }));
    assert_eq!(role.status, 200, "{role:?}");
    assert_eq!(role.json_body()["exit_code"], 0, "{role:?}");
    assert_eq!(role.json_body()["stdout"], "CREATE ROLE\n");
    let database =
        exec(json!({"command": ["sh", "-c", "psql -v ON_ERROR_STOP=1 -c 'CREATE DATABASE shop OWNER shop'"]}));
    assert_eq!(database.json_body()["exit_code"], 0, "{database:?}");
    let failing = exec(json!({"cmd": "psql -v ON_ERROR_STOP=1 -c 'SELECT nope'"}));
    let failing = failing.json_body();
    assert_ne!(failing["exit_code"], 0);
    assert!(failing["stderr"].as_str().unwrap().contains("column \"nope\" does not exist"), "{failing}");

    assert!(pg.connect_check("shop", "sh0p-pw", "shop"));
    assert!(!pg.connect_check("shop", "wrong", "shop"));
    assert_eq!(pg.psql("SELECT datname FROM pg_database WHERE datname = 'shop'"), "shop\n");

    // Only psql/sh/bash run, and only on Postgres machines.
    assert_eq!(exec(json!({"command": ["rm", "-rf", "/"]})).status, 400);
    w.fake.create_app("web", "personal");
    w.write("fly.toml", "app = \"web\"\n[build]\nimage = \"x:1\"\n");
    w.fly(&["deploy"]).ok();
    let web_machine = w.fake.app("web").unwrap().machines[0].id.clone();
    let refused = w.api(
        "POST",
        &format!("/v1/apps/web/machines/{web_machine}/exec"),
        Some(&auth),
        Some(&json!({"command": ["psql", "-c", "select 1"]})),
    );
    assert_eq!(refused.status, 400, "{refused:?}");
}

#[test]
fn connections_are_kept_alive_between_requests() {
    use std::io::{BufRead as _, BufReader, Read as _};

    let w = World::new();
    w.fake.create_app("demo", "personal");
    let mut stream = std::net::TcpStream::connect(w.fake.url().trim_start_matches("http://")).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    for _ in 0..2 {
        let request = format!("GET /v1/apps/demo HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\r\n", w.bearer());
        stream.write_all(request.as_bytes()).unwrap();
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        assert_eq!(status, "HTTP/1.1 200 OK\r\n");
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&body).unwrap()["name"], "demo");
    }
}

// ----- Managed Postgres (fly-2026.md §1) ----------------------------------------------------

mod mpg {
    use super::*;

    fn world(pg: &PgServer) -> World {
        World::with(FakeFlyOptions {
            token: score_fly_tests::fake_fly::MACAROON_TOKEN.to_owned(),
            orgs: vec!["personal".to_owned(), "acme".to_owned()],
            postgres: Some(pg.target()),
            ..FakeFlyOptions::default()
        })
    }

    #[test]
    fn mpg_commands_need_a_macaroon_token_an_org_and_a_region() {
        let old = World::new();
        old.fly(&["mpg", "list", "-o", "personal", "--json"]).fails_with(
            "Error: MPG commands require updated tokens but found older-style tokens.\n\nPlease upgrade your authentication by running:\n  flyctl auth logout\n  flyctl auth login\n",
        );
        let pg = PgServer::start();
        let world = world(&pg);
        world
            .fly(&["mpg", "list", "--json"])
            .fails_with("Error: slug argument must be specified when not running interactively");
        // No clusters: plain text even with --json, exit 0 (§1.4).
        let empty = world.fly(&["mpg", "ls", "-o", "personal", "--json"]);
        assert_eq!(empty.ok().stdout, "No managed postgres clusters found in organization personal\n");
        world.fly(&["mpg", "create", "-n", "db", "-o", "personal"]).fails_with("Error: prompt: non interactive");
        world
            .fly(&["mpg", "create", "-o", "personal", "-r", "ams"])
            .fails_with("Error: name argument or flag must be specified when not running interactively");
        world.fly(&["mpg", "create", "-n", "db", "-o", "personal", "-r", "cdg"]).fails_with(
            "Error: region cdg is not available for Managed Postgres. Available regions: [ams fra gru iad lax lhr nrt ord sin sjc syd yyz]",
        );
        world
            .fly(&["mpg", "create", "-n", "db", "-o", "personal", "-r", "ams", "--pg-major-version", "15"])
            .fails_with("Error: invalid Postgres major version: 15. Supported versions are 16 and 17");
        world
            .fly(&["mpg", "create", "-n", "db", "-o", "personal", "-r", "ams", "--size", "1"])
            .fails_with("Error: unknown flag: --size");
        world
            .fly(&["mpg", "destroy", "zzzz", "--yes"])
            .fails_with("Error: managed postgres cluster \"zzzz\" not found");
        world.fly(&["mpg", "status", "--json"]).fails_with("Error: prompt: non interactive");
        assert!(world.fake.mpg_clusters().is_empty(), "nothing was created");
    }

    #[test]
    fn an_mpg_cluster_holds_real_databases_and_users() {
        let pg = PgServer::start();
        let world = world(&pg);
        // `performance` is not a key of this flyctl's plan table: non-interactive runs get basic (§1.3).
        let created = world.fly(&[
            "mpg",
            "create",
            "--name",
            "shop-db",
            "-o",
            "personal",
            "-r",
            "ams",
            "--plan",
            "performance",
            "--volume-size",
            "20",
            "--v2",
        ]);
        let created = created.ok();
        assert!(created.stderr.contains("The '--v2' flag is deprecated"), "{created:#?}");
        let id = created.stdout.lines().find_map(|l| l.strip_prefix("  ID: ")).expect("ID line").to_owned();
        assert_eq!(id.len(), 16);
        assert!(
            created
                .stdout
                .starts_with("Selected Plan: Basic\n  CPU: Shared x 2\n  Memory: 1 GB\n  Price: $38 per month\n")
        );
        assert!(created.stdout.contains(&format!("Waiting for cluster shop-db ({id}) to be ready...\n")));
        assert!(created.stdout.contains("  Plan: basic\n  Disk: 20GB\n"), "{}", created.stdout);
        assert!(created.stdout.contains(&format!("@pgbouncer.{id}.flympg.net/fly-db")));

        // list --json: Go's 4-space indentation, v1-shaped records, PascalCase organization.
        let listed = world.fly(&["mpg", "list", "-o", "personal", "--json"]);
        assert!(listed.ok().stdout.starts_with("[\n    {\n        \""), "{}", listed.stdout);
        let list: Value = serde_json::from_str(&listed.stdout).unwrap();
        assert_eq!((list[0]["name"].as_str(), list[0]["id"].as_str()), (Some("shop-db"), Some(id.as_str())));
        assert_eq!(list[0]["organization"]["Slug"], "personal");
        assert_eq!(list[0]["version"], 2);
        let status: Value = serde_json::from_str(&world.fly(&["mpg", "status", &id, "--json"]).ok().stdout).unwrap();
        assert_eq!(status["data"]["status"], "ready");
        assert_eq!(status["credentials"]["user"], "fly-user");

        // Databases and users, real in the test PostgreSQL.
        world
            .fly(&["mpg", "databases", "create", &id])
            .fails_with("Error: database name must be specified with --name flag when not running interactively");
        let db = world.fly(&["mpg", "db", "create", &id, "-n", "shop"]);
        assert_eq!(
            db.ok().stdout,
            format!("Creating database shop in cluster {id}...\nDatabase created successfully!\n  Name: shop\n")
        );
        assert_eq!(pg.psql("SELECT datname FROM pg_database WHERE datname = 'shop'"), "shop\n");
        let dbs: Value =
            serde_json::from_str(&world.fly(&["mpg", "databases", "list", &id, "--json"]).ok().stdout).unwrap();
        assert_eq!(dbs, json!([{"name": "fly-db"}, {"name": "shop"}]));
        world
            .fly(&["mpg", "users", "create", &id, "-u", "shop"])
            .fails_with("Error: user role must be specified with --role flag when not running interactively");
        world
            .fly(&["mpg", "users", "create", &id, "-u", "shop", "-r", "owner"])
            .fails_with("Error: invalid role \"owner\". Must be one of: schema_admin, writer, reader");
        let user = world.fly(&["mpg", "user", "create", &id, "--username", "shop", "--role", "schema_admin"]);
        assert!(!user.ok().stdout.contains("assword"), "the password is not printed");
        let users: Value =
            serde_json::from_str(&world.fly(&["mpg", "users", "list", &id, "--json"]).ok().stdout).unwrap();
        assert_eq!(users[1], json!({"name": "shop", "role": "schema_admin"}));

        // attach: the only way to the user's password; one app secret, not idempotent (§1.6).
        world.fake.create_app("shop", "personal");
        let attached =
            world.fly(&["mpg", "attach", &id, "-a", "shop", "-d", "shop", "-u", "shop", "--variable-name", "SHOP_DB"]);
        let line =
            attached.ok().stdout.lines().find_map(|l| l.strip_prefix("  SHOP_DB=")).expect("secret line").to_owned();
        assert!(attached.stdout.starts_with(&format!(
            "\nPostgres cluster {id} is being attached to shop\nThe following secret was added to shop:\n"
        )));
        assert_eq!(world.fake.secret_value("shop", "SHOP_DB").as_deref(), Some(line.as_str()));
        let password = line
            .strip_prefix("postgresql://shop:")
            .and_then(|r| r.strip_suffix(&format!("@pgbouncer.{id}.flympg.net/shop")))
            .expect("pooled URI");
        assert!(pg.connect_check("shop", password, "shop"), "the attached credentials log in");
        world
            .fly(&["mpg", "attach", &id, "-a", "shop", "--variable-name", "SHOP_DB"])
            .fails_with("Error: app shop already has SHOP_DB set. Use 'fly secrets unset SHOP_DB' to remove it first");
        world.fake.create_app("other", "acme");
        world.fly(&["mpg", "attach", &id, "-a", "other"]).fails_with(&format!(
            "Error: app other is in organization acme, but cluster {id} is in organization personal. They must be in the same organization to attach"
        ));

        // Deleting the user drops its role; destroying the cluster drops its databases.
        world
            .fly(&["mpg", "users", "delete", &id, "-u", "shop"])
            .fails_with("Error: --yes flag must be specified when not running interactively");
        world.fly(&["mpg", "users", "rm", &id, "-u", "shop", "--yes"]).ok();
        assert_eq!(pg.psql("SELECT count(*) FROM pg_roles WHERE rolname = 'shop'"), "0\n");
        world
            .fly(&["mpg", "destroy", &id])
            .fails_with("Error: --yes flag must be specified when not running interactively");
        let gone = world.fly(&["mpg", "destroy", &id, "-y"]);
        assert_eq!(
            gone.ok().stdout,
            format!("Managed Postgres cluster shop-db ({id}) scheduled to be destroyed (may take some time)\n")
        );
        assert_eq!(pg.psql("SELECT count(*) FROM pg_database WHERE datname = 'shop'"), "0\n");
        assert!(world.fake.mpg_clusters().is_empty());
    }
}

/// The fake `fly deploy` reads `machine_config` as flyctl does (fly-2026.md §2.1–2.3) and
/// refuses what flyctl or the strict checker refuses, before anything reaches the server.
#[test]
fn deploy_reads_machine_config_as_flyctl_and_refuses_what_it_refuses() {
    let w = World::new();
    w.fake.create_app("web", "personal");
    let config = |container: &str, machine: &str| {
        format!("app = \"web\"\ncontainer = \"{container}\"\nmachine_config = '{machine}'\n[build]\nimage = \"x:1\"\n")
    };
    let two = r#"{"containers": [{"name": "web"}, {"name": "log", "image": "busybox:1.36"}]}"#;
    // The top-level `container` must name one of them.
    w.write("fly.toml", &config("nope", two));
    w.fly(&["deploy"])
        .fails_with("Error: App configuration is not valid")
        .fails_with("✘ container: container \"nope\" not found (machine_config has web, log)");
    // A container other than the image one needs an image.
    w.write("fly.toml", &config("web", r#"{"containers": [{"name": "web"}, {"name": "log"}]}"#));
    w.fly(&["deploy"])
        .fails_with("Error: App configuration is not valid")
        .fails_with("✘ machine_config.containers[1].image: container \"log\" must have an image specified");
    // depends_on names a container that exists, and makes no cycle.
    let cycle = r#"{"containers": [{"name": "web", "depends_on": [{"name": "log", "condition": "started"}]}, {"name": "log", "image": "b:1", "depends_on": [{"name": "web", "condition": "started"}]}]}"#;
    w.write("fly.toml", &config("web", cycle));
    w.fly(&["deploy"])
        .fails_with("Error: App configuration is not valid")
        .fails_with("✘ machine_config.containers: depends_on forms a cycle: log → web → log");
    // A file's raw_value is base64.
    let bad_file = r#"{"containers": [{"name": "web", "files": [{"guest_path": "/x", "raw_value": "not base64!"}]}]}"#;
    w.write("fly.toml", &config("web", bad_file));
    w.fly(&["deploy"])
        .fails_with("Error: App configuration is not valid")
        .fails_with("✘ machine_config.containers[0].files[0].raw_value: must be standard base64");
    assert!(w.fake.commands().is_empty(), "nothing reached the server");
    assert!(w.fake.app("web").unwrap().releases.is_empty());
    // The valid one deploys, the image going to the chosen container.
    w.write("fly.toml", &config("web", two));
    let run = w.fly(&["deploy"]);
    assert_eq!(run.code, 0, "{run:#?}");
    assert_eq!(w.fake.app("web").unwrap().releases.len(), 1);
}
