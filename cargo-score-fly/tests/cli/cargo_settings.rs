//! Cargo mode: settings from `[workspace.metadata.score-fly]` and
//! `[package.metadata.score-fly]` (the package's win), flags over both, the `score-file`
//! setting, and invalid settings (unknown keys, non-strings). The project's app prefix is
//! fixed once its state exists, so every case starts from a fresh project.

use std::path::PathBuf;

use crate::cargo_fixtures::{PLAIN_MAIN, attributed_main, generated, no_prefix_warning};
use crate::fixtures::INVALID;
use crate::support::{Project, workload};

/// `[workspace.metadata.score-fly]` with an app prefix and a region.
const WORKSPACE_SETTINGS: &str = "\n[workspace.metadata.score-fly]\napp-prefix = \"acme-\"\nregion = \"ams\"\n";

/// A virtual workspace (with `workspace_extra`) whose members `a` (workload `alpha`, package
/// manifest with `a_extra`) and `b` (workload `beta`) have `score.yaml`.
pub(crate) fn workspace(workspace_extra: &str, a_extra: &str) -> Project {
    let project = Project::new();
    project.workspace(&["a", "b"], workspace_extra);
    project.package("a", "a", a_extra, PLAIN_MAIN);
    project.write("a/score.yaml", workload("alpha"));
    project.package("b", "b", "", PLAIN_MAIN);
    project.write("b/score.yaml", workload("beta"));
    project
}

/// The `primary_region` line of a fly.toml, if any.
pub(crate) fn region(toml: &str) -> Option<&str> {
    toml.lines().find_map(|l| l.strip_prefix("primary_region = "))
}

#[test]
fn workspace_settings_prefix_apps_and_set_the_region() {
    let project = workspace(WORKSPACE_SETTINGS, "");
    let run = project.generate_in("", &["generate", "--workspace"]);
    run.assert_line(&generated("a/fly_alpha.toml", "acme-alpha"))
        .assert_line(&generated("b/fly_beta.toml", "acme-beta"));
    for (file, app) in [("a/fly_alpha.toml", "acme-alpha"), ("b/fly_beta.toml", "acme-beta")] {
        let toml = project.fly_toml(file);
        assert!(toml.contains(&format!("app = \"{app}\"\n")), "{toml}");
        assert_eq!(region(&toml), Some("\"ams\""), "{toml}");
    }
    assert_eq!(project.state().app_prefix, "acme-", "the prefix is the project's now");
}

#[test]
fn the_workloads_primary_region_annotation_wins_over_the_setting_and_the_flag() {
    let project = Project::new();
    project.package(
        "",
        "svc",
        "\n[package.metadata.score-fly]\nregion = \"ams\"\n",
        &attributed_main("name = \"api\", image = \"nginx\", annotations(\"score-fly/primary-region\" = \"syd\")"),
    );
    let toml_of = |args: &[&str]| {
        project.generate_in("", args);
        project.fly_toml("fly_api.toml")
    };
    assert_eq!(region(&toml_of(&["generate"])), Some("\"syd\""));
    assert_eq!(region(&toml_of(&["generate", "--region", "fra"])), Some("\"syd\""));
}

#[test]
fn package_settings_override_workspace_settings() {
    let project =
        workspace(WORKSPACE_SETTINGS, "\n[package.metadata.score-fly]\napp-prefix = \"pkg-\"\nregion = \"fra\"\n");
    let run = project.generate_in("", &["generate", "-p", "a"]);
    assert_eq!(run.stderr, format!("{}\n", generated("a/fly_alpha.toml", "pkg-alpha")));
    let toml = project.fly_toml("a/fly_alpha.toml");
    assert!(toml.contains("app = \"pkg-alpha\"\n"), "{toml}");
    assert_eq!(region(&toml), Some("\"fra\""), "{toml}");
}

#[test]
fn flags_override_package_and_workspace_settings() {
    let project =
        workspace(WORKSPACE_SETTINGS, "\n[package.metadata.score-fly]\napp-prefix = \"pkg-\"\nregion = \"fra\"\n");
    let run = project.generate_in("", &["generate", "-p", "a", "--app-prefix", "cli-", "--region", "sin"]);
    assert_eq!(run.stderr, format!("{}\n", generated("a/fly_alpha.toml", "cli-alpha")));
    let toml = project.fly_toml("a/fly_alpha.toml");
    assert!(toml.contains("app = \"cli-alpha\"\n"), "{toml}");
    assert_eq!(region(&toml), Some("\"sin\""), "{toml}");

    let workspace_only = workspace(WORKSPACE_SETTINGS, "");
    workspace_only.generate_in("", &["generate", "-p", "b", "--app-prefix", "cli-", "--region", "sin"]);
    let toml = workspace_only.fly_toml("b/fly_beta.toml");
    assert!(toml.contains("app = \"cli-beta\"\n"), "{toml}");
    assert_eq!(region(&toml), Some("\"sin\""), "{toml}");
}

