//! Class 1, bounded input, for what users write: Score files, overrides, `#[score_workload]`
//! arguments and placeholder expansion (`source` files are in [`super::sources`]). Each test
//! starts from the input that broke score-fly: an alias bomb, a deep tree, a huge key count,
//! an oversized document, an expansion that multiplies.
//!
//! Every limit is named in the error (`limits::MAX_...`), located where it was crossed, and
//! a refused input writes nothing.

use std::fmt::Write as _;

use score_fly_core::limits;

use crate::fixtures::INVALID;
use crate::support::{Project, WEB};

/// The error names the limit and the location, and nothing was written.
#[track_caller]
fn refused(project: &Project, args: &[&str], limit: &str) -> super::Probe {
    let before = project.snapshot();
    let probe = project.probe(args).run();
    probe.assert_code(INVALID);
    probe.assert_stderr_has(&format!("(limits::{limit})"));
    assert_eq!(project.snapshot(), before, "a refused input writes nothing\n{}", probe.stderr);
    assert!(probe.stderr_bytes < 128 * 1024, "the error is short: {} bytes", probe.stderr_bytes);
    probe
}

/// WEB with `extra` lines appended under `metadata:` (two spaces of indent each).
fn web_with_metadata(extra: &str) -> String {
    WEB.replace("  name: web\n", &format!("  name: web\n{extra}"))
}

/// The 372-byte "billion laughs" of the issue: 9 levels of 9 aliases (9⁹ copies).
fn laughs(indent: &str) -> String {
    let mut text = format!("{indent}a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (prev, name) in "abcdefgh".chars().zip("bcdefghi".chars()) {
        let _ = writeln!(text, "{indent}{name}: &{name} [{}]", vec![format!("*{prev}"); 9].join(","));
    }
    text
}

#[test]
fn a_billion_laughs_stops_at_the_alias_that_crosses_the_bound() {
    let project = Project::with_score(&web_with_metadata(&laughs("  ")));
    let probe = refused(&project, &["generate"], "MAX_NODES");
    // The first `*e` of line `f:` (line 9 of the file) would bring 66,430 more values.
    let line = laughs("  ").lines().nth(5).unwrap().to_owned();
    assert!(line.starts_with("  f: &f [*e,"), "{line}");
    probe.assert_error_at("this alias copies 66430 values", "score.yaml:9:10", &line);

    // The same bomb in an overrides file, and in an --override-property value.
    let project = Project::with_score(WEB);
    project.write("bomb.yaml", format!("metadata:\n{}", laughs("  ")));
    refused(&project, &["generate", "--overrides-file", "bomb.yaml"], "MAX_NODES").assert_stderr_has("bomb.yaml:");
    let mut flow = String::from("metadata.x={a: &a [lol,lol,lol,lol,lol,lol,lol,lol,lol]");
    for (prev, name) in "abcdefgh".chars().zip("bcdefghi".chars()) {
        let _ = write!(flow, ", {name}: &{name} [{}]", vec![format!("*{prev}"); 9].join(","));
    }
    flow.push('}');
    refused(&project, &["generate", "--override-property", &flow], "MAX_NODES");
}

