//! Where placeholders can appear is one table (`score_fly_core::spec::sites`), walked over
//! the located tree (the semantic check) and over the typed workload (the conversion, the
//! engine, the `environment` builtin). The two walks must find the same sites on every
//! Score document we have: the official samples and examples (`../shared/score`) and our
//! valid corpus (`tests/corpus/score/valid`).

use std::path::{Path, PathBuf};

use score_fly_core::spec::{self, sites};

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// Loads each document and compares the sites of both walks; returns how many documents
/// loaded and how many sites they hold.
fn compare(paths: &[PathBuf], disagreements: &mut Vec<String>) -> (usize, usize) {
    let (mut loaded_count, mut site_count) = (0, 0);
    for path in paths {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let Ok(loaded) = spec::load_str(&path.to_string_lossy(), &text) else { continue };
        loaded_count += 1;
        // The located tree keeps the document's order, the typed workload sorts its maps.
        let mut located = sites::node_sites(&loaded.root);
        located.sort();
        let mut typed = sites::placeholder_sites(&loaded.workload);
        typed.sort();
        site_count += typed.len();
        if located != typed {
            disagreements.push(format!("{}:\n  located: {located:?}\n  typed:   {typed:?}", path.display()));
        }
    }
    (loaded_count, site_count)
}

#[test]
fn the_located_and_the_typed_walk_find_the_same_sites_in_every_sample() {
    let mut disagreements = Vec::new();
    let mut corpus = Vec::new();
    yaml_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/score/valid"), &mut corpus);
    let (loaded, sites) = compare(&corpus, &mut disagreements);
    assert_eq!(loaded, corpus.len(), "every document of the valid corpus loads");
    assert!(sites > 20, "the corpus holds placeholder sites to compare ({sites})");
    if let Some(shared) = score_fly_tests::shared_or_skip("the placeholder sites of the official Score samples") {
        let mut samples = Vec::new();
        yaml_files(&shared.join("score"), &mut samples);
        let (loaded, sites) = compare(&samples, &mut disagreements);
        assert!(loaded >= 10, "the official samples load ({loaded} of {})", samples.len());
        assert!(sites > 0, "the official samples hold placeholder sites");
    }
    assert!(disagreements.is_empty(), "the two walks disagree:\n{}", disagreements.join("\n"));
}
