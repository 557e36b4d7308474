//! Failures: invalid input (exit 3) with every problem located and shown, usage errors
//! (exit 2), and write failures (exit 1). No failing run may write anything
//! ([`Project::fails`] compares the whole folder before and after).

use crate::support::{Project, WEB, workload};

/// Exit code for invalid input (`src/exit.rs`).
const INVALID: i32 = 3;
/// Exit code for a wrong command line.
const USAGE: i32 = 2;
/// Exit code for a failure that is not the input's fault (I/O).
const FAILURE: i32 = 1;

// ---------------------------------------------------------------------------------------
// Invalid Score files

#[test]
fn malformed_yaml() {
    let project = Project::with_score(
        "\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: nginx: latest
",
    );
    let run = project.fails(&["generate"], INVALID);
    run.assert_error_at("invalid YAML: mapping values are not allowed", "score.yaml:6:17", "    image: nginx: latest");
    run.assert_line("error: score.yaml is not a valid Score file (1 problem)");
}

#[test]
fn malformed_yaml_at_the_end_of_the_file_shows_a_source_line() {
    let project = Project::with_score("apiVersion: score.dev/v1b1\nmetadata:\n  name: [web\n");
    let run = project.fails(&["generate"], INVALID);
    let lines: Vec<&str> = run.stderr.lines().collect();
    let at = lines.iter().position(|l| l.starts_with("  --> score.yaml:")).expect("a location");
    assert!(lines[at - 1].starts_with("error: invalid YAML: "), "{}", run.stderr);
    assert!(lines.get(at + 2).is_some_and(|l| l.contains(" | ")), "a source line\n{}", run.stderr);
    assert!(lines.get(at + 3).is_some_and(|l| l.trim_end().ends_with('^')), "a caret\n{}", run.stderr);
}

#[test]
fn wrong_types_are_all_reported() {
    let project = Project::with_score(
        "\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: 5
    args: foo
    variables:
      X: [1]
",
    );
    let run = project.fails(&["generate"], INVALID);
    run.assert_error_at("containers.main.image: must be a string, found integer", "score.yaml:6:12", "    image: 5");
    run.assert_error_at("containers.main.args: must be a list of strings", "score.yaml:7:11", "    args: foo");
    run.assert_error_at(
        "containers.main.variables.X: variable values must be strings",
        "score.yaml:9:10",
        "      X: [1]",
    );
    run.assert_line("error: score.yaml is not a valid Score file (3 problems)");
    assert_eq!(run.locations(), 3);
}

#[test]
fn unknown_field() {
    let project = Project::with_score(&format!("{WEB}    imag: nginx\n"));
    let run = project.fails(&["generate"], INVALID);
    let error = run.assert_error_at("containers.main.imag: unknown field `imag`", "score.yaml:7:5", "    imag: nginx");
    assert!(error.contains("`image`"), "lists the known fields: {error}");
}

#[test]
fn invalid_workload_name() {
    let project = Project::with_score(&WEB.replace("name: web", "name: Web_1"));
    let run = project.fails(&["generate"], INVALID);
    run.assert_error_at("metadata.name: workload name `Web_1` is not valid", "score.yaml:3:9", "  name: Web_1");
}

#[test]
fn three_independent_problems_are_three_errors() {
    let project = Project::with_score(
        "\
apiVersion: score.dev/v1b1
metadata:
  name: Web
containers:
  main:
    image: \"\"
    imag: x
",
    );
    let run = project.fails(&["generate"], INVALID);
    run.assert_error_at("metadata.name: ", "score.yaml:3:9", "  name: Web");
    run.assert_error_at("containers.main.image: must not be empty", "score.yaml:6:12", "    image: \"\"");
    run.assert_error_at("containers.main.imag: unknown field", "score.yaml:7:5", "    imag: x");
    assert_eq!(run.locations(), 3, "{}", run.stderr);
    assert_eq!(run.errors().len(), 4, "three problems and the summary: {}", run.stderr);
    assert_eq!(run.errors()[3], "error: score.yaml is not a valid Score file (3 problems)");
}

#[test]
fn broken_placeholders() {
    let project = Project::with_score(&format!(
        "{WEB}    variables:\n      A: ${{resources.nope.x}}\n      B: ${{env.X}}\n      C: ${{metadata.name}}\n"
    ));
    let run = project.fails(&["generate"], INVALID);
    let a = run.assert_error_at(
        "containers.main.variables.A: invalid reference `${resources.nope.x}`",
        "score.yaml:8:10",
        "      A: ${resources.nope.x}",
    );
    assert!(a.contains("no resource named `nope`"), "{a}");
    let b = run.assert_error_at(
        "containers.main.variables.B: invalid reference `${env.X}`",
        "score.yaml:9:10",
        "      B: ${env.X}",
    );
    assert!(b.contains("unknown reference root `env`"), "{b}");
    run.assert_line("error: score.yaml is not a valid Score file (2 problems)");
}

