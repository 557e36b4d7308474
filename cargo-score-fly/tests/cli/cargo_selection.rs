//! Cargo mode: which packages and binaries `generate` works on — the only service of the
//! workspace, the package of the current folder, `-p` (repeatable), `--workspace`, `--bin` —
//! and the errors that list the candidates when the choice is ambiguous or wrong.

use std::path::PathBuf;

use crate::cargo_fixtures::{PLAIN_MAIN, attributed_main, generated, no_prefix_warning};
use crate::fixtures::INVALID;
use crate::support::{Project, workload};

/// A virtual workspace with members `a` (`score.yaml`: workload `alpha`), `b` (the attribute:
/// workload `beta`) and `lib` (no workload).
fn two_services() -> Project {
    let project = Project::new();
    project.workspace(&["a", "b", "lib"], "");
    project.package("a", "a", "", PLAIN_MAIN);
    project.write("a/score.yaml", workload("alpha"));
    project.package("b", "b", "", &attributed_main("name = \"beta\", image = \"nginx\""));
    project.package("lib", "lib", "", PLAIN_MAIN);
    project
}

#[test]
fn several_services_at_the_workspace_root_are_listed() {
    let project = two_services();
    let run = project.fails_in("", &["generate"], INVALID);
    assert_eq!(
        run.errors(),
        [
            "error: several packages declare a workload (a, b); choose with -p NAME (repeatable) or take them all with --workspace"
        ]
    );
}

#[test]
fn one_package_with_p() {
    let project = two_services();
    let run = project.generate_in("", &["generate", "-p", "a"]);
    assert_eq!(run.stderr, format!("{}\n{}\n", no_prefix_warning("`alpha`"), generated("a/fly_alpha.toml", "alpha")));
    assert_eq!(project.fly_files(), [PathBuf::from("a/fly_alpha.toml")]);
    assert_eq!(project.state().workloads.keys().collect::<Vec<_>>(), ["alpha"]);
}

#[test]
fn several_packages_with_p_or_workspace() {
    let project = two_services();
    let run = project.generate_in("", &["generate", "-p", "a", "--package", "b"]);
    run.assert_line(&generated("a/fly_alpha.toml", "alpha")).assert_line(&generated("b/fly_beta.toml", "beta"));
    let expected = [PathBuf::from("a/fly_alpha.toml"), PathBuf::from("b/fly_beta.toml")];
    assert_eq!(project.fly_files(), expected);
    let state_dirs: Vec<PathBuf> =
        project.entries().into_iter().filter(|p| p.file_name().is_some_and(|n| n == ".score-fly")).collect();
    assert_eq!(state_dirs, [PathBuf::from(".score-fly")], "one project state, at the workspace root");
    assert_eq!(project.state().workloads.keys().collect::<Vec<_>>(), ["alpha", "beta"]);

    // --workspace takes every package that declares a workload (not `lib`), with the same result.
    let all = two_services();
    let run = all.generate_in("", &["generate", "--workspace"]);
    run.assert_line(&generated("a/fly_alpha.toml", "alpha")).assert_line(&generated("b/fly_beta.toml", "beta"));
    assert_eq!(all.fly_files(), expected);
    for file in &expected {
        assert_eq!(all.read(file), project.read(file), "{}", file.display());
    }
    assert_eq!(all.state().workloads.keys().collect::<Vec<_>>(), ["alpha", "beta"]);
}

#[test]
fn a_package_without_workload_chosen_with_p_is_named() {
    let project = two_services();
    let run = project.fails_in("", &["generate", "-p", "lib"], INVALID);
    assert_eq!(
        run.errors(),
        [
            "error: package `lib` declares no workload: add score.yaml beside its Cargo.toml, or #[score_workload] on its main"
        ]
    );
    // Also with a service beside it: nothing is written for `a` either.
    project.fails_in("", &["generate", "-p", "a", "-p", "lib"], INVALID);
}

#[test]
fn an_unknown_package_lists_the_members() {
    let project = two_services();
    let run = project.fails_in("", &["generate", "-p", "nope"], INVALID);
    assert_eq!(
        run.errors(),
        [format!(
            "error: package `nope` is not a member of the workspace at {} (members: a, b, lib)",
            project.canonical().display()
        )]
    );
}

#[test]
fn inside_a_member_folder_that_member_is_chosen() {
    let project = two_services();
    let run = project.generate_in("b/src", &["generate"]);
    assert_eq!(
        run.stderr,
        format!(
            "{}\n{}\n",
            no_prefix_warning("`beta`"),
            generated(&project.canonical().join("b/fly_beta.toml").display().to_string(), "beta")
        )
    );
    assert_eq!(project.fly_files(), [PathBuf::from("b/fly_beta.toml")]);
    let run = project.generate_in("a", &["generate"]);
    // Generate is additive: beta, added before, is written again.
    run.assert_line(&generated("fly_alpha.toml", "alpha"));
    assert_eq!(project.state().workloads.keys().collect::<Vec<_>>(), ["alpha", "beta"]);
}

#[test]
fn inside_a_member_folder_without_workload_that_member_is_named() {
    let project = two_services();
    let run = project.fails_in("lib", &["generate"], INVALID);
    assert_eq!(
        run.errors(),
        [
            "error: package `lib` declares no workload: add score.yaml beside its Cargo.toml, or #[score_workload] on its main"
        ]
    );
}

