//! The properties the fuzz targets (`fuzz_targets/*.rs`) check, one function per target, so
//! a crash input can be replayed from a test or a debugger without libFuzzer:
//! `cargo +nightly fuzz run <target> <crash-file>`.
//!
//! Each function panics when its property does not hold; libFuzzer records the input.

use std::collections::BTreeMap;

use score_fly_core::placeholder::{self, Context, Piece, ResourceOutputs};
use score_fly_core::spec::{self, Overrides};

/// (a) and (c): `text` loads (with `overrides`) or is refused, without panicking; a workload
/// it accepts serialises to JSON, and that JSON — a Score document too — loads back to the
/// same workload.
pub fn load_round_trip(text: &str, overrides: &Overrides) {
    let Ok(loaded) = spec::load("score.yaml", text, overrides) else { return };
    workload_round_trip(&loaded.workload);
    converts(&loaded.workload);
}

/// An accepted workload converts to `fly.toml` (or is refused) without panicking, as
/// `generate`'s preflight does; a `fly.toml` written is TOML naming the app, and its secrets
/// text reads back through flyctl's parser.
pub fn converts(workload: &spec::Workload) {
    use score_fly_core::fly::{self, ConvertOptions, NoFiles};
    let mut options = ConvertOptions::new("fz-");
    options.preflight = true;
    options.built = Some(fly::Built::Image("registry.fly.io/fz-app:1".to_owned()));
    let Ok(conversion) = fly::convert(workload, &options, &NoFiles) else { return };
    let text = conversion.to_toml();
    let table: toml::Table = text.parse().unwrap_or_else(|e| panic!("fly.toml is not TOML: {e}\n{text}"));
    assert_eq!(table.get("app").and_then(toml::Value::as_str), Some(conversion.config.app.as_str()));
    if let Ok(secrets) = fly::secrets::import_text(&conversion.secrets) {
        let parsed = fly::secrets::flyctl_parse(&secrets).expect("flyctl reads the secrets text");
        assert_eq!(parsed.len(), conversion.secrets.len());
    }
}

/// An accepted workload, written as JSON, loads back equal.
pub fn workload_round_trip(workload: &spec::Workload) {
    let json = serde_json::to_string(workload).expect("an accepted workload serialises to JSON");
    if json.len() > score_fly_core::limits::MAX_DOCUMENT_BYTES {
        // Aliases can expand a small document past what one file may hold.
        return;
    }
    let again = match spec::load_str("score.json", &json) {
        Ok(again) => again,
        Err(e) => panic!("an accepted workload does not load back from its JSON: {e}\n--- json ---\n{json}"),
    };
    assert!(again.workload == *workload, "the workload changed through JSON\n--- json ---\n{json}");
}

/// The text of `pieces` as a string that parses back to them: literal `$` doubled,
/// placeholders as `${raw}`.
pub fn unparse(pieces: &[Piece]) -> String {
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Literal(text) => out.push_str(&text.replace('$', "$$")),
            Piece::Reference { raw, .. } => {
                out.push_str("${");
                out.push_str(raw);
                out.push('}');
            }
        }
    }
    out
}

