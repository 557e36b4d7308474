//! The provisioner wire protocol, unchanged from score-flyio so its provisioners keep working.
//!
//! Request (JSON on a cmd provisioner's stdin, or an http provisioner's request body):
//! `{resource_uid, resource_type, resource_class, resource_id, state, shared,
//! resource_params, resource_metadata}`. Response: `{state, values, secrets, shared}`, unknown
//! keys rejected; `shared` is an RFC 7386 merge patch onto the project's shared state.

use serde::{Deserialize, Serialize};

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

/// Parses a response body. `Ok(None)` for an empty body.
///
/// Errors never quote the body or any value in it: provisioner output holds secrets. The
/// shape is checked by hand because serde's messages quote the offending value.
pub fn parse_response(body: &[u8]) -> Result<Option<Response>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        format!(
            "it is not valid JSON ({} bytes; {} at line {} column {})",
            body.len(),
            classify(&e),
            e.line(),
            e.column()
        )
    })?;
    let serde_json::Value::Object(mut map) = value else {
        return Err(format!(
            "it must be a JSON object {{state, values, secrets, shared}}, found {}",
            json_type(&value)
        ));
    };
    if let Some(unknown) = map.keys().find(|k| !["state", "values", "secrets", "shared"].contains(&k.as_str())) {
        return Err(format!("unknown field `{unknown}`, expected one of `state`, `values`, `secrets`, `shared`"));
    }
    let mut object = |key: &str, null_ok: bool| -> Result<Option<serde_json::Map<String, serde_json::Value>>, String> {
        match map.remove(key) {
            None => Ok(None),
            Some(serde_json::Value::Null) if null_ok => Ok(None),
            Some(serde_json::Value::Object(m)) => Ok(Some(m)),
            Some(other) => Err(format!("`{key}` must be a JSON object, found {}", json_type(&other))),
        }
    };
    let state = object("state", true)?;
    let values = object("values", true)?.unwrap_or_default();
    let secrets = object("secrets", true)?.unwrap_or_default();
    Ok(Some(Response { state, values, secrets, shared: map.remove("shared") }))
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
        let e = parse_response(br#"{"values": {}, "outputs": {"a": 1}}"#).unwrap_err();
        assert!(e.contains("unknown field `outputs`"), "{e}");
        let e = parse_response(b"password=hunter2 oops").unwrap_err();
        assert!(e.contains("not valid JSON") && !e.contains("hunter2"), "{e}");
        for body in [&br#"{"secrets": "hunter2"}"#[..], br#"{"state": "hunter2"}"#, br#"["hunter2"]"#, br#""hunter2""#]
        {
            let e = parse_response(body).unwrap_err();
            assert!(!e.contains("hunter2"), "{e}");
        }
        assert!(parse_response(br#"{"state": null, "shared": null}"#).unwrap().unwrap().state.is_none());
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
