//! trybuild UI tests for `#[score_workload]`.
//!
//! `ui/pass/*.rs` must compile and run: each proves, at run time, that the workload the macro
//! embedded in the binary equals what `cargo score-fly` reads from the same source
//! (`ui/support/agree.rs`). `ui/fail/*.rs` must fail to compile with exactly the errors in the
//! `.stderr` beside them (regenerate with `TRYBUILD=overwrite cargo test -p score-fly-macros
//! --test macros ui`, then read every diff).

use std::path::Path;

#[test]
fn ui() {
    stage_fixtures();
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}

/// trybuild builds the cases as a package of its own, `<target>/tests/trybuild/<crate>/`, so
/// that is the `CARGO_MANIFEST_DIR` the macro reads `score.yaml` (bare form) and
/// `file = "..."` against, not this crate's directory. Copy the fixtures there:
/// `ui/fixtures/*` to `tests/ui/fixtures/` (so cases write `file = "tests/ui/fixtures/x.yaml"`)
/// and `ui/fixtures/score.yaml` also to the package root, for the bare `#[score_workload]`.
fn stage_fixtures() {
    let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("CARGO_TARGET_TMPDIR is <target>/tmp");
    let project = target_dir.join("tests").join("trybuild").join(env!("CARGO_PKG_NAME"));
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui/fixtures");
    let staged = project.join("tests/ui/fixtures");
    std::fs::create_dir_all(&staged).unwrap_or_else(|e| panic!("cannot create {}: {e}", staged.display()));
    let entries = std::fs::read_dir(&fixtures).unwrap_or_else(|e| panic!("cannot list {}: {e}", fixtures.display()));
    for entry in entries {
        let from = entry.expect("fixture directory entry").path();
        let to = staged.join(from.file_name().expect("fixture file name"));
        copy(&from, &to);
    }
    copy(&fixtures.join("score.yaml"), &project.join("score.yaml"));
}

/// Copies unless `to` already holds the same bytes (a fresh mtime would rebuild the cases).
fn copy(from: &Path, to: &Path) {
    let bytes = std::fs::read(from).unwrap_or_else(|e| panic!("cannot read {}: {e}", from.display()));
    if std::fs::read(to).ok().as_ref() != Some(&bytes) {
        std::fs::write(to, bytes).unwrap_or_else(|e| panic!("cannot write {}: {e}", to.display()));
    }
}
