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
//! `static`, `builtin`) with the score-flyio wire protocol ([`protocol`]). The engine never
//! prints: it reports through [`Events`]. The `builtin` kind is whatever [`Builtins`] value
//! the caller passes in (the builtin Fly provisioners: `builtin::FlyEnv`): the engine never
//! names them, so `builtin` may use the engine and not the reverse.
//!
//! # Secrets
//!
//! Everything a provisioner (or flyctl, for a builtin) prints and every error of a call
//! goes through one [`Redactor`] holding every secret the run knows: the secret outputs in
//! the state, those returned during the run, the Fly token, credentials in http
//! provisioners' URLs, and what builtins generate or read (passwords, environment values).
//!
//! ## Laundered secrets
//!
//! A provisioner may hand a secret back as a plain output (`values`): a copy of another
//! resource's password, a connection string built from it, the Fly token. Plain outputs go
//! into `fly.toml` as `[env]`, so after every run (dry runs too) each plain output of every
//! resource in the state is checked against every secret known at the end of the run: one
//! that **contains** a known secret, in any form the [`Redactor`] recognises, is moved to
//! the resource's secret outputs (it becomes a Fly secret) and reported through
//! [`Events::laundered`] (provisioner and key, never the value). "Contains", not "equals":
//! a connection string holding a password leaks it as surely as the password itself, and
//! the rule is the redactor's, so nothing hidden on screen is ever written in clear. The
//! cost of a false match (a value that merely contains a short secret) is a value carried
//! as a Fly secret instead of `[env]`, which the app reads the same way, and a warning.

mod cmd;
pub mod definition;
mod engine;
mod http;
pub mod protocol;
#[cfg(test)]
pub(crate) mod testing;

use std::path::Path;

pub use crate::secret::Redactor;
use crate::secret::Secret;
pub use cmd::{CmdError, Exit};
pub use definition::{Located, ProvisionerDef};
pub use engine::*;
pub use http::HttpError;

use protocol::{Mode, Request, Response};

/// What the engine reports while it works (it never prints).
pub trait Events: Sync {
    /// A provisioner call starts.
    fn started(&self, _uid: &str, _provisioner: &str, _mode: Mode) {}
    /// A line a provisioner wrote on stderr (secrets redacted), or a retry notice.
    fn output(&self, _uid: &str, _line: &str) {}
    /// A resource is done.
    fn finished(&self, _uid: &str, _outcome: &Outcome) {}
    /// Provisioner `provisioner` returned output `key` of resource `uid` as a plain value,
    /// but it holds a known secret: it was moved to the secret outputs (see
    /// [`engine`](crate::provision#laundered-secrets)). Never carries the value.
    fn laundered(&self, _uid: &str, _provisioner: &str, _key: &str) {}
}

/// The `builtin` provisioner kind, as the engine sees it: provisioners implemented outside
/// the engine, named by a `builtin: <name>` entry. The caller passes one in (a run's
/// [`Provisioning::fly`], [`plan`], [`deprovision`]); the builtin Fly provisioners are
/// `builtin::FlyEnv`'s implementation, [`NoBuiltins`] has none.
pub trait Builtins: Sync {
    /// The names a `builtin:` entry may use.
    fn names(&self) -> &[&'static str];
    /// Calls builtin `name`. `Ok(None)` is an empty answer (a deprovision). The error is the
    /// implementation's own (the builtin Fly provisioners': `builtin::BuiltinError`; a name
    /// it does not have: [`NoBuiltin`]); [`call`] hides the run's secrets in its message.
    fn call(&self, name: &str, mode: Mode, request: &Request, cx: &CallContext<'_>) -> BuiltinResult;
    /// Whether builtin `name` must be called on every run because its outputs depend on more
    /// than its inputs (params, metadata): its last outputs are never reused, and a dry run
    /// with [`ProvisionOptions::read_in_dry_run`] calls it (it must only read).
    fn always_call(&self, _name: &str) -> bool {
        false
    }
    /// The name on Fly of what builtin `name` creates for resource `uid` (id `id`) under app
    /// prefix `prefix`, if it creates something named: two resources deriving the same name
    /// are a plan error.
    fn derived_name(&self, _name: &str, _prefix: &str, _uid: &str, _id: &str) -> Option<String> {
        None
    }
    /// Secrets of the builtins' own environment that every shown text must hide (the Fly
    /// token).
    fn secrets(&self) -> Vec<Secret> {
        Vec::new()
    }
}

/// No builtin provisioners: a `builtin:` entry names none of them.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBuiltins;

impl Builtins for NoBuiltins {
    fn names(&self) -> &[&'static str] {
        &[]
    }

    fn call(&self, name: &str, _: Mode, _: &Request, _: &CallContext<'_>) -> BuiltinResult {
        Err(Box::new(no_builtin(self, name)))
    }
}

/// How a [`Builtins`] implementation fails: its own error type (downcast to match on it).
pub type BuiltinFailure = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What [`Builtins::call`] returns.
pub type BuiltinResult = Result<Option<Response>, BuiltinFailure>;

/// A `builtin:` name that the builtins at hand do not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("there is no builtin provisioner `{name}` ({})", known_builtins(.known))]
pub struct NoBuiltin {
    /// The name asked for.
    pub name: String,
    /// The names there are.
    pub known: Vec<&'static str>,
}

fn known_builtins(known: &[&str]) -> String {
    if known.is_empty() { "this program has none".to_owned() } else { format!("builtins: {}", known.join(", ")) }
}

/// The error for a `builtin:` name that `builtins` does not have.
pub fn no_builtin(builtins: &dyn Builtins, name: &str) -> NoBuiltin {
    NoBuiltin { name: name.to_owned(), known: builtins.names().to_vec() }
}

/// Why a provisioner call failed, by kind of provisioner.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// A `cmd` provisioner failed.
    #[error(transparent)]
    Cmd(#[from] CmdError),
    /// An `http` provisioner failed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// A `builtin` provisioner failed (or does not exist).
    #[error(transparent)]
    Builtin(BuiltinFailure),
}

/// A failed provisioner call as it may be shown: the [`CallError`]'s message with every
/// secret the run knew when it failed hidden (the [`Redactor`] of its [`CallContext`]). The
/// error itself is kept for callers that match on it ([`CallFailed::error`]); it is neither
/// this error's `source` nor in its `Debug`, which would show what the message hides.
#[derive(thiserror::Error)]
#[error("{message}")]
pub struct CallFailed {
    error: Box<CallError>,
    message: String,
}

impl CallFailed {
    /// `error`, its message redacted by `redactor`.
    pub fn new(error: CallError, redactor: &Redactor) -> CallFailed {
        let message = redactor.redact(&error.to_string());
        CallFailed { error: Box::new(error), message }
    }

    /// What failed (its message may show secrets: show this error instead).
    pub fn error(&self) -> &CallError {
        &self.error
    }
}

impl std::fmt::Debug for CallFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallFailed").field("message", &self.message).finish_non_exhaustive()
    }
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoEvents;

impl Events for NoEvents {}

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
    /// The builtin provisioners (and where they create things on Fly).
    pub builtins: &'a dyn Builtins,
    /// `workload.resource-name` of every declaration of the resource.
    pub declared_by: &'a [String],
}

