//! A YAML/JSON value tree that remembers where each value came from.
//!
//! Score files are parsed into [`Node`]s so validation can name the `line:column` of every
//! problem; overrides keep working on the same tree, and only a tree that validated is
//! turned into the typed [`Workload`](super::Workload).

use std::fmt;

/// Where a value came from: a source (see [`SourceMap`]) and a 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    /// Index of the source in the [`SourceMap`].
    pub source: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
}

/// One input text a [`Location`] can point into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// What to call it in messages: a file path or `--override-property ...`.
    pub name: String,
    /// The text, for showing the offending line.
    pub text: String,
    /// A command-line argument rather than a file: locations show only its name.
    pub argument: bool,
}

/// The inputs of one load: the Score file first, then any override sources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceMap {
    sources: Vec<Source>,
}

impl SourceMap {
    /// Adds a source and returns its index.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> usize {
        self.sources.push(Source { name: name.into(), text: text.into(), argument: false });
        self.sources.len() - 1
    }

    /// Adds a command-line argument (e.g. `--override-property a=b`) and returns its index.
    pub fn add_argument(&mut self, name: impl Into<String>, text: impl Into<String>) -> usize {
        self.sources.push(Source { name: name.into(), text: text.into(), argument: true });
        self.sources.len() - 1
    }

    /// The source with this index.
    pub fn get(&self, index: usize) -> Option<&Source> {
        self.sources.get(index)
    }

    /// `name:line:column` for a location.
    pub fn describe(&self, location: Location) -> String {
        match self.get(location.source) {
            Some(source) if source.argument => source.name.clone(),
            Some(source) => format!("{}:{}:{}", source.name, location.line, location.column),
            None => format!("<unknown>:{}:{}", location.line, location.column),
        }
    }

    /// The text of the line a location points at, if known.
    pub fn line_text(&self, location: Location) -> Option<&str> {
        let source = self.get(location.source)?;
        source.text.lines().nth(location.line.checked_sub(1)?)
    }
}

/// A tree nested deeper than [`MAX_DEPTH`](crate::limits::MAX_DEPTH) levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("nesting deeper than {} levels (limits::MAX_DEPTH); flatten the document", crate::limits::MAX_DEPTH)]
pub struct TooDeep;

/// A value with the place it was written.
///
/// Trees are walked recursively (conversion to JSON, validation, merging, dropping), so
/// every tree score-fly builds stays within [`MAX_DEPTH`](crate::limits::MAX_DEPTH) levels:
/// the YAML loader, [`Node::from_json`] and the attribute parser keep to it, and
/// [`load_tree`](super::load_tree) checks any tree it is given
/// ([`check_tree`](super::check_tree)).
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where it starts (absent for values synthesised by upgrades).
    pub location: Option<Location>,
}

/// A map entry's key, with its own location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// The key text.
    pub name: String,
    /// Where the key is written.
    pub location: Option<Location>,
}

/// A YAML value (JSON data model plus YAML's integers/floats distinction).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating point number.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Key, Node)>),
}

impl Value {
    /// The JSON-Schema-style type name, for messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(f) if f.fract() == 0.0 && f.is_finite() => "integer",
            Value::Float(_) => "number",
            Value::Str(_) => "string",
            Value::Seq(_) => "array",
            Value::Map(_) => "object",
        }
    }
}

impl Node {
    /// A node without a location.
    pub fn new(value: Value) -> Self {
        Node { value, location: None }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The entries, if this is a map.
    pub fn as_map(&self) -> Option<&[(Key, Node)]> {
        match &self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The entries, mutably, if this is a map.
    pub fn as_map_mut(&mut self) -> Option<&mut Vec<(Key, Node)>> {
        match &mut self.value {
            Value::Map(entries) => Some(entries),
            _ => None,
        }
    }

    /// The entry for `key`, if this is a map holding it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?.iter().find(|(k, _)| k.name == key).map(|(_, v)| v)
    }

    /// The entry for `key`, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.as_map_mut()?.iter_mut().find(|(k, _)| k.name == key).map(|(_, v)| v)
    }

    /// An integer value (a float with no fractional part counts, as in JSON Schema).
    pub fn as_integer(&self) -> Option<i64> {
        match self.value {
            Value::Int(i) => Some(i),
            #[expect(clippy::cast_possible_truncation, reason = "checked to be integral and in range")]
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
            _ => None,
        }
    }