#[test]
fn the_app_prefix_of_an_existing_project_changes_until_an_app_exists() {
    let project = workspace(WORKSPACE_SETTINGS, "");
    project.generate_in("", &["generate", "-p", "a"]);
    // Nothing exists on Fly yet: the flag changes it (issue 11).
    let run = project.generate_in("", &["generate", "-p", "a", "--app-prefix", "other-"]);
    run.assert_line("     Changed the app prefix from `acme-` to `other-` (nothing exists on Fly under the old one)");
    assert_eq!(project.state().app_prefix, "other-");
    // Once an app was deployed under it, it is fixed: neither the flag nor the setting changes it.
    let mut state = project.state_json();
    state["deployments"] = serde_json::json!({"other-alpha": {"deployed": true}});
    project.write(crate::fixtures::STATE, state.to_string());
    let run = project.fails_in("", &["generate", "-p", "a", "--app-prefix", "acme-"], INVALID);
    run.assert_stderr_has(
        "error: the project's app prefix is `other-` and cannot change to `acme-`: 1 thing exists on Fly under it (app `other-alpha`)",
    );
    // Changing the setting is the same change.
    project.write("Cargo.toml", "[workspace]\nresolver = \"3\"\nmembers = [\"a\", \"b\"]\n\n[workspace.metadata.score-fly]\napp-prefix = \"new-\"\n");
    project.fails_in("", &["generate", "-p", "b"], INVALID).assert_stderr_has("cannot change to `new-`");
}

#[test]
fn packages_with_different_app_prefixes_cannot_share_a_run() {
    let project = workspace("", "\n[package.metadata.score-fly]\napp-prefix = \"pkg-\"\n");
    project.write(
        "b/Cargo.toml",
        crate::cargo_fixtures::manifest("b", "\n[package.metadata.score-fly]\napp-prefix = \"other-\"\n"),
    );
    let run = project.fails_in("", &["generate", "--workspace"], INVALID);
    assert_eq!(
        run.errors(),
        [
            "error: the chosen packages set different app prefixes (other-, pkg-); one project has one prefix: set it in [workspace.metadata.score-fly]"
        ]
    );
}

#[test]
fn the_score_file_setting_replaces_score_yaml() {
    let project = Project::new();
    project.package("", "svc", "\n[package.metadata.score-fly]\nscore-file = \"deploy/app.yaml\"\n", PLAIN_MAIN);
    project.write("deploy/app.yaml", workload("api"));
    project.write("score.yaml", workload("ignored"));
    let run = project.run_in("", &["generate"]);
    run.assert_code(0);
    let files = project.fly_files();
    assert_eq!(files.len(), 1, "one workload, score.yaml unused: {files:?}");
    assert!(files[0].ends_with("fly_api.toml"), "{files:?}");
    let toml = project.fly_toml(&files[0]);
    assert!(toml.starts_with("# Generated by score-fly from deploy/app.yaml."), "{toml}");
    assert!(toml.contains("app = \"api\"\n"), "{toml}");
}

#[test]
fn the_fly_toml_of_a_score_file_setting_goes_beside_cargo_toml() {
    let project = Project::new();
    project.package("", "svc", "\n[package.metadata.score-fly]\nscore-file = \"deploy/app.yaml\"\n", PLAIN_MAIN);
    project.write("deploy/app.yaml", workload("api"));
    let run = project.generate_in("", &["generate"]);
    assert_eq!(run.stderr, format!("{}\n{}\n", no_prefix_warning("`api`"), generated("fly_api.toml", "api")));
    assert_eq!(project.fly_files(), [PathBuf::from("fly_api.toml")]);

    let member = Project::new();
    member.workspace(&["svc"], "\n[workspace.metadata.score-fly]\nscore-file = \"deploy/app.yaml\"\n");
    member.package("svc", "svc", "", PLAIN_MAIN);
    member.write("svc/deploy/app.yaml", workload("api"));
    let run = member.generate_in("", &["generate"]);
    assert_eq!(run.stderr, format!("{}\n{}\n", no_prefix_warning("`api`"), generated("svc/fly_api.toml", "api")));
}

#[test]
fn the_score_file_setting_of_the_workspace_applies_to_members() {
    let project = Project::new();
    project.workspace(&["svc"], "\n[workspace.metadata.score-fly]\nscore-file = \"deploy/app.yaml\"\n");
    project.package("svc", "svc", "", PLAIN_MAIN);
    project.write("svc/deploy/app.yaml", workload("api"));
    project.run_in("", &["generate"]).assert_code(0);
    let files = project.fly_files();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(project.fly_toml(&files[0]).starts_with("# Generated by score-fly from svc/deploy/app.yaml."));

    // A package without that file declares nothing, and the message names the setting's file.
    let missing = Project::new();
    missing.workspace(&["svc"], "\n[workspace.metadata.score-fly]\nscore-file = \"deploy/app.yaml\"\n");
    missing.package("svc", "svc", "", PLAIN_MAIN);
    missing.write("svc/score.yaml", workload("api"));
    let run = missing.fails_in("", &["generate", "-p", "svc"], INVALID);
    assert_eq!(
        run.errors(),
        [
            "error: package `svc` declares no workload: add deploy/app.yaml beside its Cargo.toml, or #[score_workload] on its main"
        ]
    );
}

