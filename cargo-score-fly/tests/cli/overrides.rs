//! What the command line changes in the written fly.toml: `--app-prefix`, `--image`,
//! `--override-property`, `--overrides-file`, and how their mistakes are reported.

use crate::support::{Project, WEB};

#[test]
fn app_prefix_prefixes_the_fly_app_name() {
    let project = Project::with_score(WEB);
    let run = project.generate_ok(&["generate", "--app-prefix", "acme-"]);
    run.assert_line("   Generated fly_web.toml (app acme-web)");
    let toml = project.fly_toml("fly_web.toml");
    assert!(toml.contains("app = \"acme-web\"\n"), "{toml}");
}

#[test]
fn app_prefix_that_makes_an_invalid_app_name_is_refused() {
    let project = Project::with_score(WEB);
    let run = project.fails(&["generate", "--app-prefix", "Acme_"], 3);
    let error = run.assert_error_at("metadata.name: app name `Acme_web`", "score.yaml:3:9", "  name: web");
    assert!(error.contains("(app prefix `Acme_`)"), "{error}");
    run.assert_line("error: workload `web` cannot run on Fly as written (1 problem)");
}

const BUILT_HERE: &str = "\
apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  main:
    image: .
";

#[test]
fn image_replaces_the_dot_image() {
    let project = Project::with_score(BUILT_HERE);
    project.generate_ok(&["generate", "--image", "registry.fly.io/web:deploy-42"]);
    let toml = project.fly_toml("fly_web.toml");
    assert!(toml.contains("[build]\nimage = \"registry.fly.io/web:deploy-42\"\n"), "{toml}");
}

#[test]
fn dot_image_without_image_or_dockerfile_is_refused() {
    let project = Project::with_score(BUILT_HERE);
    let run = project.fails(&["generate"], 3);
    let error = run.assert_error_at("containers.main.image: image `.`", "score.yaml:6:12", "    image: .");
    assert!(error.contains("--image"), "the message says how to fix it: {error}");
}

#[test]
fn dot_image_builds_with_the_dockerfile_beside_the_score_file() {
    let project = Project::new();
    project.write("svc/score.yaml", BUILT_HERE);
    project.write("svc/Dockerfile", "FROM scratch\n");
    project.generate_ok(&["generate", "svc/score.yaml"]);
    let toml = project.fly_toml("fly_web.toml");
    assert!(toml.contains("[build]\ndockerfile = \"svc/Dockerfile\"\n"), "{toml}");
}

#[test]
fn image_that_replaces_nothing_is_a_warning() {
    let project = Project::with_score(WEB);
    let run = project.generate_ok(&["generate", "--image", "other:1"]);
    run.assert_stderr_has("warning: --image was given but no container has image `.`; nothing replaced");
    assert!(project.fly_toml("fly_web.toml").contains("image = \"nginx\""));
}

const VARIABLES: &str = "\
apiVersion: score.dev/v1b1
metadata:
  name: web
  annotations:
    score-fly/kill-signal: SIGINT
containers:
  main:
    image: nginx
    variables:
      KEEP: kept
      DROP: dropped
      GREETING: hello
";

#[test]
fn override_property_sets_and_deletes() {
    let project = Project::with_score(VARIABLES);
    project.generate_ok(&[
        "generate",
        "--override-property",
        "containers.main.variables.GREETING=hi there",
        "--override-property",
        "containers.main.variables.ADDED=new",
        "--override-property",
        "containers.main.variables.DROP=",
        "--override-property",
        "metadata.annotations.score-fly/kill-signal=",
    ]);
    let toml = project.fly_toml("fly_web.toml");
    assert!(toml.contains("[env]\nADDED = \"new\"\nGREETING = \"hi there\"\nKEEP = \"kept\"\n"), "{toml}");
    assert!(!toml.contains("DROP"), "{toml}");
    assert!(!toml.contains("kill_signal"), "{toml}");
}

#[test]
fn override_property_escaped_dot_stays_in_the_key() {
    let project = Project::with_score(WEB);
    // score-flyio's annotation prefix holds dots; `\.` keeps them in one key.
    project.generate_ok(&[
        "generate",
        "--override-property",
        r#"metadata.annotations.score-flyio\.astromechza\.github\.com/swap-size-mb="512""#,
    ]);
    let toml = project.fly_toml("fly_web.toml");
    assert!(toml.contains("swap_size_mb = 512\n"), "{toml}");
}

