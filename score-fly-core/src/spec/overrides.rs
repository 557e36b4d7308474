//! Overrides applied to the raw document before validation, as score-compose does:
//! `--overrides-file` (deep merge), `--override-property path=value`, `--image`.

use std::collections::HashMap;

use super::node::{FieldPath, Key, Location, Node, SourceMap, Value};
use super::{Diagnostic, yaml};
use crate::limits::{MAX_DEPTH, MAX_DOCUMENT_BYTES};

/// Characters of an `--override-property` argument shown where a location names it.
const SHOWN_CHARS: usize = 120;

/// The overrides of one load.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--overrides-file`: (name for messages, YAML text), merged in order.
    pub files: Vec<(String, String)>,
    /// `--override-property path=value`, applied in order after the files.
    pub properties: Vec<String>,
    /// `--image`: replaces every container image that is `.`.
    pub image: Option<String>,
}

impl Overrides {
    /// Whether nothing is overridden.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.properties.is_empty() && self.image.is_none()
    }
}

/// Applies all overrides to `root`. Problems are returned as diagnostics.
pub(super) fn apply(
    root: &mut Node,
    overrides: &Overrides,
    sources: &mut SourceMap,
    warnings: &mut Vec<Diagnostic>,
) -> Vec<Diagnostic> {
    let mut errors = Vec::new();
    for (name, text) in &overrides.files {
        if text.len() > MAX_DOCUMENT_BYTES {
            errors.push(Diagnostic {
                path: String::new(),
                location: None,
                message: format!("overrides file {name}: {}", yaml::too_large(text.len())),
            });
            continue;
        }
        let source = sources.add(name.clone(), text.clone());
        match yaml::parse(text, source) {
            Ok(patch) if patch.as_map().is_some() => merge(root, patch),
            Ok(Node { value: Value::Null, .. }) => {}
            Ok(patch) => errors.push(Diagnostic {
                path: String::new(),
                location: patch.location,
                message: format!("an overrides file must hold a map, found {}", patch.value.type_name()),
            }),
            Err(e) => errors.push(Diagnostic { path: String::new(), location: Some(e.location), message: e.message }),
        }
    }
    for property in &overrides.properties {
        // The name shows in every location: a long argument is shortened there.
        let shown = match property.char_indices().nth(SHOWN_CHARS) {
            Some((end, _)) => format!("{}…", &property[..end]),
            None => property.clone(),
        };
        let source = sources.add_argument(format!("--override-property {shown}"), property.clone());
        let location = Location { source, line: 1, column: 1 };
        if let Err(error) = apply_property(root, property, source) {
            errors.push(Diagnostic { path: String::new(), location: Some(location), message: error.to_string() });
        }
    }
    if let Some(image) = &overrides.image {
        let source = sources.add_argument(format!("--image {image}"), image.clone());
        let location = Location { source, line: 1, column: 1 };
        let mut replaced = 0;
        if let Some(containers) = root.get_mut("containers").and_then(Node::as_map_mut) {
            for (_, container) in containers {
                if let Some(node) = container.get_mut("image")
                    && node.as_str() == Some(".")
                {
                    *node = Node { value: Value::Str(image.clone()), location: Some(location) };
                    replaced += 1;
                }
            }
        }
        if replaced == 0 {
            warnings.push(Diagnostic {
                path: String::new(),
                location: Some(location),
                message: "--image was given but no container has image `.`; nothing replaced".to_owned(),
            });
        }
    }
    errors
}

