//! The README's quick start runs `./scripts/demo.sh`, which runs the `score-fly-demo`
//! binary: it must keep working. One run, into a temporary folder, checked for each step it
//! reports (the deploy itself is tested in detail in `deploy.rs`).

use std::process::Command;

#[test]
fn the_quick_start_demo_deploys_todo_and_talks_to_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = {
        // It compiles todo in the folder the building tests share.
        let _build = score_fly_tests::build_lock();
        Command::new(env!("CARGO_BIN_EXE_score-fly-demo")).arg(dir.path()).output().expect("run the demo")
    };
    let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "the demo failed\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}");
    for line in [
        "app demo-todo (org personal): release v1 of 127.0.0.1:",
        "; secrets [\"DATABASE_URL\"]",
        "Managed Postgres cluster demo-pg (ams, plan basic), databases (on the real PostgreSQL): todo_db_",
        "GET /healthz -> 200 ok",
        "POST /todos {\"title\": \"shipped by score-fly\"} -> 201 {\"id\":1,\"title\":\"shipped by score-fly\",\"done\":false}",
        "GET /todos -> 200 [{\"id\":1,\"title\":\"shipped by score-fly\",\"done\":false}]",
        "Done: built, pushed, provisioned, deployed and served.",
    ] {
        assert!(stdout.contains(line), "no `{line}` in:\n{stdout}\n--- stderr ---\n{stderr}");
    }
    for line in ["Pushed 127.0.0.1:", "Provisioned postgres.default#todo.db", "Deployed demo-todo"] {
        assert!(stderr.contains(line), "no `{line}` in the product's status lines:\n{stderr}");
    }
    let fly_toml = std::fs::read_to_string(dir.path().join("todo/fly_todo.toml")).expect("the project stays");
    score_fly_tests::flytoml::assert_valid(&fly_toml);
    assert!(!fly_toml.contains("DATABASE_URL"), "the secret is not in fly.toml");
}