#[test]
fn missing_score_file_is_named() {
    let project = Project::new();
    let run = project.fails(&["generate"], INVALID);
    assert_eq!(run.errors().len(), 1, "{}", run.stderr);
    run.assert_stderr_has("error: cannot read Score file score.yaml: ");
    run.assert_stderr_has("or pass the path of your Score file");

    let run = project.fails(&["generate", "svc/nope.yaml"], INVALID);
    run.assert_stderr_has("error: cannot read Score file svc/nope.yaml: ");
    run.assert_stderr_has("; check the path");
}

#[test]
fn unreadable_score_files_are_named() {
    let project = Project::new();
    std::fs::create_dir(project.path().join("folder.yaml")).unwrap();
    let run = project.fails(&["generate", "folder.yaml"], INVALID);
    run.assert_stderr_has("error: cannot read Score file folder.yaml: ");

    project.write("latin1.yaml", b"apiVersion: score.dev/v1b1\n# caf\xe9\n");
    let run = project.fails(&["generate", "latin1.yaml"], INVALID);
    run.assert_stderr_has("error: cannot read Score file latin1.yaml: ");
}

// ---------------------------------------------------------------------------------------
// Valid Score, but Fly cannot run it

#[test]
fn two_containers_without_an_image_container() {
    let project = Project::with_score(&format!("{WEB}  sidecar:\n    image: busybox\n"));
    let run = project.fails(&["generate"], INVALID);
    let error = run.assert_error_at(
        "containers: this workload has 2 containers (main, sidecar) and none has image `.`",
        "score.yaml:5:3",
        "  main:",
    );
    assert!(error.contains("set the annotation `score-fly/image-container`"), "{error}");
    run.assert_line("error: workload `web` cannot run on Fly as written (1 problem)");
}

#[test]
fn file_mode_fly_cannot_set() {
    let project = Project::with_score(&format!(
        "{WEB}    files:\n      /etc/key.pem:\n        content: x\n        mode: \"0600\"\n"
    ));
    let run = project.fails(&["generate"], INVALID);
    let error = run.assert_error_at(
        "containers.main.files[\"/etc/key.pem\"].mode: file `/etc/key.pem` asks for mode 0600",
        "score.yaml:10:15",
        "        mode: \"0600\"",
    );
    assert!(error.contains("0644"), "{error}");
}

#[test]
fn unknown_score_fly_annotation() {
    let project = Project::with_score(&WEB.replace(
        "  name: web\n",
        "  name: web\n  annotations:\n    score-fly/primary-regoin: ams\n    example.com/free: anything\n",
    ));
    let run = project.fails(&["generate"], INVALID);
    let error = run.assert_error_at(
        "metadata.annotations[\"score-fly/primary-regoin\"]: unknown score-fly annotation `primary-regoin`",
        "score.yaml:5:31",
        "    score-fly/primary-regoin: ams",
    );
    assert!(error.contains("primary-region"), "lists the known keys: {error}");
    run.assert_line("error: workload `web` cannot run on Fly as written (1 problem)");
}

#[test]
fn missing_source_file() {
    let project = Project::new();
    project.write("svc/score.yaml", format!("{WEB}    files:\n      /etc/app.conf:\n        source: app.conf\n"));
    let run = project.fails(&["generate", "svc/score.yaml"], INVALID);
    let error = run.assert_error_at(
        "containers.main.files[\"/etc/app.conf\"].source: cannot read source file",
        "svc/score.yaml:9:17",
        "        source: app.conf",
    );
    let expected = project.path().join("svc/app.conf");
    assert!(error.contains(&expected.display().to_string()), "names the file it looked for: {error}");
}

#[test]
fn every_conversion_problem_is_reported() {
    let project = Project::with_score(
        "\
apiVersion: score.dev/v1b1
metadata:
  name: web
  annotations:
    score-fly/frobnicate: \"yes\"
containers:
  main:
    image: nginx
    files:
      /etc/key.pem:
        mode: \"0600\"
        binaryContent: \"not base64!\"
      /etc/app.conf:
        source: missing.conf
  sidecar:
    image: busybox
",
    );
    let run = project.fails(&["generate"], INVALID);
    run.assert_error_at(
        "metadata.annotations[\"score-fly/frobnicate\"]: unknown score-fly annotation",
        "score.yaml:5:27",
        "    score-fly/frobnicate: \"yes\"",
    );
    run.assert_error_at("containers: this workload has 2 containers", "score.yaml:7:3", "  main:");
    run.assert_error_at(
        "containers.main.files[\"/etc/key.pem\"].binaryContent: ",
        "score.yaml:12:24",
        "        binaryContent: \"not base64!\"",
    );
    run.assert_error_at(
        "containers.main.files[\"/etc/app.conf\"].source: ",
        "score.yaml:14:17",
        "        source: missing.conf",
    );
    run.assert_line("error: workload `web` cannot run on Fly as written (4 problems)");
    assert_eq!(run.locations(), 4);
}

