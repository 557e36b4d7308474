//! `cargo score-fly dev` (issue 14 points 1, 3, 4) on a standalone copy of `examples/hello`
//! built in the shared target folder: resources provisioned by a `static` and a `cmd`
//! provisioner into the local state, the variables resolved as on Fly and served over HTTP,
//! files under `.score-fly/dev/files/`, SIGINT stopping the service and its process group,
//! the Fly state untouched, `resources list` showing both targets, and `--watch`.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use score_fly_tests::free_port;
use score_fly_tests::registry::http_get;

use crate::image::harness::Hello;
use crate::support::BIN;

/// A static password (secret output) and a cmd provisioner's output the service greets with.
const SECRET: &str = "s3cret-dev-pw-4711";

/// hello's workload with resources and a file, its port `port`.
fn score(port: u16) -> String {
    format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: hello\ncontainers:\n  main:\n    image: .\n    variables:\n      GREETING: \"db ${{resources.db.host}}:${{resources.db.port}} pw ${{resources.db.password}} token ${{resources.tok.value}}\"\n    files:\n      /etc/hello/app.conf:\n        content: \"host=${{resources.db.host}}\"\n        mode: \"0640\"\nservice:\n  ports:\n    web:\n      port: 443\n      targetPort: {port}\nresources:\n  db:\n    type: postgres\n  tok:\n    type: token\n"
    )
}

/// The local provisioners: a static database and a cmd provisioner answering a value.
fn local_provisioners(hello: &Hello) {
    let p = &hello.project;
    p.write(
        ".score-fly/dev/local.provisioners.yaml",
        format!("- id: dev-db\n  type: postgres\n  static:\n    values: {{host: localhost, port: 5433}}\n    secrets: {{password: {SECRET}}}\n- id: dev-token\n  type: token\n  cmd:\n    binary: ./token.sh\n"),
    );
    p.write("token.sh", "#!/bin/sh\ncat > /dev/null\necho '{\"values\": {\"value\": \"from-cmd\"}}'\n");
    set_executable(&p.path().join("token.sh"));
}

fn set_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// `cargo-score-fly dev ARGS` started in `dir`, its stderr in [`err_path`].
fn start(dir: &Path, args: &[&str]) -> Child {
    start_with(dir, args, &[])
}

/// [`start`] with the variables `env` set for score-fly.
fn start_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Child {
    let err = std::fs::File::create(err_path(dir)).expect("stderr file");
    Command::new(BIN)
        .envs(env.iter().copied())
        .arg("dev")
        .args(["--target-dir", &score_fly_tests::shared_target_dir().display().to_string()])
        .args(args)
        .current_dir(dir)
        .env("CARGO_TERM_COLOR", "never")
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .expect("start cargo-score-fly dev")
}

/// Where dev's stderr goes: in the project's `target/`, which `--watch` ignores (a file it
/// watches would be a change at every line dev prints).
fn err_path(dir: &Path) -> std::path::PathBuf {
    let target = dir.join("target");
    std::fs::create_dir_all(&target).expect("target folder");
    target.join("dev.err")
}

fn stderr(dir: &Path) -> String {
    std::fs::read_to_string(err_path(dir)).unwrap_or_default()
}

