//! Issue 12, point 2: settings resolved once (flags > package metadata > workspace metadata >
//! environment > defaults) into one Fly target that `build`, `generate`, `deploy` and the
//! builtins receive. Here, as a user sees it: `FLY_REGISTRY_HOST` names the image `deploy`
//! builds and deploys (not only the one `build` pushes), and the `org` setting of a package
//! or workspace wins over `FLY_ORG`. The precedence of every value is unit-tested beside
//! `Settings::resolve` (`cargo-score-fly/src/settings.rs`).

use crate::cargo_fixtures::PLAIN_MAIN;
use crate::support::{Project, Run};

/// Every variable the Fly target reads; each test sets the ones it means.
const FLY_VARS: &[&str] = &[
    "FLY_BIN",
    "FLY_FLAPS_BASE_URL",
    "FLY_ACCESS_TOKEN",
    "FLY_API_TOKEN",
    "FLY_REGISTRY_HOST",
    "FLY_ORG",
    "FLY_REGION",
    "FLY_REGION_NAME",
];

/// A package `svc` whose workload `api` is built from the package (image `.`), with `extra`
/// appended to its manifest.
fn package(extra: &str) -> Project {
    let project = Project::new();
    project.package("", "svc", extra, PLAIN_MAIN);
    project.write(
        "score.yaml",
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: api\ncontainers:\n  main:\n    image: .\nservice:\n  ports:\n    web:\n      port: 80\n      targetPort: 8080\n",
    );
    project
}

/// `deploy --dry-run --format json` with only `env` of the Fly variables, and flyctl missing
/// (`FLY_BIN` names nothing): the plan is printed, then the run stops on its blockers (exit 4)
/// before anything changes.
fn dry_run(project: &Project, extra_args: &[&str], env: &[(&str, &str)]) -> (Run, serde_json::Value) {
    let before = project.snapshot();
    let mut args = vec!["deploy", "--dry-run", "--format", "json"];
    args.extend_from_slice(extra_args);
    let mut command = project.command(&args);
    for var in FLY_VARS {
        command.env_remove(var);
    }
    command.env("FLY_BIN", project.path().join("no-flyctl-here"));
    command.envs(env.iter().copied());
    let run = Run::from(command.output().expect("run cargo-score-fly"));
    run.assert_code(4);
    assert_eq!(project.snapshot(), before, "a dry run changes nothing");
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    (run, plan)
}

#[test]
fn fly_registry_host_names_the_image_deploy_builds_and_deploys() {
    let project = package("\n[package.metadata.score-fly]\napp-prefix = \"acme-\"\n");
    let host = "127.0.0.1:5999";
    let (run, plan) = dry_run(&project, &[], &[("FLY_REGISTRY_HOST", host)]);
    let app = &plan["apps"][0];
    assert_eq!(app["app"], "acme-api", "{plan:#}");
    assert_eq!(app["image"], format!("{host}/acme-api:<built>"), "{plan:#}");
    let command: Vec<&str> = app["command"].as_array().unwrap().iter().map(|a| a.as_str().unwrap()).collect();
    let image = command.iter().position(|a| *a == "--image").map(|i| command[i + 1]);
    assert_eq!(image, Some(format!("{host}/acme-api:<built>").as_str()), "{command:?}");
    run.assert_stderr_has(&format!("package `svc` and push its image to {host}/acme-api"));
    assert!(!run.stderr.contains("registry.fly.io") && !run.stdout.contains("registry.fly.io"), "{}", run.stderr);

    // Unset, it is Fly's registry.
    let (_, plan) = dry_run(&project, &[], &[]);
    assert_eq!(plan["apps"][0]["image"], "registry.fly.io/acme-api:<built>", "{plan:#}");
}

#[test]
fn the_org_setting_wins_over_fly_org_and_the_flag_over_both() {
    let project = Project::new();
    project.workspace(&["svc"], "\n[workspace.metadata.score-fly]\norg = \"ws-org\"\napp-prefix = \"acme-\"\n");
    project.package("svc", "svc", "", PLAIN_MAIN);
    project.write("svc/score.yaml", crate::support::workload("api"));
    let org_line = |run: &Run| {
        run.stderr
            .lines()
            .find(|l| l.contains("Would create") && l.contains("app acme-api"))
            .unwrap_or_else(|| panic!("no app line\n{}", run.stderr))
            .to_owned()
    };
    let env = [("FLY_ORG", "env-org")];
    let (run, _) = dry_run(&project, &["-p", "svc"], &env);
    assert!(org_line(&run).contains("(org ws-org;"), "workspace metadata over FLY_ORG: {}", org_line(&run));

    let with_package_org = "[package]\nname = \"svc\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n\n[package.metadata.score-fly]\norg = \"pkg-org\"\n";
    project.write("svc/Cargo.toml", with_package_org);
    let (run, _) = dry_run(&project, &["-p", "svc"], &env);
    assert!(org_line(&run).contains("(org pkg-org;"), "package metadata over workspace: {}", org_line(&run));

    let (run, _) = dry_run(&project, &["-p", "svc", "--org", "flag-org"], &env);
    assert!(org_line(&run).contains("(org flag-org;"), "the flag over everything: {}", org_line(&run));

    // Without metadata, FLY_ORG is used, and without it `personal`.
    let score = Project::new();
    score.write("score.yaml", crate::support::workload("api"));
    let (run, _) = dry_run(&score, &["--app-prefix", "acme-"], &env);
    assert!(org_line(&run).contains("(org env-org;"), "{}", org_line(&run));
    let (run, _) = dry_run(&score, &["--app-prefix", "acme-"], &[]);
    assert!(org_line(&run).contains("(org personal;"), "{}", org_line(&run));
}