/// (b): parsing, checking and expanding `text` never panics; literal text escaped with `$$`
/// reads back as itself; parsed pieces written back parse to the same pieces; a
/// placeholder's segments, joined again with `\.` escapes, split the same way.
pub fn placeholder_properties(text: &str) {
    let metadata = serde_json::json!({
        "name": "web",
        "annotations": {"example.com/key": "v", "n": 1},
        "list": [1, {"k": [true, null]}],
    });
    let resources = BTreeMap::from([(
        "db".to_owned(),
        ResourceOutputs {
            uid: "postgres.default#web.db".to_owned(),
            values: serde_json::json!({"host": "h", "port": 5432, "nested": {"a.b": ["x"]}})
                .as_object()
                .cloned()
                .expect("an object"),
            secrets: serde_json::json!({"password": "p$${x}"}).as_object().cloned().expect("an object"),
        },
    )]);
    let context = Context { metadata: &metadata, resources: &resources };

    // Literal text, escaped.
    let escaped = text.replace('$', "$$");
    let (pieces, unterminated) = placeholder::parse(&escaped).expect("escaped literal text parses");
    assert!(!unterminated, "escaped text has no unterminated placeholder");
    let expected = if text.is_empty() { Vec::new() } else { vec![Piece::Literal(text.to_owned())] };
    assert_eq!(pieces, expected, "escaped literal text reads back as itself");
    let expanded = placeholder::expand(&escaped, &context).expect("escaped literal text expands");
    assert_eq!(expanded.value, text);
    assert!(!expanded.secret);

    // Any text: no panic, and a round trip where it parses.
    let _ = placeholder::expand(text, &context);
    let _ = placeholder::check(text, &metadata, &["db", "other"].into_iter().collect());
    let Ok((pieces, _)) = placeholder::parse(text) else { return };
    let written = unparse(&pieces);
    let (again, unterminated) = placeholder::parse(&written).expect("written pieces parse");
    assert_eq!(again, pieces, "pieces written as {written:?} read back differently");
    assert!(!unterminated);
    for piece in &pieces {
        let Piece::Reference { segments, .. } = piece else { continue };
        let joined = segments.iter().map(|s| s.replace('.', "\\.")).collect::<Vec<_>>().join(".");
        let (parsed, _) = placeholder::parse(&format!("${{{joined}}}")).expect("joined segments parse");
        match parsed.as_slice() {
            [Piece::Reference { segments: again, .. }] => assert_eq!(again, segments, "segments joined as {joined:?}"),
            other => panic!("joined segments {joined:?} parsed as {other:?}"),
        }
    }
}

/// (c): the input is `--override-property` arguments, one per line; after a line `---`,
/// the rest is an `--overrides-file`. They apply to [`BASE`]; see [`load_round_trip`].
pub fn overrides_properties(text: &str) {
    let (properties, file) = match text.split_once("\n---\n") {
        Some((properties, file)) => (properties, Some(file)),
        None => (text, None),
    };
    let overrides = Overrides {
        files: file.map(|f| vec![("overrides.yaml".to_owned(), f.to_owned())]).unwrap_or_default(),
        properties: properties.lines().map(str::to_owned).collect(),
        image: Some("registry.example/app:1".to_owned()),
    };
    load_round_trip(BASE, &overrides);
}

/// The document the override target changes: every section present once.
pub const BASE: &str = r#"apiVersion: score.dev/v1b1
metadata:
  name: web
  annotations:
    score-fly/service-web-handlers: "tls,http"
  extra: {a: [1, 2]}
service:
  ports:
    web: {port: 443, targetPort: 8080}
containers:
  main:
    image: .
    command: ["/app/server"]
    args: ["--port", "8080"]
    variables:
      DB: "postgres://${resources.db.host}"
    files:
      /etc/app.conf: {content: "x=${metadata.name}", mode: "0644"}
    volumes:
      /data: {source: "${resources.data}"}
    resources:
      requests: {cpu: 250m, memory: 256Mi}
    livenessProbe:
      httpGet: {port: 8080, path: /health}
resources:
  db: {type: postgres, params: {size: 1}}
  data: {type: volume}
"#;

/// (d): `#[score_workload(...)]` read from source never panics; a workload it accepts is a
/// Score document that loads back equal, and converts (see [`converts`]). A text holding `fn main` is a whole source file;
/// any other text is the attribute's arguments.
pub fn attr_properties(text: &str) {
    let source =
        if text.contains("fn main") { text.to_owned() } else { format!("#[score_workload({text})]\nfn main() {{}}\n") };
    if let Ok(score_fly_core::attr::FromSource::Inline(loaded)) = score_fly_core::attr::read_source("main.rs", &source)
    {
        workload_round_trip(&loaded.workload);
        converts(&loaded.workload);
    }
    // The macro's entry: the arguments as tokens.
    if let Ok(tokens) = text.parse::<proc_macro2::TokenStream>()
        && let Ok(score_fly_core::attr::Declared::Inline(inline)) =
            score_fly_core::attr::parse(tokens, proc_macro2::Span::call_site())
        && let Ok(loaded) = score_fly_core::attr::load_inline(inline)
    {
        workload_round_trip(&loaded.workload);
    }
}

