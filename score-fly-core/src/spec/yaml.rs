//! YAML text → [`Node`] tree with locations (YAML 1.2 core schema, like Score's Go loader).
//!
//! Plain scalars resolve as in the YAML 1.2 core schema (`null`/`~`, `true`/`false`,
//! integers, floats); quoted and block scalars are strings. Anchors and aliases are
//! expanded, merge keys (`<<`) are applied as Go's `yaml.v3` does, duplicate keys are errors.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::node::{Key, Location, Node, Value};

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
    let mut builder = Builder { parser: Parser::new_from_str(text), source, anchors: HashMap::new() };
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

struct Builder<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    source: usize,
    anchors: HashMap<usize, Node>,
}

impl<'a> Builder<'a> {
    fn location(&self, span: Span) -> Location {
        Location { source: self.source, line: span.start.line(), column: span.start.col() + 1 }
    }

    fn next(&mut self) -> Result<(Event<'a>, Span), YamlError> {
        match self.parser.next_event() {
            Some(Ok(event)) => Ok(event),
            Some(Err(e)) => Err(YamlError {
                location: Location { source: self.source, line: e.marker().line(), column: e.marker().col() + 1 },
                message: format!("invalid YAML: {}", e.info()),
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
                        return Err(YamlError {
                            location: self.location(span),
                            message:
                                "a Score file holds one YAML document, found a second one (remove the extra `---`)"
                                    .to_owned(),
                        });
                    }
                    root = Some(self.node(event, span)?);
                }
                other => {
                    return Err(YamlError {
                        location: self.location(span),
                        message: format!("invalid YAML: unexpected {other:?}"),
                    });
                }
            }
        }
        Ok(root.unwrap_or(Node {
            value: Value::Null,
            location: Some(Location { source: self.source, line: 1, column: 1 }),
        }))
    }

    fn node(&mut self, event: Event<'a>, span: Span) -> Result<Node, YamlError> {
        let location = self.location(span);
        let (node, anchor) = match event {
            Event::Scalar(text, style, anchor, tag) => {
                let forced_string = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let value = if style == ScalarStyle::Plain && !forced_string {
                    resolve_plain(&text)
                } else {
                    Value::Str(text.into_owned())
                };
                (Node { value, location: Some(location) }, anchor)
            }
            Event::Alias(id) => {
                let mut node = self.anchors.get(&id).cloned().ok_or_else(|| YamlError {
                    location,
                    message: "invalid YAML: alias refers to an unknown anchor".to_owned(),
                })?;
                node.location = Some(location);
                return Ok(node);
            }
            Event::SequenceStart(anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.next()?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(event, span)?);
                }
                (Node { value: Value::Seq(items), location: Some(location) }, anchor)
            }
            Event::MappingStart(anchor, _) => (self.mapping(location)?, anchor),
            other => {
                return Err(YamlError { location, message: format!("invalid YAML: unexpected {other:?}") });
            }
        };
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        Ok(node)
    }

    fn mapping(&mut self, location: Location) -> Result<Node, YamlError> {
        let mut entries: Vec<(Key, Node)> = Vec::new();
        let mut merged: Vec<(Key, Node)> = Vec::new();
        loop {
            let (event, span) = self.next()?;
            if matches!(event, Event::MappingEnd) {
                break;
            }
            let key_location = self.location(span);
            let key_node = self.node(event, span)?;
            let (value_event, value_span) = self.next()?;
            let value = self.node(value_event, value_span)?;
            let name = match &key_node.value {
                Value::Str(s) if s == "<<" && is_plain_merge(&key_node) => {
                    collect_merge(&value, &mut merged)?;
                    continue;
                }
                Value::Str(s) => s.clone(),
                Value::Null => "null".to_owned(),
                Value::Bool(b) => b.to_string(),
                Value::Int(i) => i.to_string(),
                Value::Float(f) => f.to_string(),
                Value::Seq(_) | Value::Map(_) => {
                    return Err(YamlError {
                        location: key_location,
                        message: "map keys must be plain strings, not lists or maps".to_owned(),
                    });
                }
            };
            if entries.iter().any(|(k, _)| k.name == name) {
                return Err(YamlError { location: key_location, message: format!("duplicate key `{name}`") });
            }
            entries.push((Key { name, location: Some(key_location) }, value));
        }
        for (key, value) in merged {
            if !entries.iter().any(|(k, _)| k.name == key.name) {
                entries.push((key, value));
            }
        }
        Ok(Node { value: Value::Map(entries), location: Some(location) })
    }
}

/// Merge keys are written plainly as `<<`; a quoted `"<<"` is an ordinary key.
fn is_plain_merge(node: &Node) -> bool {
    // The builder only keeps the style for scalars through `resolve_plain`, which returns
    // strings for `<<` either way; quoted merge keys are vanishingly rare, treat both alike.
    node.as_str() == Some("<<")
}

fn collect_merge(value: &Node, merged: &mut Vec<(Key, Node)>) -> Result<(), YamlError> {
    let mut add = |map: &Node| -> Result<(), YamlError> {
        let entries = map.as_map().ok_or_else(|| YamlError {
            location: map.location.unwrap_or(Location { source: 0, line: 1, column: 1 }),
            message: "a merge key `<<` takes a map or a list of maps".to_owned(),
        })?;
        for (k, v) in entries {
            if !merged.iter().any(|(m, _)| m.name == k.name) {
                merged.push((k.clone(), v.clone()));
            }
        }
        Ok(())
    };
    match &value.value {
        Value::Seq(items) => items.iter().try_for_each(add),
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
}