/// Polls `GET /` until `ok` accepts the body (the build is the slow part).
fn wait_for(dev: &mut Child, dir: &Path, port: u16, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_mins(5);
    loop {
        if let Ok((200, body)) = http_get(port, "/")
            && ok(&body)
        {
            return body;
        }
        if let Ok(Some(status)) = dev.try_wait() {
            panic!("dev exited ({status}) before {what}\n{}", stderr(dir));
        }
        assert!(Instant::now() < deadline, "no {what} on port {port}\n{}", stderr(dir));
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The pid `Running` names on stderr.
fn service_pid(dir: &Path) -> i32 {
    let text = stderr(dir);
    let line = text.lines().rev().find(|l| l.contains("Running `hello` (pid ")).expect("a Running line");
    line.split("(pid ").nth(1).and_then(|r| r.split(')').next()).and_then(|p| p.parse().ok()).expect("pid")
}

fn sigint(child: &Child) {
    let pid = rustix::process::Pid::from_child(child);
    rustix::process::kill_process(pid, rustix::process::Signal::INT).expect("SIGINT");
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "dev did not stop after SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn dev_runs_the_service_with_local_resources_and_sigint_stops_it_and_its_group() {
    let hello = Hello::new();
    let dir = hello.project.path().to_path_buf();
    let port = free_port();
    // fly.toml cannot set a file's mode: the Fly run gets the file without one.
    hello.project.write("score.yaml", score(port).replace("        mode: \"0640\"\n", ""));
    // The Fly side: the same resources from Fly-only provisioners, recorded by `generate`.
    hello.project.write(
        ".score-fly/cli.provisioners.yaml",
        "- id: fly-db\n  type: postgres\n  static:\n    values: {host: db.flycast, port: 5432}\n    secrets: {password: fly-pw}\n- id: fly-token\n  type: token\n  static:\n    values: {value: fly}\n",
    );
    hello.project.run(&["generate", "--image", "registry.fly.io/hello:v1", "--app-prefix", "acme-"]).assert_code(0);
    let fly_state = std::fs::read(dir.join(".score-fly/state.json")).expect("the Fly state");
    hello.project.write("score.yaml", score(port));
    local_provisioners(&hello);

    let _build = score_fly_tests::build_lock();
    let mut dev = start(&dir, &[]);
    let body = wait_for(&mut dev, &dir, port, "the service", |_| true);
    assert_eq!(body, format!("db localhost:5433 pw {SECRET} token from-cmd\n"), "resolved as on Fly");
    let err = stderr(&dir);
    assert!(!err.contains(SECRET), "a secret is never printed\n{err}");
    assert!(err.contains("password=********"), "secret outputs masked\n{err}");
    assert!(err.contains("SCORE_FLY_FILES_DIR") && err.contains("$SCORE_FLY_FILES_DIR"), "{err}");
    let conf = dir.join(".score-fly/dev/files/hello/etc/hello/app.conf");
    assert_eq!(std::fs::read_to_string(&conf).expect("the file"), "host=localhost");
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&conf).expect("meta").permissions().mode() & 0o777, 0o640);
    }

    // Both targets, while the dev session runs (its lock does not block the listing).
    let list = hello.project.run(&["resources", "list", "--format", "json"]);
    list.assert_code(0);
    let items: serde_json::Value = serde_json::from_str(&list.stdout).expect("JSON");
    let rows: Vec<(String, String)> = items
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| (r["target"].as_str().unwrap_or("").to_owned(), r["provisioner"].as_str().unwrap_or("").to_owned()))
        .collect();
    for expected in [("fly", "fly-db"), ("fly", "fly-token"), ("dev", "dev-db"), ("dev", "dev-token")] {
        assert!(rows.contains(&(expected.0.to_owned(), expected.1.to_owned())), "{expected:?} in {rows:?}");
    }
    let table = hello.project.run(&["resources", "list"]);
    assert!(table.stdout.lines().next().is_some_and(|h| h.contains("TARGET")), "{}", table.stdout);

    let pid = service_pid(&dir);
    assert!(score_fly_tests::process_group_members(pid).contains(&pid), "the service leads its own process group");
    sigint(&dev);
    let status = wait_exit(&mut dev);
    assert_eq!(
        score_fly_tests::process_group_members(pid),
        Vec::<i32>::new(),
        "nothing is left in the service's group"
    );
    assert!(http_get(port, "/").is_err(), "the service stopped");
    assert!(status.code().is_some(), "dev exits with the service's code: {status}");
    assert_eq!(std::fs::read(dir.join(".score-fly/state.json")).expect("Fly state"), fly_state, "untouched by dev");
    let dev_state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(".score-fly/dev/state.json")).expect("dev state"))
            .expect("JSON");
    assert!(dev_state["resources"]["postgres.default#hello.db"]["provisioner"] == "dev-db", "{dev_state}");

    // --reset forgets the local state and files; the Fly state stays.
    hello.project.run(&["dev", "--reset"]).assert_code(0);
    assert!(!dir.join(".score-fly/dev/state.json").exists() && !conf.exists());
    assert_eq!(std::fs::read(dir.join(".score-fly/state.json")).expect("Fly state"), fly_state);
}

