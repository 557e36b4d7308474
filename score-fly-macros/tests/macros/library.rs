//! `#[score_workload]` on the `main` of a library (not a binary target) is a compile error.
//!
//! trybuild builds every case as a binary, so this case is a real `cargo check` of a small
//! library crate written here. It builds offline, with this workspace's `Cargo.lock`, in
//! trybuild's target folder (where the macro and its dependencies are usually built already).

use std::path::{Path, PathBuf};
use std::process::Command;

#[test]
fn the_attribute_on_a_library_is_refused() {
    let macros = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let workspace = macros.parent().expect("score-fly-macros is in the workspace");
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).parent().expect("<target>/tmp").join("tests").join("trybuild");
    let dir = tempfile::tempdir().expect("temp dir");
    let manifest = format!(
        "[package]\nname = \"library-fixture\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[lib]\npath = \"src/lib.rs\"\n\n[dependencies]\nscore-fly-macros = {{ path = {:?} }}\n\n[workspace]\n",
        macros.display().to_string()
    );
    std::fs::write(dir.path().join("Cargo.toml"), manifest).unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(
        dir.path().join("src/lib.rs"),
        "//! A library by mistake.\n\n#[score_fly_macros::score_workload(name = \"web\")]\npub fn main() {}\n",
    )
    .unwrap();
    std::fs::copy(workspace.join("Cargo.lock"), dir.path().join("Cargo.lock")).unwrap();
    let output = Command::new(env!("CARGO"))
        .args(["check", "--offline", "--quiet", "--message-format", "short"])
        .current_dir(dir.path())
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "a library with the attribute must not build\n{stderr}");
    assert!(
        stderr.contains("src/lib.rs:4:8:")
            && stderr.contains(
                "#[score_workload] declares the workload of a binary, but `library_fixture` is not being built as one"
            ),
        "{stderr}"
    );
}