/// Deep merge: maps merge key by key, `null` deletes, anything else replaces. Keys are
/// found through an index, so merging two large maps is linear, not quadratic; the
/// recursion follows the patch, which the YAML loader bounds to [`MAX_DEPTH`] levels.
fn merge(target: &mut Node, patch: Node) {
    match (target.as_map_mut(), patch.value) {
        (Some(entries), Value::Map(patch_entries)) => {
            let mut slots: Vec<Option<(Key, Node)>> = std::mem::take(entries).into_iter().map(Some).collect();
            let mut index: HashMap<String, usize> =
                slots.iter().enumerate().filter_map(|(i, e)| Some((e.as_ref()?.0.name.clone(), i))).collect();
            for (key, value) in patch_entries {
                match (index.get(&key.name).copied(), &value.value) {
                    (Some(i), Value::Null) => {
                        slots[i] = None;
                        index.remove(&key.name);
                    }
                    (None, Value::Null) => {}
                    (Some(i), _) => {
                        if let Some((_, existing)) = slots[i].as_mut() {
                            merge(existing, value);
                        }
                    }
                    (None, _) => {
                        index.insert(key.name.clone(), slots.len());
                        slots.push(Some((key, value)));
                    }
                }
            }
            *entries = slots.into_iter().flatten().collect();
        }
        (_, value) => {
            *target = Node { value, location: patch.location };
        }
    }
}

/// Splits an override path on unescaped dots (`\.` is a literal dot).
pub(super) fn split_path(path: &str) -> Vec<String> {
    let mut segments = vec![String::new()];
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'.') => {
                chars.next();
                segments.last_mut().expect("never empty").push('.');
            }
            '.' => segments.push(String::new()),
            c => segments.last_mut().expect("never empty").push(c),
        }
    }
    segments
}

/// Why an `--override-property` cannot be applied; `path` is the part before `=`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum PropertyError {
    /// No `=`.
    #[error("--override-property `{property}` must be `path=value` (an empty value deletes the path)")]
    NotAssignment {
        /// The whole argument.
        property: String,
    },
    /// An empty path, or `..` in it.
    #[error("--override-property `{property}`: the path `{path}` has an empty segment")]
    EmptySegment {
        /// The whole argument.
        property: String,
        /// The path.
        path: String,
    },
    /// More segments than the document may nest.
    #[error(
        "--override-property: the path has {segments} segments, more than {}: below the document root, that nests deeper than {MAX_DEPTH} levels (limits::MAX_DEPTH); Score fields are never that deep",
        MAX_DEPTH - 1
    )]
    TooDeep {
        /// Segments in the path.
        segments: usize,
    },
    /// A value longer than a document may be.
    #[error("--override-property `{path}`: the value: {}", yaml::too_large(*.bytes))]
    ValueTooLarge {
        /// The path.
        path: String,
        /// The value's length in bytes.
        bytes: usize,
    },
    /// A value that is not YAML.
    #[error("--override-property `{path}`: the value is not valid YAML: {syntax}")]
    ValueSyntax {
        /// The path.
        path: String,
        /// The YAML parser's message.
        syntax: String,
    },
    /// A value YAML reads but score-fly refuses (too deep, an alias...).
    #[error("--override-property `{path}`: the value: {why}")]
    Value {
        /// The path.
        path: String,
        /// What is wrong.
        why: String,
    },
    /// A segment on the way that cannot be walked into.
    #[error("--override-property `{path}`: cannot descend into `{walked}`: {why}")]
    CannotDescend {
        /// The path.
        path: String,
        /// The segments walked so far.
        walked: String,
        /// Why not.
        why: StepError,
    },
    /// The last segment is not an index into a list.
    #[error("--override-property `{path}`: `{last}` is not an index into the list at `{walked}`")]
    NotAnIndex {
        /// The path.
        path: String,
        /// The last segment.
        last: String,
        /// The list's path.
        walked: String,
    },
    /// The last segment indexes past a list's end (plus one, which appends).
    #[error("--override-property `{path}`: index {index} is out of range (the list at `{walked}` has {len} items)")]
    IndexOutOfRange {
        /// The path.
        path: String,
        /// The index.
        index: usize,
        /// The list's path.
        walked: String,
        /// The list's length.
        len: usize,
    },
    /// The parent of the last segment is a scalar.
    #[error("--override-property `{path}`: `{walked}` is a {type_name}, not a map or list")]
    NotAContainer {
        /// The path.
        path: String,
        /// The parent's path.
        walked: String,
        /// What the parent is (`string`, `boolean`...).
        type_name: &'static str,
    },
}

