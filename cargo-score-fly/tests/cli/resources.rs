//! `generate` with resources (static and cmd provisioners, outputs in fly.toml, secrets kept
//! out of it), generate being additive and reusing outputs, and the `resources` commands.

use crate::fixtures::{API, CALLS, INVALID, STATE, uid, with_db};
use crate::support::Project;

/// `generate` lines of [`CALLS`] for `uids`, in that order.
fn provisions(uids: &[&str]) -> Vec<String> {
    uids.iter().map(|u| format!("provision {u}")).collect()
}

#[test]
fn outputs_reach_fly_toml_and_secrets_stay_out() {
    let project = Project::with_provisioners();
    project.write("score.yaml", API);
    let run = project.generate_ok(&["generate"]);
    let db = uid("postgres", "api", "db");
    let dns = uid("dns", "api", "dns");
    run.assert_line(&format!("Provisioning {db} with pg"));
    run.assert_line(&format!(" Provisioned {db}"));
    run.assert_line(&format!(" Provisioned {dns}"));
    run.assert_line("   Generated fly_api.toml (app api)");
    run.assert_stderr_has("warning: app api needs 1 secret that fly.toml does not hold (DB_PASSWORD)");

    let toml = project.fly_toml("fly_api.toml");
    assert!(toml.contains("DB_HOST = \"api.db.internal\"\n"), "{toml}");
    assert!(toml.contains("DB_PORT = \"5432\"\n"), "{toml}");
    assert!(toml.contains("DNS_HOST = \"dns.example.com\"\n"), "{toml}");
    assert!(!toml.contains("DB_PASSWORD") && !toml.contains("pw-api.db"), "a secret is not in fly.toml\n{toml}");
    assert!(!run.stderr.contains("pw-api.db") && !run.stdout.contains("pw-api.db"));

    let state = project.state();
    let entry = &state.resources[&db];
    assert_eq!(entry.provisioner, "pg");
    assert_eq!(entry.declared_by, ["api.db"]);
    assert_eq!(entry.values["host"], "api.db.internal");
    assert_eq!(entry.secrets["password"], "pw-api.db");
    assert_eq!(entry.state["created"], true, "the provisioner's state is kept for its next call");
    assert_eq!(state.resources[&dns].provisioner, "dns");
    assert_eq!(project.mode(STATE), 0o600);
    assert_eq!(project.lines(CALLS), provisions(&[&db]), "static provisioners run no program");
}

#[test]
fn a_resource_without_provisioner_is_located_in_the_score_file() {
    let project = Project::with_provisioners();
    project.write(
        "score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: nginx\nresources:\n  db:\n    type: postgres\n  cache:\n    type: mongodb\n    class: large\n",
    );
    let run = project.fails(&["generate"], INVALID);
    run.assert_error_at(
        "resources.cache: no provisioner for resource `mongodb.large#api.cache` (declared by api.cache)",
        "score.yaml:11:5",
        "    type: mongodb",
    );
    assert_eq!(run.errors().len(), 2, "one problem and the summary\n{}", run.stderr);
    assert!(project.lines(CALLS).is_empty(), "nothing is provisioned while a resource has no provisioner");
}

#[test]
fn generate_is_additive() {
    let project = Project::with_provisioners();
    project.write("a.yaml", with_db("alpha"));
    project.write("b.yaml", with_db("beta"));
    project.generate_ok(&["generate", "a.yaml"]).assert_line("   Generated fly_alpha.toml (app alpha)");
    std::fs::remove_file(project.path().join("fly_alpha.toml")).expect("remove");

    let run = project.generate_ok(&["generate", "b.yaml"]);
    run.assert_line("   Generated fly_alpha.toml (app alpha)").assert_line("   Generated fly_beta.toml (app beta)");
    assert!(project.fly_toml("fly_alpha.toml").contains("DB_HOST = \"alpha.db.internal\"\n"));
    assert!(project.fly_toml("fly_beta.toml").contains("DB_HOST = \"beta.db.internal\"\n"));
    let state = project.state();
    assert_eq!(state.workloads.keys().collect::<Vec<_>>(), ["alpha", "beta"]);
    assert_eq!(state.resources.len(), 2);
    assert_eq!(
        project.lines(CALLS),
        provisions(&[&uid("postgres", "alpha", "db"), &uid("postgres", "beta", "db")]),
        "alpha's resource is reused by the second run"
    );
}

