//! `generate --check`: exit 0 when every fly.toml is up to date, exit 1 naming what is out of
//! date (a fly.toml, or a resource whose provisioner would have to run), and never anything
//! written or provisioned ([`Project::snapshot`] of the whole folder before and after, and a
//! provisioner that logs its calls); `--check --format json`.

use crate::cargo_fixtures::{OUT_OF_DATE, PLAIN_MAIN, attributed_main, generated, no_prefix_warning};
use crate::fixtures::{CALLS, FAILURE, STATE, uid};
use crate::support::{Project, Run, WEB, workload};

/// An inline workload `api` with a `postgres` resource (cmd provisioner `pg`, which logs its
/// calls) and a `dns` resource (static provisioner `dns`), with `size` and `zone` as params.
fn api(size: u32, zone: &str) -> String {
    attributed_main(&format!(
        "name = \"api\", image = \"nginx\", \
         variables(DB_HOST = \"${{resources.db.host}}\", DB_PASSWORD = \"${{resources.db.password}}\", DNS = \"${{resources.dns.host}}\"), \
         resource(db, type = \"postgres\", params(size = {size})), \
         resource(dns, type = \"dns\", params(zone = \"{zone}\"))"
    ))
}

/// A package at the root of [`Project::with_provisioners`] whose workload is [`api`]`(1, "a")`,
/// generated once (one provisioner call).
fn provisioned() -> Project {
    let project = Project::with_provisioners();
    project.package("", "svc", "", &api(1, "a"));
    project.generate_in("", &["generate"]);
    assert_eq!(project.lines(CALLS).len(), 1, "one cmd provisioner call");
    project
}

/// Runs `generate --check ARGS` in the project folder, expects exit `code`, and expects the
/// folder to be exactly as before (state, fly.toml, call log: everything).
fn check(project: &Project, args: &[&str], code: i32) -> Run {
    let mut all = vec!["generate", "--check"];
    all.extend_from_slice(args);
    project.fails_in("", &all, code)
}

#[test]
fn check_after_generate_is_up_to_date_and_writes_nothing() {
    let project = Project::new();
    project.package("", "svc", "", PLAIN_MAIN);
    project.write("score.yaml", WEB);
    project.generate_in("", &["generate"]);
    let run = check(&project, &[], 0);
    assert_eq!(run.stderr, format!("{}\n     Checked 1 fly.toml file(s) are up to date\n", no_prefix_warning("`web`")));
    assert_eq!(run.stdout, "");
}

#[test]
fn check_after_editing_score_yaml_names_the_fly_toml() {
    let project = Project::new();
    project.package("", "svc", "", PLAIN_MAIN);
    project.write("score.yaml", WEB);
    project.generate_in("", &["generate"]);
    let state = project.read(STATE);
    project.write("score.yaml", WEB.replace("nginx", "nginx:1.27"));
    let run = check(&project, &[], FAILURE);
    assert_eq!(run.errors(), ["error: fly_web.toml is out of date", OUT_OF_DATE]);
    assert_eq!(project.read(STATE), state, "the state still holds the old workload");
    // generate brings it up to date.
    project.generate_in("", &["generate"]);
    check(&project, &[], 0);
}

#[test]
fn check_after_editing_the_attribute_names_the_fly_toml() {
    let project = Project::new();
    project.workspace(&["a", "b"], "");
    project.package("a", "a", "", &attributed_main("name = \"alpha\", image = \"nginx\""));
    project.package("b", "b", "", &attributed_main("name = \"beta\", image = \"nginx\""));
    project.generate_in("", &["generate", "--workspace"]);
    check(&project, &["--workspace"], 0).assert_line("     Checked 2 fly.toml file(s) are up to date");

    project.write("b/src/main.rs", attributed_main("name = \"beta\", image = \"nginx\", variables(MODE = \"fast\")"));
    let run = check(&project, &["--workspace"], FAILURE);
    assert_eq!(run.errors(), ["error: b/fly_beta.toml is out of date", OUT_OF_DATE]);
    // From the package folder, the path is relative to it.
    let run = project.fails_in("b", &["generate", "--check"], FAILURE);
    assert_eq!(run.errors(), ["error: fly_beta.toml is out of date", OUT_OF_DATE]);
}

#[test]
fn check_names_a_missing_fly_toml() {
    let project = Project::new();
    project.package("", "svc", "", PLAIN_MAIN);
    project.write("score.yaml", workload("api"));
    // Before any generate: no state, and none is created.
    let run = check(&project, &[], FAILURE);
    assert_eq!(run.errors(), ["error: fly_api.toml is missing", OUT_OF_DATE]);
    assert!(!project.exists(".score-fly"));

    project.generate_in("", &["generate"]);
    std::fs::remove_file(project.path().join("fly_api.toml")).unwrap();
    let run = check(&project, &[], FAILURE);
    assert_eq!(run.errors(), ["error: fly_api.toml is missing", OUT_OF_DATE]);
}

