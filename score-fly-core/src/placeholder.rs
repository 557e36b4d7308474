//! `${...}` placeholders: parsing, checking and substitution, as the Score specification
//! defines them.
//!
//! - `${metadata.a.b}` reads the workload metadata; `${resources.<name>.<output>[.<key>]}`
//!   reads a resource output; `${resources.<name>}` alone is the resource's uid.
//! - `$$` is a literal `$` (so `$${x}` is the text `${x}`); `$x` without braces is kept.
//! - Inside a placeholder, `\.` is a literal dot in a key.
//! - Non-string values are JSON-encoded.
//! - An unterminated `${` is kept literally (as Score's Go library does) and reported as a
//!   warning by the loader.
//!
//! [`expand`] reports whether any **secret** output was read, so callers can route the
//! value to Fly secrets instead of `fly.toml`. An expansion stops as soon as its result
//! would pass [`MAX_EXPANDED_BYTES`] (or the budget given to [`expand_within`]), before the
//! large text is built.

use std::collections::BTreeMap;

use crate::limits::MAX_EXPANDED_BYTES;

/// One part of a parsed string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text (escapes already resolved).
    Literal(String),
    /// A placeholder: its raw text between `${` and `}`, and its path segments.
    Reference {
        /// The text between the braces, as written.
        raw: String,
        /// The dot-separated segments with `\.` unescaped.
        segments: Vec<String>,
    },
}

/// A placeholder problem. Messages never contain output values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlaceholderError {
    /// `${}`.
    #[error("empty placeholder `${{}}` (write `$${{}}` for the literal text)")]
    Empty,
    /// A root other than `metadata` or `resources`.
    #[error(
        "invalid reference `${{{raw}}}`: unknown reference root `{root}`; only `metadata` and `resources` can be referenced (write `$${{` for a literal `${{`)"
    )]
    UnknownRoot {
        /// The placeholder text.
        raw: String,
        /// The root used.
        root: String,
    },
    /// `${resources}` alone.
    #[error("invalid reference `${{{raw}}}`: name a resource, e.g. `${{resources.db.host}}`")]
    MissingResourceName {
        /// The placeholder text.
        raw: String,
    },
    /// `${resources.x...}` where the workload declares no resource `x`.
    #[error("invalid reference `${{{raw}}}`: no resource named `{name}` is declared in this workload{hint}")]
    UnknownResource {
        /// The placeholder text.
        raw: String,
        /// The resource name used.
        name: String,
        /// ` (declared: a, b)` or empty.
        hint: String,
    },
    /// A key that doesn't exist.
    #[error("invalid reference `${{{raw}}}`: key `{key}` not found{hint}")]
    KeyNotFound {
        /// The placeholder text.
        raw: String,
        /// The missing key.
        key: String,
        /// ` (available: a, b)` or empty.
        hint: String,
    },
    /// Looking up a key inside a non-map value.
    #[error("invalid reference `${{{raw}}}`: cannot look up key `{key}`, the value before it is not a map")]
    NotAMap {
        /// The placeholder text.
        raw: String,
        /// The key that could not be looked up.
        key: String,
    },
    /// The expanded text would pass a limit (expansion stopped there).
    #[error("{}", too_large(limit, *limit_bytes))]
    TooLarge {
        /// The limit's name in [`crate::limits`].
        limit: &'static str,
        /// Its value.
        limit_bytes: usize,
    },
}

fn too_large(limit: &str, limit_bytes: usize) -> String {
    let value = crate::limits::human_bytes(limit_bytes);
    let what = if limit == "MAX_EXPANDED_BYTES" {
        "the expanded text"
    } else {
        "with this text, the workload's generated fly.toml and files"
    };
    format!(
        "{what} would be larger than {value} (limits::{limit}): placeholders copy their values, and this copies too much; keep large content in a `source` file with `noExpand: true`, or reference it fewer times"
    )
}

