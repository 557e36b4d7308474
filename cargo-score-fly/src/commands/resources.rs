//! `resources list|get-outputs|deprovision`.

use score_fly_core::provision::{self, Redactor, definition};

use super::{CliEvents, Failure, Session, open_project, require_state};
use crate::cli::{Format, ResourcesCommand};
use crate::table;

/// How a secret output is shown when not asked for.
const MASK: &str = "********";

/// Runs a `resources` subcommand.
pub fn run(command: &ResourcesCommand, session: &Session) -> Result<(), Failure> {
    match command {
        ResourcesCommand::List(args) => list(args.format, session),
        ResourcesCommand::GetOutputs { uid, show_secrets, format } => {
            get_outputs(uid, *show_secrets, format.format, session)
        }
        ResourcesCommand::Deprovision { uid } => deprovision(uid, session),
    }
}

fn list(format: Format, session: &Session) -> Result<(), Failure> {
    let project = open_project(session)?;
    let state = project.load()?.unwrap_or_else(|| score_fly_core::state::State::new(""));
    match format {
        Format::Json => {
            let items: Vec<serde_json::Value> = state
                .resources
                .iter()
                .map(|(uid, e)| {
                    serde_json::json!({
                        "uid": uid,
                        "type": e.kind,
                        "class": e.class,
                        "id": e.id,
                        "declared_by": e.declared_by,
                        "provisioner": e.provisioner,
                        "outputs": e.values.keys().collect::<Vec<_>>(),
                        "secret_outputs": e.secrets.keys().collect::<Vec<_>>(),
                    })
                })
                .collect();
            session.printer.stdout(&format!("{}\n", serde_json::to_string_pretty(&items).expect("json")));
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = state
                .resources
                .iter()
                .map(|(uid, e)| {
                    let mut outputs: Vec<String> = e.values.keys().cloned().collect();
                    outputs.extend(e.secrets.keys().map(|k| format!("{k}*")));
                    vec![uid.clone(), e.declared_by.join(", "), e.provisioner.clone(), outputs.join(", ")]
                })
                .collect();
            if rows.is_empty() {
                session.printer.status("Note", "no resources provisioned yet");
            } else {
                session
                    .printer
                    .stdout(&table::render(&["UID", "DECLARED BY", "PROVISIONER", "OUTPUTS (* secret)"], &rows));
            }
        }
    }
    Ok(())
}

fn get_outputs(uid: &str, show_secrets: bool, format: Format, session: &Session) -> Result<(), Failure> {
    let project = open_project(session)?;
    let state = require_state(&project)?;
    let entry = state.resources.get(uid).ok_or_else(|| unknown(uid, &state))?;
    let shown = |value: &serde_json::Value| {
        if show_secrets { value.clone() } else { serde_json::Value::String(MASK.to_owned()) }
    };
    // A plain output holding a secret (a state written before such outputs were moved to
    // the secret ones) is masked too, unless secrets are asked for.
    let redactor = Redactor::for_state(&state);
    let values: serde_json::Map<String, serde_json::Value> = entry
        .values
        .iter()
        .map(|(k, v)| {
            let v = if show_secrets { v.clone() } else { redact_json(v, &redactor) };
            (k.clone(), v)
        })
        .collect();
    match format {
        Format::Json => {
            let secrets: serde_json::Map<String, serde_json::Value> =
                entry.secrets.iter().map(|(k, v)| (k.clone(), shown(v))).collect();
            let doc = serde_json::json!({"uid": uid, "values": values, "secrets": secrets});
            session.printer.stdout(&format!("{}\n", serde_json::to_string_pretty(&doc).expect("json")));
        }
        Format::Table => {
            let text = |v: &serde_json::Value| match v {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let mut rows: Vec<Vec<String>> =
                values.iter().map(|(k, v)| vec![k.clone(), text(v), String::new()]).collect();
            rows.extend(entry.secrets.iter().map(|(k, v)| vec![k.clone(), text(&shown(v)), "secret".to_owned()]));
            session.printer.stdout(&table::render(&["OUTPUT", "VALUE", ""], &rows));
        }
    }
    Ok(())
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

fn unknown(uid: &str, state: &score_fly_core::state::State) -> Failure {
    let known: Vec<&str> = state.resources.keys().map(String::as_str).collect();
    Failure::Invalid(format!(
        "no resource `{uid}` in the project (known: {})",
        if known.is_empty() { "none".to_owned() } else { known.join(", ") }
    ))
}

fn deprovision(uid: &str, session: &Session) -> Result<(), Failure> {
    let project = open_project(session)?;
    let mut state = require_state(&project)?;
    if !state.resources.contains_key(uid) {
        return Err(unknown(uid, &state));
    }
    let defs = definition::load_all(&project.dir())?;
    let events = CliEvents::new(&session.printer);
    // No flags or cargo metadata here: the environment's target, with the project's prefix.
    let mut settings = crate::settings::Settings::from_flags(crate::settings::Flags::default())?;
    settings.with_project_prefix(&state.app_prefix);
    let fly = score_fly_core::builtin::FlyEnv::for_target(&settings.target, project.root(), &state.workloads, false);
    let result = provision::deprovision(uid, &mut state, &defs, project.root(), &fly, &events);
    match result {
        Ok(()) => {
            project.save(&state)?;
            session.printer.status("Deprovisioned", uid);
            let still: Vec<String> = state
                .workloads
                .iter()
                .filter(|(name, w)| w.spec.resources.iter().any(|(r, res)| res.uid(name, r) == uid))
                .map(|(name, _)| name.clone())
                .collect();
            if !still.is_empty() {
                session.printer.warning(
                    &format!(
                        "`{uid}` is still declared by {}: the next `generate` provisions it again",
                        still.join(", ")
                    ),
                    "",
                );
            }
            Ok(())
        }
        Err(e @ provision::DeprovisionError::Failed { .. }) => Err(Failure::Error(e.to_string())),
        Err(e) => Err(Failure::Invalid(e.to_string())),
    }
}
