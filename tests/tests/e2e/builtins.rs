//! The builtin Fly provisioners (`redis`, `s3`, `volume`, `dns`, `route`, `service-port`,
//! `environment`) called directly through `score_fly_core::builtin::call`, against a fake
//! Fly backend and the fake `flyctl` binary run as a real process.
//!
//! Each test starts its own `FakeFly` and passes the Fly environment (`FLY_BIN`,
//! `FLY_FLAPS_BASE_URL`, the token, `FAKE_FLY_LOG`) through `FlyEnv::vars`, so nothing
//! touches the process environment and tests run in parallel.
//!
//! Every scenario checks the rules of the builtins: deterministic names; a second provision
//! with the provisioner state lost adopts what exists (no second `create`); deprovision
//! removes; no secret in any flyctl argument, progress line or error.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Mutex;

use score_fly_core::builtin::{self, FlyEnv};
use score_fly_core::provision::protocol::{Mode, Request, Response};
use score_fly_core::provision::{CallContext, Events, Redactor};
use score_fly_core::secret::Secret;
use score_fly_tests::fake_fly::{FakeFly, FakeFlyOptions};
use serde_json::{Value, json};

const FLYCTL: &str = env!("CARGO_BIN_EXE_fake-flyctl");
const PREFIX: &str = "demo-";

/// Progress lines, as the engine's `Events` receive them.
#[derive(Default)]
struct Recorder {
    lines: Mutex<Vec<String>>,
}

impl Events for Recorder {
    fn output(&self, _uid: &str, line: &str) {
        self.lines.lock().unwrap().push(line.to_owned());
    }
}

/// A fake Fly, a project folder (with `.score-fly/`) and the builtins' environment.
struct World {
    fake: FakeFly,
    dir: tempfile::TempDir,
    env: FlyEnv,
    /// Every progress line and error of every call so far.
    shown: Mutex<Vec<String>>,
}

/// One builtin call's result and what it showed.
struct Called {
    result: Result<Option<Response>, String>,
    lines: Vec<String>,
}

impl Called {
    #[track_caller]
    fn response(self) -> Response {
        match self.result {
            Ok(Some(r)) => r,
            Ok(None) => panic!("empty answer; lines: {:#?}", self.lines),
            Err(e) => panic!("failed: {e}\nlines: {:#?}", self.lines),
        }
    }

    #[track_caller]
    fn error(self) -> String {
        match self.result {
            Err(e) => e,
            Ok(r) => panic!("expected a failure, got {r:?}; lines: {:#?}", self.lines),
        }
    }

    #[track_caller]
    fn empty(self) {
        match self.result {
            Ok(None) => {}
            other => panic!("expected an empty answer, got {other:?}; lines: {:#?}", self.lines),
        }
    }
}