/// How large an expansion may grow: `bytes`, and the limit (name and value) to name when it
/// would grow past them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Bytes the result may have.
    pub bytes: usize,
    /// The limit's name in [`crate::limits`].
    pub limit: &'static str,
    /// The limit's value (`bytes` may be what is left of it).
    pub limit_bytes: usize,
}

impl Budget {
    /// [`MAX_EXPANDED_BYTES`]: the bound of one expanded string.
    pub const EXPANDED: Budget =
        Budget { bytes: MAX_EXPANDED_BYTES, limit: "MAX_EXPANDED_BYTES", limit_bytes: MAX_EXPANDED_BYTES };

    fn exceeded(self) -> PlaceholderError {
        PlaceholderError::TooLarge { limit: self.limit, limit_bytes: self.limit_bytes }
    }
}

/// Splits a string into literal text and placeholders.
///
/// Returns the pieces and whether an unterminated `${` was kept literally.
pub fn parse(input: &str) -> Result<(Vec<Piece>, bool), PlaceholderError> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut unterminated = false;
    let mut rest = input;
    while let Some(pos) = rest.find('$') {
        literal.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            literal.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            if let Some(end) = body.find('}') {
                let raw = &body[..end];
                if raw.is_empty() {
                    return Err(PlaceholderError::Empty);
                }
                if !literal.is_empty() {
                    pieces.push(Piece::Literal(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Reference { raw: raw.to_owned(), segments: split_segments(raw) });
                rest = &body[end + 1..];
            } else {
                unterminated = true;
                literal.push_str(&rest[pos..]);
                rest = "";
            }
        } else {
            literal.push('$');
            rest = after;
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        pieces.push(Piece::Literal(literal));
    }
    Ok((pieces, unterminated))
}

/// The `${resources...}` placeholders of `text`, each as its segments after `resources`:
/// `[name]` for a uid, `[name, output, nested...]` for an output. None when `text` does not
/// parse (the semantic check reports that).
pub fn resource_references(text: &str) -> Vec<Vec<String>> {
    let Ok((pieces, _)) = parse(text) else { return Vec::new() };
    pieces
        .into_iter()
        .filter_map(|piece| match piece {
            Piece::Reference { mut segments, .. } if segments[0] == "resources" => {
                segments.remove(0);
                Some(segments)
            }
            _ => None,
        })
        .collect()
}

fn split_segments(raw: &str) -> Vec<String> {
    let mut segments = Vec::new();
    let mut current = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                current.push('.');
                chars.next();
            }
            '.' => segments.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    segments.push(current);
    segments
}

/// The outputs of one provisioned resource.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceOutputs {
    /// The resource uid (`type.class#id`), what `${resources.<name>}` gives.
    pub uid: String,
    /// Plain outputs.
    pub values: serde_json::Map<String, serde_json::Value>,
    /// Secret outputs (looked up first).
    pub secrets: serde_json::Map<String, serde_json::Value>,
}

/// What placeholders can see.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The workload metadata.
    pub metadata: &'a serde_json::Value,
    /// Outputs by resource name (as declared in the workload).
    pub resources: &'a BTreeMap<String, ResourceOutputs>,
}

/// The result of a substitution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    /// The substituted text.
    pub value: String,
    /// Whether any secret output was read (the value must then be kept secret).
    pub secret: bool,
}

/// Substitutes every placeholder in `input`; the result may have at most
/// [`MAX_EXPANDED_BYTES`].
pub fn expand(input: &str, context: &Context<'_>) -> Result<Expanded, PlaceholderError> {
    expand_within(input, context, Budget::EXPANDED)
}