#[test]
fn deep_nesting_is_refused_in_every_style() {
    // `metadata.x` holding `levels` block sequences, one per line (from line 5), each
    // indented one more.
    let block = |levels: usize| {
        let mut text = String::from("apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n  x:\n");
        for i in 0..levels {
            text.push_str(&" ".repeat(4 + i));
            text.push_str("-\n");
        }
        text + "containers:\n  main:\n    image: nginx\n"
    };
    // The input: 15,000 nested `- ` (112 MB of text, which is first of all far past
    // the document size).
    let project = Project::with_score(&block(15_000));
    refused(&project, &["generate"], "MAX_DOCUMENT_BYTES")
        .assert_stderr_has("Score file score.yaml is larger than 1 MiB (limits::MAX_DOCUMENT_BYTES)");

    // The same shape within the size limit: 1,000 levels stop at level 65.
    let project = Project::with_score(&block(1000));
    let probe = refused(&project, &["generate"], "MAX_DEPTH");
    // The root and metadata are levels 1 and 2, the first sequence level 3: the 63rd (line
    // 5 + 62) would be level 65.
    probe.assert_error_at(
        "nesting deeper than 64 levels (limits::MAX_DEPTH); flatten the document",
        &format!("score.yaml:{}:{}", 5 + 62, 4 + 62 + 1),
        &format!("{}-", " ".repeat(4 + 62)),
    );

    // `- - - ...` on one line, `[[[...`, `{a: {a: ...`: far deeper than any stack.
    for value in [
        format!("{}x", "- ".repeat(100_000)),
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        format!("{}1{}", "{a: ".repeat(100_000), "}".repeat(100_000)),
    ] {
        let text = if value.starts_with('-') {
            web_with_metadata(&format!("  x:\n    {value}\n"))
        } else {
            web_with_metadata(&format!("  x: {value}\n"))
        };
        let project = Project::with_score(&text);
        refused(&project, &["generate"], "MAX_DEPTH");
    }
}

#[test]
fn overrides_are_bounded_like_score_files() {
    let project = Project::with_score(WEB);
    // A deep overrides file (flow and block).
    project.write("deep.yaml", format!("metadata:\n  x: {}{}\n", "[".repeat(100_000), "]".repeat(100_000)));
    refused(&project, &["generate", "--overrides-file", "deep.yaml"], "MAX_DEPTH").assert_stderr_has("deep.yaml:2:");
    // An overrides file past the document size.
    project.write("big.yaml", format!("metadata:\n  x: \"{}\"\n", "x".repeat(2 << 20)));
    refused(&project, &["generate", "--overrides-file", "big.yaml"], "MAX_DOCUMENT_BYTES")
        .assert_stderr_has("big.yaml is larger than 1 MiB");
    // A path of 60,000 segments (the most one argument can carry).
    let path = vec!["a"; 60_000].join(".");
    refused(&project, &["generate", "--override-property", &format!("{path}=1")], "MAX_DEPTH")
        .assert_stderr_has("the path has 60000 segments, more than 63");
    // A value nested past the bound, counting the path it sits below (the root, metadata and
    // x's value are levels 1 to 3: 63 nested lists reach level 65).
    let value = format!("metadata.x={}{}", "[".repeat(63), "]".repeat(63));
    refused(&project, &["generate", "--override-property", &value], "MAX_DEPTH");
    let value = format!("metadata.x={}{}", "[".repeat(50_000), "]".repeat(50_000));
    refused(&project, &["generate", "--override-property", &value], "MAX_DEPTH");
    // Two documents each within MAX_NODES, past it once merged.
    let list = |n: usize| format!("[{}]", vec!["1"; n].join(","));
    let project = Project::with_score(&web_with_metadata(&format!("  a: {}\n", list(60_000))));
    project.write("more.yaml", format!("metadata:\n  b: {}\n", list(60_000)));
    refused(&project, &["generate", "--overrides-file", "more.yaml"], "MAX_NODES")
        .assert_stderr_has("the document holds more than 100000 values");
}

#[test]
fn key_counts_are_bounded_and_linear() {
    // 80,000 keys (160,000 values with their keys): past MAX_NODES, refused at once (8.8 s of
    // quadratic duplicate checks before).
    let keys = |n: usize| (0..n).map(|i| format!("K{i}: v")).collect::<Vec<_>>().join(", ");
    let text = format!("{WEB}    variables: {{{}}}\n", keys(80_000));
    let project = Project::with_score(&text);
    refused(&project, &["generate"], "MAX_NODES")
        .assert_stderr_has("the document holds more than 100000 values (limits::MAX_NODES)");

    // 49,000 keys fit, and load, validate and convert (the probe's timeout is a hang guard;
    // the figures are in the `limits` group of score-fly-core's `convert` benchmark).
    let text = format!("{WEB}    variables: {{{}}}\n", keys(49_000));
    let project = Project::with_score(&text);
    let probe = project.probe(&["generate", "--app-prefix", "demo-"]).run();
    probe.assert_code(0);
    let toml = project.fly_toml("fly_web.toml");
    assert!(toml.contains("K48999 = \"v\""), "every variable is written");
}

