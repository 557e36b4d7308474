//! The official Score JSON schema is the judge of our validator.
//!
//! Every document of the project corpus (`tests/corpus/score/{valid,invalid}/*.yaml`) and every
//! sample and example shipped with the Score specification (`../shared/score/{samples,examples}`)
//! is checked twice: by the official `score.dev/v1b1` JSON schema (draft 2020-12, through the
//! `jsonschema` crate, on the document parsed by `serde_yaml`) and by
//! `score_fly_core::spec::load_str`. Both must reach the same verdict for every document.
//!
//! Corpus documents also carry the verdict they were written for, in their leading comments:
//!
//! ```yaml
//! # What the document tests.
//! # expect: valid
//! ```
//!
//! or one `# expect-error: <path>` line per diagnostic path our validator must report (an empty
//! path means the document root). The header must agree with the judge, so a corpus file cannot
//! be mislabelled, and our diagnostics must name every expected path.
//!
//! Only the judge test may skip, when the schema is not available (`SCORE_SCHEMA_PATH`, else
//! `score/score-v1b1.json` in the shared reference folder). The corpus checks that need no
//! schema always run.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use score_fly_core::spec;
use serde_json::Value;

/// Minimum size of the project corpus.
const MIN_DOCUMENTS: usize = 80;
/// Minimum number of documents the schema accepts.
const MIN_VALID: usize = 30;
/// Minimum number of documents the schema rejects.
const MIN_INVALID: usize = 40;
/// How many of the judge's error messages a mismatch report quotes.
const JUDGE_ERRORS_SHOWN: usize = 3;

/// The verdict a corpus document declares in its header.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Expectation {
    /// `# expect: valid`
    Valid,
    /// `# expect-error: <path>` lines, one path each (possibly empty: the root).
    Invalid(Vec<String>),
}

impl Expectation {
    fn is_valid(&self) -> bool {
        *self == Self::Valid
    }

    fn describe(&self) -> &'static str {
        if self.is_valid() { "valid" } else { "invalid" }
    }
}

/// One Score document to judge.
struct Document {
    /// Where it comes from, for reports (a path relative to the corpus or shared folder).
    name: String,
    text: String,
    /// `None` for the shared samples and examples, which carry no header.
    expectation: Option<Expectation>,
}

/// Verdict of one side, with what it said.
struct Verdict {
    valid: bool,
    messages: Vec<String>,
}

impl Verdict {
    fn describe(&self) -> String {
        let word = if self.valid { "valid" } else { "invalid" };
        if self.messages.is_empty() { word.to_owned() } else { format!("{word} ({})", self.messages.join("; ")) }
    }
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus/score")
}

/// Where the official schema is: `SCORE_SCHEMA_PATH`, else the shared reference folder
/// (`None` when that is missing on a developer's machine; a failure in CI).
fn schema_location() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("SCORE_SCHEMA_PATH") {
        return Some(PathBuf::from(path));
    }
    Some(score_fly_tests::shared_or_skip("the official Score schema as judge")?.join("score/score-v1b1.json"))
}

/// Reads the leading comment block of a corpus document into its expectation.
fn parse_header(text: &str) -> Result<Expectation, String> {
    let mut valid = false;
    let mut paths = Vec::new();
    for line in text.lines().take_while(|line| line.starts_with('#')) {
        if line.trim_end() == "# expect: valid" {
            valid = true;
        } else if let Some(path) = line.strip_prefix("# expect-error:") {
            paths.push(path.trim().to_owned());
        } else if line.starts_with("# expect") {
            return Err(format!("malformed expectation line {line:?}"));
        }
    }
    match (valid, paths.is_empty()) {
        (true, true) => Ok(Expectation::Valid),
        (false, false) => Ok(Expectation::Invalid(paths)),
        (true, false) => Err("both `# expect: valid` and `# expect-error:` lines".to_owned()),
        (false, true) => {
            Err("no `# expect: valid` or `# expect-error: <path>` line in the leading comments".to_owned())
        }
    }
}

