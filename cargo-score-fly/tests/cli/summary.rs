//! `generate --format json`: one JSON document on stdout (and nothing else there) describing
//! each workload written — name, app, source, output, secret names, warnings — while the
//! status lines stay on stderr; secret values appear nowhere.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::cargo_fixtures::{PLAIN_MAIN, attributed_main, generated};
use crate::fixtures::uid;
use crate::support::{Project, Run, workload};

/// The keys of each workload object.
const WORKLOAD_KEYS: [&str; 6] = ["app", "name", "output", "secrets", "source", "warnings"];

/// Parses stdout as exactly one JSON document (trailing whitespace allowed).
fn summary(run: &Run) -> Value {
    let mut stream = serde_json::Deserializer::from_str(&run.stdout).into_iter::<Value>();
    let doc = stream.next().expect("a JSON document on stdout").expect("stdout is JSON");
    assert!(stream.next().is_none(), "one document and nothing else on stdout\n{}", run.stdout);
    assert!(run.stdout.ends_with("}\n"), "ends with the document and a newline: {:?}", run.stdout);
    doc
}

fn keys(value: &Value) -> BTreeSet<&str> {
    value.as_object().expect("an object").keys().map(String::as_str).collect()
}

#[test]
fn json_summary_of_a_package_with_secrets() {
    let project = Project::with_provisioners();
    project.package(
        "",
        "svc",
        "",
        &attributed_main(
            "name = \"api\", image = \"nginx\", \
             variables(DB_HOST = \"${resources.db.host}\", DB_PASSWORD = \"${resources.db.password}\"), \
             resource(db, type = \"postgres\")",
        ),
    );
    let run = project.generate_in("", &["generate", "--app-prefix", "acme-", "--format", "json"]);
    let doc = summary(&run);
    assert_eq!(keys(&doc), BTreeSet::from(["workloads"]), "{doc}");
    assert_eq!(
        doc["workloads"],
        json!([{
            "name": "api",
            "app": "acme-api",
            "source": "src/main.rs",
            "output": "fly_api.toml",
            "secrets": ["DB_PASSWORD"],
            "warnings": [],
        }])
    );
    // stderr as without --format json.
    run.assert_line(&format!(" Provisioned {}", uid("postgres", "api", "db")));
    run.assert_line(&generated("fly_api.toml", "acme-api"));
    run.assert_stderr_has("warning: app acme-api needs 1 secret that fly.toml does not hold (DB_PASSWORD)");
    // The secret value is in the state only.
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        assert!(!text.contains("pw-api.db"), "secret value on {stream}\n{text}");
    }
    assert!(!project.fly_toml("fly_api.toml").contains("pw-api.db"));
    assert_eq!(project.state().resources[&uid("postgres", "api", "db")].secrets["password"], "pw-api.db");
}

#[test]
fn json_summary_of_a_workspace() {
    let project = Project::new();
    project.workspace(&["a", "b", "lib"], "\n[workspace.metadata.score-fly]\napp-prefix = \"acme-\"\n");
    project.package("a", "a", "", PLAIN_MAIN);
    project.write("a/score.yaml", workload("alpha"));
    project.package("b", "b", "", &attributed_main("name = \"beta\", image = \"nginx\""));
    project.package("lib", "lib", "", PLAIN_MAIN);
    let run = project.generate_in("", &["generate", "--workspace", "--format", "json"]);
    let doc = summary(&run);
    let workloads = doc["workloads"].as_array().expect("a list");
    assert_eq!(workloads.len(), 2, "{doc}");
    for w in workloads {
        assert_eq!(keys(w), BTreeSet::from(WORKLOAD_KEYS), "{w}");
    }
    assert_eq!(workloads[0]["name"], "alpha");
    assert_eq!(workloads[0]["app"], "acme-alpha");
    assert_eq!(workloads[0]["source"], "a/score.yaml");
    assert_eq!(workloads[0]["output"], "a/fly_alpha.toml");
    assert_eq!(workloads[1]["name"], "beta");
    assert_eq!(workloads[1]["app"], "acme-beta");
    assert_eq!(workloads[1]["source"], "b/src/main.rs");
    assert_eq!(workloads[1]["output"], "b/fly_beta.toml");
    assert!(workloads.iter().all(|w| w["secrets"] == json!([])), "{doc}");
    assert!(!doc.as_object().unwrap().contains_key("up_to_date"), "only --check says up_to_date: {doc}");
}

#[test]
fn json_summary_lists_conversion_warnings() {
    let project = Project::new();
    project.package("", "svc", "", &attributed_main("name = \"api\", image = \"nginx\", requests(memory = \"100Mi\")"));
    let run = project.generate_in("", &["generate", "--format", "json"]);
    let doc = summary(&run);
    let warnings = doc["workloads"][0]["warnings"].as_array().expect("a list");
    assert_eq!(warnings.len(), 1, "{doc}");
    let warning = warnings[0].as_str().expect("a string");
    assert!(warning.contains("the machine is"), "{warning}");
    // The same warning on stderr, located at the attribute (`resources` has no token of its own).
    let lines: Vec<&str> = run.stderr.lines().collect();
    let at =
        lines.iter().position(|l| l.starts_with("warning: containers.main.resources")).expect("the warning on stderr");
    assert!(lines[at].contains("the machine is"), "{}", run.stderr);
    assert_eq!(lines.get(at + 1).copied(), Some("  --> src/main.rs:1:21"), "{}", run.stderr);
}

#[test]
fn json_summary_with_quiet_is_still_printed() {
    let project = Project::new();
    project.package("", "svc", "", &attributed_main("name = \"api\", image = \"nginx\""));
    let run = project.generate_in("", &["generate", "--format", "json", "-q"]);
    assert_eq!(run.stderr, "", "quiet");
    assert_eq!(summary(&run)["workloads"][0]["name"], "api");
}

#[test]
fn no_summary_without_format_json() {
    let project = Project::new();
    project.package("", "svc", "", &attributed_main("name = \"api\", image = \"nginx\""));
    for args in [&["generate"][..], &["generate", "--format", "table"]] {
        let run = project.generate_in("", args);
        assert_eq!(run.stdout, "", "{args:?}");
    }
}

#[test]
fn json_summary_in_file_mode() {
    let project = Project::with_score(&workload("web"));
    let run = project.generate_ok(&["generate", "--format", "json"]);
    assert_eq!(
        summary(&run),
        json!({"workloads": [{
            "name": "web", "app": "web", "source": "score.yaml", "output": "fly_web.toml", "secrets": [], "warnings": [],
        }]})
    );
}