#[test]
fn the_only_service_of_a_workspace_is_chosen_at_the_root() {
    let project = Project::new();
    project.workspace(&["lib", "svc"], "");
    project.package("lib", "lib", "", PLAIN_MAIN);
    project.package("svc", "svc", "", &attributed_main("name = \"api\", image = \"nginx\""));
    let run = project.generate_in("", &["generate"]);
    assert_eq!(run.stderr, format!("{}\n{}\n", no_prefix_warning("`api`"), generated("svc/fly_api.toml", "api")));
}

#[test]
fn a_workspace_without_services_says_how_to_declare_one() {
    let project = Project::new();
    project.workspace(&["lib"], "");
    project.package("lib", "lib", "", PLAIN_MAIN);
    let run = project.fails_in("", &["generate"], INVALID);
    assert_eq!(
        run.errors(),
        [format!(
            "error: no package of the workspace at {} declares a workload: add score.yaml beside a package's Cargo.toml, or #[score_workload] on a binary's main",
            project.canonical().display()
        )]
    );
}

#[test]
fn two_services_with_one_workload_name_are_refused() {
    let project = two_services();
    project.write("a/score.yaml", workload("beta"));
    let run = project.fails_in("", &["generate", "--workspace"], INVALID);
    run.assert_stderr_has("error: two workloads are named `beta`");
}

// ---------------------------------------------------------------------------------------
// Binaries

/// A package `svc` with `src/main.rs` (no attribute) and binaries `one` and `two`, both with
/// the attribute.
fn two_bins() -> Project {
    let project = Project::new();
    project.package("", "svc", "", PLAIN_MAIN);
    for name in ["one", "two"] {
        project.write(
            &format!("src/bin/{name}.rs"),
            format!("use score_fly_macros::score_workload;\n\n#[score_workload(name = \"{name}\", image = \"nginx\")]\nfn main() {{}}\n"),
        );
    }
    project
}

#[test]
fn two_binaries_with_the_attribute_need_bin() {
    let project = two_bins();
    let run = project.fails_in("", &["generate"], INVALID);
    assert_eq!(
        run.errors(),
        ["error: package `svc` has several binaries with #[score_workload] (one, two); choose one with --bin"]
    );
}

#[test]
fn bin_chooses_the_binary() {
    let project = two_bins();
    let run = project.generate_in("", &["generate", "--bin", "two"]);
    assert_eq!(run.stderr, format!("{}\n{}\n", no_prefix_warning("`two`"), generated("fly_two.toml", "two")));
    assert_eq!(project.fly_files(), [PathBuf::from("fly_two.toml")]);
    let toml = project.fly_toml("fly_two.toml");
    assert!(toml.starts_with("# Generated by score-fly from src/bin/two.rs."), "{toml}");
}

#[test]
fn an_unknown_bin_lists_the_binaries() {
    let project = two_bins();
    let run = project.fails_in("", &["generate", "--bin", "nope"], INVALID);
    assert_eq!(run.errors(), ["error: package `svc` has no binary `nope` (binaries: one, svc, two)"]);
}

#[test]
fn bin_works_with_p_in_a_workspace() {
    let project = Project::new();
    project.workspace(&["svc", "other"], "");
    project.package("other", "other", "", &attributed_main("name = \"other\", image = \"nginx\""));
    project.package("svc", "svc", "", PLAIN_MAIN);
    project.write("svc/src/bin/one.rs", attributed_main("name = \"one\", image = \"nginx\""));
    project.write("svc/src/bin/two.rs", attributed_main("name = \"two\", image = \"nginx\""));
    let run = project.generate_in("", &["generate", "-p", "svc", "--bin", "one"]);
    assert_eq!(run.stderr, format!("{}\n{}\n", no_prefix_warning("`one`"), generated("svc/fly_one.toml", "one")));
}

// ---------------------------------------------------------------------------------------
// Manifests cargo cannot read

#[test]
fn a_missing_manifest_path_is_reported() {
    let project = Project::new();
    let run = project.fails_in("", &["generate", "--manifest-path", "nope/Cargo.toml"], INVALID);
    assert_eq!(run.errors(), ["error: cargo metadata failed: manifest path `nope/Cargo.toml` does not exist"]);
}

#[test]
fn package_flags_outside_a_cargo_project_are_reported() {
    let project = Project::new();
    for args in [&["generate", "--workspace"][..], &["generate", "-p", "x"]] {
        let run = project.fails_in("", args, INVALID);
        run.assert_stderr_has("error: cargo metadata failed: could not find `Cargo.toml`");
    }
}

/// A package whose `Cargo.toml` is not TOML (line 6).
fn broken_manifest() -> Project {
    let project = Project::new();
    project.package("", "svc", "garbage [\n", &attributed_main("name = \"api\", image = \"nginx\""));
    project
}

#[test]
fn an_invalid_manifest_is_reported_with_cargos_message() {
    let project = broken_manifest();
    let run = project.fails_in("", &["generate"], INVALID);
    run.assert_stderr_has("error: cargo metadata failed: ");
    run.assert_stderr_has("Cargo.toml:6:9");
}

#[test]
fn an_invalid_manifest_keeps_cargos_snippet_intact() {
    let project = broken_manifest();
    let run = project.fails_in("", &["generate"], INVALID);
    assert_eq!(run.errors().len(), 1, "one error, with cargo's snippet below it\n{}", run.stderr);
    assert!(run.stderr.lines().any(|l| l.trim_start().starts_with("6 | garbage [")), "{}", run.stderr);
}
