//! YAML text → [`Node`] tree with locations (YAML 1.2 core schema, like Score's Go loader).
//!
//! Plain scalars resolve as in the YAML 1.2 core schema (`null`/`~`, `true`/`false`,
//! integers, floats); quoted and block scalars are strings. Anchors and aliases are
//! expanded, merge keys (`<<`) are applied as Go's `yaml.v3` does, duplicate keys are errors.
//!
//! The tree is built without recursion (an explicit stack of open collections) and within
//! the bounds of [`crate::limits`]: at most [`MAX_DEPTH`] levels, at most [`MAX_NODES`]
//! values counting every value an alias copies (checked **before** copying, from the size
//! each anchor recorded), and at most [`MAX_DOCUMENT_BYTES`] of text. Numbers JSON cannot
//! carry (`.inf`, `.nan`) are refused, so whatever loads converts to JSON and back.

use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::node::{Key, Location, Node, Value};
use crate::limits::{MAX_DEPTH, MAX_DOCUMENT_BYTES, MAX_NODES};

/// A YAML syntax problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    /// Where it is.
    pub location: Location,
    /// What is wrong.
    pub message: String,
}

/// Parses one YAML document. An empty document gives a `null` node.
pub fn parse(text: &str, source: usize) -> Result<Node, YamlError> {
    parse_below(text, source, 0)
}

/// Parses one YAML document whose root sits `levels_above` levels down a bigger tree (an
/// `--override-property` value sits below its path): its nesting counts from there.
pub(crate) fn parse_below(text: &str, source: usize, levels_above: usize) -> Result<Node, YamlError> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(YamlError { location: Location { source, line: 1, column: 1 }, message: too_large(text.len()) });
    }
    let mut builder = Builder {
        parser: Parser::new_from_str(text),
        source,
        levels_above,
        anchors: HashMap::new(),
        nodes: 0,
        kept: 0,
    };
    builder.document().map_err(|mut e| {
        // The parser reports "end of input" one line past the last one: point at the end of
        // the last line instead, so the message can show it.
        let lines: Vec<&str> = text.lines().collect();
        if e.location.line > lines.len()
            && let Some(last) = lines.last()
        {
            e.location.line = lines.len();
            e.location.column = last.chars().count() + 1;
        }
        e
    })
}

/// The message for a document over [`MAX_DOCUMENT_BYTES`].
pub(crate) fn too_large(bytes: usize) -> String {
    format!(
        "the document is {bytes} bytes, more than {} (limits::MAX_DOCUMENT_BYTES); keep large content in `source` files, or split the workload",
        crate::limits::human_bytes(MAX_DOCUMENT_BYTES)
    )
}

/// The message for nesting beyond [`MAX_DEPTH`].
fn depth_message(levels_above: usize) -> String {
    let below = match levels_above {
        0 => String::new(),
        n => format!(" (this value starts {n} levels down)"),
    };
    format!("nesting deeper than {MAX_DEPTH} levels (limits::MAX_DEPTH); flatten the document{below}")
}

/// What an anchor keeps for its aliases: the value, and how many values and levels it holds.
struct Anchor {
    node: Node,
    size: usize,
    height: usize,
}

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    source: usize,
    /// Levels above this document's root (see [`parse_below`]).
    levels_above: usize,
    anchors: HashMap<usize, Anchor>,
    /// Values in the tree so far, aliases' copies included.
    nodes: usize,
    /// Values the anchors keep (copies held for their aliases).
    kept: usize,
}

/// A map entry's key while its value is being read.
enum PendingKey {
    /// An ordinary key.
    Name(Key),
    /// `<<`: the value is merged.
    Merge,
}

enum Open {
    Seq(Vec<Node>),
    Map {
        entries: Vec<(Key, Node)>,
        names: HashSet<String>,
        /// Entries from merge keys (`<<`), added at the end unless the map has the key.
        merged: Vec<(Key, Node)>,
        merged_names: HashSet<String>,
        key: Option<PendingKey>,
    },
}

