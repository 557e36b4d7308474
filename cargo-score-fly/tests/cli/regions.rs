//! Issue 13 point 4: every region a user gives (`--region`, the `region` settings, the
//! `score-fly/primary-region` annotation) is checked against Fly's current list
//! (fly-2026.md §4, `score_fly_core::fly::regions`): a deprecated code is replaced with a
//! warning naming both codes, an unknown one is refused (exit 3, nothing written) with the
//! nearest codes, naming the flag, setting or file it came from.

use crate::cargo_settings::{region, workspace};
use crate::fixtures::INVALID;
use crate::support::{Project, WEB};

#[test]
fn a_deprecated_region_flag_is_replaced_with_a_warning() {
    let project = Project::with_score(WEB);
    let run = project.generate_ok(&["generate", "--app-prefix", "demo-", "--region", "mia"]);
    run.assert_line(
        "warning: --region: `mia` is a deprecated Fly region code: using its replacement `dfw` (Dallas, US), as `fly launch` does; write `dfw` to silence this",
    );
    assert_eq!(region(&project.fly_toml("fly_web.toml")), Some("\"dfw\""));
    let state = project.state();
    assert_eq!(state.workloads["web"].region.as_deref(), Some("dfw"), "the state records the replacement");
    // A current code: no warning.
    let run = project.generate_ok(&["generate", "--region", "dfw"]);
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

#[test]
fn an_unknown_region_flag_is_refused_with_the_nearest_codes() {
    let project = Project::with_score(WEB);
    let run = project.fails(&["generate", "--app-prefix", "demo-", "--region", "xyz"], INVALID);
    assert_eq!(
        run.errors(),
        [
            "error: --region: `xyz` is not a Fly region code; nearest: yyz (Toronto, CA), syd (Sydney, AU) (`fly platform regions` lists them all)"
        ]
    );
    // In cargo mode too, before anything is read or written.
    let project = workspace("", "");
    let run = project.fails_in("", &["generate", "-p", "a", "--region", "Frankfurt"], INVALID);
    assert_eq!(
        run.errors(),
        [
            "error: --region: `Frankfurt` is not a Fly region code; nearest: fra (Frankfurt, DE) (`fly platform regions` lists them all)"
        ]
    );
}

#[test]
fn a_packages_deprecated_region_setting_is_replaced_with_a_warning() {
    let project = workspace(
        "\n[workspace.metadata.score-fly]\napp-prefix = \"acme-\"\nregion = \"waw\"\n",
        "\n[package.metadata.score-fly]\nregion = \"hkg\"\n",
    );
    let run = project.generate_in("", &["generate", "--workspace"]);
    run.assert_line("warning: the `region` setting of package `a`: `hkg` is a deprecated Fly region code: using its replacement `sin` (Singapore), as `fly launch` does; write `sin` to silence this");
    let workspace_warning = "warning: the `region` setting of [workspace.metadata.score-fly]: `waw` is a deprecated Fly region code: using its replacement `ams` (Amsterdam, NL), as `fly launch` does; write `ams` to silence this";
    run.assert_line(workspace_warning);
    assert_eq!(run.stderr.lines().filter(|l| *l == workspace_warning).count(), 1, "said once: {}", run.stderr);
    assert_eq!(region(&project.fly_toml("a/fly_alpha.toml")), Some("\"sin\""));
    assert_eq!(region(&project.fly_toml("b/fly_beta.toml")), Some("\"ams\""));
}

#[test]
fn an_unknown_region_setting_is_refused_naming_the_setting() {
    let project = workspace("", "\n[package.metadata.score-fly]\nregion = \"lon\"\n");
    let run = project.fails_in("", &["generate", "--workspace", "--app-prefix", "acme-"], INVALID);
    assert_eq!(
        run.errors(),
        [
            "error: the `region` setting of package `a`: `lon` is not a Fly region code; nearest: lhr (London, UK), lax (Los Angeles, US) (`fly platform regions` lists them all)"
        ]
    );
    // --region wins over the setting, which is then not read.
    project.generate_in("", &["generate", "--workspace", "--app-prefix", "acme-", "--region", "lhr"]);
    assert_eq!(region(&project.fly_toml("a/fly_alpha.toml")), Some("\"lhr\""));
}

#[test]
fn the_primary_region_annotation_is_replaced_with_a_warning_located_in_the_file() {
    let score = WEB.replace("  name: web\n", "  name: web\n  annotations:\n    score-fly/primary-region: bos\n");
    let project = Project::with_score(&score);
    let run = project.generate_ok(&["generate", "--app-prefix", "demo-", "--region", "ams"]);
    run.assert_diagnostic(
        "warning",
        "metadata.annotations[\"score-fly/primary-region\"]: `bos` is a deprecated Fly region code: using its replacement `ewr` (Secaucus NJ, US)",
        "score.yaml:5:31",
        "    score-fly/primary-region: bos",
    );
    assert_eq!(region(&project.fly_toml("fly_web.toml")), Some("\"ewr\""), "the annotation wins over --region");

    let project = Project::with_score(&score.replace(": bos", ": sydney"));
    let run = project.fails(&["generate", "--app-prefix", "demo-"], INVALID);
    run.assert_error_at(
        "metadata.annotations[\"score-fly/primary-region\"]: primary region `sydney` is not a Fly region code; nearest: syd (Sydney, AU)",
        "score.yaml:5:31",
        "    score-fly/primary-region: sydney",
    );
}