/// (e): every text `fly::secrets::import_text` writes is read back by the transcription of
/// flyctl's parser as exactly the secrets given; a secret it refuses is named, its value
/// never shown.
pub fn secrets_properties(pairs: Vec<(String, String)>) {
    use score_fly_core::fly::secrets::{SecretFormatError, flyctl_parse, import_text};
    use score_fly_core::secret::Secret;
    let secrets: BTreeMap<String, Secret> = pairs.into_iter().map(|(k, v)| (k, Secret::new(v))).collect();
    match import_text(&secrets) {
        Ok(text) => {
            let parsed = flyctl_parse(&text).unwrap_or_else(|e| panic!("flyctl cannot read what we wrote: {e}"));
            let expected: BTreeMap<String, String> =
                secrets.iter().map(|(k, v)| (k.clone(), v.expose().to_owned())).collect();
            assert!(parsed == expected, "flyctl reads other secrets than we wrote");
        }
        Err(e) => {
            let secret = secrets.get(&e.name).expect("the error names a secret given");
            let value = secret.expose();
            // The message is the template with the name in it: without the name, it must
            // not show the value (unless the template's own words happen to hold it).
            let template = SecretFormatError { name: String::new(), reason: e.reason }.to_string();
            let without_name = e.to_string().replacen(&format!("`{}`", e.name), "``", 1);
            assert_eq!(without_name, template, "the error is its template and the name");
            assert!(template.contains(value) || !without_name.contains(value), "the error shows the value");
        }
    }
}

/// (a) with structure: the shapes of YAML that once broke the loader, their sizes chosen by
/// the fuzzer — nesting (block, compact or flow), alias fan-out ("billion laughs"), many
/// keys, many anchors, long scalars — placed somewhere in a valid Score document. Each must
/// load or be refused within the limits (a crash, an out-of-memory or a timeout is a
/// finding); see [`load_round_trip`].
#[derive(Debug, arbitrary::Arbitrary)]
pub enum Shape {
    /// `depth` levels of sequences or maps.
    Nested {
        /// Levels (at most 20,000).
        depth: u16,
        /// `[[...]]` / `{a: {a: ...}}` instead of block style.
        flow: bool,
        /// Maps instead of sequences.
        maps: bool,
        /// Block sequences written compactly on one line (`- - - x`).
        compact: bool,
    },
    /// `levels` anchors, each a list of `fanout` aliases of the previous one.
    Laughs {
        /// Levels (at most 12).
        levels: u8,
        /// Aliases per level (at most 12).
        fanout: u8,
    },
    /// A map with `count` keys (at most 120,000), or `count` entries of a list.
    Wide {
        /// Keys or entries.
        count: u32,
        /// A list instead of a map.
        list: bool,
    },
    /// A scalar of `len` bytes (at most 2 MiB), plain or quoted, as a value or a key.
    Long {
        /// Bytes.
        len: u32,
        /// As a key.
        key: bool,
    },
}

/// Where a [`Shape`] goes in the Score document.
#[derive(Debug, arbitrary::Arbitrary)]
pub enum Place {
    /// `metadata.extra`.
    Metadata,
    /// `resources.db.params.x`.
    Params,
    /// `containers.main.variables.X` (must be a string: refused unless scalar).
    Variable,
    /// `resources.db.metadata.x`.
    ResourceMetadata,
}