/// A collection being read.
struct Frame {
    open: Open,
    location: Location,
    anchor: usize,
    /// [`Builder::nodes`] before this collection: its size is the difference at its end.
    nodes_before: usize,
    /// The height of its tallest child.
    child_height: usize,
}

impl Frame {
    fn expects_key(&self) -> bool {
        matches!(self.open, Open::Map { key: None, .. })
    }
}

/// A finished value: the node, its anchor (0: none), its size in values and its height.
struct Done {
    node: Node,
    anchor: usize,
    size: usize,
    height: usize,
    /// A plain `<<`: as a key, a merge key (a quoted `"<<"` is an ordinary key).
    merge: bool,
}

impl<'a> Builder<'a> {
    fn location(&self, span: Span) -> Location {
        Location { source: self.source, line: span.start.line(), column: span.start.col() + 1 }
    }

    fn error(location: Location, message: impl Into<String>) -> YamlError {
        YamlError { location, message: message.into() }
    }

    fn next(&mut self) -> Result<(Event<'a>, Span), YamlError> {
        match self.parser.next_event() {
            Some(Ok(event)) => Ok(event),
            Some(Err(e)) => Err(YamlError {
                location: Location { source: self.source, line: e.marker().line(), column: e.marker().col() + 1 },
                // The scanner reads ahead and stops at 255 levels of `[`/`{` (before this
                // builder's bound is reached, where it gave up): it is the same limit.
                message: if e.info() == "recursion limit exceeded" {
                    depth_message(self.levels_above)
                } else {
                    format!("invalid YAML: {}", e.info())
                },
            }),
            None => Err(YamlError {
                location: Location { source: self.source, line: 1, column: 1 },
                message: "invalid YAML: unexpected end of input".to_owned(),
            }),
        }
    }

