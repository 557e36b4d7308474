//! Identity (issue 10, class 5): explicit resource ids against private uids, and hostile
//! names in the comments score-fly writes.
//!
//! A resource declared without `id` gets the private uid `type.class#workload.name`; one with
//! `id: X` gets `type.class#X`, shared by every declaration of the same id. The two forms
//! meet when `X` is `workload.name`: `id: web.db` in workload `api` received the outputs
//! (the password) of web's private `db`. The clash is an error naming both declarations,
//! found before anything is provisioned; so is taking over a resource the state recorded as
//! another declaration's private one.

use std::collections::BTreeSet;
use std::path::PathBuf;

use crate::support::Project;

/// A static provisioner whose secret stands for web's database password.
const PROVISIONERS: &str = "- id: pg\n  type: postgres\n  static:\n    values: {host: db.internal}\n    secrets: {password: web-only-s3cret}\n";

/// A workload `name` whose `db` resource (postgres) has the extra lines `db_extra`
/// (indented by four spaces) and whose container reads its password.
fn workload(name: &str, db_extra: &str) -> String {
    format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: nginx\n    variables:\n      DB_PASSWORD: ${{resources.db.password}}\nresources:\n  db:\n    type: postgres\n{db_extra}"
    )
}

fn project() -> Project {
    let project = Project::new();
    project.write(".score-fly/local.provisioners.yaml", PROVISIONERS);
    project
}

fn snapshot(project: &Project) -> BTreeSet<(PathBuf, Option<Vec<u8>>)> {
    project.snapshot()
}

/// The exact repro: `api` declares `id: web.db`, the private uid of web's `db`.
#[test]
fn an_explicit_id_naming_another_workloads_private_resource_is_an_error_before_provisioning() {
    let project = project();
    project.write("web.yaml", workload("web", ""));
    project.write("api.yaml", workload("api", "    id: web.db\n"));
    let before = snapshot(&project);
    let probe = project.probe(&["generate", "web.yaml", "api.yaml", "--secrets-file", "secrets.env"]).run();
    probe.assert_code(3);
    probe
        .assert_stderr_has(
            "resource `postgres.default#web.db`: `api.db` sets `id: web.db`, which is the private id of `web.db`",
        )
        .assert_stderr_has("give `api.db` another id");
    // Located in api's file, at the resource.
    probe.assert_stderr_has("api.yaml");
    assert!(!probe.stderr.contains("web-only-s3cret"), "{}", probe.stderr);
    assert_eq!(snapshot(&project), before, "nothing provisioned or written:\n{}", probe.stderr);
}

/// The same clash across runs: web was generated first (its database provisioned), then api
/// arrives with `id: web.db`. Nothing of the second run is provisioned or written.
#[test]
fn an_explicit_id_arriving_in_a_later_run_cannot_join_a_private_resource() {
    let project = project();
    project.write("web.yaml", workload("web", ""));
    project.probe(&["generate", "web.yaml"]).run().assert_code(0);
    project.write("api.yaml", workload("api", "    id: web.db\n"));
    let before = snapshot(&project);
    let probe = project.probe(&["generate", "api.yaml", "--secrets-file", "secrets.env"]).run();
    probe.assert_code(3);
    probe.assert_stderr_has("`api.db` sets `id: web.db`, which is the private id of `web.db`");
    assert!(!probe.stderr.contains("web-only-s3cret"), "{}", probe.stderr);
    assert_eq!(snapshot(&project), before, "nothing provisioned or written:\n{}", probe.stderr);
    assert!(!project.path().join("fly_api.toml").exists());
}

/// Within one workload: `cache` declares `id: web.db`, the private id of its sibling `db`.
#[test]
fn an_explicit_id_naming_a_sibling_private_resource_is_an_error() {
    let project = project();
    let text = format!("{}  cache:\n    type: postgres\n    id: web.db\n", workload("web", ""));
    project.write("score.yaml", text);
    let before = snapshot(&project);
    let probe = project.probe(&["generate", "score.yaml"]).run();
    probe.assert_code(3);
    probe.assert_stderr_has("`web.cache` sets `id: web.db`, which is the private id of `web.db`");
    assert_eq!(snapshot(&project), before);
}