/// Calls a provisioner once. `Ok(None)` is an empty answer (fine for a deprovision). An
/// error's message is redacted here ([`CallFailed`]), whatever kind of provisioner wrote it
/// (a body or output it quotes, a flyctl or Machines API error of a builtin).
pub fn call(
    def: &ProvisionerDef,
    mode: Mode,
    request: &Request,
    cx: &CallContext<'_>,
) -> Result<Option<Response>, CallFailed> {
    call_kind(def, mode, request, cx).map_err(|e| CallFailed::new(e, cx.redactor))
}

fn call_kind(
    def: &ProvisionerDef,
    mode: Mode,
    request: &Request,
    cx: &CallContext<'_>,
) -> Result<Option<Response>, CallError> {
    match def.kind() {
        definition::Kind::Cmd(c) => Ok(cmd::call(&c, &def.id, mode, request, def.timeout(), cx)?),
        definition::Kind::Http(h) => Ok(http::call(&h, mode, request, def.timeout(), cx)?),
        definition::Kind::Builtin(name) => cx.builtins.call(&name, mode, request, cx).map_err(CallError::Builtin),
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
    fn unknown_builtins_are_named_with_those_there_are() {
        assert_eq!(
            no_builtin(&NoBuiltins, "redis").to_string(),
            "there is no builtin provisioner `redis` (this program has none)"
        );
        let e = NoBuiltin { name: "memcached".into(), known: vec!["postgres", "redis"] };
        assert_eq!(e.to_string(), "there is no builtin provisioner `memcached` (builtins: postgres, redis)");
        assert_eq!(no_builtin(&NoBuiltins, "x"), NoBuiltin { name: "x".into(), known: Vec::new() });
    }

    /// A call's error is shown with the run's secrets hidden, whatever the error holds; the
    /// error itself stays matchable, and neither `Debug` nor `source` shows it.
    #[test]
    fn call_failures_hide_the_run_secrets() {
        let redactor = Redactor::default();
        redactor.add(["hunter22"]);
        let error = CallError::Http(HttpError::Status {
            method: "POST",
            url: "https://p.example/x".into(),
            status: 400,
            body: "password hunter22 rejected".into(),
        });
        let failed = CallFailed::new(error, &redactor);
        assert_eq!(failed.to_string(), "POST https://p.example/x answered 400: password ******** rejected");
        assert!(matches!(failed.error(), CallError::Http(HttpError::Status { status: 400, .. })));
        assert!(!format!("{failed:?}").contains("hunter22"), "{failed:?}");
        assert!(std::error::Error::source(&failed).is_none());
        let builtin = CallError::Builtin(Box::new(no_builtin(&NoBuiltins, "redis")));
        assert_eq!(builtin.to_string(), "there is no builtin provisioner `redis` (this program has none)");
    }
}
