//! The provisioner wire protocol, unchanged from score-flyio so its provisioners keep working.
//!
//! Request (JSON on a cmd provisioner's stdin, or an http provisioner's request body):
//! `{resource_uid, resource_type, resource_class, resource_id, state, shared,
//! resource_params, resource_metadata}`. Response: `{state, values, secrets, shared}`, unknown
//! keys rejected; `shared` is an RFC 7386 merge patch onto the project's shared state.

use std::cell::{Cell, RefCell};

use serde::de::DeserializeSeed as _;
use serde::{Deserialize, Serialize};

use crate::limits;

/// Provision or deprovision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Create or update.
    Provision,
    /// Delete.
    Deprovision,
}

impl Mode {
    /// `provision` / `deprovision` (the value of `$SCORE_PROVISIONER_MODE`).
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Provision => "provision",
            Mode::Deprovision => "deprovision",
        }
    }
}

/// What a provisioner receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Request {
    /// `type.class#id`.
    pub resource_uid: String,
    /// Resource type.
    pub resource_type: String,
    /// Resource class.
    pub resource_class: String,
    /// Resource id.
    pub resource_id: String,
    /// The provisioner's state from its previous call.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub state: serde_json::Map<String, serde_json::Value>,
    /// The project's shared state.
    #[serde(default)]
    pub shared: serde_json::Value,
    /// Params, placeholders expanded.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub resource_params: serde_json::Map<String, serde_json::Value>,
    /// Resource metadata.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub resource_metadata: serde_json::Map<String, serde_json::Value>,
}

/// What a provisioner answers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// New provisioner state (kept when absent).
    #[serde(default)]
    pub state: Option<serde_json::Map<String, serde_json::Value>>,
    /// Plain outputs.
    #[serde(default)]
    pub values: serde_json::Map<String, serde_json::Value>,
    /// Secret outputs.
    #[serde(default)]
    pub secrets: serde_json::Map<String, serde_json::Value>,
    /// Merge patch onto the shared state.
    #[serde(default)]
    pub shared: Option<serde_json::Value>,
}

/// `null` (as Go provisioners send for empty maps) reads as an empty map.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<serde_json::Map<String, serde_json::Value>, D::Error> {
    Ok(Option::<serde_json::Map<String, serde_json::Value>>::deserialize(deserializer)?.unwrap_or_default())
}

/// Why a provisioner message (a response, or a request read by the `builtin-provisioners`
/// entry point) was refused. Messages never quote the message or any value in it:
/// provisioner messages hold secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// A response larger than a response may be.
    #[error(
        "it is {bytes} bytes, more than a response may be ({limit} bytes, limits::MAX_RESPONSE_BYTES); keep large data out of provisioner responses"
    )]
    ResponseTooBig {
        /// Its size.
        bytes: usize,
        /// [`limits::MAX_RESPONSE_BYTES`].
        limit: usize,
    },
    /// A request larger than a provisioner message may be.
    #[error("it is {bytes} bytes, more than a provisioner message may be ({limit} bytes, limits::MAX_RESPONSE_BYTES)")]
    RequestTooBig {
        /// Its size.
        bytes: usize,
        /// [`limits::MAX_RESPONSE_BYTES`].
        limit: usize,
    },
    /// It is nested too deep, holds too many values or a tag.
    #[error(transparent)]
    Exceeded(#[from] Exceeded),
    /// A response that is not JSON.
    #[error("it is not valid JSON ({bytes} bytes; {what} at line {line} column {column})")]
    ResponseNotJson {
        /// Its size.
        bytes: usize,
        /// `syntax error`, `unexpected end`...
        what: &'static str,
        /// Where (1-based).
        line: usize,
        /// Where (1-based).
        column: usize,
    },
    /// A request that is not JSON.
    #[error("it is not valid JSON ({what} at line {line} column {column}); expected {REQUEST_SHAPE}")]
    RequestNotJson {
        /// `syntax error`, `unexpected end`...
        what: &'static str,
        /// Where (1-based).
        line: usize,
        /// Where (1-based).
        column: usize,
    },
    /// A response that is not a JSON object.
    #[error("it must be a JSON object {{state, values, secrets, shared}}, found {found}")]
    ResponseNotObject {
        /// `an array`, `a string`...
        found: &'static str,
    },
    /// A response field that is not one of the four.
    #[error("unknown field `{field}`, expected one of `state`, `values`, `secrets`, `shared`")]
    UnknownResponseField {
        /// Its name.
        field: String,
    },
    /// `state`, `values` or `secrets` is not an object.
    #[error("`{field}` must be a JSON object, found {found}")]
    FieldNotObject {
        /// The field.
        field: &'static str,
        /// `an array`, `a string`...
        found: &'static str,
    },
    /// A request field is missing.
    #[error("missing field `{field}`; expected {REQUEST_SHAPE}")]
    MissingRequestField {
        /// Its name.
        field: String,
    },
    /// A request field is not one of the protocol's.
    #[error("unknown field `{field}`; expected {REQUEST_SHAPE}")]
    UnknownRequestField {
        /// Its name.
        field: String,
    },
    /// A request of another shape (a field of the wrong type).
    #[error("it is not a provisioner request; expected {REQUEST_SHAPE}")]
    NotARequest,
}