/// The state remembers: web's private `db` was provisioned, then web renamed it. The old
/// resource (web's password) is still recorded; `id: web.db` must not take it over.
#[test]
fn an_explicit_id_cannot_take_over_a_recorded_private_resource() {
    let project = project();
    project.write("web.yaml", workload("web", ""));
    project.probe(&["generate", "web.yaml"]).run().assert_code(0);
    project.write(
        "web.yaml",
        workload("web", "").replace("  db:\n", "  database:\n").replace("resources.db.", "resources.database."),
    );
    project.probe(&["generate", "web.yaml"]).run().assert_code(0);
    let state = String::from_utf8(project.read(".score-fly/state.json")).unwrap();
    assert!(state.contains("postgres.default#web.db"), "the old resource is still recorded");

    project.write("api.yaml", workload("api", "    id: web.db\n"));
    let before = snapshot(&project);
    let probe = project.probe(&["generate", "api.yaml"]).run();
    probe.assert_code(3);
    probe
        .assert_stderr_has("`api.db` sets `id: web.db`, but the project state records `postgres.default#web.db` as the private resource of `web.db`")
        .assert_stderr_has("cargo score-fly resources deprovision postgres.default#web.db");
    assert_eq!(snapshot(&project), before);
}

/// The other way round: `api` provisioned `id: web.db` when no `web` existed, then moved to
/// another id; web's new private `db` must not inherit api's old resource.
#[test]
fn a_private_resource_cannot_inherit_a_recorded_explicit_one() {
    let project = project();
    project.write("api.yaml", workload("api", "    id: web.db\n"));
    project.probe(&["generate", "api.yaml"]).run().assert_code(0);
    project.write("api.yaml", workload("api", "    id: api-db\n"));
    project.probe(&["generate", "api.yaml"]).run().assert_code(0);

    project.write("web.yaml", workload("web", ""));
    let before = snapshot(&project);
    let probe = project.probe(&["generate", "web.yaml"]).run();
    probe.assert_code(3);
    probe.assert_stderr_has(
        "resource `postgres.default#web.db` of `web.db` (declared without an `id`) is recorded in the project state as provisioned for `api.db`",
    );
    assert_eq!(snapshot(&project), before);
}

/// Sharing still works: both declare the explicit id (web opts in by naming it).
#[test]
fn declarations_sharing_one_explicit_id_still_share() {
    let project = project();
    project.write("web.yaml", workload("web", "    id: web.db\n"));
    project.write("api.yaml", workload("api", "    id: web.db\n"));
    project.probe(&["generate", "web.yaml", "api.yaml"]).run().assert_code(0);
    let state: serde_json::Value = serde_json::from_slice(&project.read(".score-fly/state.json")).unwrap();
    assert_eq!(state["resources"]["postgres.default#web.db"]["declared_by"], serde_json::json!(["api.db", "web.db"]));
}

/// A Score file name that once injected a key into fly.toml through its header comment.
const HOSTILE_NAME: &str = "score\nprimary_region = \"evil\"\n#.yaml";

#[test]
fn a_score_file_name_cannot_add_keys_to_fly_toml() {
    let project = Project::new();
    project.write(HOSTILE_NAME, crate::support::WEB);
    let probe = project.probe(&["generate", HOSTILE_NAME]).run();
    probe.assert_code(0);
    let text = project.fly_toml("fly_web.toml");
    let table: toml::Table = text.parse().expect("fly.toml is TOML");
    assert!(!table.contains_key("primary_region"), "the name added a key:\n{text}");
    assert_eq!(table["app"].as_str(), Some("web"));
    // The name is shown, escaped, on the one comment line.
    let first = text.lines().next().unwrap();
    assert_eq!(
        first,
        "# Generated by score-fly from score\\nprimary_region = \"evil\"\\n#.yaml. Edit the Score file, not this file."
    );
    // A later run (for another workload) writes web's fly.toml again from the recorded name.
    project.write("other.yaml", crate::support::workload("other"));
    let again = project.probe(&["generate", "other.yaml"]).run();
    again.assert_code(0);
    assert_eq!(project.fly_toml("fly_web.toml"), text);
}

