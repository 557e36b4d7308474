//! `resources list|get-outputs|deprovision`: the resources the project state records.
//!
//! Outputs are shown masked unless secrets are asked for: secret outputs as [`MASK`], and
//! any plain output holding a known secret redacted ([`Redactor::for_state`]).

use std::collections::BTreeMap;

use serde::Serialize;

use super::error::Error;
pub use super::error::ResourcesError;
use super::event::Reporter;
use crate::builtin::FlyEnv;
use crate::provision::{self, Redactor, definition};
use crate::secret::MASK;
use crate::state::{Project, State, Target};
use crate::target::FlyTarget;

/// A resource of the project, as `resources list` shows it (output names only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedResource {
    /// Its uid.
    pub uid: String,
    /// Where it was provisioned: `fly` (`.score-fly/state.json`) or `dev` (the local state
    /// of `cargo score-fly dev`, `.score-fly/dev/state.json`).
    pub target: &'static str,
    /// Its Score type (`type` in JSON).
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Its Score class.
    pub class: String,
    /// Its Score id.
    pub id: String,
    /// The workloads that declare it (`workload.resource-name`).
    pub declared_by: Vec<String>,
    /// The id of its provisioner.
    pub provisioner: String,
    /// The names of its plain outputs.
    pub outputs: Vec<String>,
    /// The names of its secret outputs.
    pub secret_outputs: Vec<String>,
}

/// A resource's outputs, as `resources get-outputs` shows them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResourceOutputs {
    /// Its uid.
    pub uid: String,
    /// Plain outputs (known secrets in them redacted unless asked for).
    pub values: BTreeMap<String, serde_json::Value>,
    /// Secret outputs ([`MASK`] unless asked for).
    pub secrets: BTreeMap<String, serde_json::Value>,
}

/// What `deprovision` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deprovisioned {
    /// The resource.
    pub uid: String,
    /// Workloads that still declare it (the next `generate` provisions it again).
    pub still_declared_by: Vec<String>,
}

/// The project's state, or [`Error::NoState`].
pub fn require_state(project: &Project) -> Result<State, Error> {
    project.load()?.ok_or_else(|| Error::NoState(project.dir()))
}

/// Every resource the project state records (none without a state), then those of the
/// local state of `cargo score-fly dev` (read without waiting for a running dev session's
/// lock: it is written atomically).
pub fn list(project: &Project) -> Result<Vec<ListedResource>, Error> {
    let state = project.load()?.unwrap_or_else(|| State::new(""));
    let mut listed = listing(state, project.target());
    if let Some(dev) = crate::state::peek(project.root(), Target::Dev)? {
        listed.extend(listing(dev, Target::Dev));
    }
    Ok(listed)
}

fn listing(state: State, target: Target) -> Vec<ListedResource> {
    state
        .resources
        .into_iter()
        .map(|(uid, e)| ListedResource {
            uid,
            target: target.as_str(),
            resource_type: e.kind,
            class: e.class,
            id: e.id,
            declared_by: e.declared_by,
            provisioner: e.provisioner,
            outputs: e.values.keys().cloned().collect(),
            secret_outputs: e.secrets.keys().cloned().collect(),
        })
        .collect()
}

/// The outputs of resource `uid`; with `show_secrets` as stored, else masked.
pub fn outputs(project: &Project, uid: &str, show_secrets: bool) -> Result<ResourceOutputs, Error> {
    let state = require_state(project)?;
    let entry = state.resources.get(uid).ok_or_else(|| unknown(uid, &state))?;
    // A plain output holding a secret (a state written before such outputs were moved to
    // the secret ones) is masked too, unless secrets are asked for.
    let redactor = Redactor::for_state(&state);
    let values = entry
        .values
        .iter()
        .map(|(k, v)| (k.clone(), if show_secrets { v.clone() } else { redact_json(v, &redactor) }))
        .collect();
    let shown =
        |v: &serde_json::Value| if show_secrets { v.clone() } else { serde_json::Value::String(MASK.to_owned()) };
    let secrets = entry.secrets.iter().map(|(k, v)| (k.clone(), shown(v))).collect();
    Ok(ResourceOutputs { uid: uid.to_owned(), values, secrets })
}