#[test]
fn a_rerun_without_changes_calls_nothing_and_writes_the_same_bytes() {
    let project = Project::with_provisioners();
    project.write("score.yaml", API);
    project.generate_ok(&["generate"]);
    assert_eq!(project.lines(CALLS).len(), 1);

    let before = project.snapshot();
    let run = project.generate_ok(&["generate", "-v"]);
    run.assert_stderr_has(&format!("{} is up to date (outputs reused)", uid("postgres", "api", "db")));
    assert_eq!(project.snapshot(), before, "nothing changed, not even the call log");

    // --reprovision calls again (and -j is accepted).
    project.generate_ok(&["generate", "--reprovision", "-j", "1"]);
    assert_eq!(project.lines(CALLS).len(), 2);
    project.generate_ok(&["generate", "--jobs", "4"]);
    assert_eq!(project.lines(CALLS).len(), 2);

    // Changed params: that resource is provisioned again, with the expanded params.
    project
        .write("score.yaml", API.replace("    type: postgres\n", "    type: postgres\n    params:\n      size: 2\n"));
    project.generate_ok(&["generate"]);
    assert_eq!(project.lines(CALLS).len(), 3);
    assert_eq!(project.state().resources[&uid("postgres", "api", "db")].params["size"], 2);
}

#[test]
fn params_read_other_resources_in_dependency_order() {
    let project = Project::with_provisioners();
    project.write(
        "score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: nginx\nresources:\n  replica:\n    type: postgres\n    params:\n      primary: ${resources.main.host}\n  main:\n    type: postgres\n",
    );
    project.generate_ok(&["generate", "-j", "8"]);
    let replica = uid("postgres", "api", "replica");
    let main = uid("postgres", "api", "main");
    assert_eq!(project.lines(CALLS), provisions(&[&main, &replica]));
    assert_eq!(project.state().resources[&replica].params["primary"], "api.main.internal");
}

#[test]
fn the_app_prefix_from_init_is_used_and_changes_while_nothing_exists_on_fly() {
    let project = Project::with_provisioners();
    project.run(&["init", "--app-prefix", "acme-", "--no-sample"]).assert_code(0);
    project.write("score.yaml", with_db("api"));
    project.generate_ok(&["generate"]).assert_line("   Generated fly_api.toml (app acme-api)");
    assert!(project.fly_toml("fly_api.toml").contains("app = \"acme-api\"\n"));
    project.generate_ok(&["generate", "--app-prefix", "acme-"]);
    // The database comes from the project's own provisioner, not a builtin made under the
    // prefix: the prefix may still change (issue 11), and the database is kept.
    let calls = project.lines(CALLS).len();
    let run = project.generate_ok(&["generate", "--app-prefix", "other-"]);
    run.assert_line("   Generated fly_api.toml (app other-api)");
    assert_eq!(project.lines(CALLS).len(), calls, "not provisioned again");
}