const WITH_RESOURCE: &str = "\
apiVersion: score.dev/v1b1
metadata:
  name: api
containers:
  main:
    image: nginx
    variables:
      DB_HOST: ${resources.db.host}
resources:
  db:
    type: mysql
";

#[test]
fn resource_without_provisioner() {
    let project = Project::with_score(WITH_RESOURCE);
    let run = project.fails(&["generate"], INVALID);
    let error = run
        .errors()
        .into_iter()
        .find(|e| e.contains("no provisioner for resource `mysql.default#api.db`"))
        .unwrap_or_else(|| panic!("no provisioner error\n{}", run.stderr));
    assert!(error.starts_with("error: resources.db: "), "names the field: {error}");
    assert!(run.stderr.contains("  --> score.yaml:"), "names the file\n{}", run.stderr);
}

#[test]
fn resource_without_provisioner_is_located() {
    let project = Project::with_score(WITH_RESOURCE);
    let run = project.fails(&["generate"], INVALID);
    let lines: Vec<&str> = run.stderr.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.contains("no provisioner for resource `mysql.default#api.db`"))
        .unwrap_or_else(|| panic!("no provisioner error\n{}", run.stderr));
    assert!(lines[at].starts_with("error: resources.db: "), "field path first: {}", lines[at]);
    let location = lines.get(at + 1).copied().unwrap_or_default();
    assert!(
        ["  --> score.yaml:10:3", "  --> score.yaml:11:5"].contains(&location),
        "points at resources.db: {location:?}\n{}",
        run.stderr
    );
    assert!(
        lines.get(at + 4).is_some_and(|l| l.trim_end().ends_with('^')),
        "caret under the source line\n{}",
        run.stderr
    );
}

#[test]
fn resource_without_provisioner_does_not_hide_other_problems() {
    let text = WITH_RESOURCE.replace(
        "      DB_HOST: ${resources.db.host}\n",
        "      DB_HOST: ${resources.db.host}\n    files:\n      /etc/key.pem:\n        mode: \"0600\"\n        binaryContent: \"not base64!\"\n  sidecar:\n    image: busybox\n",
    );
    let project = Project::with_score(&text);
    let run = project.fails(&["generate"], INVALID);
    run.assert_stderr_has("no provisioner for resource `mysql.default#api.db`");
    run.assert_error_at("containers: this workload has 2 containers", "score.yaml:5:3", "  main:");
    run.assert_error_at(
        "containers.main.files[\"/etc/key.pem\"].binaryContent: ",
        "score.yaml:12:24",
        "        binaryContent: \"not base64!\"",
    );
}

// ---------------------------------------------------------------------------------------
// Several files: all or nothing

#[test]
fn nothing_is_written_when_a_later_file_is_invalid() {
    let project = Project::new();
    project.write("good.yaml", workload("good"));
    project.write("bad.yaml", workload("bad").replace("image: nginx", "image: \"\""));
    for args in [["generate", "good.yaml", "bad.yaml"], ["generate", "bad.yaml", "good.yaml"]] {
        let run = project.fails(&args, INVALID);
        run.assert_error_at("containers.main.image: must not be empty", "bad.yaml:6:12", "    image: \"\"");
        run.assert_line("error: bad.yaml is not a valid Score file (1 problem)");
        assert!(!run.stderr.contains("Generated"), "{}", run.stderr);
    }
}

#[test]
fn nothing_is_written_when_a_later_workload_cannot_run() {
    let project = Project::new();
    project.write("good.yaml", workload("good"));
    project.write("two.yaml", format!("{}  sidecar:\n    image: busybox\n", workload("two")));
    project.write("api.yaml", WITH_RESOURCE);
    let run = project.fails(&["generate", "good.yaml", "two.yaml"], INVALID);
    run.assert_error_at("containers: this workload has 2 containers", "two.yaml:5:3", "  main:");
    let run = project.fails(&["generate", "good.yaml", "api.yaml", "-o", "out/"], INVALID);
    run.assert_stderr_has("no provisioner for resource `mysql.default#api.db`");
    let run = project.fails(&["generate", "good.yaml", "missing.yaml"], INVALID);
    run.assert_stderr_has("cannot read Score file missing.yaml");
}

