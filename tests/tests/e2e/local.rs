//! The local provisioners (`score_fly_core::local`) against real servers: Postgres
//! (`initdb`/`pg_ctl`, as the `postgres` user when the tests run as root, as in CI),
//! `redis-server` and the embedded S3 server, each checked with a client of its own (`psql`,
//! `redis-cli`, `curl --aws-sigv4`) using the outputs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use score_fly_core::local::{self, LocalEnv, LocalError, LocalOptions};
use score_fly_core::provision::protocol::{Mode, Request, Response};
use score_fly_core::provision::{Builtins as _, CallContext, NoEvents, Redactor};

/// A project folder the `postgres` user can enter when the tests run as root (tempfile
/// makes folders 0700).
fn project() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::Builder::new().prefix("score-fly-local-").tempdir().expect("temporary folder");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dir
}

#[allow(clippy::needless_pass_by_value)] // called with `json!` literals
fn request(uid: &str, state: &serde_json::Map<String, serde_json::Value>, params: serde_json::Value) -> Request {
    let (kind_class, id) = uid.split_once('#').expect("uid");
    let (kind, class) = kind_class.split_once('.').expect("uid");
    Request {
        resource_uid: uid.into(),
        resource_type: kind.into(),
        resource_class: class.into(),
        resource_id: id.into(),
        state: state.clone(),
        shared: serde_json::json!({}),
        resource_params: params.as_object().cloned().unwrap_or_default(),
        resource_metadata: serde_json::Map::new(),
    }
}

/// Calls local builtin `name` for `uid` as the engine would (declared by `web.<name>`);
/// checks the output keys are the Fly builtin's.
fn provision(env: &LocalEnv, root: &Path, name: &str, request: &Request) -> Result<Response, String> {
    let redactor = Redactor::default();
    let declared_by = vec![format!("web.{}", request.resource_id.rsplit('.').next().unwrap_or("x"))];
    let cx = CallContext {
        uid: &request.resource_uid,
        project_root: root,
        redactor: &redactor,
        events: &NoEvents,
        builtins: env,
        declared_by: &declared_by,
    };
    let response = env.call(name, Mode::Provision, request, &cx).map_err(|e| e.to_string())?.expect("an answer");
    if let Some((values, secrets)) = score_fly_core::builtin::output_keys(name) {
        for key in values {
            assert!(response.values.contains_key(*key), "{name}: value {key} missing: {:?}", response.values.keys());
        }
        for key in secrets {
            assert!(response.secrets.contains_key(*key), "{name}: secret {key} missing");
            assert!(!response.values.contains_key(*key), "{name}: secret {key} given as a plain value");
        }
    }
    Ok(response)
}

fn text(response: &Response, key: &str) -> String {
    match response.values.get(key).or_else(|| response.secrets.get(key)) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => panic!("no output {key}"),
    }
}

fn port(response: &Response) -> u16 {
    text(response, "port").parse().expect("a port")
}

fn alive(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !stat.is_empty() && !stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
}