#[test]
fn watch_restarts_on_a_source_change_and_keeps_serving_through_a_broken_build() {
    let hello = Hello::variant("0.1.900", "", |s| s.replace("Hello from score-fly!", "watch one"));
    let dir = hello.project.path().to_path_buf();
    let port = free_port();
    hello.project.write(
        "score.yaml",
        format!("apiVersion: score.dev/v1b1\nmetadata:\n  name: hello\ncontainers:\n  main:\n    image: .\nservice:\n  ports:\n    web:\n      port: 443\n      targetPort: {port}\n"),
    );
    let _build = score_fly_tests::build_lock();
    let mut dev = start_with(&dir, &["--watch"], &[("HELLO_WATCH_GREETING", "from the environment")]);
    wait_for(&mut dev, &dir, port, "the first service", |b| b == "watch one\n");
    let first = service_pid(&dir);
    // Nothing changed: what dev writes itself (state, files, lock) starts no new cycle.
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(service_pid(&dir), first, "no restart without a change\n{}", stderr(&dir));

    let main = dir.join("src/main.rs");
    let source = std::fs::read_to_string(&main).expect("main.rs");
    std::fs::write(&main, source.replace("watch one", "watch two")).expect("write");
    wait_for(&mut dev, &dir, port, "the rebuilt service", |b| b == "watch two\n");
    assert_ne!(service_pid(&dir), first, "a new process serves");

    // A score.yaml change reaches the local provisioners: a new output read from an
    // `environment` resource, and a new service port a `service-port` resource points at.
    // (PORT stays web's: the first service port by name.)
    let ws = free_port();
    hello.project.write(
        "score.yaml",
        format!("apiVersion: score.dev/v1b1\nmetadata:\n  name: hello\ncontainers:\n  main:\n    image: .\n    variables:\n      GREETING: \"${{resources.env.HELLO_WATCH_GREETING}} ws ${{resources.ws.port}}\"\nservice:\n  ports:\n    web:\n      port: 443\n      targetPort: {port}\n    websocket:\n      port: 8443\n      targetPort: {ws}\nresources:\n  env:\n    type: environment\n  ws:\n    type: service-port\n    params: {{workload: hello, port: websocket}}\n"),
    );
    let greeting = format!("from the environment ws {ws}\n");
    wait_for(&mut dev, &dir, port, "the new score.yaml's greeting", |b| b == greeting);

    std::fs::write(&main, format!("{source}\nfn broken( {{\n")).expect("write");
    let deadline = Instant::now() + Duration::from_mins(5);
    while !stderr(&dir).contains("the last good service keeps running") {
        assert!(Instant::now() < deadline, "no failed build reported\n{}", stderr(&dir));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(stderr(&dir).contains("error"), "the compiler's errors are shown");
    assert_eq!(http_get(port, "/").expect("still serving"), (200, greeting));
    let pid = service_pid(&dir);
    sigint(&dev);
    wait_exit(&mut dev);
    assert_eq!(score_fly_tests::process_group_members(pid), Vec::<i32>::new());
}

/// `dev --workspace` (issue 14 point 1): every service package of a workspace runs, each
/// with its own local port, and `web`'s `service-port` resource pointing at `api` resolves to
/// api's local port through the local `service-port` builtin.
#[test]
fn dev_workspace_runs_every_service_and_one_reaches_the_other_through_its_local_port() {
    let project = crate::support::Project::new();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("the repository");
    let main = std::fs::read_to_string(repo.join("examples/hello/src/main.rs")).expect("hello's main.rs");
    let macros = repo.join("score-fly-macros").display().to_string();
    project.write("Cargo.toml", "[workspace]\nmembers = [\"api\", \"web\"]\nresolver = \"3\"\n");
    project.write("Cargo.lock", std::fs::read(repo.join("Cargo.lock")).expect("Cargo.lock"));
    let (api_port, web_port) = (free_port(), free_port());
    let greeting = "      GREETING: \"api at ${resources.api.hostname}:${resources.api.port}\"\n";
    let resources = "resources:\n  api:\n    type: service-port\n    params: {workload: api, port: web}\n";
    for (name, port, variables, resources) in [("api", api_port, "", ""), ("web", web_port, greeting, resources)] {
        project.write(
            &format!("{name}/Cargo.toml"),
            format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\nscore-fly-macros = {{ path = {macros:?} }}\n"),
        );
        project.write(&format!("{name}/src/main.rs"), &main);
        project.write(
            &format!("{name}/score.yaml"),
            format!(
                "apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: .\n    variables:\n      PORT: \"{port}\"\n{variables}service:\n  ports:\n    web:\n      port: 443\n      targetPort: {port}\n{resources}"
            ),
        );
    }
    let dir = project.path().to_path_buf();
    let mut dev = start(&dir, &["--workspace"]);
    let body = wait_for(&mut dev, &dir, web_port, "web's greeting", |b| b.contains("api at"));
    assert_eq!(body.trim(), format!("api at localhost:{api_port}"), "{}", stderr(&dir));
    let (status, _) = http_get(api_port, "/healthz").expect("api answers");
    assert_eq!(status, 200);
    let text = stderr(&dir);
    assert!(text.contains("Running `api` (pid ") && text.contains("Running `web` (pid "), "{text}");
    sigint(&dev);
    wait_exit(&mut dev);
    assert!(http_get(web_port, "/healthz").is_err() && http_get(api_port, "/healthz").is_err(), "both stopped");
}