fn yaml_files(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display())).path();
        if path.is_dir() {
            if recursive {
                yaml_files(&path, recursive, out);
            }
        } else if path.extension().is_some_and(|ext| ext == "yaml") {
            out.push(path);
        }
    }
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base).unwrap_or(path).display().to_string()
}

/// The project corpus, with every header problem found on the way.
fn project_corpus() -> (Vec<Document>, Vec<String>) {
    let base = corpus_dir();
    let mut documents = Vec::new();
    let mut problems = Vec::new();
    for folder in ["valid", "invalid"] {
        let dir = base.join(folder);
        let mut paths = Vec::new();
        yaml_files(&dir, false, &mut paths);
        paths.sort();
        for path in paths {
            let name = relative(&path, &base);
            let text = read(&path);
            let file_name = path.file_name().unwrap_or_default().to_string_lossy();
            if !is_corpus_file_name(&file_name) {
                problems.push(format!("{name}: file name is not `NNN-short-rule-name.yaml`"));
            }
            match parse_header(&text) {
                Ok(expectation) => {
                    if expectation.is_valid() != (folder == "valid") {
                        problems.push(format!(
                            "{name}: the header says {} but the file is under {folder}/",
                            expectation.describe()
                        ));
                    }
                    documents.push(Document { name, text, expectation: Some(expectation) });
                }
                Err(problem) => problems.push(format!("{name}: {problem}")),
            }
        }
    }
    (documents, problems)
}

fn is_corpus_file_name(name: &str) -> bool {
    let Some(stem) = name.strip_suffix(".yaml") else {
        return false;
    };
    let Some((number, rule)) = stem.split_once('-') else {
        return false;
    };
    number.len() == 3
        && number.bytes().all(|b| b.is_ascii_digit())
        && !rule.is_empty()
        && !rule.starts_with('-')
        && !rule.ends_with('-')
        && rule.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The samples and examples of the Score specification, without expectations.
fn shared_documents(shared: &Path) -> Vec<Document> {
    let mut paths = Vec::new();
    for folder in ["score/samples", "score/examples"] {
        let dir = shared.join(folder);
        if dir.is_dir() {
            yaml_files(&dir, true, &mut paths);
        }
    }
    paths.sort();
    paths
        .into_iter()
        .map(|path| Document {
            name: format!("shared/{}", relative(&path, shared)),
            text: read(&path),
            expectation: None,
        })
        .collect()
}

/// Our validator's verdict, with its diagnostics and their paths.
fn our_verdict(document: &Document) -> (Verdict, Vec<String>) {
    let diagnostics = match spec::load_str(&document.name, &document.text) {
        Ok(loaded) => {
            let messages = loaded.warnings.iter().map(|d| format!("warning at `{}`: {}", d.path, d.message)).collect();
            return (Verdict { valid: true, messages }, Vec::new());
        }
        Err(error) => error.diagnostics,
    };
    let messages = diagnostics.iter().map(|d| format!("at `{}`: {}", d.path, d.message)).collect();
    let paths = diagnostics.into_iter().map(|d| d.path).collect();
    (Verdict { valid: false, messages }, paths)
}

/// The official schema's verdict on the document as `serde_yaml` reads it.
fn judge_verdict(validator: &jsonschema::Validator, document: &Document) -> Verdict {
    let value: Value = match serde_yaml::from_str(&document.text) {
        Ok(value) => value,
        Err(e) => {
            return Verdict { valid: false, messages: vec![format!("not a JSON value: {e}")] };
        }
    };
    let messages: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| {
            let at = e.instance_path().as_str();
            format!("at `{}`: {e}", if at.is_empty() { "/" } else { at })
        })
        .collect();
    let valid = messages.is_empty();
    Verdict { valid, messages: messages.into_iter().take(JUDGE_ERRORS_SHOWN).collect() }
}

/// What is wrong with our verdict given the header's expectation (nothing: empty).
fn against_expectation(expectation: &Expectation, ours: &Verdict, paths: &[String]) -> Vec<String> {
    match expectation {
        Expectation::Valid if !ours.valid => {
            vec![format!("expected valid, we say {}", ours.describe())]
        }
        Expectation::Invalid(_) if ours.valid => {
            vec![format!("expected invalid, we say {}", ours.describe())]
        }
        Expectation::Invalid(expected) => expected
            .iter()
            .filter(|path| !paths.contains(path))
            .map(|path| format!("expected a diagnostic at `{path}`, we say {}", ours.describe()))
            .collect(),
        Expectation::Valid => Vec::new(),
    }
}

