//! Issue 11, a newcomer's first hour on a real service (points 1, 2, 6, 10 and 11): a cargo
//! package shaped like an axum + Postgres API, taken from `init` to `generate --check`.
//!
//! - `generate --check` with an `environment` resource reads it as `generate` does and
//!   compares the files (passes when up to date, fails when they differ);
//! - the app prefix: changeable while nothing exists on Fly under it (flag, `init
//!   --app-prefix`, the `app-prefix` setting), refused naming what exists once something does;
//!   proposed by `init` in a package (package name and a short suffix); `generate` without one
//!   warns and `deploy` refuses;
//! - `generate` without `init` registers the builtin provisioners as `deploy` does;
//! - `init` in a package writes this package's workload, or prints it as `#[score_workload]`
//!   (`--macro`) that `generate` reads as the same workload;
//! - the header of a fly.toml from `#[score_workload]` names the attribute and its source.

use crate::cargo_fixtures::{PLAIN_MAIN, no_prefix_warning};
use crate::fixtures::{FAILURE, INVALID, STATE};
use crate::support::Project;

/// The service's workload as the user wrote it: a token read from CI's environment.
const WITH_ENVIRONMENT: &str = "\
apiVersion: score.dev/v1b1
metadata:
  name: api
containers:
  main:
    image: nginx
    variables:
      RUST_LOG: info
      JWT_SECRET: ${resources.env.JWT_SECRET}
service:
  ports:
    web:
      port: 80
resources:
  env:
    type: environment
";

/// An image reference standing for one `build --push` made.
const IMAGE: &str = "registry.fly.io/pushed:v1";

/// A project state as `deploy` leaves it after creating app `acme-api` and provisioning the
/// shared Postgres database with the builtin provisioner.
fn deployed_state(prefix: &str) -> String {
    serde_json::json!({
        "version": 1,
        "app_prefix": prefix,
        "workloads": {},
        "resources": {
            "postgres.default#api.db": {
                "type": "postgres", "class": "default", "id": "api.db", "declared_by": ["api.db"],
                "provisioner": "builtin-postgres", "params": {}, "metadata": {}, "fingerprint": "0",
                "state": {"cluster": format!("{prefix}pg")}, "values": {}, "secrets": {}
            }
        },
        "shared": {},
        "deployments": { format!("{prefix}api"): { "deployed": true } }
    })
    .to_string()
}

/// A cargo package `realworld` (the service) in the project folder.
fn realworld(extra: &str) -> Project {
    let project = Project::new();
    project.package("", "realworld", extra, PLAIN_MAIN);
    project
}

/// The prefix the project state records.
fn prefix(project: &Project) -> String {
    project.state().app_prefix
}

// Point 1: `generate --check` is the CI gate; it must pass on an up-to-date project whose
// workload reads the environment, and fail when a generated file differs.
#[test]
fn check_passes_with_an_environment_resource_and_fails_when_a_file_differs() {
    let project = Project::with_score(WITH_ENVIRONMENT);
    project.run(&["init", "--app-prefix", "acme-", "--no-sample"]).assert_code(0);
    let env = [("JWT_SECRET", "s3cr3t-value")];
    project.generate_ok_env(&["generate"], &env);
    let committed = project.read("fly_api.toml");
    let state = project.read(STATE);

    let run = project.run_env(&["generate", "--check"], &env);
    run.assert_code(0).assert_line("     Checked 1 fly.toml file(s) are up to date");
    assert!(!run.stderr.contains("s3cr3t-value"), "the value is never shown: {}", run.stderr);
    assert_eq!(project.read(STATE), state, "--check saves nothing");

    // A changed variable changes fly.toml: --check names it.
    project.write("score.yaml", WITH_ENVIRONMENT.replace("RUST_LOG: info", "RUST_LOG: debug"));
    let run = project.run_env(&["generate", "--check"], &env);
    run.assert_code(FAILURE).assert_stderr_has("error: fly_api.toml is out of date");
    assert_eq!(project.read("fly_api.toml"), committed, "--check writes nothing");
    assert_eq!(project.read(STATE), state);

    // Without the variable, the check says which one (as generate would), never passes.
    project.write("score.yaml", WITH_ENVIRONMENT);
    let run = project.run(&["generate", "--check"]);
    run.assert_code(FAILURE).assert_stderr_has("`JWT_SECRET` is not set");
    assert_eq!(project.read(STATE), state);
}