/// Substitutes every placeholder in `input`, stopping with [`PlaceholderError::TooLarge`] as
/// soon as the result would pass `budget` (nothing larger is ever built).
pub fn expand_within(input: &str, context: &Context<'_>, budget: Budget) -> Result<Expanded, PlaceholderError> {
    let (pieces, _) = parse(input)?;
    let mut value = String::with_capacity(input.len().min(budget.bytes));
    let mut secret = false;
    let push = |value: &mut String, text: &str| {
        if value.len() + text.len() > budget.bytes {
            return Err(budget.exceeded());
        }
        value.push_str(text);
        Ok(())
    };
    for piece in pieces {
        match piece {
            Piece::Literal(text) => push(&mut value, &text)?,
            Piece::Reference { raw, segments } => {
                let (resolved, was_secret) = resolve(&raw, &segments, context)?;
                secret |= was_secret;
                match resolved {
                    serde_json::Value::String(s) => push(&mut value, &s)?,
                    other => {
                        // JSON-encoded into what is left of the budget, never beyond it.
                        let mut out = Capped { bytes: Vec::new(), room: budget.bytes - value.len() };
                        serde_json::to_writer(&mut out, &other).map_err(|_| budget.exceeded())?;
                        push(&mut value, &String::from_utf8_lossy(&out.bytes))?;
                    }
                }
            }
        }
    }
    Ok(Expanded { value, secret })
}

