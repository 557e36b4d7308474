//! Regressions from fuzzing (issue 10, class 6): every input the `cargo fuzz` targets in
//! `fuzz/` (run by `scripts/fuzz.sh`) crashed on, replayed through the real binary as a
//! probe, asserting the fixed behaviour: a clear, located error (or success), never a
//! crash. The fuzzers themselves are not run by CI; these tests are.
//!
//! Each test names the target and the shape; inputs are inlined when small and generated
//! when large.

use std::fmt::Write as _;

use crate::support::Project;

/// Replays `text` as a Score file through `generate` under the probe's limits; returns the
/// probe for further assertions.
fn generate(text: &str) -> (Project, super::Probe) {
    let project = Project::with_score(text);
    let before = project.snapshot();
    let probe = project.probe(&["generate", "score.yaml"]).run();
    if probe.code != 0 {
        assert_eq!(project.snapshot(), before, "a refused input writes nothing\n{}", probe.stderr);
    }
    (project, probe)
}

/// `yaml_load`: sequences nested in compact form on one line (`- - - … x`). 12,000 levels
/// (24 KB) overflowed the stack of the fuzz target (SIGSEGV); 6,000 did not. Replaying the
/// shape at 15,000 levels through the CLI aborts it the same way. Found by replaying the
/// issue's shape in compact form through the target, not by libFuzzer itself (its inputs
/// stayed shallower); it is the known unbounded-nesting defect of the YAML loader.
#[test]
fn yaml_load_compact_nested_sequences_are_refused_not_a_stack_overflow() {
    let text = format!("{}x\n", "- ".repeat(15_000));
    let (_, probe) = generate(&text);
    probe.assert_code(3).assert_stderr_has("limits::MAX_DEPTH").assert_stderr_has("score.yaml");
}

/// The `yaml_shapes` input `(Laughs { levels: 10, fanout: 12 }, ResourceMetadata)`: ten
/// anchors, each a list of twelve aliases of the one before, under a resource's metadata
/// (939 bytes). The fuzz target ran out of its 1 GiB within a minute (12¹⁰ values). The
/// known unbounded alias expansion of the YAML loader ("billion laughs").
#[test]
fn yaml_shapes_alias_fan_out_under_resource_metadata_is_refused_not_out_of_memory() {
    let mut laughs = String::from("        l0: &l0 [lol]\n");
    for level in 1..=10 {
        let aliases = vec![format!("*l{}", level - 1); 12].join(", ");
        let _ = writeln!(laughs, "        l{level}: &l{level} [{aliases}]");
    }
    let text = format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\nresources:\n  db:\n    type: postgres\n    metadata:\n      x:\n{laughs}"
    );
    assert!(text.len() < 1024, "a small document: {} bytes", text.len());
    let (_, probe) = generate(&text);
    probe.assert_code(3).assert_stderr_has("limits::MAX_NODES").assert_stderr_has("score.yaml");
}

/// The `yaml_shapes` input `(Nested { depth: 255, flow: false, maps: false, compact: false },
/// Metadata)`: a block sequence 255 levels deep under `metadata.extra`. The loader accepted
/// it, but the workload's JSON did not load back ("recursion limit exceeded"): what
/// score-fly accepts, it records in the state, which then could not be read. The known
/// "accepted but unreadable later" defect; the fix bounds nesting where it enters. (Also
/// found in compact form, `- - - …` 5,376 deep.)
#[test]
fn yaml_shapes_deep_block_metadata_is_refused_where_it_enters() {
    let mut nested = String::new();
    for level in 0..255 {
        let _ = writeln!(nested, "    {}-", " ".repeat(level));
    }
    let _ = writeln!(nested, "    {}x", " ".repeat(255));
    let text = format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n  extra:\n{nested}containers:\n  main:\n    image: nginx\n"
    );
    let (project, probe) = generate(&text);
    probe.assert_code(3).assert_stderr_has("limits::MAX_DEPTH").assert_stderr_has("score.yaml");
    // And had it been accepted, the next run would have to read it back.
    project.probe(&["generate", "score.yaml"]).run().assert_code(3);
}

/// The `yaml_shapes` input `(Wide { count: 120000, list: false }, Metadata)` (sizes above
/// 120,000 are capped by the target): a map of 120,000 keys under `metadata.extra`, 1.6 MB.
/// It took longer than the fuzzer's timeout (over 20 s on replay: the known quadratic key
/// check). Fixed, it stops at a limit (the document's size or its value count) at once; the
/// probe's timeout is the hang guard.
#[test]
fn yaml_shapes_many_keys_stop_at_a_limit_not_a_hang() {
    let mut keys = String::with_capacity(120_000 * 20);
    for i in 0..120_000 {
        let _ = writeln!(keys, "    k{i}: {i}");
    }
    let text = format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n  extra:\n{keys}containers:\n  main:\n    image: nginx\n"
    );
    let (_, probe) = generate(&text);
    probe.assert_code(3).assert_stderr_has("limits::MAX_");
}