    /// Converts to a JSON value.
    pub fn to_json(&self) -> serde_json::Value {
        match &self.value {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => {
                if let Some(i) = self.as_integer() {
                    serde_json::Value::from(i)
                } else {
                    serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, serde_json::Value::Number)
                }
            }
            Value::Str(s) => serde_json::Value::String(s.clone()),
            Value::Seq(items) => serde_json::Value::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => {
                serde_json::Value::Object(entries.iter().map(|(k, v)| (k.name.clone(), v.to_json())).collect())
            }
        }
    }

    /// Builds a node tree (without locations) from a JSON value, which must be at most
    /// [`MAX_DEPTH`](crate::limits::MAX_DEPTH) levels deep (checked first, without
    /// recursion: a `serde_json::Value` can be built deeper than its parser allows).
    pub fn from_json(value: &serde_json::Value) -> Result<Node, TooDeep> {
        let mut pending = vec![(value, 1usize)];
        while let Some((value, level)) = pending.pop() {
            if level > crate::limits::MAX_DEPTH {
                return Err(TooDeep);
            }
            match value {
                serde_json::Value::Array(items) => pending.extend(items.iter().map(|v| (v, level + 1))),
                serde_json::Value::Object(map) => pending.extend(map.values().map(|v| (v, level + 1))),
                _ => {}
            }
        }
        Ok(Node::from_json_unchecked(value))
    }

    fn from_json_unchecked(value: &serde_json::Value) -> Node {
        let value = match value {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::Str(s.clone()),
            serde_json::Value::Array(items) => Value::Seq(items.iter().map(Node::from_json_unchecked).collect()),
            serde_json::Value::Object(map) => Value::Map(
                map.iter()
                    .map(|(k, v)| (Key { name: k.clone(), location: None }, Node::from_json_unchecked(v)))
                    .collect(),
            ),
        };
        Node::new(value)
    }

    /// Gives every node in this tree that has no location the given one.
    pub fn fill_location(&mut self, location: Option<Location>) {
        if self.location.is_none() {
            self.location = location;
        }
        let here = self.location;
        match &mut self.value {
            Value::Seq(items) => items.iter_mut().for_each(|n| n.fill_location(here)),
            Value::Map(entries) => {
                for (k, v) in entries {
                    if k.location.is_none() {
                        k.location = here;
                    }
                    v.fill_location(here);
                }
            }
            _ => {}
        }
    }
}

/// One step of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Segment {
    /// A map key.
    Key(String),
    /// An array index.
    Index(usize),
}

/// The path of a field in a Score document, shown as `containers.main.files["/etc/x"].mode`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldPath(Vec<Segment>);

impl FieldPath {
    /// The document root.
    pub fn root() -> Self {
        FieldPath(Vec::new())
    }

    /// This path extended by a key.
    #[must_use]
    pub fn key(&self, key: &str) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.to_owned()));
        FieldPath(segments)
    }

    /// This path extended by an index.
    #[must_use]
    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        FieldPath(segments)
    }

    /// The segments.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Extends this path in place (walks push and pop instead of copying the path per level).
    pub fn push(&mut self, segment: Segment) {
        self.0.push(segment);
    }

    /// Removes the last segment.
    pub fn pop(&mut self) -> Option<Segment> {
        self.0.pop()
    }
}

fn needs_quoting(key: &str) -> bool {
    key.is_empty()
        || key.chars().any(|c| matches!(c, '.' | '/' | '[' | ']' | '"' | '\\') || c.is_whitespace() || c.is_control())
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if needs_quoting(key) => {
                    write!(f, "[{}]", serde_json::Value::String(key.clone()))?;
                }
                Segment::Key(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(key)?;
                }
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_quote_keys_with_dots_and_slashes() {
        let p = FieldPath::root().key("containers").key("main").key("files").key("/etc/x").key("mode");
        assert_eq!(p.to_string(), r#"containers.main.files["/etc/x"].mode"#);
        let p = FieldPath::root().key("metadata").key("annotations").key("example.com/a");
        assert_eq!(p.to_string(), r#"metadata.annotations["example.com/a"]"#);
        let p = FieldPath::root().key("x").index(3).key("name");
        assert_eq!(p.to_string(), "x[3].name");
        assert_eq!(FieldPath::root().key("").to_string(), r#"[""]"#);
        assert_eq!(FieldPath::root().to_string(), "");
    }

    #[test]
    fn json_converts_within_the_depth_bound() {
        let nested = |levels: usize| {
            let mut v = serde_json::json!(1);
            for _ in 1..levels {
                v = serde_json::json!([v]);
            }
            v
        };
        let ok = nested(crate::limits::MAX_DEPTH);
        assert_eq!(Node::from_json(&ok).unwrap().to_json(), ok);
        assert_eq!(Node::from_json(&nested(crate::limits::MAX_DEPTH + 1)), Err(TooDeep));
        // Deeper values are refused before any recursion (kept modest here: dropping a
        // `serde_json::Value` recurses).
        assert_eq!(Node::from_json(&nested(1_000)), Err(TooDeep));
        assert!(TooDeep.to_string().contains("64 levels (limits::MAX_DEPTH)"));
    }

    #[test]
    fn integral_floats_are_integers() {
        assert_eq!(Node::new(Value::Float(80.0)).as_integer(), Some(80));
        assert_eq!(Node::new(Value::Float(80.5)).as_integer(), None);
        assert_eq!(Value::Float(80.0).type_name(), "integer");
    }
}
