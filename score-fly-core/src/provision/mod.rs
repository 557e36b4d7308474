//! The provisioning engine: turns the resources workloads declare into outputs.
//!
//! 1. [`plan`]: every resource gets its uid (`type.class#id`); resources with an explicit
//!    `id` are shared by every workload declaring them (their params must agree); each is
//!    matched to the first provisioner that serves it; `${resources...}` references in
//!    params become dependencies (a cycle is an error naming the resources).
//! 2. [`execute`]: resources are provisioned in dependency order, independent ones
//!    concurrently (at most `jobs` at a time). Params are expanded against the outputs of
//!    the resources they reference. A resource whose inputs did not change since it was
//!    provisioned is not provisioned again (its outputs are reused), so a rerun after a
//!    failure continues where it stopped. The state is saved after every provisioner that
//!    may have created something, so a crash never loses what exists.
//! 3. [`deprovision`] removes one resource.
//!
//! Provisioners are called through [`call`] ([`definition::Kind`]: `cmd`, `http`,
//! `static`) with the score-flyio wire protocol ([`protocol`]). The engine never prints: it
//! reports through [`Events`].

mod cmd;
pub mod definition;
mod engine;
mod http;
pub mod protocol;

use std::path::Path;
use std::sync::RwLock;

pub use definition::{Located, ProvisionerDef};
pub use engine::*;

use protocol::{Mode, Request, Response};

/// What the engine reports while it works (it never prints).
pub trait Events: Sync {
    /// A provisioner call starts.
    fn started(&self, _uid: &str, _provisioner: &str, _mode: Mode) {}
    /// A line a provisioner wrote on stderr (secrets redacted), or a retry notice.
    fn output(&self, _uid: &str, _line: &str) {}
    /// A resource is done.
    fn finished(&self, _uid: &str, _outcome: &Outcome) {}
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl Events for NoEvents {}

/// Replaces known secret values in text that is about to be shown. Shared by the threads of
/// a run; secrets learnt during the run are added as they arrive.
#[derive(Debug, Default)]
pub struct Redactor {
    secrets: RwLock<Vec<String>>,
}

impl Redactor {
    /// A redactor for these values (values shorter than 4 characters are not redacted: they
    /// would mangle ordinary text and are not worth hiding).
    pub fn new<'a>(values: impl IntoIterator<Item = &'a str>) -> Self {
        let redactor = Redactor::default();
        redactor.add(values);
        redactor
    }

    /// Every secret value of a state.
    pub fn for_state(state: &crate::state::State) -> Self {
        let redactor = Redactor::default();
        for entry in state.resources.values() {
            redactor.add_json(&serde_json::Value::Object(entry.secrets.clone()));
        }
        redactor
    }

    /// Adds values to hide.
    pub fn add<'a>(&self, values: impl IntoIterator<Item = &'a str>) {
        let mut secrets = self.secrets.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        secrets.extend(values.into_iter().filter(|v| v.len() >= 4).map(str::to_owned));
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
    }

    /// Adds every string inside a JSON value (e.g. a resource's secret outputs).
    pub fn add_json(&self, value: &serde_json::Value) {
        let mut values = Vec::new();
        collect_strings(value, &mut values);
        self.add(values.iter().map(String::as_str));
    }

    /// `text` with every secret replaced by `********`.
    pub fn redact(&self, text: &str) -> String {
        let secrets = self.secrets.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out = text.to_owned();
        for secret in secrets.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "********");
            }
        }
        out
    }
}

/// Every string (and the JSON text of every non-string scalar) inside a value.
pub fn collect_strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_strings(v, out)),
        serde_json::Value::Object(map) => map.values().for_each(|v| collect_strings(v, out)),
        serde_json::Value::Null => {}
        other => out.push(other.to_string()),
    }
}

/// What a provisioner call needs besides the request.
#[derive(Clone, Copy)]
pub struct CallContext<'a> {
    /// The resource uid (for messages and stderr lines).
    pub uid: &'a str,
    /// Where cmd provisioners run and relative binaries are found.
    pub project_root: &'a Path,
    /// Hides secrets in what is shown.
    pub redactor: &'a Redactor,
    /// Where progress goes.
    pub events: &'a dyn Events,
    /// Where builtin provisioners create things on Fly.
    pub fly: &'a crate::builtin::FlyEnv,
    /// `workload.resource-name` of every declaration of the resource.
    pub declared_by: &'a [String],
}

/// Calls a provisioner once. `Ok(None)` is an empty answer (fine for a deprovision).
pub fn call(
    def: &ProvisionerDef,
    mode: Mode,
    request: &Request,
    cx: &CallContext<'_>,
) -> Result<Option<Response>, String> {
    match def.kind() {
        definition::Kind::Cmd(c) => cmd::call(&c, &def.id, mode, request, def.timeout(), cx),
        definition::Kind::Http(h) => http::call(&h, mode, request, def.timeout(), cx),
        definition::Kind::Builtin(name) => crate::builtin::call(&name, mode, request, cx.fly, cx),
        definition::Kind::Static(s) => Ok(match mode {
            Mode::Provision => Some(Response { state: None, values: s.values, secrets: s.secrets, shared: None }),
            Mode::Deprovision => None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_replaces_longest_first_and_skips_tiny_values() {
        let r = Redactor::new(["hunter2", "hunter2-extended", "ab"]);
        assert_eq!(r.redact("pw=hunter2-extended and hunter2, ab"), "pw=******** and ********, ab");
    }
}
