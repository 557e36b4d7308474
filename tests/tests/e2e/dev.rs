//! Issue 14's done-when: `cargo score-fly dev` runs examples/todo against a real `PostgreSQL`
//! the local `postgres` provisioner starts (no Docker): todo's release command (its schema
//! migration) runs first, a todo is created and listed over HTTP, Ctrl-C (SIGINT) stops the
//! service and the server with nothing left behind, and a second run finds the data again.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use score_fly_tests::registry::{http_get, http_request};

/// `dev` started in `dir` (the shared target folder, so todo compiles once for every test),
/// its stderr in `dir/dev.err`.
fn start(dir: &Path) -> Child {
    let err = std::fs::File::create(dir.join("dev.err")).expect("stderr file");
    let mut command = Command::new(env!("CARGO_BIN_EXE_score-fly-e2e"));
    command
        .args(["score-fly", "dev", "--target-dir"])
        .arg(score_fly_tests::shared_target_dir())
        .current_dir(dir)
        .env("CARGO_TERM_COLOR", "never")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err);
    for (key, _) in std::env::vars() {
        if key.starts_with("FLY_") || key.starts_with("SCORE_FLY") || key == "DATABASE_URL" {
            command.env_remove(key);
        }
    }
    command.spawn().expect("start cargo score-fly dev")
}

fn stderr(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("dev.err")).unwrap_or_default()
}

/// The service's pid and port, from the `Running` line, once `/healthz` answers.
fn wait_serving(dev: &mut Child, dir: &Path) -> (i32, u16) {
    let deadline = Instant::now() + Duration::from_mins(10);
    loop {
        let text = stderr(dir);
        if let Some(line) = text.lines().rev().find(|l| l.contains("Running `todo` (pid ")) {
            let pid = line.split("(pid ").nth(1).and_then(|r| r.split(')').next()).and_then(|p| p.parse().ok());
            let port = line.rsplit(':').next().and_then(|p| p.trim().parse().ok());
            if let (Some(pid), Some(port)) = (pid, port)
                && matches!(http_get(port, "/healthz"), Ok((200, _)))
            {
                return (pid, port);
            }
        }
        if let Ok(Some(status)) = dev.try_wait() {
            panic!("dev exited ({status}) before todo served\n{text}");
        }
        assert!(Instant::now() < deadline, "todo never served\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The postmaster's pid of the local server (first line of its `postmaster.pid`).
fn postmaster(root: &Path) -> i32 {
    let mut stack = vec![root.join(".score-fly/dev/pg")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path: PathBuf = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "postmaster.pid") {
                let text = std::fs::read_to_string(&path).expect("read postmaster.pid");
                return text.lines().next().and_then(|l| l.trim().parse().ok()).expect("a pid");
            }
        }
    }
    panic!("no postmaster.pid under .score-fly/dev/pg")
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

/// SIGINT to `dev`, then waits for it (the service, then the server, stop first).
fn interrupt(dev: &mut Child, dir: &Path) {
    let sent = Command::new("kill").args(["-INT", &dev.id().to_string()]).status().expect("run kill");
    assert!(sent.success(), "SIGINT sent");
    let deadline = Instant::now() + Duration::from_mins(1);
    while dev.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "dev did not stop on SIGINT\n{}", stderr(dir));
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn dev_runs_todo_against_a_local_postgres_and_a_second_run_finds_its_data() {
    let dir = tempfile::tempdir().expect("temp dir");
    // As root the server runs as `postgres`, which must be able to enter the project folder.
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let root = dir.path().join("todo");
    score_fly_tests::todo::write_buildable(&root);
    let _build = score_fly_tests::build_lock();

    let mut dev = start(&root);
    let (service, port) = wait_serving(&mut dev, &root);
    let text = stderr(&root);
    assert!(text.contains("running its release command `migrate`"), "{text}");
    assert!(text.contains("todo: migrated PostgreSQL"), "the migration ran: {text}");
    assert!(text.contains("Server postgres for postgres.default#todo.db on 127.0.0.1:"), "{text}");
    let body = br#"{"title": "try cargo score-fly dev"}"#;
    let (status, created) = http_request(port, "POST", "/todos", Some(("application/json", body))).expect("POST");
    assert_eq!(status, 201, "{created}");
    let (status, listed) = http_get(port, "/todos").expect("GET /todos");
    assert_eq!(status, 200);
    assert!(listed.contains("try cargo score-fly dev"), "{listed}");
    let server = postmaster(&root);
    assert!(alive(server));
    // The password reaches the service, never the terminal.
    let state = std::fs::read_to_string(root.join(".score-fly/dev/state.json")).expect("the dev state");
    let state: serde_json::Value = serde_json::from_str(&state).unwrap();
    let password = state["resources"]["postgres.default#todo.db"]["secrets"]["password"].as_str().expect("a password");
    assert!(!stderr(&root).contains(password), "the password is never printed");
    assert!(!root.join(".score-fly/state.json").exists(), "dev never writes the Fly state");

    interrupt(&mut dev, &root);
    assert!(
        score_fly_tests::process_group_members(service).is_empty(),
        "the service's group is empty: {:?}",
        score_fly_tests::process_group_members(service)
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while alive(server) {
        assert!(Instant::now() < deadline, "the local PostgreSQL was not stopped\n{}", stderr(&root));
        std::thread::sleep(Duration::from_millis(50));
    }

    // A second run: the same data folder, the todo still there.
    let mut dev = start(&root);
    let (_, port) = wait_serving(&mut dev, &root);
    let (status, listed) = http_get(port, "/todos").expect("GET /todos");
    assert_eq!(status, 200);
    assert!(listed.contains("try cargo score-fly dev"), "the data survived: {listed}");
    let server = postmaster(&root);
    interrupt(&mut dev, &root);
    let deadline = Instant::now() + Duration::from_secs(30);
    while alive(server) {
        assert!(Instant::now() < deadline, "the local PostgreSQL was not stopped the second time");
        std::thread::sleep(Duration::from_millis(50));
    }
}