/// Why one step of a path cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum StepError {
    /// A list, and the segment is not a number.
    #[error("`{segment}` is not a list index")]
    NotAnIndex {
        /// The segment.
        segment: String,
    },
    /// A list, and the index is past its end.
    #[error("index {index} is out of range (the list has {len} items)")]
    OutOfRange {
        /// The index.
        index: usize,
        /// The list's length.
        len: usize,
    },
    /// A scalar.
    #[error("it is a {type_name}")]
    Scalar {
        /// What it is (`string`, `boolean`...).
        type_name: &'static str,
    },
}

fn apply_property(root: &mut Node, property: &str, source: usize) -> Result<(), PropertyError> {
    let Some((path, raw_value)) = property.split_once('=') else {
        return Err(PropertyError::NotAssignment { property: property.to_owned() });
    };
    let segments = split_path(path);
    if path.is_empty() || segments.iter().any(String::is_empty) {
        return Err(PropertyError::EmptySegment { property: property.to_owned(), path: path.to_owned() });
    }
    // The value sits below the root and every segment: it needs a level of its own.
    if segments.len() >= MAX_DEPTH {
        return Err(PropertyError::TooDeep { segments: segments.len() });
    }
    if raw_value.len() > MAX_DOCUMENT_BYTES {
        return Err(PropertyError::ValueTooLarge { path: path.to_owned(), bytes: raw_value.len() });
    }
    let value = if raw_value.is_empty() {
        None
    } else {
        let mut node = yaml::parse_below(raw_value, source, segments.len()).map_err(|e| {
            match e.message.strip_prefix("invalid YAML: ") {
                Some(syntax) => PropertyError::ValueSyntax { path: path.to_owned(), syntax: syntax.to_owned() },
                None => PropertyError::Value { path: path.to_owned(), why: e.message },
            }
        })?;
        node.fill_location(Some(Location { source, line: 1, column: 1 }));
        Some(node)
    };
    let location = Location { source, line: 1, column: 1 };
    let (last, parents) = segments.split_last().expect("at least one segment");
    let mut current = root;
    let mut walked = FieldPath::root();
    for segment in parents {
        let creating = value.is_some();
        current = match step(current, segment, creating, location) {
            Ok(Some(next)) => next,
            Ok(None) => return Ok(()), // deleting something that isn't there
            Err(why) => {
                return Err(PropertyError::CannotDescend { path: path.to_owned(), walked: walked.to_string(), why });
            }
        };
        walked = walked.key(segment);
    }
    match (&mut current.value, value) {
        (Value::Map(entries), Some(v)) => {
            if let Some((_, slot)) = entries.iter_mut().find(|(k, _)| &k.name == last) {
                *slot = v;
            } else {
                entries.push((Key { name: last.clone(), location: Some(location) }, v));
            }
        }
        (Value::Map(entries), None) => entries.retain(|(k, _)| &k.name != last),
        (Value::Seq(items), value) => {
            let index: usize = last.parse().map_err(|_| PropertyError::NotAnIndex {
                path: path.to_owned(),
                last: last.clone(),
                walked: walked.to_string(),
            })?;
            match value {
                Some(v) if index < items.len() => items[index] = v,
                Some(v) if index == items.len() => items.push(v),
                Some(_) => {
                    return Err(PropertyError::IndexOutOfRange {
                        path: path.to_owned(),
                        index,
                        walked: walked.to_string(),
                        len: items.len(),
                    });
                }
                None if index < items.len() => {
                    items.remove(index);
                }
                None => {}
            }
        }
        (other, _) => {
            return Err(PropertyError::NotAContainer {
                path: path.to_owned(),
                walked: walked.to_string(),
                type_name: other.type_name(),
            });
        }
    }
    Ok(())
}