#[test]
fn an_unknown_workspace_setting_is_named_with_the_known_ones() {
    let project = workspace("\n[workspace.metadata.score-fly]\napp_prefix = \"acme-\"\n", "");
    let run = project.fails_in("", &["generate", "--workspace"], INVALID);
    assert_eq!(
        run.errors(),
        [
            "error: [workspace.metadata.score-fly] has an unknown key `app_prefix`; known keys: app-prefix, org, region, base-image, score-file, build-env"
        ]
    );
}

#[test]
fn an_unknown_package_setting_is_named_with_the_known_ones() {
    let project = workspace("", "\n[package.metadata.score-fly]\napp_prefix = \"acme-\"\n");
    let run = project.fails_in("", &["generate", "-p", "a"], INVALID);
    let error = run.errors().join("\n");
    assert!(error.contains("unknown key `app_prefix`"), "{error}");
    assert!(error.contains("known keys: app-prefix, org, region, base-image, score-file, build-env"), "{error}");
}

#[test]
fn an_unknown_package_setting_names_the_table_correctly() {
    let project = workspace("", "\n[package.metadata.score-fly]\napp_prefix = \"acme-\"\n");
    let run = project.fails_in("", &["generate", "-p", "a"], INVALID);
    run.assert_stderr_has("[package.metadata.score-fly]");
    run.assert_stderr_has("`a`");
    assert!(!run.stderr.contains("` of `a."), "{}", run.stderr);
}

#[test]
fn a_setting_that_is_not_a_string_is_refused() {
    let project = workspace("\n[workspace.metadata.score-fly]\nregion = 3\n", "");
    let run = project.fails_in("", &["generate", "-p", "a"], INVALID);
    assert_eq!(run.errors(), ["error: [workspace.metadata.score-fly] `region` must be a string"]);

    let project = workspace("", "\n[package.metadata.score-fly]\napp-prefix = [\"a-\"]\n");
    let run = project.fails_in("", &["generate", "-p", "a"], INVALID);
    run.assert_stderr_has("`app-prefix` must be a string");

    let project = workspace("\n[workspace.metadata]\nscore-fly = \"acme-\"\n", "");
    let run = project.fails_in("", &["generate", "-p", "a"], INVALID);
    assert_eq!(run.errors(), ["error: [workspace.metadata.score-fly] must be a table"]);
}

#[test]
fn settings_of_a_member_outside_the_selection_are_still_checked() {
    // Cargo reads every member's manifest; a broken setting anywhere is reported, not ignored.
    let project = workspace("", "\n[package.metadata.score-fly]\nregoin = \"ams\"\n");
    let run = project.fails_in("", &["generate", "-p", "b"], INVALID);
    run.assert_stderr_has("unknown key `regoin`");
}

// ---------------------------------------------------------------------------------------
// Regions: found wrong

#[test]
fn an_invalid_region_flag_is_refused() {
    let project = workspace("", "");
    let run = project.fails_in("", &["generate", "-p", "a", "--region", "Amsterdam"], INVALID);
    run.assert_stderr_has("Amsterdam");
}

#[test]
fn an_invalid_region_setting_is_refused() {
    let project = workspace("\n[workspace.metadata.score-fly]\nregion = \"Amsterdam\"\n", "");
    let run = project.fails_in("", &["generate", "-p", "a"], INVALID);
    run.assert_stderr_has("Amsterdam");
}

#[test]
fn each_package_keeps_its_region_when_generated_together() {
    let project = workspace(WORKSPACE_SETTINGS, "\n[package.metadata.score-fly]\nregion = \"fra\"\n");
    project.generate_in("", &["generate", "--workspace"]);
    assert_eq!(region(&project.fly_toml("a/fly_alpha.toml")), Some("\"fra\""), "a's own setting");
    assert_eq!(region(&project.fly_toml("b/fly_beta.toml")), Some("\"ams\""), "the workspace setting");
}

#[test]
fn a_packages_region_does_not_leak_into_other_workloads() {
    let project = workspace(WORKSPACE_SETTINGS, "\n[package.metadata.score-fly]\nregion = \"fra\"\n");
    project.generate_in("", &["generate", "-p", "b"]);
    assert_eq!(region(&project.fly_toml("b/fly_beta.toml")), Some("\"ams\""));
    let before = project.read("b/fly_beta.toml");
    project.generate_in("", &["generate", "-p", "a"]);
    assert_eq!(region(&project.fly_toml("a/fly_alpha.toml")), Some("\"fra\""));
    assert_eq!(
        String::from_utf8_lossy(&project.read("b/fly_beta.toml")),
        String::from_utf8_lossy(&before),
        "b's fly.toml must not change when only a is generated"
    );
}