fn wait_gone(pid: u32) -> bool {
    for _ in 0..200 {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    false
}

/// psql over TCP with the outputs (the password through `PGPASSWORD`); its stdout.
fn psql_tcp(out: &Response, sql: &str) -> Result<String, String> {
    let bin = score_fly_tests::postgres::postgres_bin();
    let output = Command::new(bin.join("psql"))
        .env_clear()
        .env("PGPASSWORD", text(out, "password"))
        .env("PGSSLMODE", "disable")
        .env("PGCONNECT_TIMEOUT", "10")
        .args(["-X", "-A", "-t", "-w", "-v", "ON_ERROR_STOP=1", "-h"])
        .arg(text(out, "host"))
        .arg("-p")
        .arg(text(out, "port"))
        .arg("-U")
        .arg(text(out, "username"))
        .arg("-d")
        .arg(text(out, "database"))
        .arg("-c")
        .arg(sql)
        .stdin(Stdio::null())
        .output()
        .expect("run psql");
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

fn postmaster_pid(env: &LocalEnv) -> u32 {
    env.servers().iter().find(|s| s.kind == "postgres").and_then(|s| s.pid).expect("a started postgres with a pid")
}

/// One cluster (one `initdb`) for the whole story: two resources sharing it, a second run
/// reusing data and password, a `dev` killed with its server running, a postmaster killed
/// (stale `postmaster.pid`), the preferred port taken, `reset` refused while it runs and
/// wiping the data after.
#[test]
fn postgres_runs_locally_and_recovers() {
    let dir = project();
    let root = dir.path();
    let db = "postgres.default#web.db";
    let env = LocalEnv::new(root, LocalOptions::default());
    let first =
        provision(&env, root, "postgres", &request(db, &serde_json::Map::new(), serde_json::json!({}))).unwrap();
    assert_eq!(text(&first, "host"), "127.0.0.1");
    assert!(text(&first, "uri").starts_with(&format!("postgresql://{}:", text(&first, "username"))));
    psql_tcp(&first, "CREATE TABLE todo (title text); INSERT INTO todo VALUES ('kept')").unwrap();
    // The socket trusts, TCP does not: a wrong password is refused.
    let mut wrong = first.clone();
    wrong.secrets.insert("password".into(), "not-it".into());
    assert!(psql_tcp(&wrong, "select 1").unwrap_err().contains("password authentication failed"));
    // A second resource shares the server, with its own database and password.
    let other = "postgres.default#web.other";
    let second =
        provision(&env, root, "postgres", &request(other, &serde_json::Map::new(), serde_json::json!({}))).unwrap();
    assert_eq!(port(&second), port(&first));
    assert_ne!(text(&second, "database"), text(&first, "database"));
    assert_ne!(text(&second, "password"), text(&first, "password"));
    assert_eq!(psql_tcp(&second, "select 1").unwrap(), "1");
    let servers = env.servers();
    assert_eq!(servers.len(), 1, "{servers:?}");
    assert_eq!(servers[0].serves, [db, other]);
    assert!(servers[0].data.starts_with(root.join(".score-fly/dev/pg")), "{servers:?}");
    assert!(!format!("{servers:?}").contains(&text(&first, "password")));
    let pid = postmaster_pid(&env);

    // `reset` refuses while the server runs, and deletes nothing.
    let refused = local::reset(root).unwrap_err();
    assert!(matches!(refused, LocalError::Running { .. }), "{refused}");
    assert!(refused.to_string().contains(&format!("postgres (pid {pid}")), "{refused}");
    assert!(root.join(".score-fly/dev/pg/shared/data/PG_VERSION").is_file());

    assert!(env.stop_all().is_empty());
    assert!(wait_gone(pid), "postgres {pid} still runs after stop_all");
    assert!(env.stop_all().is_empty(), "stop_all is idempotent");
    assert!(env.servers().is_empty());

    // Second run: same data, same password (from the provisioner state), same port.
    let state = first.state.clone().unwrap();
    let env = LocalEnv::new(root, LocalOptions::default());
    let again = provision(&env, root, "postgres", &request(db, &state, serde_json::json!({}))).unwrap();
    assert_eq!(text(&again, "password"), text(&first, "password"));
    assert_eq!(port(&again), port(&first));
    assert_eq!(psql_tcp(&again, "select title from todo").unwrap(), "kept");

    // A `dev` killed with its server running: the next run stops that server first.
    let left_running = postmaster_pid(&env);
    std::mem::forget(env);
    let env = LocalEnv::new(root, LocalOptions::default());
    let after_kill = provision(&env, root, "postgres", &request(db, &state, serde_json::json!({}))).unwrap();
    assert!(!alive(left_running), "the server left running was stopped");
    assert_eq!(psql_tcp(&after_kill, "select title from todo").unwrap(), "kept");

    // The postmaster killed (SIGKILL): a stale postmaster.pid; and the last port taken.
    let killed = postmaster_pid(&env);
    assert!(Command::new("kill").args(["-KILL", &killed.to_string()]).status().unwrap().success());
    assert!(wait_gone(killed));
    drop(env);
    let taken = std::net::TcpListener::bind(("127.0.0.1", port(&after_kill))).expect("hold the last port");
    let env = LocalEnv::new(root, LocalOptions::default());
    let recovered = provision(&env, root, "postgres", &request(db, &state, serde_json::json!({}))).unwrap();
    assert_ne!(port(&recovered), port(&after_kill), "a taken port is not used");
    assert_eq!(psql_tcp(&recovered, "select title from todo").unwrap(), "kept");
    drop(taken);
    let pid = postmaster_pid(&env);
    drop(env);
    assert!(wait_gone(pid), "dropping the env stops its servers");

    let report = local::reset(root).unwrap();
    assert_eq!(report.removed, [root.join(".score-fly/dev/pg")]);
    assert!(!root.join(".score-fly/dev/pg").exists());
}

#[test]
fn missing_server_binaries_name_the_packages_and_the_setting() {
    let dir = project();
    let empty = tempfile::tempdir().unwrap();
    let options = LocalOptions {
        pg_bin: Some(empty.path().to_path_buf()),
        redis_bin: Some(empty.path().join("redis-server")),
        ..LocalOptions::default()
    };
    let env = LocalEnv::new(dir.path(), options);
    let none = serde_json::Map::new();
    let pg = provision(&env, dir.path(), "postgres", &request("postgres.default#web.db", &none, serde_json::json!({})))
        .unwrap_err();
    for needle in
        ["apt-get install postgresql", "brew install postgresql@16", "SCORE_FLY_PG_BIN", "postgres.default#web.db"]
    {
        assert!(pg.contains(needle), "{needle} missing from: {pg}");
    }
    let redis = provision(&env, dir.path(), "redis", &request("redis.default#web.cache", &none, serde_json::json!({})))
        .unwrap_err();
    for needle in ["apt-get install redis-server", "brew install redis", "SCORE_FLY_REDIS_BIN"] {
        assert!(redis.contains(needle), "{needle} missing from: {redis}");
    }
    assert!(env.servers().is_empty());
}

/// As root (CI), Postgres runs as the `postgres` user, which must be able to enter the
/// project: a folder it cannot enter is named, with what to do, before anything is made.
#[test]
fn as_root_a_folder_postgres_cannot_enter_is_explained() {
    if !rustix_is_root() {
        eprintln!(
            "note: not root; the root path is covered by postgres_runs_locally_and_recovers when CI runs as root"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // 0700: the postgres user cannot enter it.
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let env = LocalEnv::new(dir.path(), LocalOptions::default());
    let error = provision(
        &env,
        dir.path(),
        "postgres",
        &request("postgres.default#web.db", &serde_json::Map::new(), serde_json::json!({})),
    )
    .unwrap_err();
    assert!(
        error.contains("as root") && error.contains("chmod o+x") && error.contains(&dir.path().display().to_string()),
        "{error}"
    );
    assert!(!dir.path().join(".score-fly/dev/pg/shared/data").exists());
}

fn rustix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(|euid| euid == "0"))
        .unwrap_or(false)
}

fn redis_cli(out: &Response, args: &[&str]) -> String {
    let output = Command::new("redis-cli")
        .env("REDISCLI_AUTH", text(out, "password"))
        .args(["--no-auth-warning", "-h"])
        .arg(text(out, "host"))
        .arg("-p")
        .arg(text(out, "port"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run redis-cli (Debian: redis-tools)");
    assert!(output.status.success(), "redis-cli: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn redis_runs_locally_with_a_password_and_keeps_its_data() {
    let dir = project();
    let root = dir.path();
    let uid = "redis.default#web.cache";
    let env = LocalEnv::new(root, LocalOptions::default());
    let first = provision(&env, root, "redis", &request(uid, &serde_json::Map::new(), serde_json::json!({}))).unwrap();
    assert_eq!(redis_cli(&first, &["SET", "greeting", "hello"]), "OK");
    assert_eq!(redis_cli(&first, &["GET", "greeting"]), "hello");
    let url = text(&first, "url");
    assert_eq!(url, format!("redis://default:{}@127.0.0.1:{}", text(&first, "password"), port(&first)));
    // No password on its command line; the config holding it is private.
    let pid = env.servers()[0].pid.unwrap();
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap();
    assert!(!String::from_utf8_lossy(&cmdline).contains(&text(&first, "password")));
    let conf = env.servers()[0].data.join("redis.conf");
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&conf).unwrap().permissions()) & 0o777,
        0o600
    );
    // Without the password: refused.
    let mut wrong = first.clone();
    wrong.secrets.insert("password".into(), "nope".into());
    let denied = Command::new("redis-cli")
        .env("REDISCLI_AUTH", "nope")
        .args(["--no-auth-warning", "-p", &port(&first).to_string(), "GET", "greeting"])
        .output()
        .unwrap();
    let said = format!("{}{}", String::from_utf8_lossy(&denied.stdout), String::from_utf8_lossy(&denied.stderr));
    assert!(said.contains("WRONGPASS") && said.contains("NOAUTH") && !said.contains("hello"), "{said}");

    assert!(env.stop_all().is_empty());
    assert!(wait_gone(pid), "redis-server {pid} still runs after stop_all");

    let env = LocalEnv::new(root, LocalOptions::default());
    let again =
        provision(&env, root, "redis", &request(uid, first.state.as_ref().unwrap(), serde_json::json!({}))).unwrap();
    assert_eq!(text(&again, "password"), text(&first, "password"));
    assert_eq!(redis_cli(&again, &["GET", "greeting"]), "hello", "the data survives a restart");
}

/// curl signs with AWS `SigV4` (`--aws-sigv4`), credentials through its config on stdin.
fn curl_s3(out: &Response, secret_key: &str, method: &str, key: &str, body: Option<&Path>) -> (u16, String) {
    use std::io::Write as _;
    let url = format!("{}/{}/{key}", text(out, "endpoint"), text(out, "bucket"));
    let mut command = Command::new("curl");
    command
        .args(["-sS", "-K", "-", "-o", "-", "-w", "\n%{http_code}", "-X", method])
        .arg("--aws-sigv4")
        .arg(format!("aws:amz:{}:s3", text(out, "region")));
    // S3 wants the payload's SHA-256 in a signed header (curl signs the x-amz-* headers given).
    let digest = match body {
        Some(body) => {
            command.arg("--data-binary").arg(format!("@{}", body.display()));
            let sum = Command::new("sha256sum").arg(body).output().expect("run sha256sum");
            String::from_utf8_lossy(&sum.stdout).split_whitespace().next().unwrap_or_default().to_owned()
        }
        None => "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_owned(),
    };
    command.arg("-H").arg(format!("x-amz-content-sha256: {digest}"));
    let mut child = command.arg(url).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("run curl");
    let config = format!("user = \"{}:{secret_key}\"\n", text(out, "access_key_id"));
    child.stdin.take().unwrap().write_all(config.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, code) = stdout.rsplit_once('\n').unwrap_or(("", &stdout));
    (code.trim().parse().unwrap_or(0), body.to_owned())
}

#[test]
fn s3_serves_sigv4_requests_with_the_outputs() {
    let dir = project();
    let root = dir.path();
    let uid = "s3.default#web.files";
    let env = LocalEnv::new(root, LocalOptions::default());
    let first = provision(&env, root, "s3", &request(uid, &serde_json::Map::new(), serde_json::json!({}))).unwrap();
    assert_eq!(text(&first, "aws_access_key_id"), text(&first, "access_key_id"));
    let secret = text(&first, "secret_key");
    let body = root.join("body.txt");
    std::fs::write(&body, "hello s3").unwrap();
    let put = curl_s3(&first, &secret, "PUT", "notes/a.txt", Some(&body));
    assert_eq!(put.0, 200, "{}", put.1);
    assert_eq!(curl_s3(&first, &secret, "GET", "notes/a.txt", None), (200, "hello s3".to_owned()));
    assert_eq!(curl_s3(&first, "wrong-secret", "GET", "notes/a.txt", None).0, 403, "a wrong signature is refused");
    assert!(env.stop_all().is_empty());
    assert!(std::net::TcpStream::connect(("127.0.0.1", port_of(&first))).is_err(), "the server is stopped");

    let env = LocalEnv::new(root, LocalOptions::default());
    let again =
        provision(&env, root, "s3", &request(uid, first.state.as_ref().unwrap(), serde_json::json!({}))).unwrap();
    assert_eq!(text(&again, "secret_key"), secret);
    assert_eq!(text(&again, "bucket"), text(&first, "bucket"));
    assert_eq!(curl_s3(&again, &secret, "GET", "notes/a.txt", None), (200, "hello s3".to_owned()));
    drop(env);
    let report = local::reset(root).unwrap();
    assert_eq!(report.removed, [root.join(".score-fly/dev/s3")]);
}

fn port_of(out: &Response) -> u16 {
    text(out, "endpoint").rsplit(':').next().unwrap().parse().unwrap()
}

#[test]
fn hosts_volumes_and_environment_are_local() {
    let dir = project();
    let root = dir.path();
    let options = LocalOptions {
        workload_ports: BTreeMap::from([("web".to_owned(), BTreeMap::from([("http".to_owned(), 20_123)]))]),
        service_ports: BTreeMap::from([("web".to_owned(), BTreeMap::from([("http".to_owned(), 80)]))]),
        referenced: BTreeMap::from([(
            "environment.default#web.env".to_owned(),
            ["SCORE_FLY_LOCAL_TEST_VAR".to_owned()].into(),
        )]),
        vars: BTreeMap::from([("SCORE_FLY_LOCAL_TEST_VAR".to_owned(), score_fly_core::secret::Secret::new("v1"))]),
        ..LocalOptions::default()
    };
    let env = LocalEnv::new(root, options);
    let none = serde_json::Map::new();
    let dns = provision(&env, root, "dns", &request("dns.default#web.dns", &none, serde_json::json!({}))).unwrap();
    assert_eq!(text(&dns, "host"), "localhost");
    for wanted in ["80", "http"] {
        let route = provision(
            &env,
            root,
            "route",
            &request(
                "route.default#web.route",
                &none,
                serde_json::json!({"host": "localhost", "port": wanted, "path": "/api"}),
            ),
        )
        .unwrap();
        assert_eq!(
            (text(&route, "host"), port(&route), text(&route, "path")),
            ("localhost".into(), 20_123, "/api".into())
        );
    }
    let sp = provision(
        &env,
        root,
        "service-port",
        &request("service-port.default#web.sp", &none, serde_json::json!({"workload": "web", "port": "80"})),
    )
    .unwrap();
    assert_eq!((text(&sp, "hostname"), port(&sp)), ("localhost".into(), 20_123));
    let unknown = provision(
        &env,
        root,
        "service-port",
        &request("service-port.default#web.sp", &none, serde_json::json!({"workload": "api", "port": "http"})),
    )
    .unwrap_err();
    assert!(
        unknown.contains("no local port is known for port `http` of workload `api`")
            && unknown.contains("web.http = 20123"),
        "{unknown}"
    );
    let volume =
        provision(&env, root, "volume", &request("volume.default#web.data", &none, serde_json::json!({}))).unwrap();
    let path = PathBuf::from(text(&volume, "path"));
    assert!(path.is_dir() && path.starts_with(root.join(".score-fly/dev/volumes")), "{path:?}");
    assert_eq!(text(&volume, "type"), "volume");
    let environment =
        provision(&env, root, "environment", &request("environment.default#web.env", &none, serde_json::json!({})))
            .unwrap();
    assert_eq!(text(&environment, "SCORE_FLY_LOCAL_TEST_VAR"), "v1");
    assert!(env.always_call("volume") && env.always_call("postgres") && env.always_call("environment"));
    assert!(env.servers().is_empty());
    assert_eq!(std::fs::read_to_string(root.join(".score-fly/dev/.gitignore")).unwrap().lines().last(), Some("*"));
    assert_eq!(local::reset(root).unwrap().removed, [root.join(".score-fly/dev/volumes")]);
}