#[test]
fn control_characters_and_line_separators_in_a_name_are_escaped() {
    let project = Project::new();
    let name = "a\r[env]\u{85}X = \"1\"\u{2028}\u{202e}\u{1b}[31m\\.yaml";
    project.write(name, crate::support::WEB);
    project.probe(&["generate", name]).run().assert_code(0);
    let text = project.fly_toml("fly_web.toml");
    let table: toml::Table = text.parse().expect("fly.toml is TOML");
    assert!(!table.contains_key("env"), "{text}");
    let first = text.lines().next().unwrap();
    assert!(first.contains("from a\\r[env]\\u{0085}X = \"1\"\\u{2028}\\u{202e}\\u{001b}[31m\\\\.yaml."), "{first:?}");
    assert!(!text.contains(['\r', '\u{85}', '\u{2028}', '\u{202e}', '\u{1b}']), "{text:?}");
}

/// A file name that is not UTF-8 cannot be recorded in the state (JSON text): refused,
/// escaped, before anything is written (it used to panic after fly.toml was written).
#[test]
fn a_score_file_name_that_is_not_utf8_is_refused_before_anything_is_written() {
    use std::os::unix::ffi::OsStrExt as _;
    let project = Project::new();
    let name = std::ffi::OsStr::from_bytes(b"bad\xff\nname.yaml");
    std::fs::write(project.path().join(name), crate::support::WEB).unwrap();
    let before = snapshot(&project);
    let mut command = project.command([std::ffi::OsStr::new("generate"), name]);
    let out = command.output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("the path \"bad\\xff\\nname.yaml\" is not valid UTF-8"), "{stderr}");
    assert_eq!(snapshot(&project), before);
}

/// cargo accepts a `[[bin]]` name with a line break; written into the Dockerfile it would
/// add instructions (a comment line, then `RUN`). Refused, naming it escaped.
#[test]
fn a_binary_name_cannot_add_dockerfile_instructions() {
    let project = Project::new();
    project.write(
        "Cargo.toml",
        "[package]\nname = \"svc\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[[bin]]\nname = \"svc\\nRUN echo pwned\"\npath = \"src/main.rs\"\n",
    );
    project.write("src/main.rs", "fn main() {}\n");
    project.write("score.yaml", crate::support::WEB);
    let before = snapshot(&project);
    let probe = project.probe(&["build", "--builder", "dockerfile"]).run();
    probe.assert_code(3);
    probe.assert_stderr_has("failed to write a Dockerfile for binary `svc\\nRUN echo pwned`");
    assert_eq!(snapshot(&project), before, "{}", probe.stderr);
}

/// Ids that differ, but from which a builtin derives the same Fly name (the same first
/// characters, all a name keeps, and the same 24-bit hash of the uid — found here by a
/// birthday search, as anyone could): the second would adopt the first's Redis database and
/// read its URL (password included). The plan refuses it before anything is created.
#[test]
fn two_ids_that_would_share_a_builtin_fly_name_are_refused() {
    let base = "c".repeat(49);
    let mut seen = std::collections::BTreeMap::new();
    let (first, second) = (0..)
        .find_map(|n| {
            let id = format!("{base}-{n}");
            let name =
                score_fly_core::builtin::derived_name("redis", "demo-", &format!("redis.default#{id}"), &id).unwrap();
            seen.insert(name, id.clone()).map(|first| (first, id))
        })
        .unwrap();
    let project = Project::new();
    project.write(".score-fly/fly.provisioners.yaml", "- id: redis\n  type: redis\n  builtin: redis\n");
    let redis = |name: &str, id: &str| {
        format!(
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: {name}\ncontainers:\n  main:\n    image: nginx\nresources:\n  cache:\n    type: redis\n    id: {id}\n"
        )
    };
    project.write("web.yaml", redis("web", &first));
    project.write("api.yaml", redis("api", &second));
    let before = snapshot(&project);
    let probe = project.probe(&["generate", "web.yaml", "api.yaml", "--app-prefix", "demo-"]).run();
    probe.assert_code(3);
    probe.assert_stderr_has(&format!(
        "resource `redis.default#{second}` (declared by api.cache) and resource `redis.default#{first}` (declared by web.cache) would both be `demo-redis-"
    ));
    assert_eq!(snapshot(&project), before, "nothing provisioned or written:\n{}", probe.stderr);
}