    fn document(&mut self) -> Result<Node, YamlError> {
        let mut root: Option<Node> = None;
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamStart | Event::DocumentEnd | Event::Nothing => {}
                Event::StreamEnd => break,
                Event::DocumentStart(_) => {
                    let (event, span) = self.next()?;
                    if matches!(event, Event::DocumentEnd) {
                        continue;
                    }
                    if root.is_some() {
                        return Err(Self::error(
                            self.location(span),
                            "a Score file holds one YAML document, found a second one (remove the extra `---`)",
                        ));
                    }
                    root = Some(self.value(event, span)?);
                }
                other => {
                    return Err(Self::error(self.location(span), format!("invalid YAML: unexpected {other:?}")));
                }
            }
        }
        Ok(root.unwrap_or(Node {
            value: Value::Null,
            location: Some(Location { source: self.source, line: 1, column: 1 }),
        }))
    }

    /// Nesting beyond [`MAX_DEPTH`] at `level` (1 is the root of the whole tree)?
    fn check_depth(&self, level: usize, location: Location) -> Result<(), YamlError> {
        if level <= MAX_DEPTH {
            return Ok(());
        }
        Err(Self::error(location, depth_message(self.levels_above)))
    }

    /// Counts `size` more values in the tree (before they are made).
    fn count(&mut self, size: usize, location: Location, alias: bool) -> Result<(), YamlError> {
        match self.nodes.checked_add(size) {
            Some(total) if total <= MAX_NODES => {
                self.nodes = total;
                Ok(())
            }
            _ if alias => Err(Self::error(
                location,
                format!(
                    "this alias copies {size} values, which would make the document hold more than {MAX_NODES} (limits::MAX_NODES); aliases expand into copies of their anchor: write out what you need with fewer aliases"
                ),
            )),
            _ => Err(Self::error(
                location,
                format!("the document holds more than {MAX_NODES} values (limits::MAX_NODES); split the workload"),
            )),
        }
    }

    /// Reads one value (a scalar, an alias, or a whole collection), starting at `event`.
    fn value(&mut self, event: Event<'a>, span: Span) -> Result<Node, YamlError> {
        let mut stack: Vec<Frame> = Vec::new();
        let mut pending = Some((event, span));
        loop {
            let (event, span) = match pending.take() {
                Some(first) => first,
                None => self.next()?,
            };
            let location = self.location(span);
            let level = self.levels_above + stack.len() + 1;
            let key_position = stack.last().is_some_and(Frame::expects_key);
            let done = match event {
                Event::Scalar(text, style, anchor, tag) => {
                    self.check_depth(level, location)?;
                    self.count(1, location, false)?;
                    let forced_string = tag.as_ref().is_some_and(|t| t.suffix == "str");
                    let plain = style == ScalarStyle::Plain && !forced_string;
                    let merge = plain && text == "<<";
                    let value = if plain { resolve_plain(&text) } else { Value::Str(text.into_owned()) };
                    Done { node: Node { value, location: Some(location) }, anchor, size: 1, height: 1, merge }
                }
                Event::Alias(id) => {
                    let Some(anchor) = self.anchors.get(&id) else {
                        return Err(Self::error(location, "invalid YAML: alias refers to an unknown anchor"));
                    };
                    let (size, height) = (anchor.size, anchor.height);
                    self.check_depth(level + height - 1, location)?;
                    self.count(size, location, true)?;
                    let mut node = self.anchors[&id].node.clone();
                    node.location = Some(location);
                    Done { node, anchor: 0, size, height, merge: false }
                }
                Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                    if key_position {
                        return Err(Self::error(location, "map keys must be plain strings, not lists or maps"));
                    }
                    self.check_depth(level, location)?;
                    let nodes_before = self.nodes;
                    self.count(1, location, false)?;
                    let open = if matches!(event, Event::SequenceStart(..)) {
                        Open::Seq(Vec::new())
                    } else {
                        Open::Map {
                            entries: Vec::new(),
                            names: HashSet::new(),
                            merged: Vec::new(),
                            merged_names: HashSet::new(),
                            key: None,
                        }
                    };
                    stack.push(Frame { open, location, anchor, nodes_before, child_height: 0 });
                    continue;
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let Some(frame) = stack.pop() else {
                        return Err(Self::error(location, format!("invalid YAML: unexpected {event:?}")));
                    };
                    let size = self.nodes - frame.nodes_before;
                    let height = frame.child_height + 1;
                    let node = match frame.open {
                        Open::Seq(items) => Value::Seq(items),
                        Open::Map { mut entries, mut names, merged, .. } => {
                            for (key, value) in merged {
                                if names.insert(key.name.clone()) {
                                    entries.push((key, value));
                                }
                            }
                            Value::Map(entries)
                        }
                    };
                    Done {
                        node: Node { value: node, location: Some(frame.location) },
                        anchor: frame.anchor,
                        size,
                        height,
                        merge: false,
                    }
                }
                other => {
                    return Err(Self::error(location, format!("invalid YAML: unexpected {other:?}")));
                }
            };
            if done.anchor != 0 {
                self.keep(&done, location)?;
            }
            let Some(parent) = stack.last_mut() else {
                check_number(&done.node)?;
                return Ok(done.node);
            };
            parent.child_height = parent.child_height.max(done.height);
            add(parent, done.node, done.merge)?;
        }
    }

    /// Keeps a copy of an anchored value for its aliases (counted: nested anchors would
    /// otherwise multiply what is kept).
    fn keep(&mut self, done: &Done, location: Location) -> Result<(), YamlError> {
        self.kept = self.kept.saturating_add(done.size);
        if self.kept > MAX_NODES {
            return Err(Self::error(
                location,
                format!(
                    "anchors keep copies of more than {MAX_NODES} values for their aliases (limits::MAX_NODES); use fewer or smaller anchors"
                ),
            ));
        }
        self.anchors.insert(done.anchor, Anchor { node: done.node.clone(), size: done.size, height: done.height });
        Ok(())
    }
}

