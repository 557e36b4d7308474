//! `logs` (issue 15 point 2) against the fake `fly logs --json` (fly-2026.md §5.2): several
//! workloads interleaved by time with a workload prefix, `--since` applied to the entries'
//! timestamps, JSON lines, and a tail that follows new lines until interrupted.

use std::io::BufRead as _;
use std::sync::mpsc;
use std::time::Duration;

use super::*;

/// Two workloads without resources, deployed.
fn deployed_pair() -> (World, PathBuf) {
    let world = World::new();
    let dir = world.dir.path().join("files");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["api", "worker"] {
        std::fs::write(
            dir.join(format!("{name}.score.yaml")),
            format!(
                "apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: nginx:stable\n"
            ),
        )
        .unwrap();
    }
    world.run_in(&dir, &["init", "--app-prefix", PREFIX, "--no-sample"]).ok();
    world.run_in(&dir, &["deploy", "api.score.yaml", "worker.score.yaml", "--region", "ams"]).ok();
    (world, dir)
}

/// Now minus `ago`, as RFC 3339 (`date` does the calendar).
fn rfc3339_ago(ago: Duration) -> String {
    let out = Command::new("date")
        .args(["-u", "-d", &format!("@{}", unix_now() - ago.as_secs()), "+%Y-%m-%dT%H:%M:%S.123456789Z"])
        .output()
        .expect("run date");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn unix_now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

#[test]
fn logs_of_several_workloads_are_interleaved_by_time_filtered_by_since_and_printed_as_json() {
    let (world, dir) = deployed_pair();
    let (old, earlier, later) =
        ("2020-01-01T00:00:00Z".to_owned(), rfc3339_ago(Duration::from_mins(2)), rfc3339_ago(Duration::from_mins(1)));
    world.fake.add_log("demo-api", &later, "ams", "e784a1", "GET /todos 200");
    world.fake.add_log("demo-api", &old, "ams", "e784a1", "booted long ago");
    world.fake.add_log("demo-worker", &earlier, "ams", "9b2c33", "job started");

    let run = world.run_in(&dir, &["logs", "--no-tail"]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!("   api | {old} e784a1 ams [info] booted long ago"),
            format!("worker | {earlier} 9b2c33 ams [info] job started"),
            format!("   api | {later} e784a1 ams [info] GET /todos 200"),
        ],
        "{}",
        run.stderr
    );
    let run = world.run_in(&dir, &["logs", "api", "--no-tail", "--since", "10m"]).ok();
    assert_eq!(run.stdout, format!("{later} e784a1 ams [info] GET /todos 200\n"), "one workload: no prefix");
    let run = world.run_in(&dir, &["logs", "api", "--no-tail", "--format", "json"]).ok();
    let entries: Vec<Value> =
        run.stdout.lines().map(|l| serde_json::from_str(l).expect("one object per line")).collect();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1]["message"], "GET /todos 200");
    assert_eq!(entries[1]["workload"], "api");
    assert_eq!(entries[1]["app"], "demo-api");

    let run = world.run_in(&dir, &["logs", "nope", "--no-tail"]);
    assert_eq!(run.code, 3);
    assert!(run.stderr.contains("no workload `nope` in the project (its workloads: api, worker)"), "{}", run.stderr);
    let run = world.run_in(&dir, &["logs", "--since", "soon"]);
    assert_eq!(run.code, 2, "a usage error: {}", run.stderr);
    let argv: Vec<Value> =
        world.invocations().into_iter().map(|i| i["argv"].clone()).filter(|a| a[0] == "logs").collect();
    assert!(argv.contains(&json!(["logs", "-a", "demo-api", "--json", "--no-tail"])), "{argv:?}");
}

#[test]
fn a_tail_follows_new_lines_until_interrupted() {
    let (world, dir) = deployed_pair();
    world.fake.add_log("demo-api", &rfc3339_ago(Duration::from_secs(5)), "ams", "e784a1", "first");
    let mut command = Command::new(env!("CARGO_BIN_EXE_score-fly-e2e"));
    command.arg("score-fly").args(["logs", "api"]).current_dir(&dir);
    for (key, _) in std::env::vars() {
        if key.starts_with("FLY_") || key.starts_with("SCORE_FLY") {
            command.env_remove(key);
        }
    }
    command
        .envs(world.fake.env())
        .env("FLY_BIN", env!("CARGO_BIN_EXE_fake-flyctl"))
        .env("NO_COLOR", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = command.spawn().expect("start logs");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = |rx: &mpsc::Receiver<String>| rx.recv_timeout(Duration::from_secs(30));
    let first = next(&rx).expect("the buffered line");
    assert!(first.ends_with("e784a1 ams [info] first"), "{first}");
    world.fake.add_log("demo-api", &rfc3339_ago(Duration::ZERO), "ams", "e784a1", "second");
    let second = next(&rx).expect("a new line, followed");
    assert!(second.ends_with("[info] second"), "{second}");
    // SIGINT to score-fly alone (a supervisor's `kill -INT`, not a terminal's Ctrl-C, which
    // reaches the whole group): it stops the `fly logs` it started, then exits 128 + 2.
    let pid = child.id().to_string();
    let pgrep = Command::new("pgrep").args(["-P", &pid]).output().expect("pgrep");
    let flyctl: Vec<String> = String::from_utf8_lossy(&pgrep.stdout).split_whitespace().map(str::to_owned).collect();
    assert_eq!(flyctl.len(), 1, "one `fly logs` runs: {flyctl:?}");
    Command::new("kill").args(["-INT", &pid]).status().expect("kill");
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "logs did not stop on SIGINT");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert!(!Path::new(&format!("/proc/{}", flyctl[0])).exists(), "`fly logs` was stopped with it, not left running");
}

#[test]
fn a_secret_an_app_prints_is_hidden_in_its_logs() {
    let world = World::new();
    let dir = world.dir.path().join("files");
    score_file(&dir, "api", &[("DB_PASSWORD", "${resources.db.password}")]);
    world.run_in(&dir, &["init", "--app-prefix", PREFIX, "--no-sample"]).ok();
    world.run_in(&dir, &["deploy", "api.score.yaml", "--region", "ams"]).ok();
    let password = world.fake.secret_value("demo-api", "DB_PASSWORD").expect("the password secret");
    let line = format!("connecting with password {password}");
    world.fake.add_log("demo-api", &rfc3339_ago(Duration::ZERO), "ams", "e784a1", &line);
    let run = world.run_in(&dir, &["logs", "--no-tail"]).ok();
    assert!(run.stdout.contains("connecting with password ********"), "{}", run.stdout);
    assert!(!run.stdout.contains(&password) && !run.stderr.contains(&password));
}