/// The fields of a request, as messages name them.
const REQUEST_SHAPE: &str =
    "{resource_uid, resource_type, resource_class, resource_id, state, shared, resource_params, resource_metadata}";

/// Reads a provisioner message with `budget`: the bound it exceeded (its depth counted from
/// the message's fields), else where it is not JSON.
fn read_bounded(
    body: &[u8],
    not_json: impl FnOnce(&'static str, usize, usize) -> ProtocolError,
) -> Result<serde_json::Value, ProtocolError> {
    // The message object is one level above its fields.
    let budget = Budget::new(limits::MAX_DEPTH + 1, limits::MAX_NODES).with_field_names();
    budget.read_json(body).map_err(|e| match budget.exceeded() {
        // Counted from the message object: its fields may be MAX_DEPTH deep.
        Some(Exceeded::Depth { field, .. }) => Exceeded::Depth { field, limit: limits::MAX_DEPTH }.into(),
        Some(exceeded) => exceeded.into(),
        None => not_json(classify(&e), e.line(), e.column()),
    })
}

/// Parses a response body (at most [`limits::MAX_RESPONSE_BYTES`]). `Ok(None)` for an empty
/// body.
///
/// The body is read into a tree with [`BoundedValue`]: no field may be nested deeper than
/// [`limits::MAX_DEPTH`] levels, and the whole response holds at most [`limits::MAX_NODES`]
/// values, so whatever is accepted can be written to the state and read back.
///
/// Errors never quote the body or any value in it: provisioner output holds secrets. The
/// shape is checked by hand because serde's messages quote the offending value.
pub fn parse_response(body: &[u8]) -> Result<Option<Response>, ProtocolError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if body.len() > limits::MAX_RESPONSE_BYTES {
        return Err(ProtocolError::ResponseTooBig { bytes: body.len(), limit: limits::MAX_RESPONSE_BYTES });
    }
    let value = read_bounded(body, |what, line, column| ProtocolError::ResponseNotJson {
        bytes: body.len(),
        what,
        line,
        column,
    })?;
    let serde_json::Value::Object(mut map) = value else {
        return Err(ProtocolError::ResponseNotObject { found: json_type(&value) });
    };
    if let Some(unknown) = map.keys().find(|k| !["state", "values", "secrets", "shared"].contains(&k.as_str())) {
        return Err(ProtocolError::UnknownResponseField { field: unknown.clone() });
    }
    let mut object = |field: &'static str| match map.remove(field) {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(ProtocolError::FieldNotObject { field, found: json_type(&other) }),
    };
    let state = object("state")?;
    let values = object("values")?.unwrap_or_default();
    let secrets = object("secrets")?.unwrap_or_default();
    Ok(Some(Response { state, values, secrets, shared: map.remove("shared") }))
}