#[test]
fn documents_are_bounded_in_size() {
    let project = Project::with_score(&format!("{WEB}    variables:\n      A: \"{}\"\n", "x".repeat(2 << 20)));
    refused(&project, &["generate"], "MAX_DOCUMENT_BYTES")
        .assert_stderr_has("error: Score file score.yaml is larger than 1 MiB (limits::MAX_DOCUMENT_BYTES)");
    // An endless file stops at the limit.
    let project = Project::with_score(WEB);
    refused(&project, &["generate", "/dev/zero"], "MAX_DOCUMENT_BYTES");
    refused(&project, &["generate", "--overrides-file", "/dev/zero"], "MAX_DOCUMENT_BYTES")
        .assert_stderr_has("cannot read overrides file: /dev/zero is larger than 1 MiB");
}

#[test]
fn problems_are_listed_up_to_a_limit_with_short_snippets() {
    // 40,000 problems on one line of 560 KB: before, each was printed with the whole line.
    let variables: Vec<String> = (0..40_000).map(|i| format!("V{i}: {i}")).collect();
    let project = Project::with_score(&format!("{WEB}    variables: {{{}}}\n", variables.join(", ")));
    let probe = refused(&project, &["generate"], "MAX_DIAGNOSTICS");
    probe.assert_stderr_has("39900 more problems not listed: only the first 100 are (limits::MAX_DIAGNOSTICS)");
    assert_eq!(probe.stderr.matches("variable values must be strings").count(), 100);
}

/// WEB with a 100,000-byte metadata value and `variables` lines appended.
fn expanding(variables: &str) -> String {
    format!("{}    variables:\n{variables}", web_with_metadata(&format!("  big: \"{}\"\n", "x".repeat(100_000))))
}

#[test]
fn placeholder_expansion_is_bounded() {
    // One variable that expands to 1.1 MB.
    let text = expanding(&format!("      BIG: \"{}\"\n", "${metadata.big}".repeat(11)));
    let project = Project::with_score(&text);
    let probe = refused(&project, &["generate", "--app-prefix", "demo-"], "MAX_EXPANDED_BYTES");
    probe.assert_stderr_has(
        "containers.main.variables.BIG: the expanded text would be larger than 1 MiB (limits::MAX_EXPANDED_BYTES)",
    );

    // The input: 200 variables of 1 MB each (a 200 MB fly.toml before). Stops past
    // 8 MiB for the workload, naming the variable where it was crossed, once.
    let mut variables = String::new();
    for i in 0..200 {
        let _ = writeln!(variables, "      V{i:03}: \"{}\"", "${metadata.big}".repeat(10));
    }
    let project = Project::with_score(&expanding(&variables));
    let probe = refused(&project, &["generate", "--app-prefix", "demo-"], "MAX_GENERATED_BYTES");
    probe.assert_stderr_has("containers.main.variables.V008: with this text, the workload's generated fly.toml and files would be larger than 8 MiB (limits::MAX_GENERATED_BYTES)");
    assert_eq!(probe.stderr.matches("MAX_GENERATED_BYTES").count(), 1, "reported once\n{}", probe.stderr);
}