#[test]
fn override_property_value_is_yaml_and_errors_point_at_the_flag() {
    let project = Project::with_score(WEB);
    let property = "containers.main.variables.PORT=8080";
    let run = project.fails(&["generate", "--override-property", property], 3);
    // An argument is named as such, without a line and column, and its text is shown.
    let lines: Vec<&str> = run.stderr.lines().collect();
    let at = lines
        .iter()
        .position(|l| {
            l.starts_with("error: containers.main.variables.PORT: variable values must be strings, found integer")
        })
        .unwrap_or_else(|| panic!("{}", run.stderr));
    assert_eq!(lines[at + 1], format!("  --> --override-property {property}"), "{}", run.stderr);
    assert_eq!(lines[at + 3], format!(" 1 | {property}"), "{}", run.stderr);
    run.assert_line("error: score.yaml is not a valid Score file (1 problem)");
    // Quoted, the same value is a string.
    project.generate_ok(&["generate", "--override-property", r#"containers.main.variables.PORT="8080""#]);
    assert!(project.fly_toml("fly_web.toml").contains("PORT = \"8080\""));
}

#[test]
fn override_property_without_equals_is_refused() {
    let project = Project::with_score(WEB);
    let run = project.fails(&["generate", "--override-property", "metadata.name"], 3);
    run.assert_stderr_has("--override-property `metadata.name` must be `path=value`");
}

const OVERRIDES: &str = "\
metadata:
  annotations:
    score-fly/kill-signal: null
    score-fly/primary-region: ams
containers:
  main:
    image: nginx:1.27
    variables:
      DROP: null
      ADDED: from-file
";

#[test]
fn overrides_file_deep_merges_and_null_deletes() {
    let project = Project::with_score(VARIABLES);
    project.write("prod.yaml", OVERRIDES);
    project.write("late.yaml", "containers:\n  main:\n    variables:\n      ADDED: from-second-file\n");
    project.generate_ok(&["generate", "--overrides-file", "prod.yaml", "--overrides-file", "late.yaml"]);
    let toml = project.fly_toml("fly_web.toml");
    assert!(toml.contains("primary_region = \"ams\"\n"), "added annotation: {toml}");
    assert!(!toml.contains("kill_signal"), "null deleted the annotation: {toml}");
    assert!(toml.contains("image = \"nginx:1.27\""), "replaced scalar: {toml}");
    assert!(toml.contains("KEEP = \"kept\""), "siblings survive a deep merge: {toml}");
    assert!(toml.contains("GREETING = \"hello\""), "siblings survive a deep merge: {toml}");
    assert!(!toml.contains("DROP"), "null deleted the variable: {toml}");
    assert!(toml.contains("ADDED = \"from-second-file\""), "files merge in order: {toml}");
}

#[test]
fn overrides_file_then_override_property() {
    let project = Project::with_score(VARIABLES);
    project.write("prod.yaml", OVERRIDES);
    project.generate_ok(&[
        "generate",
        "--overrides-file",
        "prod.yaml",
        "--override-property",
        "containers.main.variables.ADDED=from-flag",
    ]);
    assert!(project.fly_toml("fly_web.toml").contains("ADDED = \"from-flag\""));
}

#[test]
fn overrides_file_errors_name_the_file() {
    let project = Project::with_score(WEB);
    let run = project.fails(&["generate", "--overrides-file", "missing.yaml"], 3);
    run.assert_stderr_has("error: cannot read overrides file: failed to read missing.yaml:");

    project.write("bad.yaml", "containers:\n  main:\n    image: [nginx\n    x: y\n");
    let run = project.fails(&["generate", "--overrides-file", "bad.yaml"], 3);
    assert_eq!(run.locations(), 1, "{}", run.stderr);
    run.assert_stderr_has("  --> bad.yaml:");
    run.assert_stderr_has("error: invalid YAML:");

    // A merged value that breaks the schema points into the overrides file.
    project.write("typed.yaml", "containers:\n  main:\n    image: 42\n");
    let run = project.fails(&["generate", "--overrides-file", "typed.yaml"], 3);
    run.assert_error_at("containers.main.image: must be a string", "typed.yaml:3:12", "    image: 42");
}

#[test]
fn overrides_with_several_score_files_are_refused() {
    let project = Project::with_score(WEB);
    project.write("other.yaml", WEB.replace("name: web", "name: other"));
    let run = project.fails(&["generate", "score.yaml", "other.yaml", "--override-property", "metadata.name=x"], 3);
    run.assert_stderr_has("--overrides-file and --override-property apply to one workload");
}