/// A writer that refuses to grow past `room` bytes.
struct Capped {
    bytes: Vec<u8>,
    room: usize,
}

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > self.room {
            return Err(std::io::Error::other("budget exceeded"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Resolves one placeholder to its value and whether it came from a secret output.
fn resolve(
    raw: &str,
    segments: &[String],
    context: &Context<'_>,
) -> Result<(serde_json::Value, bool), PlaceholderError> {
    match segments[0].as_str() {
        "metadata" => Ok((walk(raw, context.metadata, &segments[1..])?.clone(), false)),
        "resources" => {
            let name = segments.get(1).ok_or_else(|| PlaceholderError::MissingResourceName { raw: raw.to_owned() })?;
            let outputs = context.resources.get(name).ok_or_else(|| PlaceholderError::UnknownResource {
                raw: raw.to_owned(),
                name: name.clone(),
                hint: hint("declared", context.resources.keys()),
            })?;
            let Some(key) = segments.get(2) else {
                return Ok((serde_json::Value::String(outputs.uid.clone()), false));
            };
            let (value, secret) = if let Some(v) = outputs.secrets.get(key) {
                (v, true)
            } else if let Some(v) = outputs.values.get(key) {
                (v, false)
            } else {
                let mut keys: Vec<&String> = outputs.values.keys().chain(outputs.secrets.keys()).collect();
                keys.sort();
                keys.dedup();
                return Err(PlaceholderError::KeyNotFound {
                    raw: raw.to_owned(),
                    key: key.clone(),
                    hint: if keys.is_empty() {
                        format!(" (resource `{name}` has no outputs)")
                    } else {
                        hint("outputs of this resource", keys.into_iter())
                    },
                });
            };
            Ok((walk(raw, value, &segments[3..])?.clone(), secret))
        }
        root => Err(PlaceholderError::UnknownRoot { raw: raw.to_owned(), root: root.to_owned() }),
    }
}

/// Names listed in a hint at most: a document with thousands of keys must not make every
/// message list them all.
const HINT_NAMES: usize = 10;

fn hint<S: AsRef<str>>(label: &str, keys: impl ExactSizeIterator<Item = S>) -> String {
    let total = keys.len();
    let shown: Vec<S> = keys.take(HINT_NAMES).collect();
    let more = total - shown.len();
    let shown: Vec<&str> = shown.iter().map(AsRef::as_ref).collect();
    match (shown.is_empty(), more) {
        (true, _) => String::new(),
        (false, 0) => format!(" ({label}: {})", shown.join(", ")),
        (false, more) => format!(" ({label}: {}, and {more} more)", shown.join(", ")),
    }
}

fn walk<'v>(
    raw: &str,
    mut value: &'v serde_json::Value,
    keys: &[String],
) -> Result<&'v serde_json::Value, PlaceholderError> {
    for key in keys {
        value =
            match value {
                serde_json::Value::Object(map) => map.get(key).ok_or_else(|| PlaceholderError::KeyNotFound {
                    raw: raw.to_owned(),
                    key: key.clone(),
                    hint: hint("available", map.keys()),
                })?,
                serde_json::Value::Array(items) => {
                    key.parse::<usize>().ok().and_then(|i| items.get(i)).ok_or_else(|| {
                        PlaceholderError::KeyNotFound { raw: raw.to_owned(), key: key.clone(), hint: String::new() }
                    })?
                }
                _ => return Err(PlaceholderError::NotAMap { raw: raw.to_owned(), key: key.clone() }),
            };
    }
    Ok(value)
}

/// Checks placeholders before provisioning: syntax, roots, declared resources and metadata
/// keys (output keys are only known after provisioning).
pub fn check(
    input: &str,
    metadata: &serde_json::Value,
    declared_resources: &std::collections::BTreeSet<&str>,
) -> Result<bool, PlaceholderError> {
    let (pieces, unterminated) = parse(input)?;
    for piece in &pieces {
        let Piece::Reference { raw, segments } = piece else { continue };
        match segments[0].as_str() {
            "metadata" => {
                walk(raw, metadata, &segments[1..])?;
            }
            "resources" => {
                let name = segments.get(1).ok_or_else(|| PlaceholderError::MissingResourceName { raw: raw.clone() })?;
                if !declared_resources.contains(name.as_str()) {
                    return Err(PlaceholderError::UnknownResource {
                        raw: raw.clone(),
                        name: name.clone(),
                        hint: hint("declared", declared_resources.iter()),
                    });
                }
            }
            root => return Err(PlaceholderError::UnknownRoot { raw: raw.clone(), root: root.to_owned() }),
        }
    }
    Ok(unterminated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ctx_data() -> (serde_json::Value, BTreeMap<String, ResourceOutputs>) {
        let metadata =
            json!({"name": "web", "annotations": {"example.com/key": "v"}, "extra": {"n": 5, "list": [1, {"a": "b"}]}});
        let mut resources = BTreeMap::new();
        resources.insert(
            "db".to_owned(),
            ResourceOutputs {
                uid: "postgres.default#web.db".to_owned(),
                values: json!({"host": "db.internal", "port": 5432, "nested": {"k": "v"}}).as_object().unwrap().clone(),
                secrets: json!({"password": "s3cr3t"}).as_object().unwrap().clone(),
            },
        );
        (metadata, resources)
    }

    fn run(input: &str) -> Result<Expanded, PlaceholderError> {
        let (metadata, resources) = ctx_data();
        expand(input, &Context { metadata: &metadata, resources: &resources })
    }

    #[test]
    fn substitutes_metadata_and_outputs() {
        let e = run("postgres://${resources.db.host}:${resources.db.port}/${metadata.name}").unwrap();
        assert_eq!(e.value, "postgres://db.internal:5432/web");
        assert!(!e.secret);
    }

    #[test]
    fn reading_a_secret_is_reported() {
        let e = run("pw=${resources.db.password}").unwrap();
        assert_eq!(e.value, "pw=s3cr3t");
        assert!(e.secret);
    }

    #[test]
    fn escapes() {
        assert_eq!(run("$${resources.db.host}").unwrap().value, "${resources.db.host}");
        assert_eq!(run("cost: $5 and $$").unwrap().value, "cost: $5 and $");
        assert_eq!(run("${metadata.annotations.example\\.com/key}").unwrap().value, "v");
        assert_eq!(run("a $$$$ b").unwrap().value, "a $$ b");
    }

    #[test]
    fn non_strings_are_json_encoded() {
        assert_eq!(run("${metadata.extra.n}").unwrap().value, "5");
        assert_eq!(run("${resources.db.nested}").unwrap().value, r#"{"k":"v"}"#);
        assert_eq!(run("${metadata.extra.list.1.a}").unwrap().value, "b");
    }

    #[test]
    fn resource_alone_is_its_uid() {
        assert_eq!(run("${resources.db}").unwrap().value, "postgres.default#web.db");
    }

    #[test]
    fn errors_are_clear() {
        assert_eq!(run("${}"), Err(PlaceholderError::Empty));
        let e = run("${env.HOME}").unwrap_err().to_string();
        assert!(e.contains("unknown reference root `env`") && e.contains("$${"), "{e}");
        let e = run("${resources.cache.host}").unwrap_err().to_string();
        assert!(e.contains("no resource named `cache`") && e.contains("declared: db"), "{e}");
        let e = run("${resources.db.user}").unwrap_err().to_string();
        assert!(e.contains("key `user` not found") && e.contains("host") && e.contains("password"), "{e}");
        assert!(!e.contains("s3cr3t"), "error must not leak secret values: {e}");
        let e = run("${metadata.name.first}").unwrap_err().to_string();
        assert!(e.contains("not a map"), "{e}");
        let e = run("${resources}").unwrap_err().to_string();
        assert!(e.contains("name a resource"), "{e}");
        let e = run("${metadata.missing}").unwrap_err().to_string();
        assert!(e.contains("key `missing` not found"), "{e}");
    }

    #[test]
    fn unterminated_placeholders_are_literal() {
        assert_eq!(run("a ${b").unwrap().value, "a ${b");
        let (_, unterminated) = parse("a ${b").unwrap();
        assert!(unterminated);
    }

    #[test]
    fn check_validates_without_outputs() {
        let (metadata, _) = ctx_data();
        let db = std::collections::BTreeSet::from(["db"]);
        assert_eq!(check("${resources.db.anything}", &metadata, &db), Ok(false));
        assert!(check("${resources.other.x}", &metadata, &db).is_err());
        assert!(check("${metadata.nope}", &metadata, &db).is_err());
        assert!(check("${nope}", &metadata, &db).is_err());
        assert_eq!(check("x ${y", &metadata, &std::collections::BTreeSet::new()), Ok(true));
    }

    #[test]
    fn expansion_stops_at_the_budget() {
        let (metadata, mut resources) = ctx_data();
        let big = "x".repeat(1000);
        resources.get_mut("db").unwrap().values.insert("big".into(), json!(big));
        resources.get_mut("db").unwrap().values.insert("list".into(), json!(vec![big.clone(); 2000]));
        let context = Context { metadata: &metadata, resources: &resources };
        // 1,100 copies of 1,000 bytes: past 1 MiB.
        let input = "${resources.db.big}".repeat(1100);
        let e = expand(&input, &context).unwrap_err();
        assert_eq!(e, PlaceholderError::TooLarge { limit: "MAX_EXPANDED_BYTES", limit_bytes: MAX_EXPANDED_BYTES });
        let message = e.to_string();
        assert!(message.contains("larger than 1 MiB (limits::MAX_EXPANDED_BYTES)"), "{message}");
        assert_eq!(expand(&"${resources.db.big}".repeat(1000), &context).unwrap().value.len(), 1_000_000);
        // A JSON-encoded value is cut off too (2,000 × 1,002 bytes).
        assert!(matches!(expand("${resources.db.list}", &context), Err(PlaceholderError::TooLarge { .. })));
        // A smaller budget names its own limit.
        let budget = Budget { bytes: 5000, limit: "MAX_GENERATED_BYTES", limit_bytes: 8 << 20 };
        let e = expand_within(&"${resources.db.big}".repeat(6), &context, budget).unwrap_err().to_string();
        assert!(
            e.contains("generated fly.toml and files would be larger than 8 MiB (limits::MAX_GENERATED_BYTES)"),
            "{e}"
        );
        assert_eq!(expand_within(&"${resources.db.big}".repeat(5), &context, budget).unwrap().value.len(), 5000);
        // Literal text counts as well.
        let budget = Budget { bytes: 3, ..budget };
        assert!(expand_within("abcd", &context, budget).is_err());
    }
}