// Point 6: `generate` without `init` uses the builtin provisioners, as `deploy` does.
#[test]
fn generate_without_init_registers_the_builtins_like_deploy() {
    let project = Project::with_score(WITH_ENVIRONMENT);
    let env = [("JWT_SECRET", "s3cr3t-value")];
    let run = project.generate_ok_env(&["generate", "--app-prefix", "acme-", "--secrets-file", "-"], &env);
    assert_eq!(run.stdout, "JWT_SECRET=s3cr3t-value\n", "the secret read from the environment");
    assert!(project.fly_toml("fly_api.toml").contains("app = \"acme-api\""));
    // Written like init writes it, so the next run (with a state) has them too.
    assert!(project.exists(".score-fly/default.provisioners.yaml"));
    let listed = project.run(&["provisioners", "list", "--format", "json"]);
    listed.assert_code(0);
    assert!(listed.stdout.contains("\"builtin-environment\""), "{}", listed.stdout);
    project.run_env(&["generate", "--check"], &env).assert_code(0);

    // --check alone (a fresh checkout) uses them too and writes nothing.
    let fresh = Project::with_score(WITH_ENVIRONMENT);
    let before = fresh.snapshot();
    let run = fresh.run_env(&["generate", "--check", "--app-prefix", "acme-"], &env);
    run.assert_code(FAILURE).assert_stderr_has("error: fly_api.toml is missing");
    assert_eq!(fresh.snapshot(), before, "--check writes nothing");
    assert!(!run.stderr.contains("no provisioner"), "{}", run.stderr);
}

// Point 2: `init` without a prefix, then every way of setting one.
#[test]
fn an_empty_prefix_is_not_locked_in_while_nothing_exists() {
    let project = Project::with_score(&crate::support::workload("api"));
    let run = project.run(&["init", "--no-sample"]);
    run.assert_code(0).assert_line("     Created .score-fly (app prefix empty)");
    assert!(!run.stderr.contains("``"), "never two backticks: {}", run.stderr);
    project.generate_ok(&["generate"]).assert_line("   Generated fly_api.toml (app api)");

    // The flag.
    let run = project.generate_ok(&["generate", "--app-prefix", "acme-"]);
    run.assert_line("     Changed the app prefix from empty to `acme-` (nothing exists on Fly under the old one)");
    run.assert_line("   Generated fly_api.toml (app acme-api)");
    assert_eq!(prefix(&project), "acme-");
    // init --app-prefix.
    project.run(&["init", "--app-prefix", "other-"]).assert_code(0);
    assert_eq!(prefix(&project), "other-");
    project.generate_ok(&["generate"]).assert_line("   Generated fly_api.toml (app other-api)");

    // The package setting, in a package whose first generate stored no prefix.
    let package = realworld("");
    package.write("score.yaml", crate::support::workload("api"));
    package.generate_in("", &["generate"]).assert_line("   Generated fly_api.toml (app api)");
    package.write(
        "Cargo.toml",
        crate::cargo_fixtures::manifest("realworld", "[package.metadata.score-fly]\napp-prefix = \"rw-\"\n"),
    );
    package.generate_in("", &["generate"]).assert_line("   Generated fly_api.toml (app rw-api)");
    assert_eq!(prefix(&package), "rw-");
}

// Point 2: once apps or resources exist under the prefix, changing it is refused, naming
// them and how to migrate; the project is left as it was.
#[test]
fn once_something_exists_the_prefix_is_kept_and_the_error_says_what_and_how_to_migrate() {
    let project = Project::with_score(&crate::support::workload("api"));
    project.run(&["init", "--app-prefix", "acme-", "--no-sample"]).assert_code(0);
    project.write(STATE, deployed_state("acme-"));
    for args in [&["generate", "--app-prefix", "other-"][..], &["init", "--app-prefix", "other-"]] {
        let run = project.fails(args, INVALID);
        let error = run.errors().join("\n");
        for part in [
            "the project's app prefix is `acme-` and cannot change to `other-`: 2 things exist on Fly under it",
            "app `acme-api`",
            "resource `postgres.default#api.db` made by `builtin-postgres`",
            "`cargo score-fly resources deprovision UID`",
            "`fly apps destroy APP`",
        ] {
            assert!(error.contains(part), "`{}`: {part} in {error}", args.join(" "));
        }
    }
    // The setting of a package is refused the same way.
    let package = realworld("[package.metadata.score-fly]\napp-prefix = \"other-\"\n");
    package.write("score.yaml", crate::support::workload("api"));
    package.write(STATE, deployed_state("acme-"));
    let run = package.fails(&["generate"], INVALID);
    run.assert_stderr_has("cannot change to `other-`: 2 things exist on Fly under it");
}