/// Adds a finished value to the collection being read (`merge`: it is a plain `<<`).
fn add(frame: &mut Frame, node: Node, merge: bool) -> Result<(), YamlError> {
    match &mut frame.open {
        Open::Seq(items) => {
            check_number(&node)?;
            items.push(node);
        }
        Open::Map { entries, names, merged, merged_names, key } => match key.take() {
            None => {
                let location = node.location.unwrap_or(frame.location);
                let name = match node.value {
                    _ if merge => {
                        *key = Some(PendingKey::Merge);
                        return Ok(());
                    }
                    Value::Str(s) => s,
                    Value::Null => "null".to_owned(),
                    Value::Bool(b) => b.to_string(),
                    Value::Int(i) => i.to_string(),
                    Value::Float(f) => f.to_string(),
                    Value::Seq(_) | Value::Map(_) => {
                        return Err(Builder::error(location, "map keys must be plain strings, not lists or maps"));
                    }
                };
                *key = Some(PendingKey::Name(Key { name, location: Some(location) }));
            }
            Some(PendingKey::Merge) => collect_merge(node, merged, merged_names)?,
            Some(PendingKey::Name(k)) => {
                check_number(&node)?;
                if !names.insert(k.name.clone()) {
                    let location = k.location.unwrap_or(frame.location);
                    return Err(Builder::error(location, format!("duplicate key `{}`", k.name)));
                }
                entries.push((k, node));
            }
        },
    }
    Ok(())
}

/// `.inf` and `.nan` cannot be carried in JSON, which every later stage reads.
fn check_number(node: &Node) -> Result<(), YamlError> {
    match node.value {
        Value::Float(f) if !f.is_finite() => Err(Builder::error(
            node.location.unwrap_or(Location { source: 0, line: 1, column: 1 }),
            format!(
                "the number `{f}` cannot be carried in JSON, which score-fly hands values on as; quote it if you mean the text"
            ),
        )),
        _ => Ok(()),
    }
}

fn collect_merge(value: Node, merged: &mut Vec<(Key, Node)>, names: &mut HashSet<String>) -> Result<(), YamlError> {
    let mut add = |map: Node| -> Result<(), YamlError> {
        let location = map.location.unwrap_or(Location { source: 0, line: 1, column: 1 });
        let Value::Map(entries) = map.value else {
            return Err(Builder::error(location, "a merge key `<<` takes a map or a list of maps"));
        };
        for (k, v) in entries {
            if names.insert(k.name.clone()) {
                merged.push((k, v));
            }
        }
        Ok(())
    };
    match value.value {
        Value::Seq(items) => items.into_iter().try_for_each(add),
        _ => add(value),
    }
}

/// Resolves a plain scalar with the YAML 1.2 core schema.
fn resolve_plain(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Value::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(value) = resolve_int(text) {
        return value;
    }
    if is_core_float(text)
        && let Ok(f) = text.parse::<f64>()
    {
        return Value::Float(f);
    }
    Value::Str(text.to_owned())
}

