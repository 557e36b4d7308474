//! The binary run by cargo: `cargo score-fly ...` finds `cargo-score-fly` on `PATH` and
//! passes `score-fly` as its first argument.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{BIN, Project, Run, WEB};

/// Runs `cargo` in the project with only the binary under test to find: its folder first on
/// `PATH`, and an empty `CARGO_HOME` so an installed `cargo-score-fly` cannot be picked instead.
fn cargo(project: &Project, args: &[&str]) -> Run {
    let cargo = std::env::var_os("CARGO").map_or_else(|| PathBuf::from(env!("CARGO")), PathBuf::from);
    let bin_dir = Path::new(BIN).parent().expect("the binary is in a folder").to_path_buf();
    let inherited = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(&inherited)))
        .expect("PATH entries hold no separator");
    let cargo_home = tempfile::tempdir().expect("temporary CARGO_HOME");
    let output = Command::new(cargo)
        .args(args)
        .current_dir(project.path())
        .env("PATH", path)
        .env("CARGO_HOME", cargo_home.path())
        .env_remove("CARGO_TERM_COLOR")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("run cargo");
    Run::from(output)
}

#[test]
fn cargo_score_fly_generate() {
    let project = Project::with_score(WEB);
    let run = cargo(&project, &["score-fly", "generate", "--app-prefix", "acme-"]);
    run.assert_code(0).assert_line("   Generated fly_web.toml (app acme-web)");
    assert!(project.fly_toml("fly_web.toml").contains("app = \"acme-web\"\n"));
    project.check_every_fly_toml();
}

#[test]
fn cargo_passes_the_exit_code_through() {
    let project = Project::with_score(&WEB.replace("nginx", "\"\""));
    let before = project.snapshot();
    let run = cargo(&project, &["score-fly", "generate"]);
    run.assert_code(3);
    run.assert_error_at("containers.main.image: must not be empty", "score.yaml:6:12", "    image: \"\"");
    assert_eq!(project.snapshot(), before, "nothing written");
    cargo(&project, &["score-fly", "generate", "--frob"]).assert_code(2);
}

#[test]
fn cargo_score_fly_help() {
    let project = Project::new();
    for args in [&["score-fly", "--help"][..], &["help", "score-fly"]] {
        let run = cargo(&project, args);
        run.assert_code(0);
        assert!(run.stdout.contains("Usage: cargo score-fly"), "{args:?}\n{}", run.stdout);
        assert!(run.stdout.contains("generate"), "{args:?}\n{}", run.stdout);
    }
}