impl World {
    fn new() -> World {
        let fake = FakeFly::start(FakeFlyOptions {
            orgs: vec!["personal".to_owned(), "acme".to_owned()],
            taken_names: vec!["demo-taken".to_owned()],
            ..FakeFlyOptions::default()
        });
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".score-fly")).unwrap();
        let mut vars: BTreeMap<String, Secret> = fake.env().into_iter().map(|(k, v)| (k, Secret::new(v))).collect();
        vars.insert("FLY_BIN".to_owned(), Secret::new(FLYCTL));
        let ports = |list: &[(&str, u16)]| list.iter().map(|(n, p)| ((*n).to_owned(), *p)).collect();
        let env = FlyEnv {
            app_prefix: PREFIX.to_owned(),
            org: Some("acme".to_owned()),
            regions: BTreeMap::from([("web".to_owned(), "ams".to_owned()), ("api".to_owned(), "fra".to_owned())]),
            region: None,
            ports: BTreeMap::from([
                ("web".to_owned(), ports(&[("http", 80), ("admin", 9000)])),
                ("api".to_owned(), ports(&[("grpc", 50051)])),
                ("worker".to_owned(), BTreeMap::new()),
            ]),
            referenced: BTreeMap::new(),
            vars,
        };
        World { fake, dir, env, shown: Mutex::new(Vec::new()) }
    }

    fn call(&self, name: &str, mode: Mode, request: &Request, declared_by: &[&str]) -> Called {
        let recorder = Recorder::default();
        let redactor = Redactor::default();
        let declared_by: Vec<String> = declared_by.iter().map(|d| (*d).to_owned()).collect();
        let cx = CallContext {
            uid: &request.resource_uid,
            project_root: self.dir.path(),
            redactor: &redactor,
            events: &recorder,
            builtins: &self.env,
            declared_by: &declared_by,
        };
        let result = builtin::call(name, mode, request, &self.env, &cx).map_err(|e| e.to_string());
        if let (Mode::Provision, Ok(Some(response))) = (mode, &result) {
            assert_output_keys(name, response);
        }
        let lines = recorder.lines.into_inner().unwrap();
        let mut shown = self.shown.lock().unwrap();
        shown.extend(lines.iter().cloned());
        if let Err(e) = &result {
            shown.push(e.clone());
        }
        Called { result, lines }
    }

    fn provision(&self, name: &str, request: &Request, declared_by: &[&str]) -> Called {
        self.call(name, Mode::Provision, request, declared_by)
    }

    /// The argument lists of every flyctl run so far.
    fn argvs(&self) -> Vec<Vec<String>> {
        self.fake
            .invocations()
            .iter()
            .map(|i| i["argv"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect())
            .collect()
    }

    /// How many flyctl runs started with these words.
    fn runs(&self, words: &[&str]) -> usize {
        self.argvs().iter().filter(|a| a.len() >= words.len() && a[..words.len()] == *words).count()
    }

    /// No secret in any flyctl argument, progress line or error so far; flyctl ran in
    /// `.score-fly/` without `FLY_APP` and had its token from the environment.
    #[track_caller]
    fn assert_secrets_hidden(&self, secrets: &[&str]) {
        let mut secrets: Vec<&str> = secrets.to_vec();
        secrets.push(self.fake.token());
        let state_dir = self.dir.path().join(".score-fly").canonicalize().unwrap();
        for invocation in self.fake.invocations() {
            let argv = invocation["argv"].to_string();
            for secret in &secrets {
                assert!(!argv.contains(secret), "a secret is on a flyctl command line: {argv}");
            }
            assert_eq!(Path::new(invocation["cwd"].as_str().unwrap()).canonicalize().unwrap(), state_dir);
            assert_eq!(invocation["env"]["FLY_APP"], Value::Null);
            assert_eq!(invocation["env"]["FLY_API_TOKEN"], true);
        }
        for line in self.shown.lock().unwrap().iter() {
            for secret in &secrets {
                assert!(!line.contains(secret), "a secret was shown: {line}");
            }
        }
    }
}

/// A builtin answers with exactly the keys `builtin::output_keys` lists for it, plain and
/// secret: the dry run names app secrets from that table before anything is provisioned.
#[track_caller]
fn assert_output_keys(name: &str, response: &Response) {
    let Some((plain, secret)) = builtin::output_keys(name) else { return };
    let keys = |map: &serde_json::Map<String, Value>| map.keys().cloned().collect::<BTreeSet<String>>();
    let listed = |keys: &[&str]| keys.iter().map(|k| (*k).to_owned()).collect::<BTreeSet<String>>();
    assert_eq!(keys(&response.values), listed(plain), "plain outputs of builtin `{name}`");
    assert_eq!(keys(&response.secrets), listed(secret), "secret outputs of builtin `{name}`");
}

