//! Bad input never costs the previous state: a state file that is not valid or has an
//! unknown version is an error naming it (and stays as it is), and a provisioner answering
//! garbage fails its resource while what was provisioned before is kept.

use crate::fixtures::{API, CALLS, FAILURE, INVALID, STATE, uid};
use crate::support::Project;

/// Every command that reads the state.
const READERS: &[&[&str]] = &[
    &["generate"],
    &["init"],
    &["resources", "list"],
    &["resources", "get-outputs", "postgres.default#api.db"],
    &["resources", "deprovision", "postgres.default#api.db"],
];

/// A project with `api` generated (both resources provisioned).
fn generated() -> Project {
    let project = Project::with_provisioners();
    project.write("score.yaml", API);
    project.generate_ok(&["generate"]);
    project
}

#[test]
fn a_corrupt_state_file_is_an_error_naming_it_and_is_left_alone() {
    for garbage in [&b"{\"version\": 1, \"app_prefix\": \"\", \"resources\": {"[..], b"\x00\x01garbage", b"[]", b""] {
        let project = generated();
        project.write(STATE, garbage);
        for args in READERS {
            let run = project.fails(args, INVALID);
            let error = run.errors().join("\n");
            assert!(
                error.starts_with("error: the state file .score-fly/state.json is corrupt: "),
                "`{}` on {garbage:?}: {error}",
                args.join(" ")
            );
            assert!(error.contains("restore it from a backup, or move it away"), "{error}");
        }
        assert_eq!(project.read(STATE), garbage);
    }
}

#[test]
fn a_state_entry_missing_a_field_is_corrupt_too() {
    let project = generated();
    let mut state = project.state_json();
    let entry = state["resources"][uid("postgres", "api", "db")].as_object_mut().expect("an entry");
    entry.remove("fingerprint");
    let text = serde_json::to_string_pretty(&state).expect("JSON");
    project.write(STATE, &text);
    let run = project.fails(&["generate"], INVALID);
    run.assert_stderr_has("the state file .score-fly/state.json is corrupt: missing field `fingerprint`");
    assert_eq!(project.read(STATE), text.as_bytes());
}

#[test]
fn an_unknown_version_is_an_error_naming_it() {
    let project = generated();
    let mut state = project.state_json();
    state["version"] = 99.into();
    let text = serde_json::to_string_pretty(&state).expect("JSON");
    project.write(STATE, &text);
    for args in READERS {
        let run = project.fails(args, INVALID);
        run.assert_line("error: the state file .score-fly/state.json has version 99, but this score-fly reads version 1; use a score-fly release that knows version 99");
    }
    assert_eq!(project.read(STATE), text.as_bytes());
}

#[test]
fn invalid_json_from_a_provisioner_keeps_the_previous_state() {
    let project = generated();
    let state = project.read(STATE);
    let toml = project.read("fly_api.toml");
    project.script("prov.sh", "cat > /dev/null\necho provisioning >> calls.log\necho '{\"values\": {\"host\": '\n");
    let run = project.run(&["generate", "--reprovision"]);
    run.assert_code(FAILURE);
    let db = uid("postgres", "api", "db");
    run.assert_line(&format!("Provisioning {db} with pg"));
    let error = run.errors()[0];
    assert!(
        error.starts_with(&format!("error: failed to provision `{db}`: the output of `./prov.sh` is not a provisioner response: it is not valid JSON")),
        "{error}"
    );
    run.assert_stderr_has("1 of 2 resources are ready and kept in the project state");
    assert_eq!(project.lines(CALLS).last().map(String::as_str), Some("provisioning"), "the provisioner ran");
    assert_eq!(project.read(STATE), state, "the previous outputs are kept");
    assert_eq!(project.read("fly_api.toml"), toml, "and the fly.toml made from them");

    // Valid JSON of the wrong shape: the same.
    project.script("prov.sh", "cat > /dev/null\necho '{\"values\": {}, \"outputs\": {}}'\n");
    let run = project.run(&["generate", "--reprovision"]);
    run.assert_code(FAILURE).assert_stderr_has(
        "is not a provisioner response: unknown field `outputs`, expected one of `state`, `values`, `secrets`, `shared`",
    );
    assert_eq!(project.read(STATE), state);

    // Nothing on stdout, or a failing exit: the same, quoting its stderr.
    project.script("prov.sh", "cat > /dev/null\necho 'cannot reach the database' >&2\nexit 7\n");
    let run = project.run(&["generate", "--reprovision"]);
    run.assert_code(FAILURE).assert_stderr_has("`./prov.sh` exited with status 7; the end of its stderr:");
    // Quoted once, as detail under its error (the passthrough line is prefixed by the uid).
    let quoted = run.stderr.lines().filter(|l| *l == "    cannot reach the database").count();
    assert_eq!(quoted, 1, "the tail of its stderr is quoted\n{}", run.stderr);
    project.script("prov.sh", "cat > /dev/null\n");
    let run = project.run(&["generate", "--reprovision"]);
    run.assert_code(FAILURE)
        .assert_stderr_has("`./prov.sh` printed no response on stdout (it wrote nothing on stderr)");
    assert_eq!(project.read(STATE), state);
}

#[test]
fn a_state_dir_that_is_a_file_is_an_error() {
    let project = Project::with_score(&crate::fixtures::with_db("api"));
    project.write(".score-fly", "not a folder");
    let run = project.fails(&["generate"], FAILURE);
    run.assert_stderr_has(".score-fly");
    project.fails(&["resources", "list"], FAILURE);
}