// Point 2: in a package, `init` proposes a prefix made of the package name and a suffix,
// records it and prints it with the line that keeps it for every checkout.
#[test]
fn init_in_a_package_proposes_a_prefix_from_the_package_name() {
    let project = realworld("");
    let run = project.run(&["init"]);
    run.assert_code(0);
    let chosen = prefix(&project);
    let suffix = chosen.strip_prefix("realworld-").and_then(|s| s.strip_suffix('-')).unwrap_or_default();
    assert!(
        suffix.len() == 4 && suffix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "`{chosen}`: the package name and a short suffix"
    );
    run.assert_line(&format!("     Created .score-fly (app prefix `{chosen}`)"));
    run.assert_stderr_has(&format!("Proposed app prefix `{chosen}`"));
    run.assert_stderr_has(&format!("app-prefix = \"{chosen}\""));
    let generated = project.generate_in("", &["generate", "--image", IMAGE]);
    generated.assert_line(&format!("   Generated fly_realworld.toml (app {chosen}realworld)"));
    assert!(!generated.stderr.contains("warning"), "a chosen prefix: {}", generated.stderr);

    // The setting wins over a proposal.
    let set = realworld("[package.metadata.score-fly]\napp-prefix = \"rw-\"\n");
    set.run(&["init"]).assert_code(0).assert_line("     Created .score-fly (app prefix `rw-`)");
}

// Point 2: without init, a package's project has no prefix: generate says so, deploy refuses
// before creating anything.
#[test]
fn without_a_chosen_prefix_generate_warns_and_deploy_refuses() {
    let project = realworld("");
    project.write("score.yaml", crate::support::workload("api"));
    let run = project.generate_in("", &["generate"]);
    run.assert_line(&no_prefix_warning("`api`"));
    let run = project.fails(&["deploy", "--image", IMAGE], INVALID);
    run.assert_stderr_has("error: deploy creates Fly apps and this project has no app prefix: apps are named");
    run.assert_stderr_has("`cargo score-fly init`");
    // `app-prefix = ""` is a choice: no warning.
    let none = realworld("[package.metadata.score-fly]\napp-prefix = \"\"\n");
    none.write("score.yaml", crate::support::workload("api"));
    let run = none.generate_in("", &["generate"]);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

// Point 10: `init` in the package writes the package's own workload, ready for generate.
#[test]
fn init_in_a_package_writes_this_packages_workload() {
    let project = realworld("");
    let run = project.run(&["init"]);
    run.assert_code(0).assert_line("     Created Score file score.yaml for package `realworld`");
    let score = String::from_utf8(project.read("score.yaml")).expect("UTF-8");
    for line in ["  name: realworld\n", "    image: .\n", "      PORT: \"8080\"\n", "      targetPort: 8080\n"] {
        assert!(score.contains(line), "{line:?} in\n{score}");
    }
    assert!(score.contains("# resources:\n#   db:\n#     type: postgres\n"), "a commented resource example:\n{score}");
    assert!(!score.contains("hello-world") && !score.contains("nginx"), "not the sample:\n{score}");
    project.generate_in("", &["generate", "--image", IMAGE]);
    let fly = project.fly_toml("fly_realworld.toml");
    assert!(fly.contains("internal_port = 8080"), "{fly}");
    assert!(fly.contains("PORT = \"8080\""), "{fly}");
}

// Point 10: `init --macro` prints the same workload as an attribute; pasted on main, generate
// reads it and writes the same fly.toml as from the Score file init writes.
#[test]
fn init_macro_prints_an_attribute_that_declares_the_same_workload() {
    let from_file = realworld("");
    from_file.run(&["init", "--app-prefix", "acme-"]).assert_code(0);
    from_file.generate_in("", &["generate", "--image", IMAGE]);

    let from_macro = realworld("");
    let run = from_macro.run(&["init", "--app-prefix", "acme-", "--macro"]);
    run.assert_code(0);
    assert!(run.stdout.contains("#[score_workload(\n    name = \"realworld\","), "{}", run.stdout);
    assert!(!from_macro.exists("score.yaml"), "--macro writes no Score file");
    from_macro.write("src/main.rs", format!("{}fn main() {{}}\n", run.stdout));
    from_macro.generate_in("", &["generate", "--image", IMAGE]);

    let body = |project: &Project| {
        let text = project.fly_toml("fly_realworld.toml");
        text.split_once("\n\n").expect("a header").1.to_owned()
    };
    assert_eq!(body(&from_macro), body(&from_file));
}

// Point 11: the header of a fly.toml from #[score_workload] says to edit the attribute, in the
// binary's source relative to the package.
#[test]
fn a_fly_toml_from_the_attribute_says_to_edit_the_attribute_in_its_source() {
    let project = Project::new();
    project.workspace(&["svc"], "[workspace.metadata.score-fly]\napp-prefix = \"acme-\"\n");
    project.package("svc", "svc", "", &crate::cargo_fixtures::attributed_main("name = \"svc\", image = \"nginx\""));
    project.generate_in("svc", &["generate"]);
    let fly = project.fly_toml("svc/fly_svc.toml");
    assert!(
        fly.starts_with(
            "# Generated by score-fly from svc/src/main.rs. Edit the #[score_workload] attribute in src/main.rs, not this file.\n\n"
        ),
        "{fly}"
    );
}