/// Parses a request (what a provisioner reads on stdin: the `builtin-provisioners` entry
/// point), within the same bounds as a response: at most [`limits::MAX_RESPONSE_BYTES`],
/// fields at most [`limits::MAX_DEPTH`] deep, at most [`limits::MAX_NODES`] values.
///
/// Errors never quote the request: its `state` and `shared` may hold secrets.
pub fn parse_request(body: &[u8]) -> Result<Request, ProtocolError> {
    if body.len() > limits::MAX_RESPONSE_BYTES {
        return Err(ProtocolError::RequestTooBig { bytes: body.len(), limit: limits::MAX_RESPONSE_BYTES });
    }
    let value = read_bounded(body, |what, line, column| ProtocolError::RequestNotJson { what, line, column })?;
    // serde's messages may quote values: say what is wrong, not what was there.
    serde_json::from_value(value).map_err(|e| {
        let what = e.to_string();
        match what.split('`').nth(1).map(str::to_owned) {
            Some(field) if what.starts_with("missing field") => ProtocolError::MissingRequestField { field },
            Some(field) if what.starts_with("unknown field") => ProtocolError::UnknownRequestField { field },
            _ => ProtocolError::NotARequest,
        }
    })
}

/// A bound a document exceeded while it was read (see [`BoundedValue`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Exceeded {
    /// Nested deeper than allowed.
    #[error("{}is nested deeper than {limit} levels (limits::MAX_DEPTH); flatten it", field_prefix(.field.as_ref()))]
    Depth {
        /// The top-level field it happened in, when the document names them.
        field: Option<String>,
        /// The limit.
        limit: usize,
    },
    /// More values than allowed (aliases expanded).
    #[error("{}holds more than {limit} values (limits::MAX_NODES; a YAML alias counts every value it repeats); make it smaller", field_prefix(.field.as_ref()))]
    Nodes {
        /// The top-level field it happened in, when the document names them.
        field: Option<String>,
        /// The limit.
        limit: usize,
    },
    /// A YAML tag, which a JSON tree cannot hold.
    #[error("{}holds a YAML tag (`!name`), which is not supported here; remove it", field_prefix(.field.as_ref()))]
    Tag {
        /// The top-level field it happened in, when the document names them.
        field: Option<String>,
    },
}

fn field_prefix(field: Option<&String>) -> String {
    match field {
        Some(f) => format!("`{f}` "),
        None => "it ".to_owned(),
    }
}

impl Exceeded {
    fn in_field(self, name: &str) -> Self {
        let field = Some(name.to_owned());
        match self {
            Exceeded::Depth { field: None, limit } => Exceeded::Depth { field, limit },
            Exceeded::Nodes { field: None, limit } => Exceeded::Nodes { field, limit },
            Exceeded::Tag { field: None } => Exceeded::Tag { field },
            other => other,
        }
    }
}

/// What one bounded read may use, and what it has used: see [`Budget::seed`].
#[derive(Debug)]
pub struct Budget {
    max_depth: usize,
    max_nodes: usize,
    field_names: bool,
    nodes: Cell<usize>,
    exceeded: RefCell<Option<Exceeded>>,
}

impl Budget {
    /// At most `max_depth` nested lists/maps (the root one is level 1) and `max_nodes`
    /// values.
    pub fn new(max_depth: usize, max_nodes: usize) -> Self {
        Budget { max_depth, max_nodes, field_names: false, nodes: Cell::new(0), exceeded: RefCell::new(None) }
    }

    /// Names the top-level key in errors (`` `values` is nested deeper ... ``).
    #[must_use]
    pub fn with_field_names(mut self) -> Self {
        self.field_names = true;
        self
    }

    /// A seed reading one document with this budget (see [`BoundedValue`]).
    pub fn seed(&self) -> BoundedValue<'_> {
        BoundedValue { budget: self, depth: 0, field_names: self.field_names }
    }

    /// Reads one JSON document (and nothing after it) with this budget; when the error is a
    /// bound, [`Budget::exceeded`] says which.
    pub fn read_json(&self, text: &[u8]) -> Result<serde_json::Value, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_slice(text);
        let value = self.seed().deserialize(&mut de)?;
        de.end()?;
        Ok(value)
    }

    /// The bound a read exceeded, if that is why it failed.
    pub fn exceeded(&self) -> Option<Exceeded> {
        self.exceeded.borrow().clone()
    }

    fn fail<E: serde::de::Error>(&self, exceeded: Exceeded) -> E {
        let error = E::custom(&exceeded);
        *self.exceeded.borrow_mut() = Some(exceeded);
        error
    }
}