fn request(uid: &str, params: Value, state: Value) -> Request {
    let (type_class, id) = uid.split_once('#').unwrap();
    let (kind, class) = type_class.split_once('.').unwrap();
    let object = |value: Value| match value {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    Request {
        resource_uid: uid.to_owned(),
        resource_type: kind.to_owned(),
        resource_class: class.to_owned(),
        resource_id: id.to_owned(),
        state: object(state),
        shared: json!({}),
        resource_params: object(params),
        resource_metadata: serde_json::Map::new(),
    }
}

fn state_of(response: &Response) -> Value {
    Value::Object(response.state.clone().unwrap_or_default())
}

// ----- redis ---------------------------------------------------------------------------

#[test]
fn redis_is_created_adopted_when_state_is_lost_and_destroyed() {
    let world = World::new();
    let uid = "redis.default#web.cache";
    let fresh = request(uid, json!({}), json!({}));
    let name = builtin::fly_name(PREFIX, "redis", &fresh, 63);
    assert!(name.starts_with("demo-redis-web-cache-"), "{name}");

    let first = world.provision("redis", &fresh, &["web.cache"]).response();
    let dbs = world.fake.redis();
    assert_eq!(dbs.len(), 1);
    let db = &dbs[0];
    assert_eq!((db.name.as_str(), db.org.as_str(), db.region.as_str()), (name.as_str(), "acme", "ams"));
    assert!(db.replica_regions.is_empty() && !db.eviction, "{db:?}");
    assert_eq!(
        Value::Object(first.values.clone()),
        json!({"host": format!("fly-{name}.upstash.io"), "port": 6379, "username": "default"})
    );
    assert_eq!(Value::Object(first.secrets.clone()), json!({"password": db.password, "url": db.url()}));
    assert_eq!(state_of(&first), json!({"name": name}));

    // `.score-fly/` lost: the same database, found by name; no second create.
    let again = world.provision("redis", &fresh, &["web.cache"]).response();
    assert_eq!((again.values.clone(), again.secrets.clone()), (first.values.clone(), first.secrets.clone()));
    assert_eq!(world.fake.redis().len(), 1);
    assert_eq!(world.runs(&["redis", "create"]), 1);
    assert_eq!(world.runs(&["redis", "status", name.as_str()]), 2);

    // A plan and eviction are passed on.
    let other = request("redis.default#api.sessions", json!({"plan": "pay-as-you-go", "eviction": true}), json!({}));
    world.provision("redis", &other, &["api.sessions"]).response();
    let sessions = world.fake.redis().into_iter().find(|d| d.name.contains("api-sessions")).unwrap();
    assert_eq!((sessions.plan.as_str(), sessions.eviction, sessions.region.as_str()), ("pay-as-you-go", true, "fra"));

    // Deprovision (state known), then again (already gone: fine).
    world.call("redis", Mode::Deprovision, &request(uid, json!({}), state_of(&first)), &["web.cache"]).empty();
    assert!(world.fake.redis().iter().all(|d| d.name != name));
    let gone = world.call("redis", Mode::Deprovision, &fresh, &["web.cache"]);
    assert!(gone.lines.iter().any(|l| l.contains("does not exist")), "{:?}", gone.lines);
    gone.empty();

    let passwords: Vec<String> = vec![db.password.clone(), sessions.password.clone()];
    world.assert_secrets_hidden(&passwords.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn a_flyctl_error_quoting_the_token_shows_it_in_no_form() {
    let world = World::new();
    let token = world.fake.token().to_owned();
    let req = request("redis.default#web.cache", json!({}), json!({}));
    // The API refuses the request and quotes the token, raw, in Go's `%q` and in JSON.
    world.fake.fail_next(
        "redis create",
        422,
        &format!(
            "token {token:?} may not create databases in acme\n{}",
            json!({"authorization": format!("FlyV1 {token}")})
        ),
    );
    let e = world.provision("redis", &req, &["web.cache"]).error();
    assert!(e.contains("token \"********\" may not create databases in acme"), "{e}");
    assert!(e.contains("{\"authorization\":\"FlyV1 ********\"}"), "{e}");
    world.assert_secrets_hidden(&[]);
}

#[test]
fn redis_failures_name_the_command() {
    let world = World::new();
    let req = request("redis.default#web.cache", json!({}), json!({}));
    world.fake.fail_next("redis create", 500, "upstash is down");
    let e = world.provision("redis", &req, &["web.cache"]).error();
    assert!(e.contains("`fly redis create -n demo-redis-web-cache-"), "{e}");
    assert!(e.contains("upstash is down"), "{e}");
    assert!(
        e.contains("taken to be missing: Error: Could not find Redis database"),
        "says why creation was attempted: {e}"
    );
    assert!(world.fake.redis().is_empty());

    let bad = request("redis.default#web.cache", json!({"eviction": "sometimes"}), json!({}));
    let e = world.provision("redis", &bad, &["web.cache"]).error();
    assert!(e.contains("redis.default#web.cache") && e.contains("`eviction`"), "{e}");

    // No region anywhere: an error naming the resource and what to set.
    let nowhere = request("redis.default#orphan.cache", json!({}), json!({}));
    let e = world.provision("redis", &nowhere, &["orphan.cache"]).error();
    assert!(e.contains("redis.default#orphan.cache") && e.contains("FLY_REGION"), "{e}");

    world.fake.fail_next("redis destroy", 500, "try later");
    let e = world.call("redis", Mode::Deprovision, &req, &["web.cache"]).error();
    assert!(e.contains("`fly redis destroy demo-redis-web-cache-") && e.contains("try later"), "{e}");
    world.assert_secrets_hidden(&[]);
}

// ----- s3 ------------------------------------------------------------------------------

#[test]
fn buckets_are_created_adopted_with_known_keys_and_refused_without() {
    let world = World::new();
    let uid = "s3.default#web.files";
    let fresh = request(uid, json!({}), json!({}));
    let bucket = builtin::fly_name(PREFIX, "s3", &fresh, 63);

    let first = world.provision("s3", &fresh, &["web.files"]).response();
    let buckets = world.fake.buckets();
    assert_eq!(buckets.len(), 1);
    let b = &buckets[0];
    assert_eq!((b.name.as_str(), b.org.as_str(), b.app.as_deref(), b.public), (bucket.as_str(), "acme", None, false));
    assert_eq!(
        Value::Object(first.values.clone()),
        json!({"bucket": bucket, "endpoint": "https://fly.storage.tigris.dev", "region": "auto"})
    );
    assert_eq!(
        Value::Object(first.secrets.clone()),
        json!({
            "access_key_id": b.access_key_id, "secret_key": b.secret_access_key,
            "aws_access_key_id": b.access_key_id, "aws_secret_key": b.secret_access_key,
        })
    );

    // With the state: adopted, same keys.
    let kept = world.provision("s3", &request(uid, json!({}), state_of(&first)), &["web.files"]).response();
    assert_eq!(kept.secrets, first.secrets);

    // State lost: no second bucket, and an error that says how to recover.
    let e = world.provision("s3", &fresh, &["web.files"]).error();
    for fragment in [
        uid,
        &bucket,
        "Not creating a second bucket",
        "restore `.score-fly/state.json`",
        &format!("fly storage dashboard {bucket}"),
        "static provisioner",
        &format!("fly storage destroy {bucket} -y"),
    ] {
        assert!(e.contains(fragment), "the error lacks {fragment:?}: {e}");
    }
    assert_eq!(world.fake.buckets().len(), 1);
    assert_eq!(world.runs(&["storage", "create"]), 1);

    // Deprovision, then again.
    world.call("s3", Mode::Deprovision, &request(uid, json!({}), state_of(&first)), &["web.files"]).empty();
    assert!(world.fake.buckets().is_empty());
    world.call("s3", Mode::Deprovision, &fresh, &["web.files"]).empty();

    // A bucket deleted behind score-fly's back is made again (new keys).
    let remade =
        world.provision("s3", &request(uid, json!({"public": true}), state_of(&first)), &["web.files"]).response();
    assert_ne!(remade.secrets, first.secrets);
    assert!(world.fake.buckets()[0].public);

    let mut secrets = vec![b.access_key_id.clone(), b.secret_access_key.clone()];
    let now = &world.fake.buckets()[0];
    secrets.extend([now.access_key_id.clone(), now.secret_access_key.clone()]);
    world.assert_secrets_hidden(&secrets.iter().map(String::as_str).collect::<Vec<_>>());
}

#[test]
fn bucket_failures_name_the_command() {
    let world = World::new();
    let req = request("s3.default#web.files", json!({}), json!({}));
    world.fake.fail_next("storage create", 500, "tigris is down");
    let e = world.provision("s3", &req, &["web.files"]).error();
    assert!(e.contains("`fly storage create -n demo-s3-web-files-") && e.contains("tigris is down"), "{e}");
    world.fake.fail_next("storage list", 500, "listing broke");
    let e = world.provision("s3", &req, &["web.files"]).error();
    assert!(e.contains("`fly storage list -j`") && e.contains("listing broke"), "{e}");
    assert!(world.fake.buckets().is_empty());
    world.assert_secrets_hidden(&[]);
}

// ----- volume --------------------------------------------------------------------------

#[test]
fn volumes_are_created_in_the_workload_app_adopted_and_destroyed() {
    let world = World::new();
    let uid = "volume.default#web.data";
    let fresh = request(uid, json!({"size": "2GB"}), json!({}));
    let name = builtin::pg_name(&fresh, 30);
    assert!(name.starts_with("web_data_") && name.len() <= 30, "{name}");

    let first = world.provision("volume", &fresh, &["web.data"]).response();
    assert!(world.fake.app("demo-web").is_some_and(|a| a.org == "acme"), "the app was created first");
    let volumes = world.fake.volumes();
    assert_eq!(volumes.len(), 1);
    let v = &volumes[0];
    assert_eq!((v.name.as_str(), v.app.as_str(), v.region.as_str(), v.size_gb), (name.as_str(), "demo-web", "ams", 2));
    assert_eq!(Value::Object(first.values.clone()), json!({"source": name, "type": "volume"}));
    assert!(first.secrets.is_empty());

    // State lost: the volume is found by name (a bigger size is only noted).
    let bigger = request(uid, json!({"size": 5}), json!({}));
    let again = world.provision("volume", &bigger, &["web.data"]);
    assert!(again.lines.iter().any(|l| l.contains("fly volumes extend")), "{:?}", again.lines);
    assert_eq!(again.response().values, first.values);
    assert_eq!(world.fake.volumes().len(), 1);
    assert_eq!(world.runs(&["volumes", "create"]), 1);
    assert_eq!(world.runs(&["apps", "create"]), 1);

    world.call("volume", Mode::Deprovision, &request(uid, json!({}), state_of(&first)), &["web.data"]).empty();
    assert!(world.fake.volumes().is_empty());
    world.call("volume", Mode::Deprovision, &fresh, &["web.data"]).empty();
    assert_eq!(world.runs(&["volumes", "destroy"]), 1);
    world.assert_secrets_hidden(&[]);
}

#[test]
fn regions_for_new_things_are_checked_against_flys_list() {
    // fly-2026.md §4: a deprecated code becomes its replacement, with a line naming both.
    let world = World::new();
    let deprecated = request("volume.default#web.data", json!({"region": "mia"}), json!({}));
    let called = world.provision("volume", &deprecated, &["web.data"]);
    let warning = "warning: the `region` param: `mia` is a deprecated Fly region code: using its replacement `dfw`";
    assert!(called.lines.iter().any(|l| l.contains(warning)), "{:?}", called.lines);
    called.response();
    assert_eq!(world.fake.volumes()[0].region, "dfw");

    // An unknown code: nothing created, the error names where it came from and the nearest.
    let unknown = request("volume.default#web.logs", json!({"region": "xyz"}), json!({}));
    let e = world.provision("volume", &unknown, &["web.logs"]).error();
    assert!(e.contains("the `region` param: `xyz` is not a Fly region code; nearest: yyz (Toronto, CA)"), "{e}");
    assert_eq!(world.fake.volumes().len(), 1);

    // FLY_REGION, when neither the param nor the workload says: checked the same way.
    let mut world = World::new();
    world.env.vars.insert("FLY_REGION".to_owned(), Secret::new("sea"));
    let called =
        world.provision("volume", &request("volume.default#worker.data", json!({}), json!({})), &["worker.data"]);
    assert!(
        called.lines.iter().any(|l| l.contains(
            "the default region (--region, the `region` setting, FLY_REGION or FLY_REGION_NAME): `sea` is a deprecated"
        )),
        "{:?}",
        called.lines
    );
    called.response();
    assert_eq!(world.fake.volumes()[0].region, "sjc");
    world.env.vars.insert("FLY_REGION".to_owned(), Secret::new("moon"));
    let e = world
        .provision("volume", &request("volume.default#worker.more", json!({}), json!({})), &["worker.more"])
        .error();
    assert!(e.contains("FLY_REGION_NAME): `moon` is not a Fly region code; nearest: "), "{e}");
    assert_eq!(world.fake.volumes().len(), 1);
}

#[test]
fn volume_mistakes_and_failures_are_explained() {
    let world = World::new();
    let shared = request("volume.default#common", json!({}), json!({}));
    let e = world.provision("volume", &shared, &["web.data", "api.data"]).error();
    assert!(e.contains("volume.default#common") && e.contains("web, api"), "{e}");

    let bad = request("volume.default#web.data", json!({"size": "10MB"}), json!({}));
    let e = world.provision("volume", &bad, &["web.data"]).error();
    assert!(e.contains("volume.default#web.data") && e.contains("param `size`") && e.contains("10Gi"), "{e}");

    let req = request("volume.default#web.data", json!({}), json!({}));
    world.fake.fail_next("volumes create", 500, "no capacity in ams");
    let e = world.provision("volume", &req, &["web.data"]).error();
    assert!(e.contains("`fly volumes create web_data_") && e.contains("no capacity in ams"), "{e}");
    world.fake.fail_next("GET /v1/apps/demo-web/volumes", 400, "broken");
    let e = world.provision("volume", &req, &["web.data"]).error();
    assert!(e.contains("listing the volumes of Fly app `demo-web`") && e.contains("broken"), "{e}");

    // An app name of another organisation.
    let taken = request("volume.default#taken.data", json!({}), json!({}));
    let e = world.provision("volume", &taken, &["taken.data"]).error();
    assert!(e.contains("`demo-taken`") && e.contains("another organisation"), "{e}");
    assert!(world.fake.volumes().is_empty());
    world.assert_secrets_hidden(&[]);
}

// ----- dns, route ----------------------------------------------------------------------

#[test]
fn dns_and_routes_name_the_workload_host() {
    let world = World::new();
    let dns = world.provision("dns", &request("dns.default#web.dns", json!({}), json!({})), &["web.dns"]).response();
    assert_eq!(Value::Object(dns.values), json!({"host": "demo-web.fly.dev"}));
    let e =
        world.provision("dns", &request("dns.default#common", json!({}), json!({})), &["web.dns", "api.dns"]).error();
    assert!(e.contains("dns.default#common"), "{e}");

    let route = |params: Value| {
        world.provision("route", &request("route.default#web.route", params, json!({})), &["web.route"])
    };
    let ok = route(json!({"host": "demo-web.fly.dev", "port": 80, "path": "/"})).response();
    assert_eq!(Value::Object(ok.values), json!({"host": "demo-web.fly.dev", "port": 80, "path": "/"}));
    let defaulted = route(json!({"host": "DEMO-WEB.fly.dev.", "port": "9000"})).response();
    assert_eq!(Value::Object(defaulted.values), json!({"host": "demo-web.fly.dev", "port": 9000, "path": "/"}));
    let sub = route(json!({"host": "demo-web.fly.dev", "port": 80, "path": "/api"}));
    assert!(sub.lines.iter().any(|l| l.contains("/api")), "{:?}", sub.lines);
    sub.response();

    for (params, fragments) in [
        (
            json!({"host": "www.example.com", "port": 80}),
            vec!["custom domains", "fly certs add www.example.com -a demo-web"],
        ),
        (json!({"host": "demo-api.fly.dev", "port": 80}), vec!["workload `api`", "declare the route in `api`"]),
        (json!({"host": "elsewhere.fly.dev", "port": 80}), vec!["not the host of workload `web`"]),
        (json!({"port": 80}), vec!["needs a `host` param"]),
        (json!({"host": "demo-web.fly.dev"}), vec!["needs a `port` param"]),
        (json!({"host": "demo-web.fly.dev", "port": 8080}), vec!["not a service port", "admin (9000), http (80)"]),
        (json!({"host": "demo-web.fly.dev", "port": "http"}), vec!["must be a port number"]),
        (json!({"host": "demo-web.fly.dev", "port": 80, "path": "api"}), vec!["must start with `/`"]),
    ] {
        let e = route(params.clone()).error();
        assert!(e.contains("route.default#web.route"), "{params}: {e}");
        for fragment in fragments {
            assert!(e.contains(fragment), "{params}: the error lacks {fragment:?}: {e}");
        }
    }
    let e = world
        .provision(
            "route",
            &request("route.default#worker.route", json!({"host": "demo-worker.fly.dev", "port": 80}), json!({})),
            &["worker.route"],
        )
        .error();
    assert!(e.contains("declares no service ports"), "{e}");
    // Nothing to remove.
    world
        .call("route", Mode::Deprovision, &request("route.default#web.route", json!({}), json!({})), &["web.route"])
        .empty();
    assert!(world.fake.invocations().is_empty(), "no flyctl run for hosts");
}

// ----- service-port --------------------------------------------------------------------

#[test]
fn service_ports_reach_another_workload_over_flycast() {
    let world = World::new();
    let uid = "service-port.default#web.backend";
    let req = request(uid, json!({"workload": "api", "port": "grpc"}), json!({}));
    let first = world.provision("service-port", &req, &["web.backend"]).response();
    assert_eq!(Value::Object(first.values.clone()), json!({"hostname": "demo-api.flycast", "port": 50051}));
    let app = world.fake.app("demo-api").expect("the target app was created");
    assert_eq!(app.ips.iter().filter(|ip| ip.kind == "private_v6").count(), 1);

    // Again (state lost or not): the address exists, none is added.
    let by_number = request(uid, json!({"workload": "api", "port": 50051}), json!({}));
    assert_eq!(world.provision("service-port", &by_number, &["web.backend"]).response().values, first.values);
    assert_eq!(world.fake.app("demo-api").unwrap().ips.len(), 1);
    assert_eq!(world.runs(&["ips", "allocate-v6"]), 1);
    assert_eq!(world.runs(&["apps", "create"]), 1);

    for (params, fragments) in [
        (json!({"workload": "nope", "port": "grpc"}), vec!["`nope` is not a workload", "api, web, worker"]),
        (
            json!({"workload": "api", "port": "http"}),
            vec!["`http` is not a service port of workload `api`", "grpc (50051)"],
        ),
        (json!({"workload": "worker", "port": "http"}), vec!["`worker` declares no service ports"]),
        (json!({"port": "grpc"}), vec!["needs a `workload` param"]),
        (json!({"workload": "api"}), vec!["needs a `port` param", "grpc (50051)"]),
    ] {
        let e = world.provision("service-port", &request(uid, params.clone(), json!({})), &["web.backend"]).error();
        assert!(e.contains(uid), "{params}: {e}");
        for fragment in fragments {
            assert!(e.contains(fragment), "{params}: the error lacks {fragment:?}: {e}");
        }
    }

    world.fake.fail_next("ips allocate-v6", 500, "no addresses left");
    let e = world
        .provision(
            "service-port",
            &request(uid, json!({"workload": "web", "port": "http"}), json!({})),
            &["api.frontend"],
        )
        .error();
    assert!(e.contains("`fly ips allocate-v6 --private -a demo-web`") && e.contains("no addresses left"), "{e}");
    world.call("service-port", Mode::Deprovision, &req, &["web.backend"]).empty();
    world.assert_secrets_hidden(&[]);
}

// ----- environment ---------------------------------------------------------------------

#[test]
fn environment_outputs_are_secrets_read_from_the_environment() {
    let mut world = World::new();
    let uid = "environment.default#web.env";
    world
        .env
        .referenced
        .insert(uid.to_owned(), BTreeSet::from(["SF_BUILTINS_TOKEN".to_owned(), "SF_BUILTINS_EMPTY".to_owned()]));
    world.env.vars.insert("SF_BUILTINS_TOKEN".to_owned(), Secret::new("tok-9f8e7d6c5b"));
    world.env.vars.insert("SF_BUILTINS_EMPTY".to_owned(), Secret::new(""));
    let req = request(uid, json!({}), json!({}));
    let got = world.provision("environment", &req, &["web.env"]).response();
    assert!(got.values.is_empty());
    assert_eq!(Value::Object(got.secrets), json!({"SF_BUILTINS_TOKEN": "tok-9f8e7d6c5b", "SF_BUILTINS_EMPTY": ""}));
    assert!(builtin::always_call("environment") && !builtin::always_call("redis"));

    // Nothing read: empty outputs.
    let none =
        world.provision("environment", &request("environment.default#api.env", json!({}), json!({})), &["api.env"]);
    assert!(none.response().secrets.is_empty());

    // Unset variables are named (never their neighbours' values).
    world
        .env
        .referenced
        .get_mut(uid)
        .unwrap()
        .extend(["SF_BUILTINS_UNSET_A".to_owned(), "SF_BUILTINS_UNSET_B".to_owned()]);
    let e = world.provision("environment", &req, &["web.env"]).error();
    assert!(e.contains(uid) && e.contains("`SF_BUILTINS_UNSET_A`, `SF_BUILTINS_UNSET_B` are not set"), "{e}");
    world.call("environment", Mode::Deprovision, &req, &["web.env"]).empty();
    assert!(world.fake.invocations().is_empty());
    world.assert_secrets_hidden(&["tok-9f8e7d6c5b"]);
}

#[test]
fn every_builtin_is_dispatched() {
    let world = World::new();
    let e = world.provision("nope", &request("x.default#web.x", json!({}), json!({})), &["web.x"]).error();
    assert!(e.contains("there is no builtin provisioner `nope`"), "{e}");
    for name in ["redis", "s3", "volume", "dns", "route", "service-port", "environment"] {
        assert!(builtin::NAMES.contains(&name), "{name}");
    }
}
