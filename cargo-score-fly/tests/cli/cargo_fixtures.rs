//! Fixture cargo packages and workspaces for the tests of cargo mode (`generate` without a
//! Score file, inside a package or workspace).
//!
//! The fixtures are never compiled: `generate` reads `#[score_workload(...)]` from source with
//! `syn` and only runs `cargo metadata --no-deps`, which needs valid manifests but fetches
//! nothing. So fixture packages have no dependencies at all (no registry, no network), and
//! the `score_fly_macros` crate their sources name need not exist.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{BIN, Project, Run};

/// The `Cargo.toml` of a package `name` without dependencies, followed by `extra` (more
/// sections, e.g. `[package.metadata.score-fly]`).
pub(crate) fn manifest(name: &str, extra: &str) -> String {
    format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\npublish = false\n{extra}")
}

/// A `main.rs` whose `main` carries `#[score_fly_macros::score_workload(ARGS)]` (the bare
/// `#[score_fly_macros::score_workload]` when `args` is empty).
pub(crate) fn attributed_main(args: &str) -> String {
    if args.is_empty() {
        "#[score_fly_macros::score_workload]\nfn main() {}\n".to_owned()
    } else {
        format!("#[score_fly_macros::score_workload({args})]\nfn main() {{}}\n")
    }
}

/// A `main.rs` without the attribute.
pub(crate) const PLAIN_MAIN: &str = "fn main() {}\n";

/// The cargo-style status line for one written fly.toml (`Generated` right-aligned to 12).
pub(crate) fn generated(path: &str, app: &str) -> String {
    format!("   Generated {path} (app {app})")
}

/// The warning of `generate` in a package whose project has no app prefix and none asked
/// for (issue 11): `apps` as listed, e.g. "`api`".
pub(crate) fn no_prefix_warning(apps: &str) -> String {
    format!(
        "warning: this project has no app prefix: apps are named after their workloads alone ({apps}), and Fly app names are global; choose a prefix with `cargo score-fly init` (it proposes one from the package name) or set `app-prefix` in [package.metadata.score-fly] (`app-prefix = \"\"` for none)"
    )
}

/// The second line of every `generate --check` that found something out of date.
pub(crate) const OUT_OF_DATE: &str = "error: generated files are out of date: run `cargo score-fly generate`";

impl Project {
    /// A package `name` in the folder `dir` of the project (`""`: the project folder itself):
    /// `Cargo.toml` (with `extra` appended) and `src/main.rs` holding `main_rs`.
    pub(crate) fn package(&self, dir: &str, name: &str, extra: &str, main_rs: &str) {
        self.write(&under(dir, "Cargo.toml"), manifest(name, extra));
        self.write(&under(dir, "src/main.rs"), main_rs);
    }

    /// A virtual workspace manifest at the project root with `members` and `extra` appended.
    pub(crate) fn workspace(&self, members: &[&str], extra: &str) {
        let members: Vec<String> = members.iter().map(|m| format!("\"{m}\"")).collect();
        self.write("Cargo.toml", format!("[workspace]\nresolver = \"3\"\nmembers = [{}]\n{extra}", members.join(", ")));
    }

    /// Runs the binary in the folder `dir` of the project, expects success, and checks every
    /// fly.toml now in the project with the independent checker.
    pub(crate) fn generate_in(&self, dir: &str, args: &[&str]) -> Run {
        let run = self.run_in(dir, args);
        run.assert_code(0);
        for path in self.fly_files() {
            self.fly_toml(&path);
        }
        run
    }

    /// Every `.toml` file of the project but the `Cargo.toml` manifests (so every fly.toml
    /// written), sorted.
    pub(crate) fn fly_files(&self) -> Vec<PathBuf> {
        self.entries()
            .into_iter()
            .filter(|p| p.extension() == Some(OsStr::new("toml")) && p.file_name() != Some(OsStr::new("Cargo.toml")))
            .collect()
    }

    /// The project folder as the operating system names it (what `cargo metadata` reports as
    /// the workspace root), for messages that show absolute paths.
    pub(crate) fn canonical(&self) -> PathBuf {
        std::fs::canonicalize(self.path()).expect("canonicalize the project folder")
    }
}

/// `relative` below `dir` (`dir` may be empty).
fn under(dir: &str, relative: &str) -> String {
    if dir.is_empty() { relative.to_owned() } else { format!("{dir}/{relative}") }
}

/// Runs `cargo ARGS` in `dir` with only the binary under test to find as `cargo-score-fly`:
/// its folder first on `PATH`, and an empty `CARGO_HOME` so an installed one cannot be picked.
pub(crate) fn cargo_in(dir: &Path, args: &[&str]) -> Run {
    let cargo = std::env::var_os("CARGO").map_or_else(|| PathBuf::from(env!("CARGO")), PathBuf::from);
    let bin_dir = Path::new(BIN).parent().expect("the binary is in a folder").to_path_buf();
    let inherited = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(&inherited)))
        .expect("PATH entries hold no separator");
    let cargo_home = tempfile::tempdir().expect("temporary CARGO_HOME");
    let output = Command::new(cargo)
        .args(args)
        .current_dir(dir)
        .env("PATH", path)
        .env("CARGO_HOME", cargo_home.path())
        .env("CARGO_NET_OFFLINE", "true")
        .env_remove("CARGO_TERM_COLOR")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE")
        .output()
        .expect("run cargo");
    Run::from(output)
}