fn fail_with(title: &str, problems: &[String]) {
    if problems.is_empty() {
        return;
    }
    let mut report = format!("{title}: {} problem(s)\n", problems.len());
    for problem in problems {
        let _ = writeln!(report, "  - {problem}");
    }
    panic!("{report}");
}

#[test]
fn score_corpus_is_large_and_labelled() {
    let (documents, problems) = project_corpus();
    fail_with("malformed corpus documents", &problems);
    let valid = documents.iter().filter(|d| d.expectation.as_ref().is_some_and(Expectation::is_valid)).count();
    let invalid = documents.len() - valid;
    assert!(
        documents.len() >= MIN_DOCUMENTS && valid >= MIN_VALID && invalid >= MIN_INVALID,
        "the Score corpus under {} holds {} documents ({valid} valid, {invalid} invalid); \
         it needs at least {MIN_DOCUMENTS} ({MIN_VALID} valid, {MIN_INVALID} invalid)",
        corpus_dir().display(),
        documents.len(),
    );
}

#[test]
fn our_validator_follows_the_corpus_headers() {
    let (documents, problems) = project_corpus();
    fail_with("malformed corpus documents", &problems);
    let mut mismatches = Vec::new();
    for document in &documents {
        let Some(expectation) = &document.expectation else {
            continue;
        };
        let (ours, paths) = our_verdict(document);
        for problem in against_expectation(expectation, &ours, &paths) {
            mismatches.push(format!("{}: {problem}", document.name));
        }
    }
    fail_with("our validator disagrees with the corpus headers", &mismatches);
}

#[test]
fn official_schema_judges_our_validator() {
    let Some(schema_path) = schema_location() else { return };
    let schema: Value = serde_json::from_str(&read(&schema_path))
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", schema_path.display()));
    let validator = jsonschema::draft202012::new(&schema)
        .unwrap_or_else(|e| panic!("{} is not a valid schema: {e}", schema_path.display()));

    let (mut documents, problems) = project_corpus();
    fail_with("malformed corpus documents", &problems);
    if let Some(shared) = score_fly_tests::shared_or_skip("the official Score samples judged by the schema") {
        documents.extend(shared_documents(&shared));
    }

    let mut mismatches = Vec::new();
    let (mut corpus_valid, mut corpus_invalid) = (0, 0);
    for document in &documents {
        let judge = judge_verdict(&validator, document);
        let (ours, paths) = our_verdict(document);
        let mut problems = Vec::new();
        if ours.valid != judge.valid {
            problems.push(format!("the judge says {}, we say {}", judge.describe(), ours.describe()));
        }
        if let Some(expectation) = &document.expectation {
            if judge.valid {
                corpus_valid += 1;
            } else {
                corpus_invalid += 1;
            }
            if expectation.is_valid() != judge.valid {
                problems.push(format!(
                    "mislabelled: the header says {}, the judge says {}",
                    expectation.describe(),
                    judge.describe()
                ));
            } else if ours.valid == judge.valid {
                problems.extend(against_expectation(expectation, &ours, &paths));
            }
        }
        mismatches.extend(problems.into_iter().map(|problem| format!("{}: {problem}", document.name)));
    }
    fail_with(
        &format!(
            "the official schema and our validator disagree ({} documents, {} of them shared samples)",
            documents.len(),
            documents.len() - corpus_valid - corpus_invalid,
        ),
        &mismatches,
    );
    assert!(
        corpus_valid + corpus_invalid >= MIN_DOCUMENTS && corpus_valid >= MIN_VALID && corpus_invalid >= MIN_INVALID,
        "the judge finds {corpus_valid} valid and {corpus_invalid} invalid corpus documents; \
         the corpus needs at least {MIN_DOCUMENTS} ({MIN_VALID} valid, {MIN_INVALID} invalid)"
    );
}
