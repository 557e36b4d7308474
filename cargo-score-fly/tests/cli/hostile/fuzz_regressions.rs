//! Regressions from fuzzing (issue 10, class 6): every input the `cargo fuzz` targets in
//! `fuzz/` (run by `scripts/fuzz.sh`) crashed on, replayed through the real binary as a
//! probe, asserting the fixed behaviour: a clear, located error (or success), never a
//! crash. The fuzzers themselves are not run by CI; these tests are.
//!
//! Each test names the target and the shape; inputs are inlined when small and generated
//! when large.

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
#[ignore = "fixed on branch bounds: YAML nesting bounded by limits::MAX_DEPTH (loader built without recursion)"]
fn yaml_load_compact_nested_sequences_are_refused_not_a_stack_overflow() {
    let text = format!("{}x\n", "- ".repeat(15_000));
    let (_, probe) = generate(&text);
    probe.assert_code(3).assert_stderr_has("limits::MAX_DEPTH").assert_stderr_has("score.yaml");
}