#[test]
fn check_names_a_resource_whose_cmd_provisioner_would_run_and_calls_nothing() {
    let project = provisioned();
    check(&project, &[], 0);
    project.write("src/main.rs", api(2, "a"));
    let run = check(&project, &[], FAILURE);
    assert_eq!(
        run.errors(),
        [
            format!("error: resource `{}` is not provisioned with its current inputs", uid("postgres", "api", "db"))
                .as_str(),
            OUT_OF_DATE
        ]
    );
    assert!(!run.stderr.contains("Provisioning"), "{}", run.stderr);
    assert_eq!(project.lines(CALLS).len(), 1, "no provisioner call");
}

#[test]
fn check_names_a_resource_whose_static_provisioner_would_run() {
    let project = provisioned();
    project.write("src/main.rs", api(1, "b"));
    let run = check(&project, &[], FAILURE);
    assert_eq!(
        run.errors(),
        [
            format!("error: resource `{}` is not provisioned with its current inputs", uid("dns", "api", "dns"))
                .as_str(),
            OUT_OF_DATE
        ]
    );
    assert_eq!(project.lines(CALLS).len(), 1, "no provisioner call");
}

#[test]
fn check_names_a_new_resource() {
    let project = Project::with_provisioners();
    project.package("", "svc", "", &attributed_main("name = \"api\", image = \"nginx\""));
    project.generate_in("", &["generate"]);
    project.write("src/main.rs", api(1, "a"));
    let run = check(&project, &[], FAILURE);
    let mut errors = run.errors();
    errors.sort_unstable();
    let db = format!("error: resource `{}` is not provisioned with its current inputs", uid("postgres", "api", "db"));
    let dns = format!("error: resource `{}` is not provisioned with its current inputs", uid("dns", "api", "dns"));
    assert_eq!(errors, [OUT_OF_DATE, dns.as_str(), db.as_str()]);
    assert!(project.lines(CALLS).is_empty(), "no provisioner call");
}

#[test]
fn check_with_json_prints_a_summary() {
    let project = provisioned();
    let run = check(&project, &["--format", "json"], 0);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is one JSON document");
    assert_eq!(json["up_to_date"], true, "{json}");
    assert_eq!(json["out_of_date"], serde_json::json!([]), "{json}");
    assert_eq!(json["workloads"][0]["name"], "api", "{json}");
    assert_eq!(json["workloads"][0]["output"], "fly_api.toml", "{json}");
    assert_eq!(json["workloads"][0]["secrets"], serde_json::json!(["DB_PASSWORD"]), "{json}");
    assert!(!run.stdout.contains("pw-api.db"), "no secret value\n{}", run.stdout);

    // The fly.toml is edited by hand: out of date.
    project.write("fly_api.toml", "app = \"api\"\n");
    let run = check(&project, &["--format", "json"], FAILURE);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is one JSON document");
    assert_eq!(json["up_to_date"], false, "{json}");
    assert_eq!(json["out_of_date"], serde_json::json!(["fly_api.toml is out of date"]), "{json}");
    assert_eq!(run.errors(), ["error: fly_api.toml is out of date", OUT_OF_DATE]);
}

#[test]
fn check_with_json_prints_a_summary_when_a_resource_is_out_of_date() {
    let project = provisioned();
    project.write("src/main.rs", api(2, "a"));
    let run = check(&project, &["--format", "json"], FAILURE);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("stdout is one JSON document");
    assert_eq!(json["up_to_date"], false, "{json}");
    let uid = uid("postgres", "api", "db");
    assert!(json["out_of_date"].to_string().contains(&uid), "names the resource: {json}");
}

#[test]
fn check_in_file_mode_works_too() {
    let project = Project::with_score(WEB);
    project.generate_ok(&["generate"]);
    let before = project.snapshot();
    let run = project.run(&["generate", "--check"]);
    run.assert_code(0).assert_line("     Checked 1 fly.toml file(s) are up to date");
    assert_eq!(project.snapshot(), before);
    project.write("score.yaml", workload("web").replace("nginx", "httpd"));
    let run = project.fails(&["generate", "--check"], FAILURE);
    assert_eq!(run.errors(), ["error: fly_web.toml is out of date", OUT_OF_DATE]);
}

#[test]
fn check_conflicts_with_reprovision() {
    let project = provisioned();
    let run = project.fails_in("", &["generate", "--check", "--reprovision"], 2);
    run.assert_stderr_has("--reprovision");
    assert_eq!(project.lines(CALLS).len(), 1);
}

#[test]
fn generate_after_a_failed_check_provisions_and_then_check_passes() {
    let project = provisioned();
    project.write("src/main.rs", api(2, "a"));
    check(&project, &[], FAILURE);
    let run = project.generate_in("", &["generate"]);
    run.assert_line(&format!(" Provisioned {}", uid("postgres", "api", "db")));
    run.assert_line(&generated("fly_api.toml", "api"));
    assert_eq!(project.lines(CALLS).len(), 2);
    check(&project, &[], 0);
}