#[test]
fn every_invalid_file_is_reported() {
    let project = Project::new();
    project.write("a.yaml", workload("Alpha"));
    project.write("b.yaml", format!("{}    imag: x\n", workload("beta")));
    let run = project.fails(&["generate", "a.yaml", "b.yaml"], INVALID);
    run.assert_error_at("metadata.name: ", "a.yaml:3:9", "  name: Alpha");
    run.assert_error_at("containers.main.imag: unknown field", "b.yaml:7:5", "    imag: x");
    run.assert_line("error: a.yaml is not a valid Score file (1 problem)");
    run.assert_line("error: b.yaml is not a valid Score file (1 problem)");
}

#[test]
fn an_existing_fly_toml_is_left_untouched_on_error() {
    let project = Project::with_score(WEB);
    project.generate_ok(&["generate"]);
    project.write("score.yaml", WEB.replace("nginx", "\"\""));
    // `fails` checks the previous fly_web.toml is byte-identical afterwards.
    project.fails(&["generate"], INVALID);
}

#[test]
fn output_over_an_input_file_is_refused() {
    let project = Project::with_score(WEB);
    // `fails` checks that score.yaml is still byte-identical afterwards.
    let run = project.fails(&["generate", "-o", "score.yaml"], INVALID);
    run.assert_stderr_has("score.yaml");
    project.write("prod.yaml", "metadata:\n  annotations:\n    team: a\n");
    project.fails(&["generate", "--overrides-file", "prod.yaml", "-o", "prod.yaml"], INVALID);
}

// ---------------------------------------------------------------------------------------
// Usage errors

#[test]
fn usage_errors_exit_2() {
    let project = Project::with_score(WEB);
    let cases: [(&[&str], &str); 6] = [
        (&["generate", "--frob"], "unexpected argument '--frob'"),
        (&["generate", "-o"], "a value is required for '--output <PATH>'"),
        (&["generate", "--color", "sometimes"], "invalid value 'sometimes' for '--color <WHEN>'"),
        (&["generate", "-q", "-v"], "cannot be used with"),
        (&["frobnicate"], "unrecognized subcommand 'frobnicate'"),
        (&[], "Usage: cargo score-fly"),
    ];
    for (args, message) in cases {
        let run = project.fails(args, USAGE);
        assert!(run.stderr.contains(message), "{args:?}: stderr lacks {message:?}\n{}", run.stderr);
        assert_eq!(run.stdout, "", "{args:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Write failures: exit 1, the path named, no file (temporary or not) left behind

/// Panics if any entry of the project is a leftover temporary file.
fn assert_no_temp_files(project: &Project) {
    let leftovers: Vec<_> = project.entries().into_iter().filter(|p| p.to_string_lossy().ends_with(".tmp")).collect();
    assert!(leftovers.is_empty(), "temporary files left behind: {leftovers:?}");
}

#[test]
fn output_path_taken_by_a_folder() {
    let project = Project::with_score(WEB);
    project.write("fly_web.toml/keep", "");
    let run = project.fails(&["generate"], FAILURE);
    assert_eq!(run.errors().len(), 1, "{}", run.stderr);
    run.assert_stderr_has("error: failed to write fly_web.toml: ");
    assert_no_temp_files(&project);
}

#[test]
fn output_parent_is_a_file() {
    let project = Project::with_score(WEB);
    project.write("blocker", "not a folder");
    let run = project.fails(&["generate", "-o", "blocker/fly.toml"], FAILURE);
    run.assert_stderr_has("error: failed to create folder blocker: ");
    assert_no_temp_files(&project);
}

#[test]
fn generated_file_folder_is_a_file() {
    let project = Project::with_score(
        "\
apiVersion: score.dev/v1b1
metadata:
  name: files
containers:
  main:
    image: nginx
    files:
      /etc/logo.bin:
        binaryContent: AAEC
",
    );
    project.write(".score-fly", "not a folder");
    let run = project.fails(&["generate"], FAILURE);
    run.assert_stderr_has("error: failed to use .score-fly: it is not a folder");
    assert_no_temp_files(&project);
}

#[cfg(unix)]
#[test]
fn output_folder_is_read_only() {
    use std::os::unix::fs::PermissionsExt as _;

    let project = Project::with_score(WEB);
    let dir = project.path().join("ro");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    if std::fs::write(dir.join("probe"), "").is_ok() {
        // Privileged users (root in a container) write anyway; the other write-failure
        // tests cover the same code path.
        std::fs::remove_file(dir.join("probe")).unwrap();
        eprintln!("skipped: a read-only folder is writable for this user");
        return;
    }
    let run = project.fails(&["generate", "-o", "ro/fly.toml"], FAILURE);
    run.assert_stderr_has("error: failed to write ro/fly.toml: ");
    assert_no_temp_files(&project);
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}