/// Reads any self-describing document (JSON, YAML) into a [`serde_json::Value`] while
/// counting: more nesting or more values than its [`Budget`] allows stops the read at once,
/// so a deep tree or an alias bomb ("billion laughs": every value an alias repeats is
/// counted again) is never built. Non-finite YAML floats read as `null`, as `serde_json`'s own
/// value does; map keys are read as text.
#[derive(Clone, Copy)]
pub struct BoundedValue<'a> {
    budget: &'a Budget,
    depth: usize,
    field_names: bool,
}

impl BoundedValue<'_> {
    fn child(self) -> Self {
        BoundedValue { depth: self.depth + 1, field_names: false, ..self }
    }

    fn count<E: serde::de::Error>(self) -> Result<(), E> {
        let n = self.budget.nodes.get() + 1;
        self.budget.nodes.set(n);
        if n > self.budget.max_nodes {
            return Err(self.budget.fail(Exceeded::Nodes { field: None, limit: self.budget.max_nodes }));
        }
        Ok(())
    }

    fn enter<E: serde::de::Error>(self) -> Result<(), E> {
        self.count()?;
        if self.depth + 1 > self.budget.max_depth {
            return Err(self.budget.fail(Exceeded::Depth { field: None, limit: self.budget.max_depth }));
        }
        Ok(())
    }

    fn scalar<E: serde::de::Error>(self, value: serde_json::Value) -> Result<serde_json::Value, E> {
        self.count()?;
        Ok(value)
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for BoundedValue<'_> {
    type Value = serde_json::Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// A map key, as text.
struct Key<'a>(BoundedValue<'a>);

impl<'de> serde::de::DeserializeSeed<'de> for Key<'_> {
    type Value = String;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_string(self)
    }
}

impl serde::de::Visitor<'_> for Key<'_> {
    type Value = String;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a map key")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
        self.0.count()?;
        Ok(v.to_owned())
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<String, E> {
        self.0.count()?;
        Ok(v)
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<String, E> {
        self.visit_string(v.to_string())
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
        self.visit_string(v.to_string())
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
        self.visit_string(v.to_string())
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<String, E> {
        self.visit_string(v.to_string())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<String, E> {
        self.visit_string("null".to_owned())
    }
}

impl<'de> serde::de::Visitor<'de> for BoundedValue<'_> {
    type Value = serde_json::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any value")
    }

    fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Self::Value, E> {
        self.scalar(serde_json::Value::Bool(v))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.scalar(serde_json::Value::from(v))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.scalar(serde_json::Value::from(v))
    }

    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        self.scalar(serde_json::Number::from_f64(v).map_or(serde_json::Value::Null, serde_json::Value::Number))
    }

    fn visit_i128<E: serde::de::Error>(self, v: i128) -> Result<Self::Value, E> {
        match (i64::try_from(v), u64::try_from(v)) {
            (Ok(n), _) => self.visit_i64(n),
            (_, Ok(n)) => self.visit_u64(n),
            _ => Err(E::custom("a whole number does not fit in 64 bits")),
        }
    }

    fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Self::Value, E> {
        match u64::try_from(v) {
            Ok(n) => self.visit_u64(n),
            Err(_) => Err(E::custom("a whole number does not fit in 64 bits")),
        }
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        self.scalar(serde_json::Value::String(v.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Self::Value, E> {
        self.scalar(serde_json::Value::String(v))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        self.scalar(serde_json::Value::Null)
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        self.scalar(serde_json::Value::Null)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        serde::de::DeserializeSeed::deserialize(self, deserializer)
    }

    fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        serde::de::DeserializeSeed::deserialize(self, deserializer)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        self.enter()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.child())? {
            items.push(item);
        }
        Ok(serde_json::Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        self.enter()?;
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key_seed(Key(self.child()))? {
            let value = match map.next_value_seed(self.child()) {
                Ok(value) => value,
                Err(e) if self.field_names => {
                    // Name the field the bound was exceeded in.
                    let Some(exceeded) = self.budget.exceeded() else { return Err(e) };
                    return Err(self.budget.fail(exceeded.in_field(&key)));
                }
                Err(e) => return Err(e),
            };
            out.insert(key, value);
        }
        Ok(serde_json::Value::Object(out))
    }

    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, _data: A) -> Result<Self::Value, A::Error> {
        // serde_yaml hands a tagged value (`!name x`) over as an enum.
        Err(self.budget.fail(Exceeded::Tag { field: None }))
    }
}

/// Levels of lists and maps in a map value: 1 + the deepest of its values.
pub fn map_depth(map: &serde_json::Map<String, serde_json::Value>) -> usize {
    1 + map.values().map(depth).max().unwrap_or(0)
}

/// Levels of lists and maps in a value (a scalar is 0), without recursion.
pub fn depth(value: &serde_json::Value) -> usize {
    let mut deepest = 0;
    let mut pending = vec![(value, 0usize)];
    while let Some((v, above)) = pending.pop() {
        let children: Box<dyn Iterator<Item = &serde_json::Value>> = match v {
            serde_json::Value::Array(items) => Box::new(items.iter()),
            serde_json::Value::Object(map) => Box::new(map.values()),
            _ => continue,
        };
        deepest = deepest.max(above + 1);
        pending.extend(children.map(|c| (c, above + 1)));
    }
    deepest
}

fn classify(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Eof => "unexpected end",
    }
}

fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Applies an RFC 7386 JSON merge patch.
pub fn merge_patch(target: &mut serde_json::Value, patch: &serde_json::Value) {
    let serde_json::Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = serde_json::Value::Object(serde_json::Map::new());
    }
    let target_map = target.as_object_mut().expect("made an object above");
    for (key, value) in patch_map {
        if value.is_null() {
            target_map.remove(key);
        } else {
            merge_patch(target_map.entry(key.clone()).or_insert(serde_json::Value::Null), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        // The examples of RFC 7386 section 3.
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "b"}), json!({"b": "c"}), json!({"a": "b", "b": "c"})),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (json!({"a": "b", "b": "c"}), json!({"a": null}), json!({"b": "c"})),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (json!({"a": {"b": "c"}}), json!({"a": {"b": "d", "c": null}}), json!({"a": {"b": "d"}})),
            (json!({"a": [{"b": "c"}]}), json!({"a": [1]}), json!({"a": [1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (json!({"a": "foo"}), json!("bar"), json!("bar")),
            (json!({"e": null}), json!({"a": 1}), json!({"e": null, "a": 1})),
            (json!([1, 2]), json!({"a": "b", "c": null}), json!({"a": "b"})),
            (json!({}), json!({"a": {"bb": {"ccc": null}}}), json!({"a": {"bb": {}}})),
        ];
        for (mut target, patch, expected) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, expected, "patch {patch}");
        }
    }

    #[test]
    fn responses_reject_unknown_keys_and_never_quote_output() {
        assert_eq!(parse_response(b"  \n").unwrap(), None);
        let r = parse_response(br#"{"values": {"host": "h"}, "secrets": {"password": "p"}, "shared": {"x": 1}}"#)
            .unwrap()
            .unwrap();
        assert_eq!(r.values["host"], "h");
        assert_eq!(r.secrets["password"], "p");
        let e = parse_response(br#"{"values": {}, "outputs": {"a": 1}}"#).unwrap_err().to_string();
        assert!(e.contains("unknown field `outputs`"), "{e}");
        let e = parse_response(b"password=hunter2 oops").unwrap_err().to_string();
        assert!(e.contains("not valid JSON") && !e.contains("hunter2"), "{e}");
        for body in [&br#"{"secrets": "hunter2"}"#[..], br#"{"state": "hunter2"}"#, br#"["hunter2"]"#, br#""hunter2""#]
        {
            let e = parse_response(body).unwrap_err().to_string();
            assert!(!e.contains("hunter2"), "{e}");
        }
        assert!(parse_response(br#"{"state": null, "shared": null}"#).unwrap().unwrap().state.is_none());
    }

    fn nested(levels: usize) -> String {
        format!("{}1{}", "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn response_fields_may_be_max_depth_deep_and_no_deeper() {
        // Each field (a map: level 1) holds a value MAX_DEPTH - 1 deep: MAX_DEPTH in all.
        let ok = nested(limits::MAX_DEPTH - 1);
        let body = format!(
            r#"{{"state": {{"a": {ok}}}, "values": {{"a": {ok}}}, "secrets": {{"a": {ok}}}, "shared": [{ok}]}}"#
        );
        let r = parse_response(body.as_bytes()).unwrap().unwrap();
        assert_eq!(map_depth(&r.values), limits::MAX_DEPTH);
        assert_eq!(depth(r.shared.as_ref().unwrap()), limits::MAX_DEPTH);
        let deep = nested(limits::MAX_DEPTH);
        for field in ["state", "values", "secrets", "shared"] {
            let body = format!(r#"{{"values": {{}}, "{field}": {{"hunter2": {deep}}}}}"#);
            let e = parse_response(body.as_bytes()).unwrap_err().to_string();
            assert_eq!(
                e,
                format!("`{field}` is nested deeper than {} levels (limits::MAX_DEPTH); flatten it", limits::MAX_DEPTH)
            );
        }
        // Far past serde_json's own limit (128): the same error, not a syntax error.
        let body = format!(r#"{{"values": {{"a": {}}}}}"#, nested(100_000));
        let e = parse_response(body.as_bytes()).unwrap_err().to_string();
        assert!(e.starts_with("`values` is nested deeper than 64 levels"), "{e}");
    }

    #[test]
    fn responses_are_bounded_in_values_and_bytes() {
        let many: Vec<String> = (0..limits::MAX_NODES).map(|i| format!("\"k{i}\": 1")).collect();
        let body = format!(r#"{{"values": {{{}}}}}"#, many.join(","));
        let e = parse_response(body.as_bytes()).unwrap_err().to_string();
        assert!(e.starts_with(&format!("`values` holds more than {} values", limits::MAX_NODES)), "{e}");
        let body = format!(r#"{{"values": {{"a": "{}"}}}}"#, "x".repeat(limits::MAX_RESPONSE_BYTES));
        let e = parse_response(body.as_bytes()).unwrap_err().to_string();
        assert!(e.contains("limits::MAX_RESPONSE_BYTES") && !e.contains("xxxx"), "{e}");
    }

    #[test]
    fn bounded_reads_stop_an_alias_bomb_in_yaml() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
        for (level, previous) in
            ["b", "c", "d", "e", "f", "g", "h", "i"].iter().zip(["a", "b", "c", "d", "e", "f", "g", "h"])
        {
            let refs = vec![format!("*{previous}"); 9].join(", ");
            text.push_str(&[*level, ": &", level, " [", &refs, "]\n"].concat());
        }
        // Padding, so serde_yaml's own guard (100 alias expansions per event) does not stop
        // it first: ours stops it, whatever the size of the file.
        text.push_str(&["padding: [", &vec!["0"; 2000].join(", "), "]\n"].concat());
        let budget = Budget::new(limits::MAX_DEPTH, limits::MAX_NODES);
        let started = std::time::Instant::now();
        let e = budget.seed().deserialize(serde_yaml::Deserializer::from_str(&text)).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
        assert!(matches!(budget.exceeded(), Some(Exceeded::Nodes { field: None, limit: limits::MAX_NODES })), "{e}");
        // Keys are text whatever they look like; tags are refused; `.inf` reads as null.
        let budget = Budget::new(limits::MAX_DEPTH, limits::MAX_NODES);
        let v =
            budget.seed().deserialize(serde_yaml::Deserializer::from_str("{1: a, true: b, ~: c, x: .inf}")).unwrap();
        assert_eq!(v, json!({"1": "a", "true": "b", "~": "c", "x": null}));
        let budget = Budget::new(limits::MAX_DEPTH, limits::MAX_NODES);
        assert!(budget.seed().deserialize(serde_yaml::Deserializer::from_str("x: !secret y")).is_err());
        assert_eq!(budget.exceeded(), Some(Exceeded::Tag { field: None }));
    }

    #[test]
    fn depth_counts_levels_without_recursion() {
        assert_eq!(depth(&json!(1)), 0);
        assert_eq!(depth(&json!([])), 1);
        assert_eq!(depth(&json!({"a": [1, {"b": []}]})), 4);
        let mut v = json!(1);
        for _ in 0..200_000 {
            v = serde_json::Value::Array(vec![v]);
        }
        assert_eq!(depth(&v), 200_000);
        // Dropping such a value recurses in serde_json: take it apart first.
        while let serde_json::Value::Array(mut items) = v {
            v = items.pop().unwrap_or_default();
        }
    }

    /// Each refusal, one per line: the variant the reader returns and its message.
    #[test]
    fn protocol_errors_say_what_is_wrong_without_quoting() {
        let cases: [(&[u8], bool); 8] = [
            (br#"{"values": "hunter2"}"#, false),
            (br#"["hunter2"]"#, false),
            (br#"{"x": 1}"#, false),
            (br#"{"values": {"#, false),
            (b"hunter2", true),
            (br#"{"resource_type": "t", "resource_class": "c", "resource_id": "i"}"#, true),
            (br#"{"resource_uid": 1, "resource_type": "t", "resource_class": "c", "resource_id": "i"}"#, true),
            (br#"{"resource_uid": "u", "resource_type": "t", "resource_class": "c", "resource_id": "i", "state": [{}]}"#, true),
        ];
        let errors: Vec<ProtocolError> = cases
            .iter()
            .map(
                |(body, request)| {
                    if *request { parse_request(body).unwrap_err() } else { parse_response(body).unwrap_err() }
                },
            )
            .collect();
        assert_eq!(errors[0], ProtocolError::FieldNotObject { field: "values", found: "a string" });
        assert_eq!(errors[5], ProtocolError::MissingRequestField { field: "resource_uid".into() });
        let shape = "{resource_uid, resource_type, resource_class, resource_id, state, shared, resource_params, resource_metadata}";
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages.join("\n"),
            format!(
                "`values` must be a JSON object, found a string
it must be a JSON object {{state, values, secrets, shared}}, found an array
unknown field `x`, expected one of `state`, `values`, `secrets`, `shared`
it is not valid JSON (12 bytes; unexpected end at line 1 column 12)
it is not valid JSON (syntax error at line 1 column 1); expected {shape}
missing field `resource_uid`; expected {shape}
it is not a provisioner request; expected {shape}
it is not a provisioner request; expected {shape}"
            )
        );
        let big = vec![b' '; limits::MAX_RESPONSE_BYTES + 1];
        assert_eq!(
            parse_request(&big).unwrap_err().to_string(),
            "it is 8388609 bytes, more than a provisioner message may be (8388608 bytes, limits::MAX_RESPONSE_BYTES)"
        );
        let mut big = big;
        big[0] = b'{';
        assert_eq!(
            parse_response(&big).unwrap_err(),
            ProtocolError::ResponseTooBig { bytes: limits::MAX_RESPONSE_BYTES + 1, limit: limits::MAX_RESPONSE_BYTES }
        );
    }

    #[test]
    fn requests_have_the_score_flyio_shape() {
        let r = Request {
            resource_uid: "postgres.default#web.db".into(),
            resource_type: "postgres".into(),
            resource_class: "default".into(),
            resource_id: "web.db".into(),
            state: serde_json::Map::new(),
            shared: json!({}),
            resource_params: serde_json::Map::new(),
            resource_metadata: serde_json::Map::new(),
        };
        let v = serde_json::to_value(&r).unwrap();
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "resource_class",
                "resource_id",
                "resource_metadata",
                "resource_params",
                "resource_type",
                "resource_uid",
                "shared",
                "state"
            ]
        );
    }
}