#[test]
fn attribute_arguments_are_bounded() {
    // `params(a(a(...)))` 100,000 deep in `#[score_workload]`: refused before it is parsed,
    // located at the group past the bound.
    let prefix = "name = \"web\", image = \"nginx\", resource(db, type = \"postgres\", params(";
    let args = format!("{prefix}{}x = 1{}))", "a(".repeat(100_000), ")".repeat(100_000));
    let project = Project::new();
    project.package("", "svc", "", &format!("#[score_fly_macros::score_workload({args})]\nfn main() {{}}\n"));
    let probe = refused(&project, &["generate"], "MAX_DEPTH");
    probe.assert_stderr_has("nesting deeper than 64 levels (limits::MAX_DEPTH)");
    let column = "#[score_fly_macros::score_workload(".len() + prefix.len() + 2 * 62 + 2;
    probe.assert_stderr_has(&format!("  --> src/main.rs:1:{column}"));

    // Deep code elsewhere in main.rs is no reason to fail: the attribute is read.
    let project = Project::new();
    let main = format!(
        "#[score_fly_macros::score_workload(name = \"web\", image = \"nginx\")]\nfn main() {{ let _ = {}1{}; }}\n",
        "(".repeat(100_000),
        ")".repeat(100_000)
    );
    project.package("", "svc", "", &main);
    project.probe(&["generate", "--app-prefix", "demo-"]).run().assert_code(0);
    assert!(project.fly_toml("fly_web.toml").contains("image = \"nginx\""));
}

#[test]
fn a_binary_source_that_is_a_fifo_or_too_large_is_refused_without_blocking() {
    // A FIFO as src/main.rs: reading it for the attribute once waited for ever.
    let project = Project::new();
    project.package("", "svc", "", "fn main() {}\n");
    std::fs::remove_file(project.path().join("src/main.rs")).unwrap();
    let fifo = project.path().join("src/main.rs");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let probe = project.probe(&["generate", "--app-prefix", "demo-"]).run();
    assert_ne!(probe.code, 0);
    probe.assert_stderr_has("main.rs is a named pipe (FIFO), not a regular file");

    // Larger than MAX_RUST_SOURCE_BYTES (a sparse file: nothing is really written).
    let project = Project::new();
    project.package("", "svc", "", "fn main() {}\n");
    let main = std::fs::OpenOptions::new().write(true).open(project.path().join("src/main.rs")).unwrap();
    main.set_len(limits::MAX_RUST_SOURCE_BYTES as u64 + 1).unwrap();
    let probe = refused(&project, &["generate", "--app-prefix", "demo-"], "MAX_RUST_SOURCE_BYTES");
    probe.assert_stderr_has("is larger than 16 MiB (limits::MAX_RUST_SOURCE_BYTES)");
}

#[test]
fn a_score_file_or_overrides_file_that_is_a_fifo_without_a_writer_does_not_block() {
    // `generate` on a FIFO named score.yaml once waited for a writer for ever (and so did an
    // overrides file). It now reads as empty; a pipe with a writer (`<(...)`) is read.
    let project = Project::new();
    let fifo = project.path().join("score.yaml");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let probe = project.probe(&["generate", "--app-prefix", "demo-"]).run();
    probe.assert_code(3);
    probe.assert_stderr_has("found an empty document");
    assert!(!project.path().join(".score-fly").exists(), "nothing written");

    let project = Project::new();
    std::fs::write(
        project.path().join("score.yaml"),
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: nginx\n",
    )
    .unwrap();
    let fifo = project.path().join("over.yaml");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let probe = project.probe(&["generate", "--app-prefix", "demo-", "--overrides-file", "over.yaml"]).run();
    // An empty overrides file overrides nothing.
    probe.assert_code(0);
    // A pipe with a writer is read (as `generate <(...)` gives one).
    std::fs::remove_file(&fifo).unwrap();
    let piped = project
        .probe(&["generate", "--app-prefix", "demo-", "/dev/stdin"])
        .stdin(std::fs::read(project.path().join("score.yaml")).unwrap());
    piped.run().assert_code(0);
}