fn resolve_int(text: &str) -> Option<Value> {
    let (digits, radix) = if let Some(hex) = text.strip_prefix("0x") {
        (hex, 16)
    } else if let Some(oct) = text.strip_prefix("0o") {
        (oct, 8)
    } else {
        let unsigned = text.strip_prefix(['-', '+']).unwrap_or(text);
        if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        return Some(match text.parse::<i64>() {
            Ok(i) => Value::Int(i),
            Err(_) => Value::Float(text.parse::<f64>().ok()?),
        });
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    i64::from_str_radix(digits, radix).ok().map(Value::Int)
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_core_float(text: &str) -> bool {
    let b = text.strip_prefix(['-', '+']).unwrap_or(text).as_bytes();
    let mut i = 0;
    let int_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac_digits;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let exp = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    fn parse0(text: &str) -> Node {
        parse(text, 0).unwrap()
    }

    #[test]
    fn scalars_follow_the_core_schema() {
        let n = parse0("a: 1\nb: '1'\nc: true\nd: yes\ne: 1.5\nf: ~\ng: 0x1F\nh: 1e3\ni: .5\nj: 12abc\nk:\n");
        let v = |k: &str| n.get(k).unwrap().value.clone();
        assert_eq!(v("a"), Value::Int(1));
        assert_eq!(v("b"), Value::Str("1".into()));
        assert_eq!(v("c"), Value::Bool(true));
        assert_eq!(v("d"), Value::Str("yes".into()));
        assert_eq!(v("e"), Value::Float(1.5));
        assert_eq!(v("f"), Value::Null);
        assert_eq!(v("g"), Value::Int(31));
        assert_eq!(v("h"), Value::Float(1000.0));
        assert_eq!(v("i"), Value::Float(0.5));
        assert_eq!(v("j"), Value::Str("12abc".into()));
        assert_eq!(v("k"), Value::Null);
    }

    #[test]
    fn locations_are_one_based() {
        let n = parse0("apiVersion: x\ncontainers:\n  main:\n    image: busybox\n");
        let image = n.get("containers").unwrap().get("main").unwrap().get("image").unwrap();
        assert_eq!(image.location, Some(Location { source: 0, line: 4, column: 12 }));
        let (key, _) = &n.get("containers").unwrap().as_map().unwrap()[0];
        assert_eq!(key.location, Some(Location { source: 0, line: 3, column: 3 }));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let e = parse("a: 1\nb: 2\na: 3\n", 0).unwrap_err();
        assert_eq!(e.location.line, 3);
        assert!(e.message.contains("duplicate key `a`"), "{}", e.message);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let e = parse("a: [1, 2\nb: 3\n", 0).unwrap_err();
        assert!(e.message.starts_with("invalid YAML"), "{}", e.message);
        assert!(e.location.line >= 1);
    }

    #[test]
    fn errors_at_the_end_point_at_the_last_line() {
        let e = parse("a: 1\nb: [x\n", 0).unwrap_err();
        assert_eq!((e.location.line, e.location.column), (2, 6), "{e:?}");
    }

    #[test]
    fn anchors_aliases_and_merge_keys() {
        let n = parse0("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\nalias: *b\n");
        let other = n.get("other").unwrap();
        assert_eq!(other.get("x").unwrap().value, Value::Int(1));
        assert_eq!(other.get("y").unwrap().value, Value::Int(3));
        assert_eq!(n.get("alias").unwrap().get("y").unwrap().value, Value::Int(2));
    }

    #[test]
    fn empty_documents_are_null_and_second_documents_rejected() {
        assert_eq!(parse0("# only a comment\n").value, Value::Null);
        let e = parse("a: 1\n---\nb: 2\n", 0).unwrap_err();
        assert!(e.message.contains("one YAML document"), "{}", e.message);
    }

    #[test]
    fn explicit_str_tag_keeps_strings() {
        let n = parse0("a: !!str 123\n");
        assert_eq!(n.get("a").unwrap().value, Value::Str("123".into()));
    }

    /// The "billion laughs": 9 levels of 9 aliases each would copy 9⁹ values.
    pub(crate) fn laughs() -> String {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for (prev, name) in "abcdefgh".chars().zip("bcdefghi".chars()) {
            let _ = writeln!(text, "{name}: &{name} [{}]", vec![format!("*{prev}"); 9].join(", "));
        }
        text
    }

    #[test]
    fn alias_bombs_stop_at_the_alias_before_copying() {
        let started = std::time::Instant::now();
        let e = parse(&laughs(), 0).unwrap_err();
        assert!(e.message.contains("limits::MAX_NODES") && e.message.contains("100000"), "{}", e.message);
        assert!(e.message.contains("alias"), "{}", e.message);
        // The alias that crosses the bound: the first `*e` (66,430 values) in line `f: ...`,
        // after 74,744 values.
        assert_eq!((e.location.line, e.location.column), (6, 8), "{e:?}");
        assert_eq!(&laughs().lines().nth(5).unwrap()[7..9], "*e");
        assert!(e.message.contains("copies 66430 values"), "{}", e.message);
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
    }

    #[test]
    fn nested_anchors_cannot_multiply_what_they_keep() {
        // Each anchor keeps a copy of its subtree: 60 nested anchors around 2,000 values
        // would keep 120,000.
        let mut text = String::new();
        for i in 0..60 {
            let _ = write!(text, "&a{i} [");
        }
        text.push_str(&vec!["1"; 2000].join(","));
        text.push_str(&"]".repeat(60));
        let e = parse(&text, 0).unwrap_err();
        assert!(e.message.contains("anchors keep copies") && e.message.contains("MAX_NODES"), "{}", e.message);
    }

    /// `levels` nested block sequences, one per line, each indented one more.
    fn block(levels: usize) -> String {
        (0..levels).map(|i| " ".repeat(i) + "-\n").collect::<String>()
    }

    #[test]
    fn nesting_is_bounded_in_every_style() {
        let max = MAX_DEPTH;
        // Block style: `levels` sequences hold a null at level `levels + 1`.
        assert!(parse(&block(max - 1), 0).is_ok());
        let e = parse(&block(max), 0).unwrap_err();
        assert!(e.message.contains("nesting deeper than 64 levels (limits::MAX_DEPTH)"), "{}", e.message);
        assert_eq!(e.location.line, max, "{e:?}");
        // Flow style.
        let flow = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse(&flow(max), 0).is_ok());
        let e = parse(&flow(max + 1), 0).unwrap_err();
        assert_eq!((e.location.line, e.location.column), (1, max + 1), "{e:?}");
        assert!(e.message.contains("limits::MAX_DEPTH"), "{}", e.message);
        let maps = |n: usize| format!("{}1{}", "{a: ".repeat(n), "}".repeat(n));
        assert!(parse(&maps(max - 1), 0).is_ok());
        assert!(parse(&maps(max), 0).unwrap_err().message.contains("MAX_DEPTH"));
        // Far deeper flow collections: the scanner gives up first (at 255), same message.
        let e = parse(&flow(100_000), 0).unwrap_err();
        assert!(e.message.starts_with("nesting deeper than 64 levels (limits::MAX_DEPTH)"), "{}", e.message);
        // `- - - ...` on one line, far deeper than the stack would allow by recursion.
        let e = parse(&format!("{}x\n", "- ".repeat(100_000)), 0).unwrap_err();
        assert!(e.message.contains("MAX_DEPTH"), "{}", e.message);
        // Below an override path.
        assert!(parse_below(&flow(max - 3), 0, 3).is_ok());
        let e = parse_below(&flow(max - 2), 0, 3).unwrap_err();
        assert!(e.message.contains("3 levels down"), "{}", e.message);
    }

    #[test]
    fn an_alias_cannot_carry_nesting_past_the_bound() {
        let deep = format!("{}{}", "[".repeat(60), "]".repeat(60));
        let ok = format!("a: &deep {deep}\nb: [[*deep]]\n");
        assert!(parse(&ok, 0).is_ok());
        let e = parse(&format!("a: &deep {deep}\nb: [[[[[*deep]]]]]\n"), 0).unwrap_err();
        assert!(e.message.contains("MAX_DEPTH"), "{}", e.message);
        assert_eq!((e.location.line, e.location.column), (2, 9), "at the alias: {e:?}");
    }

    #[test]
    fn many_keys_load_in_linear_time() {
        // 49,000 keys and their values: 98,000 values, just within MAX_NODES.
        let n = 49_000;
        let text = format!("{{{}}}", (0..n).map(|i| format!("k{i}: v")).collect::<Vec<_>>().join(", "));
        let started = std::time::Instant::now();
        let node = parse(&text, 0).unwrap();
        assert_eq!(node.as_map().unwrap().len(), n);
        // A quadratic duplicate check takes minutes in a debug build; linear, well under that.
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "took {:?}", started.elapsed());
        let dup = format!("{{{}, k7: again}}", (0..n).map(|i| format!("k{i}: v")).collect::<Vec<_>>().join(", "));
        assert!(parse(&dup, 0).unwrap_err().message.contains("duplicate key `k7`"));
        // Merging copies: 20,000 keys twice.
        let keys = (0..20_000).map(|i| format!("k{i}: v")).collect::<Vec<_>>().join(", ");
        let merged = format!("base: &b {{{keys}}}\nother:\n  <<: *b\n  k5: mine\n");
        let node = parse(&merged, 0).unwrap();
        assert_eq!(node.get("other").unwrap().get("k5").unwrap().as_str(), Some("mine"));
        assert_eq!(node.get("other").unwrap().as_map().unwrap().len(), 20_000);
    }

    #[test]
    fn documents_and_value_counts_are_bounded() {
        let big = format!("a: \"{}\"\n", "x".repeat(MAX_DOCUMENT_BYTES));
        let e = parse(&big, 0).unwrap_err();
        assert!(e.message.contains("more than 1 MiB (limits::MAX_DOCUMENT_BYTES)"), "{}", e.message);
        let many = format!("[{}]", vec!["1"; MAX_NODES].join(","));
        let e = parse(&many, 0).unwrap_err();
        assert!(e.message.contains("more than 100000 values (limits::MAX_NODES)"), "{}", e.message);
        let fits = format!("[{}]", vec!["1"; MAX_NODES - 1].join(","));
        assert_eq!(parse(&fits, 0).unwrap().to_json().as_array().unwrap().len(), MAX_NODES - 1);
    }

    #[test]
    fn numbers_json_cannot_carry_are_refused() {
        for text in ["a: .inf", "a: -.inf", "a: .nan", "[1, .NaN]", "a: 1e400", ".inf"] {
            let e = parse(text, 0).unwrap_err();
            assert!(e.message.contains("cannot be carried in JSON"), "{text}: {}", e.message);
        }
        assert_eq!(parse0(".inf: x").get("inf").unwrap().as_str(), Some("x"), "as a key it is text");
        assert_eq!(parse0("a: '.inf'").get("a").unwrap().as_str(), Some(".inf"));
    }

    #[test]
    fn quoted_merge_keys_are_ordinary_keys() {
        let n = parse0("base: &b {x: 1}\na:\n  \"<<\": *b\n");
        assert_eq!(n.get("a").unwrap().get("<<").unwrap().get("x").unwrap().value, Value::Int(1));
    }
}

