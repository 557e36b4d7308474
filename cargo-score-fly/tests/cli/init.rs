//! `init [--app-prefix P] [--file F] [--no-sample]`: the project folder, its state file and
//! `.gitignore`, the sample Score file, and the app prefix that changes until an app exists.

use std::path::PathBuf;

use crate::fixtures::{INVALID, STATE};
use crate::support::Project;

#[test]
fn creates_the_state_the_gitignore_and_a_sample_that_generate_accepts() {
    let project = Project::new();
    let run = project.run(&["init", "--app-prefix", "acme-"]);
    run.assert_code(0);
    run.assert_line("     Created .score-fly (app prefix `acme-`)");
    run.assert_line("     Created sample Score file score.yaml");

    let state = project.state_json();
    assert_eq!(state["version"], 1, "{state}");
    assert_eq!(state["app_prefix"], "acme-", "{state}");
    assert_eq!(project.mode(STATE), 0o600, "the state holds secrets: owner only");
    let state = project.state();
    assert!(state.workloads.is_empty() && state.resources.is_empty());

    let gitignore = String::from_utf8(project.read(".score-fly/.gitignore")).expect("UTF-8");
    assert!(gitignore.lines().any(|l| l == "state.json"), "{gitignore}");

    let entries = project.entries();
    assert!(entries.contains(&PathBuf::from("score.yaml")), "{entries:?}");
    assert!(!project.exists(".score-fly/lock"), "the lock's pid file is gone once init is done");

    // The sample has nothing to provision: generate turns it into a valid fly.toml at once,
    // with the prefix init recorded.
    let run = project.generate_ok(&["generate"]);
    run.assert_line("   Generated fly_hello-world.toml (app acme-hello-world)");
    assert!(project.fly_toml("fly_hello-world.toml").contains("app = \"acme-hello-world\"\n"));
    assert_eq!(project.mode(STATE), 0o600, "still owner only after generate rewrote it");
    assert!(project.state().workloads.contains_key("hello-world"));
}

#[test]
fn file_and_no_sample() {
    let project = Project::new();
    project.run(&["init", "--file", "svc/app.yaml"]).assert_code(0);
    assert!(project.exists("svc/app.yaml") && !project.exists("score.yaml"));
    assert_eq!(project.state().app_prefix, "", "no prefix unless given");
    project
        .generate_ok(&["generate", "svc/app.yaml"])
        .assert_line("   Generated fly_hello-world.toml (app hello-world)");

    let bare = Project::new();
    bare.run(&["init", "--no-sample"]).assert_code(0);
    let entries = bare.entries();
    assert!(entries.iter().all(|e| e.starts_with(".score-fly")), "only the project folder: {entries:?}");
    assert!(bare.exists(STATE));
}

#[test]
fn an_existing_score_file_is_kept() {
    let project = Project::with_score("# mine\n");
    project.run(&["init", "-v"]).assert_code(0).assert_stderr_has("score.yaml exists, not writing a Score file");
    assert_eq!(project.read("score.yaml"), b"# mine\n");
}

#[test]
fn rerunning_is_idempotent() {
    let project = Project::new();
    project.run(&["init", "--app-prefix", "acme-"]).assert_code(0);
    let before = project.snapshot();
    for args in [&["init", "--app-prefix", "acme-"][..], &["init"], &["init", "--no-sample"]] {
        let run = project.run(args);
        run.assert_code(0).assert_line("       Found existing project state in .score-fly");
        assert_eq!(project.snapshot(), before, "`{}` changed the project", args.join(" "));
    }
}

#[test]
fn a_different_prefix_on_an_existing_project_changes_it_until_an_app_exists() {
    let project = Project::new();
    project.run(&["init", "--app-prefix", "acme-"]).assert_code(0);
    let run = project.run(&["init", "--app-prefix", "other-"]);
    run.assert_code(0);
    run.assert_line("     Changed the app prefix from `acme-` to `other-` (nothing exists on Fly under the old one)");
    assert_eq!(project.state().app_prefix, "other-");
    let mut state = project.state_json();
    state["deployments"] = serde_json::json!({"other-hello-world": {"deployed": true}});
    project.write(STATE, state.to_string());
    let run = project.fails(&["init", "--app-prefix", "acme-"], INVALID);
    run.assert_stderr_has("error: the project's app prefix is `other-` and cannot change to `acme-`");
    assert_eq!(project.state().app_prefix, "other-");
}

#[test]
fn an_invalid_prefix_is_refused_before_anything_is_created() {
    for prefix in ["Acme-", "acme_", "-acme", "a.b", &"x".repeat(41)] {
        let project = Project::new();
        let run = project.fails(&["init", &format!("--app-prefix={prefix}")], INVALID);
        run.assert_stderr_has(&format!("error: app prefix `{prefix}`"));
        assert!(project.entries().is_empty(), "nothing created for `{prefix}`");
    }
}

#[test]
fn init_registers_the_builtin_fly_provisioners_which_users_can_override_or_remove() {
    let project = Project::with_score(
        &crate::support::workload("api")
            .replace("containers:", "resources:\n  db:\n    type: postgres\n  cache:\n    type: redis\ncontainers:"),
    );
    project
        .run(&["init", "--app-prefix", "acme-"])
        .assert_code(0)
        .assert_stderr_has("Registered the builtin Fly provisioners");
    let run = project.run(&["provisioners", "list", "--format", "json"]);
    run.assert_code(0);
    let listed: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let builtins: Vec<(&str, &str)> = listed
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p["builtin"].as_str()?)))
        .collect();
    for name in
        ["postgres", "postgres-instance", "redis", "s3", "volume", "dns", "route", "service-port", "environment"]
    {
        assert!(builtins.contains(&(format!("builtin-{name}").as_str(), name)), "{name} in {builtins:?}");
    }

    // Overriding: a provisioner added in front wins for its type.
    project
        .run(&["provisioners", "add", "my-redis", "redis", "--static-json", r#"{"host":"r.internal","port":6379}"#])
        .assert_code(0);
    // Removing: a builtin taken out of the defaults no longer serves its type.
    project.run(&["provisioners", "remove", "builtin-postgres"]).assert_code(0);
    let run = project.fails(&["generate"], INVALID);
    assert!(
        run.errors().iter().any(|e| e.contains("no provisioner for resource `postgres.default#api.db`")),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("redis.default#api.cache"), "redis is served by my-redis: {}", run.stderr);
}