/// One step down; creates maps on the way when `create`.
fn step<'n>(
    node: &'n mut Node,
    segment: &str,
    create: bool,
    location: Location,
) -> Result<Option<&'n mut Node>, StepError> {
    if create && node.value == Value::Null {
        node.value = Value::Map(Vec::new());
    }
    match &mut node.value {
        Value::Map(entries) => {
            let index = entries.iter().position(|(k, _)| k.name == segment);
            match index {
                Some(i) => Ok(Some(&mut entries[i].1)),
                None if create => {
                    entries.push((
                        Key { name: segment.to_owned(), location: Some(location) },
                        Node { value: Value::Map(Vec::new()), location: Some(location) },
                    ));
                    Ok(entries.last_mut().map(|(_, v)| v))
                }
                None => Ok(None),
            }
        }
        Value::Seq(items) => {
            let len = items.len();
            let index: usize = segment.parse().map_err(|_| StepError::NotAnIndex { segment: segment.to_owned() })?;
            items.get_mut(index).map(Some).ok_or(StepError::OutOfRange { index, len })
        }
        other => Err(StepError::Scalar { type_name: other.type_name() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Node {
        yaml::parse(
            "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  main:\n    image: .\n    args: [a, b]\n    variables:\n      A: one\n      B: two\n",
            0,
        )
        .unwrap()
    }

    fn run(overrides: &Overrides) -> (Node, Vec<Diagnostic>, Vec<Diagnostic>) {
        let mut root = doc();
        let mut sources = SourceMap::default();
        sources.add("score.yaml", "");
        let mut warnings = Vec::new();
        let errors = apply(&mut root, overrides, &mut sources, &mut warnings);
        (root, errors, warnings)
    }

    fn var<'n>(root: &'n Node, name: &str) -> Option<&'n Node> {
        root.get("containers")?.get("main")?.get("variables")?.get(name)
    }

    #[test]
    fn overrides_file_deep_merges_and_null_deletes() {
        let o = Overrides {
            files: vec![(
                "o.yaml".into(),
                "containers:\n  main:\n    variables:\n      A: changed\n      B: null\n      C: new\n".into(),
            )],
            ..Overrides::default()
        };
        let (root, errors, _) = run(&o);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(var(&root, "A").unwrap().as_str(), Some("changed"));
        assert!(var(&root, "B").is_none());
        assert_eq!(var(&root, "C").unwrap().as_str(), Some("new"));
        assert_eq!(root.get("containers").unwrap().get("main").unwrap().get("image").unwrap().as_str(), Some("."));
    }

    #[test]
    fn property_sets_parses_yaml_and_deletes() {
        let o = Overrides {
            properties: vec![
                "containers.main.variables.A=42".into(),
                "containers.main.variables.B=".into(),
                "containers.main.args.1=c".into(),
                r"metadata.annotations.example\.com/key=v".into(),
                "service.ports.web.port=8080".into(),
            ],
            ..Overrides::default()
        };
        let (root, errors, _) = run(&o);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(var(&root, "A").unwrap().value, Value::Int(42));
        assert!(var(&root, "B").is_none());
        let args = root.get("containers").unwrap().get("main").unwrap().get("args").unwrap();
        assert_eq!(args.to_json(), serde_json::json!(["a", "c"]));
        assert_eq!(
            root.get("metadata").unwrap().get("annotations").unwrap().get("example.com/key").unwrap().as_str(),
            Some("v")
        );
        assert_eq!(
            root.get("service").unwrap().get("ports").unwrap().get("web").unwrap().get("port").unwrap().value,
            Value::Int(8080)
        );
    }

    #[test]
    fn property_errors_name_the_path() {
        for (property, fragment) in [
            ("novalue", "must be `path=value`"),
            ("containers.main.image.x=1", "not a map or list"),
            ("containers.main.args.9=x", "out of range"),
            ("containers.main.args.x=1", "not an index"),
            ("a..b=1", "empty segment"),
            ("containers.main.variables.A=[1, ", "not valid YAML"),
        ] {
            let o = Overrides { properties: vec![property.into()], ..Overrides::default() };
            let (_, errors, _) = run(&o);
            assert_eq!(errors.len(), 1, "{property}");
            assert!(errors[0].message.contains(fragment), "{property}: {}", errors[0].message);
        }
    }

    #[test]
    fn image_replaces_dot_images_and_warns_when_unused() {
        let o = Overrides { image: Some("registry.fly.io/web:1".into()), ..Overrides::default() };
        let (root, errors, warnings) = run(&o);
        assert!(errors.is_empty() && warnings.is_empty());
        assert_eq!(
            root.get("containers").unwrap().get("main").unwrap().get("image").unwrap().as_str(),
            Some("registry.fly.io/web:1")
        );
        let o = Overrides {
            properties: vec!["containers.main.image=busybox".into()],
            image: Some("x".into()),
            ..Overrides::default()
        };
        let (_, _, warnings) = run(&o);
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn property_paths_and_values_are_bounded() {
        let long_path = vec!["a"; 100_000].join(".");
        for (property, fragment) in [
            (format!("{long_path}=1"), "the path has 100000 segments, more than 63: below the document root"),
            (format!("{}=1", vec!["a"; MAX_DEPTH].join(".")), "64 segments"),
            (
                format!("metadata.x={}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH)),
                "nesting deeper than 64 levels (limits::MAX_DEPTH)",
            ),
            (format!("metadata.x={}", "x".repeat(MAX_DOCUMENT_BYTES + 1)), "limits::MAX_DOCUMENT_BYTES"),
        ] {
            let o = Overrides { properties: vec![property.clone()], ..Overrides::default() };
            let (_, errors, _) = run(&o);
            assert_eq!(errors.len(), 1, "{}", &property[..40]);
            assert!(errors[0].message.contains(fragment), "{}", errors[0].message);
            assert!(errors[0].message.len() < 400, "the message does not echo the input: {}", errors[0].message);
        }
        // metadata.x.[...] within the bound: root, metadata and x are 3 levels.
        let deepest = format!("metadata.x={}{}", "[".repeat(MAX_DEPTH - 2), "]".repeat(MAX_DEPTH - 2));
        let (root, errors, _) = run(&Overrides { properties: vec![deepest], ..Overrides::default() });
        assert!(errors.is_empty(), "{errors:?}");
        assert!(super::super::check_tree(&root).is_ok());
        let path = vec!["a"; MAX_DEPTH - 1].join(".");
        let (_, errors, _) = run(&Overrides { properties: vec![format!("metadata.{path}=1")], ..Overrides::default() });
        assert!(errors[0].message.contains("64 segments"), "{}", errors[0].message);
    }

    #[test]
    fn overrides_files_are_bounded_and_merge_in_linear_time() {
        let big = format!("metadata:\n  x: \"{}\"\n", "x".repeat(MAX_DOCUMENT_BYTES));
        let (_, errors, _) = run(&Overrides { files: vec![("o.yaml".into(), big)], ..Overrides::default() });
        assert!(errors[0].message.starts_with("overrides file o.yaml: the document is"), "{}", errors[0].message);
        assert!(errors[0].message.contains("limits::MAX_DOCUMENT_BYTES"), "{}", errors[0].message);
        let deep = format!("metadata:\n  x: {}{}\n", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        let (_, errors, _) = run(&Overrides { files: vec![("o.yaml".into(), deep)], ..Overrides::default() });
        assert!(errors[0].message.contains("limits::MAX_DEPTH"), "{}", errors[0].message);

        // 40,000 variables merged into 40,000: a quadratic merge takes minutes in debug.
        let vars = |prefix: &str| {
            let entries: Vec<String> = (0..40_000).map(|i| format!("{prefix}{i}: v")).collect();
            format!("containers:\n  main:\n    variables: {{{}}}\n", entries.join(", "))
        };
        let mut root = yaml::parse(&vars("A"), 0).unwrap();
        let started = std::time::Instant::now();
        merge(&mut root, yaml::parse(&vars("B"), 0).unwrap());
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "took {:?}", started.elapsed());
        let variables = root.get("containers").unwrap().get("main").unwrap().get("variables").unwrap();
        assert_eq!(variables.as_map().unwrap().len(), 80_000);
        let mut root = yaml::parse("a: 1\nb: 2\nc: 3\n", 0).unwrap();
        merge(&mut root, yaml::parse("b: null\nd: 4\na: 5\n", 0).unwrap());
        assert_eq!(root.to_json(), serde_json::json!({"a": 5, "c": 3, "d": 4}));
    }

    #[test]
    fn property_errors_carry_the_path_and_keep_their_messages() {
        let error = |property: &str| apply_property(&mut doc(), property, 1).unwrap_err();
        let e = error("containers.main.image");
        assert_eq!(e, PropertyError::NotAssignment { property: "containers.main.image".to_owned() });
        assert_eq!(
            e.to_string(),
            "--override-property `containers.main.image` must be `path=value` (an empty value deletes the path)"
        );
        assert_eq!(
            error("containers..image=x").to_string(),
            "--override-property `containers..image=x`: the path `containers..image` has an empty segment"
        );
        let deep = vec!["a"; MAX_DEPTH].join(".");
        let e = error(&format!("{deep}=1"));
        assert_eq!(e, PropertyError::TooDeep { segments: MAX_DEPTH });
        assert_eq!(
            e.to_string(),
            format!(
                "--override-property: the path has {MAX_DEPTH} segments, more than {}: below the document root, that nests deeper than {MAX_DEPTH} levels (limits::MAX_DEPTH); Score fields are never that deep",
                MAX_DEPTH - 1
            )
        );
        let big = "x".repeat(MAX_DOCUMENT_BYTES + 1);
        let e = error(&format!("metadata.x={big}"));
        assert_eq!(e, PropertyError::ValueTooLarge { path: "metadata.x".to_owned(), bytes: MAX_DOCUMENT_BYTES + 1 });
        assert_eq!(
            e.to_string(),
            format!("--override-property `metadata.x`: the value: {}", yaml::too_large(MAX_DOCUMENT_BYTES + 1))
        );
        let e = error("metadata.x=[a");
        assert!(matches!(&e, PropertyError::ValueSyntax { path, .. } if path == "metadata.x"), "{e:?}");
        assert!(e.to_string().starts_with("--override-property `metadata.x`: the value is not valid YAML: "), "{e}");
        let e = error("containers.main.args.x.y=1");
        assert_eq!(
            e,
            PropertyError::CannotDescend {
                path: "containers.main.args.x.y".to_owned(),
                walked: "containers.main.args".to_owned(),
                why: StepError::NotAnIndex { segment: "x".to_owned() },
            }
        );
        assert_eq!(
            e.to_string(),
            "--override-property `containers.main.args.x.y`: cannot descend into `containers.main.args`: `x` is not a list index"
        );
        assert_eq!(
            error("containers.main.args.5.y=1").to_string(),
            "--override-property `containers.main.args.5.y`: cannot descend into `containers.main.args`: index 5 is out of range (the list has 2 items)"
        );
        assert_eq!(
            error("metadata.name.x.y=1").to_string(),
            "--override-property `metadata.name.x.y`: cannot descend into `metadata.name`: it is a string"
        );
        assert_eq!(
            error("containers.main.args.x=1").to_string(),
            "--override-property `containers.main.args.x`: `x` is not an index into the list at `containers.main.args`"
        );
        let e = error("containers.main.args.3=1");
        assert!(matches!(e, PropertyError::IndexOutOfRange { index: 3, len: 2, .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            "--override-property `containers.main.args.3`: index 3 is out of range (the list at `containers.main.args` has 2 items)"
        );
        assert_eq!(
            error("metadata.name.x=1").to_string(),
            "--override-property `metadata.name.x`: `metadata.name` is a string, not a map or list"
        );
    }
}