/// Deprovisions resource `uid` with its provisioner, `target` (its app prefix replaced by the
/// project's) serving the builtins; the state forgets it.
pub fn deprovision(
    project: &Project,
    uid: &str,
    mut target: FlyTarget,
    reporter: &dyn Reporter,
) -> Result<Deprovisioned, Error> {
    let mut state = require_state(project)?;
    if !state.resources.contains_key(uid) {
        return Err(unknown(uid, &state));
    }
    let defs = definition::load_all(&project.dir())?;
    state.app_prefix.clone_into(&mut target.app_prefix);
    let fly = FlyEnv::for_target(&target, project.root(), &state.workloads, false);
    provision::deprovision(uid, &mut state, &defs, project.root(), &fly, reporter)
        .map_err(ResourcesError::Deprovision)?;
    project.save(&state)?;
    let still_declared_by = state
        .workloads
        .iter()
        .filter(|(name, w)| w.spec.resources.iter().any(|(r, res)| res.uid(name, r) == uid))
        .map(|(name, _)| name.clone())
        .collect();
    Ok(Deprovisioned { uid: uid.to_owned(), still_declared_by })
}

fn unknown(uid: &str, state: &State) -> Error {
    let known = state.resources.keys().cloned().collect();
    ResourcesError::Unknown { uid: uid.to_owned(), known }.into()
}

/// `value` with every string in it redacted.
fn redact_json(value: &serde_json::Value, redactor: &Redactor) -> serde_json::Value {
    match value {
        serde_json::Value::String(s) => serde_json::Value::String(redactor.redact(s)),
        serde_json::Value::Array(items) => items.iter().map(|v| redact_json(v, redactor)).collect(),
        serde_json::Value::Object(map) => {
            map.iter().map(|(k, v)| (k.clone(), redact_json(v, redactor))).collect::<serde_json::Map<_, _>>().into()
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::state::{LockWait, ResourceEntry};

    /// A project whose state records `postgres.default#api.db`, with a plain output that holds
    /// the secret password (a state from before laundering).
    fn project(dir: &std::path::Path) -> Project {
        let project = Project::open(dir, LockWait { timeout: Duration::ZERO }, &mut |_| {}).unwrap();
        let mut state = State::new("acme-");
        let entry: ResourceEntry = serde_json::from_value(serde_json::json!({
            "type": "postgres", "class": "default", "id": "api.db", "declared_by": ["api"],
            "provisioner": "builtin-postgres", "params": {}, "metadata": {}, "fingerprint": "f", "state": {},
            "values": {"host": "db.internal", "port": 5432, "url": ["postgres://u:s3cr3t-pw@db.internal"]},
            "secrets": {"password": "s3cr3t-pw"},
        }))
        .unwrap();
        state.resources.insert("postgres.default#api.db".to_owned(), entry);
        project.save(&state).unwrap();
        project
    }

    #[test]
    fn a_listing_holds_output_names_in_the_documented_shape() {
        let dir = tempfile::tempdir().unwrap();
        let project = project(dir.path());
        let listed = list(&project).unwrap();
        assert_eq!(
            serde_json::to_value(&listed).unwrap(),
            serde_json::json!([{
                "uid": "postgres.default#api.db", "target": "fly", "type": "postgres", "class": "default", "id": "api.db",
                "declared_by": ["api"], "provisioner": "builtin-postgres",
                "outputs": ["host", "port", "url"], "secret_outputs": ["password"],
            }])
        );
    }

    #[test]
    fn outputs_are_masked_unless_secrets_are_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let project = project(dir.path());
        let uid = "postgres.default#api.db";
        let masked = serde_json::to_value(outputs(&project, uid, false).unwrap()).unwrap();
        assert_eq!(masked["uid"], uid);
        assert_eq!(masked["secrets"], serde_json::json!({"password": MASK}));
        assert_eq!(masked["values"]["port"], 5432);
        assert_eq!(masked["values"]["host"], "db.internal");
        let url = masked["values"]["url"][0].as_str().unwrap();
        assert!(!url.contains("s3cr3t-pw") && url.starts_with("postgres://u:"), "{url}");
        let shown = serde_json::to_value(outputs(&project, uid, true).unwrap()).unwrap();
        assert_eq!(
            shown,
            serde_json::json!({
                "uid": uid,
                "values": {"host": "db.internal", "port": 5432, "url": ["postgres://u:s3cr3t-pw@db.internal"]},
                "secrets": {"password": "s3cr3t-pw"},
            })
        );
        let err = outputs(&project, "redis.default#api.cache", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "no resource `redis.default#api.cache` in the project (known: postgres.default#api.db)"
        );
        assert_eq!(err.kind(), crate::ops::kind::ErrorKind::Invalid);
    }

    #[test]
    fn without_a_state_there_is_nothing_to_show() {
        let dir = tempfile::tempdir().unwrap();
        let project = Project::open(dir.path(), LockWait { timeout: Duration::ZERO }, &mut |_| {}).unwrap();
        assert_eq!(list(&project).unwrap(), Vec::new());
        let err = outputs(&project, "x", false).unwrap_err();
        assert!(matches!(err, Error::NoState(_)), "{err:?}");
        assert!(err.to_string().ends_with(": run `cargo score-fly init` or `cargo score-fly generate` first"), "{err}");
    }
}