#[test]
fn resources_list_in_both_formats() {
    let project = Project::with_provisioners();
    let run = project.run(&["resources", "list"]);
    run.assert_code(0).assert_stderr_has("no resources provisioned yet");
    let run = project.run(&["resources", "list", "--format", "json"]);
    assert_eq!(serde_json::from_str::<serde_json::Value>(&run.stdout).expect("JSON"), serde_json::json!([]));

    project.write("score.yaml", API);
    project.generate_ok(&["generate"]);
    let run = project.run(&["resources", "list"]);
    run.assert_code(0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", run.stdout);
    assert!(lines[0].starts_with("UID") && lines[0].contains("PROVISIONER"), "{}", run.stdout);
    assert!(lines[1].starts_with("dns.default#api.dns ") && lines[1].contains(" api.dns "), "{}", run.stdout);
    assert!(
        lines[2].starts_with("postgres.default#api.db ") && lines[2].ends_with("host, port, password*"),
        "{}",
        run.stdout
    );

    let run = project.run(&["resources", "list", "--format", "json"]);
    run.assert_code(0);
    let items: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(
        items[1],
        serde_json::json!({
            "uid": "postgres.default#api.db", "target": "fly", "type": "postgres", "class": "default", "id": "api.db",
            "declared_by": ["api.db"], "provisioner": "pg", "outputs": ["host", "port"], "secret_outputs": ["password"],
        })
    );
    assert!(!run.stdout.contains("pw-api.db"));
}

#[test]
fn get_outputs_masks_secrets_unless_asked() {
    let project = Project::with_provisioners();
    project.write("score.yaml", API);
    project.generate_ok(&["generate"]);
    let db = uid("postgres", "api", "db");

    let run = project.run(&["resources", "get-outputs", &db]);
    run.assert_code(0);
    let rows: Vec<Vec<&str>> = run.stdout.lines().map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(
        rows,
        [
            vec!["OUTPUT", "VALUE"],
            vec!["host", "api.db.internal"],
            vec!["port", "5432"],
            vec!["password", "********", "secret"]
        ]
    );

    let run = project.run(&["resources", "get-outputs", &db, "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(
        doc,
        serde_json::json!({"uid": db, "values": {"host": "api.db.internal", "port": 5432}, "secrets": {"password": "********"}})
    );

    let run = project.run(&["resources", "get-outputs", &db, "--show-secrets", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(doc["secrets"]["password"], "pw-api.db");
    let run = project.run(&["resources", "get-outputs", &db, "--show-secrets"]);
    assert!(run.stdout.contains("pw-api.db"), "{}", run.stdout);

    let run = project.fails(&["resources", "get-outputs", "postgres.default#api.nope"], INVALID);
    run.assert_line(&format!(
        "error: no resource `postgres.default#api.nope` in the project (known: dns.default#api.dns, {db})"
    ));
}

#[test]
fn deprovision_calls_the_provisioner_and_forgets_the_resource() {
    let project = Project::with_provisioners();
    project.write("score.yaml", API);
    project.generate_ok(&["generate"]);
    let db = uid("postgres", "api", "db");

    let run = project.run(&["resources", "deprovision", &db]);
    run.assert_code(0);
    run.assert_line(&format!("Deprovisioning {db} with pg")).assert_line(&format!("Deprovisioned {db}"));
    run.assert_line(&format!("warning: `{db}` is still declared by api: the next `generate` provisions it again"));
    assert_eq!(project.lines(CALLS), [format!("provision {db}"), format!("deprovision {db}")]);
    let state = project.state();
    assert!(!state.resources.contains_key(&db));
    assert!(state.resources.contains_key(&uid("dns", "api", "dns")));

    // A static one needs no program; then the next generate provisions both again.
    project.run(&["resources", "deprovision", &uid("dns", "api", "dns")]).assert_code(0);
    assert!(project.state().resources.is_empty());
    project.generate_ok(&["generate"]);
    assert_eq!(project.lines(CALLS).len(), 3);
    assert_eq!(project.state().resources.len(), 2);

    let run = project.fails(&["resources", "deprovision", "postgres.default#api.nope"], INVALID);
    run.assert_stderr_has("error: no resource `postgres.default#api.nope` in the project");
}

#[test]
fn deprovision_of_a_resource_no_workload_declares_has_no_warning() {
    let project = Project::with_provisioners();
    project.write("score.yaml", API);
    project.generate_ok(&["generate"]);
    project.write("score.yaml", API.replace("  db:\n    type: postgres\n", "").replace("      DB_HOST: ${resources.db.host}\n      DB_PORT: ${resources.db.port}\n      DB_PASSWORD: ${resources.db.password}\n", ""));
    project.generate_ok(&["generate"]);
    let run = project.run(&["resources", "deprovision", &uid("postgres", "api", "db")]);
    run.assert_code(0);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

#[test]
fn resource_commands_without_a_project() {
    let project = Project::new();
    let run = project.fails(&["resources", "get-outputs", "x"], INVALID);
    run.assert_stderr_has(
        "no project state in .score-fly: run `cargo score-fly init` or `cargo score-fly generate` first",
    );
    project.fails(&["resources", "deprovision", "x"], INVALID);
}

#[test]
fn a_failed_deprovision_keeps_the_resource() {
    let project = Project::with_provisioners();
    project.write("score.yaml", API);
    project.generate_ok(&["generate"]);
    project.script("prov.sh", "cat > /dev/null\necho 'the database is in use' >&2\nexit 1\n");
    let state = project.read(STATE);
    let db = uid("postgres", "api", "db");
    let run = project.run(&["resources", "deprovision", &db]);
    run.assert_code(crate::fixtures::FAILURE);
    run.assert_stderr_has(&format!("error: failed to deprovision `{db}`: `./prov.sh` exited with status 1"));
    assert_eq!(project.read(STATE), state, "the resource is still there to deprovision later");

    // A provisioner that is no longer defined cannot deprovision: the error says so.
    project.provisioners_file("local.provisioners.yaml", "- {id: dns, type: dns, static: {values: {host: x}}}\n");
    let run = project.fails(&["resources", "deprovision", &db], INVALID);
    run.assert_line(&format!(
        "error: resource `{db}` was provisioned by `pg`, which is no longer defined; add it back to deprovision"
    ));
}