/// Property tests: what the loader accepts converts to JSON and back without loss, nesting
/// up to [`MAX_DEPTH`] is accepted and deeper is refused with the depth error, and no input
/// makes it panic.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// JSON values the loader must read back exactly: integers, finite floats, printable
    /// strings, lists and maps, at most `levels` deep.
    fn json(levels: u32) -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
            "\\PC{0,12}".prop_map(serde_json::Value::String),
            prop_oneof![Just("<<"), Just("~"), Just("null"), Just("0x1F"), Just(".inf"), Just("- a"), Just("a: b")]
                .prop_map(|s| serde_json::Value::String(s.to_owned())),
        ];
        leaf.prop_recursive(levels.saturating_sub(1), 48, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                prop::collection::btree_map(prop_oneof!["\\PC{0,6}", Just("<<".to_owned())], inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// JSON as the loader gives it: integral floats become integers.
    fn canonical(value: &serde_json::Value) -> serde_json::Value {
        Node::from_json(value).expect("within the depth bound").to_json()
    }

    /// The same values (locations aside; an integral float equals its integer, as in JSON).
    fn same(a: &Node, b: &Node) -> bool {
        #[expect(clippy::cast_precision_loss, clippy::float_cmp, reason = "exact comparison intended")]
        let number = |x: &Value, y: &Value| match (x, y) {
            (Value::Int(i), Value::Float(f)) | (Value::Float(f), Value::Int(i)) => *f == *i as f64,
            _ => false,
        };
        match (&a.value, &b.value) {
            (Value::Seq(x), Value::Seq(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
            // JSON objects keep no order.
            (Value::Map(x), Value::Map(y)) => {
                fn sorted(m: &[(Key, Node)]) -> Vec<(&str, &Node)> {
                    let mut m: Vec<(&str, &Node)> = m.iter().map(|(k, v)| (k.name.as_str(), v)).collect();
                    m.sort_by_key(|(k, _)| *k);
                    m
                }
                x.len() == y.len() && sorted(x).into_iter().zip(sorted(y)).all(|((k, p), (l, q))| k == l && same(p, q))
            }
            (x, y) => x == y || number(x, y),
        }
    }

    /// `levels` nested collections (`maps[i]`: a map at level i, else a list) around a scalar,
    /// in block or flow style.
    fn nested(maps: &[bool], block: bool) -> String {
        if !block {
            let mut text = String::new();
            for &map in maps {
                text.push_str(if map { "{k: " } else { "[" });
            }
            text.push('x');
            for &map in maps.iter().rev() {
                text.push(if map { '}' } else { ']' });
            }
            return text;
        }
        let mut text = String::new();
        for (i, &map) in maps.iter().enumerate() {
            text.push_str(&" ".repeat(2 * i));
            text.push_str(if map { "k:" } else { "-" });
            text.push(if i + 1 == maps.len() { ' ' } else { '\n' });
        }
        text.push_str("x\n");
        text
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// Any JSON value (JSON is YAML) loads as itself.
        #[test]
        fn json_documents_load_as_themselves(value in json(8)) {
            let text = serde_json::to_string(&value).unwrap();
            let node = parse(&text, 0).map_err(|e| TestCaseError::fail(format!("{e:?}\n{text}")))?;
            prop_assert_eq!(node.to_json(), canonical(&value));
        }

        /// Whatever the loader accepts converts to JSON and back without loss, and is within
        /// the limits. No input panics.
        #[test]
        fn accepted_documents_round_trip(text in "([-\\[\\]{}:,&*!|>'\"#?<~. \\n]|[a-c0-9]|\\\\n|<<|\\.inf|- |: |\\n  ){0,80}") {
            if let Ok(node) = parse(&text, 0) {
                let json = node.to_json();
                prop_assert!(crate::spec::check_tree(&node).is_ok());
                let back = Node::from_json(&json).unwrap();
                prop_assert!(same(&node, &back), "{:?} became {:?}", node, back);
                prop_assert_eq!(back.to_json(), json.clone());
                // And the loader reads its own JSON back.
                let again = parse(&serde_json::to_string(&json).unwrap(), 0).unwrap();
                prop_assert_eq!(again.to_json(), json);
            }
        }

        /// Nesting up to MAX_DEPTH is accepted, deeper gets the depth error, in both styles.
        #[test]
        fn nesting_is_accepted_up_to_the_bound(maps in prop::collection::vec(any::<bool>(), 1..(MAX_DEPTH + 8)), block: bool) {
            let text = nested(&maps, block);
            let levels = maps.len() + 1; // the collections and the scalar inside
            match parse(&text, 0) {
                Ok(node) => {
                    prop_assert!(levels <= MAX_DEPTH, "{} levels accepted", levels);
                    prop_assert!(crate::spec::check_tree(&node).is_ok());
                }
                Err(e) => {
                    prop_assert!(levels > MAX_DEPTH, "{} levels refused: {:?}\n{}", levels, e, text);
                    prop_assert!(e.message.contains("limits::MAX_DEPTH"), "{}", e.message);
                }
            }
        }
    }
}
