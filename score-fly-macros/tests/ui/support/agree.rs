// Included by every `tests/ui/pass/*.rs` case (trybuild compiles each case alone, so the
// helper lives outside `pass/` and comes in with `include!`).
//
// `check_agreement(file!())` proves that `#[score_workload]` and `cargo score-fly` agree on
// this case's workload: the JSON the macro embedded in this very executable must equal what
// `score_fly_core::attr::read_source` (the CLI's reading of the attribute from source, no
// build) gives for this case's source file. Any difference panics, so the case fails.
// Returns the workload JSON, for the case's own assertions.

fn check_agreement(source_file: &str) -> serde_json::Value {
    use score_fly_core::attr::{self, FromSource};
    use std::path::{Path, PathBuf};

    // Compile-time manifest dir: under trybuild it is trybuild's generated package, the
    // directory the macro resolved `score.yaml` and `file = "..."` against.
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));

    let exe = std::env::current_exe().expect("cannot locate the running executable");
    let binary = std::fs::read(&exe).unwrap_or_else(|e| panic!("cannot read {}: {e}", exe.display()));
    let embedded =
        attr::find_embedded(&binary).unwrap_or_else(|| panic!("{} carries no embedded workload", exe.display()));
    let embedded: serde_json::Value =
        serde_json::from_str(embedded).unwrap_or_else(|e| panic!("embedded workload is not JSON: {e}\n{embedded}"));

    // `file!()` is absolute under trybuild; if it is ever relative, try the usual bases.
    let given = Path::new(source_file);
    let candidates: Vec<PathBuf> = if given.is_absolute() {
        vec![given.to_path_buf()]
    } else {
        let mut c = vec![manifest_dir.join(given)];
        if let Ok(cwd) = std::env::current_dir() {
            c.push(cwd.join(given));
        }
        c
    };
    let source = candidates
        .iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("cannot find this case's source {source_file:?}; tried {candidates:?}"));
    let text = std::fs::read_to_string(source).unwrap_or_else(|e| panic!("cannot read {}: {e}", source.display()));

    let from_source = match attr::read_source(&source.display().to_string(), &text) {
        Ok(FromSource::Inline(loaded)) => serde_json::to_value(&loaded.workload).expect("workload serializes"),
        Ok(FromSource::File { path, .. }) => {
            let score_file = manifest_dir.join(&path);
            let score_text = std::fs::read_to_string(&score_file)
                .unwrap_or_else(|e| panic!("cannot read the Score file {}: {e}", score_file.display()));
            let loaded = score_fly_core::spec::load_str(&score_file.display().to_string(), &score_text)
                .unwrap_or_else(|e| panic!("the CLI rejects the Score file the macro accepted: {e}"));
            serde_json::to_value(&loaded.workload).expect("workload serializes")
        }
        Ok(FromSource::Nothing) => panic!("the CLI finds no #[score_workload] on `fn main` in {}", source.display()),
        Err(e) => panic!("the CLI rejects the attribute the macro accepted:\n{e}"),
    };
    assert_eq!(
        embedded, from_source,
        "the macro (left: embedded in the binary) and the CLI (right: read from source) disagree"
    );
    embedded
}
