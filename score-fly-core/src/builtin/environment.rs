//! `environment`: outputs read from the environment score-fly runs in (CI variables), as
//! score-compose's `environment` resource reads its shell's.
//!
//! - Keys: every `${resources.<name>.<KEY>}` the workloads write for this resource
//!   ([`FlyEnv::referenced`](super::FlyEnv::referenced): variables, file contents that are
//!   expanded, inline or `source` files, volume sources, resource params). `KEY` is the
//!   variable's name, exactly.
//! - Outputs: each key as a **secret** (such variables are mostly tokens), so what reads
//!   one becomes a Fly secret, never a `fly.toml` value. A variable that is set but empty
//!   gives an empty value; one that is not set is an error naming it.
//! - The engine calls it on every run (see [`always_call`](super::always_call)): the
//!   variables may change while the params stay the same. Nothing is created or removed.

use super::{BuiltinError, Call};
use crate::provision::protocol::Response;

/// `environment` provision.
pub(super) fn provision(call: &Call<'_>) -> Result<Response, BuiltinError> {
    let uid = &call.request.resource_uid;
    let keys = call.env.referenced.get(uid).cloned().unwrap_or_default();
    let mut secrets = serde_json::Map::new();
    let mut missing = Vec::new();
    for key in &keys {
        match call.env.var(key) {
            Some(value) => {
                call.cx.redactor.add([value.as_str()]);
                secrets.insert(key.clone(), serde_json::Value::String(value));
            }
            None => missing.push(key.clone()),
        }
    }
    if !missing.is_empty() {
        return Err(BuiltinError::Unset { uid: uid.clone(), missing });
    }
    if keys.is_empty() {
        call.say("no workload reads an output of this resource; nothing to read");
    } else {
        call.say(&format!(
            "read {} from the environment",
            keys.iter().map(String::as_str).collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(Response { secrets, ..Response::default() })
}