/// The YAML text of `shape`, as the value of a key indented by `indent` spaces.
pub fn shape_text(shape: &Shape, indent: usize) -> String {
    use std::fmt::Write as _;
    let pad = " ".repeat(indent);
    let mut out = String::new();
    match *shape {
        Shape::Nested { depth, flow, maps, compact } => {
            let depth = usize::from(depth).min(20_000);
            if flow {
                let (open, close) = if maps { ("{a: ", "}") } else { ("[", "]") };
                out.push(' ');
                out.push_str(&open.repeat(depth));
                out.push('x');
                out.push_str(&close.repeat(depth));
                out.push('\n');
            } else if compact && !maps {
                out.push('\n');
                out.push_str(&pad);
                out.push_str(&"- ".repeat(depth.max(1)));
                out.push_str("x\n");
            } else {
                out.push('\n');
                for level in 0..depth.max(1) {
                    out.push_str(&pad);
                    out.push_str(&" ".repeat(level));
                    out.push_str(if maps { "a:\n" } else { "-\n" });
                }
                out.push_str(&pad);
                out.push_str(&" ".repeat(depth.max(1)));
                out.push_str("x\n");
            }
        }
        Shape::Laughs { levels, fanout } => {
            let (levels, fanout) = (usize::from(levels.min(12)), usize::from(fanout.clamp(1, 12)));
            out.push('\n');
            let _ = writeln!(out, "{pad}l0: &l0 [lol]");
            for level in 1..=levels {
                let aliases = vec![format!("*l{}", level - 1); fanout].join(", ");
                let _ = writeln!(out, "{pad}l{level}: &l{level} [{aliases}]");
            }
        }
        Shape::Wide { count, list } => {
            let count = (count as usize).min(120_000);
            out.push('\n');
            for i in 0..count {
                if list {
                    let _ = writeln!(out, "{pad}- {i}");
                } else {
                    let _ = writeln!(out, "{pad}k{i}: {i}");
                }
            }
            if count == 0 {
                let _ = writeln!(out, "{pad}empty: {{}}");
            }
        }
        Shape::Long { len, key } => {
            let text = "x".repeat((len as usize).min(2 << 20));
            if key {
                let _ = write!(out, "\n{pad}{text}: 1\n");
            } else {
                let _ = writeln!(out, " \"{text}\"");
            }
        }
    }
    out
}

/// The Score document holding `shape` at `place`.
pub fn shaped_document(shape: &Shape, place: &Place) -> String {
    let head = "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n";
    let containers = "containers:\n  main:\n    image: nginx\n";
    match place {
        Place::Metadata => format!("{head}  extra:{}{containers}", shape_text(shape, 4)),
        Place::Params => {
            format!("{head}{containers}resources:\n  db:\n    type: postgres\n    params:\n      x:{}", shape_text(shape, 8))
        }
        Place::Variable => format!("{head}{containers}    variables:\n      X:{}", shape_text(shape, 8)),
        Place::ResourceMetadata => {
            format!("{head}{containers}resources:\n  db:\n    type: postgres\n    metadata:\n      x:{}", shape_text(shape, 8))
        }
    }
}

/// (g): the input is a `fly.patch.toml`, applied to [`PATCH_BASE`] (a generated fly.toml with
/// one secret name): parsing, merging, refusing and checking never panic, and an accepted
/// result keeps the app and serialises back to TOML that reads as the same table.
pub fn patch(text: &str) {
    use score_fly_core::fly::patch;
    let base: toml::Table = PATCH_BASE.parse().expect("the base is TOML");
    let Ok(parsed) = patch::parse(std::path::Path::new("fly.patch.toml"), text) else { return };
    let secrets = std::collections::BTreeSet::from(["DATABASE_URL".to_owned()]);
    let Ok(result) = patch::apply(&base, &[parsed], &secrets) else { return };
    assert_eq!(result.get("app"), base.get("app"), "a patch changed the app");
    let text = toml::to_string(&result).expect("a patched table serialises");
    let back: toml::Table = text.parse().expect("a serialised patched table reads back");
    assert_eq!(back, result, "{text}");
}

/// The fly.toml the patch target changes.
pub const PATCH_BASE: &str = r#"app = "fuzz-api"
primary_region = "fra"
kill_timeout = "30s"

[build]
image = "registry.fly.io/fuzz-api:sf-0123456789ab"

[env]
LOG = "debug"
PORT = "3000"

[[services]]
internal_port = 3000
protocol = "tcp"

[[vm]]
cpus = 1
memory = "512mb"
"#;

/// (h) A release command line (`score-fly/release-command`, split by `dev` to run it locally):
/// no panic; a line that splits is balanced, and its words, each quoted back, split again into
/// the same words.
pub fn shell_words(text: &str) {
    use score_fly_core::fly::annotations::shell_words;
    let Some(words) = shell_words(text) else { return };
    let quoted: Vec<String> = words.iter().map(|w| format!("'{}'", w.replace('\'', r"'\''"))).collect();
    assert_eq!(shell_words(&quoted.join(" ")).as_ref(), Some(&words), "{text:?}");
}
