//! `resources list|get-outputs|deprovision`.
//!
//! Arguments → [`ops::resources`] → the report rendered (a table, or its JSON on stdout).
//! `deprovision` takes no flags or cargo metadata: the environment's Fly target.

use score_fly_core::ops::{self, resources::ListedResource, resources::ResourceOutputs};

use super::{Failure, Session, open_project};
use crate::cli::{Format, ResourcesCommand};
use crate::printer::Printer;
use crate::settings::{Flags, Settings};
use crate::table;

/// Runs a `resources` subcommand.
pub fn run(command: &ResourcesCommand, session: &Session) -> Result<(), Failure> {
    let printer = &session.printer;
    match command {
        ResourcesCommand::List(args) => list(printer, &ops::resources::list(&open_project(session)?)?, args.format),
        ResourcesCommand::GetOutputs { uid, show_secrets, format } => {
            let outputs = ops::resources::outputs(&open_project(session)?, uid, *show_secrets)?;
            get_outputs(printer, &outputs, format.format);
        }
        ResourcesCommand::Deprovision { uid } => {
            let project = open_project(session)?;
            let settings = Settings::from_flags(Flags::default())?;
            let done = ops::resources::deprovision(&project, uid, settings.target, &session.reporter())?;
            printer.status("Deprovisioned", uid);
            if !done.still_declared_by.is_empty() {
                printer.warning(
                    &format!(
                        "`{uid}` is still declared by {}: the next `generate` provisions it again",
                        done.still_declared_by.join(", ")
                    ),
                    "",
                );
            }
        }
    }
    Ok(())
}

fn list(printer: &Printer, resources: &[ListedResource], format: Format) {
    if format == Format::Json {
        let text = serde_json::to_string_pretty(resources).expect("listings serialise");
        return printer.stdout(&format!("{text}\n"));
    }
    if resources.is_empty() {
        return printer.status("Note", "no resources provisioned yet");
    }
    let rows: Vec<Vec<String>> = resources
        .iter()
        .map(|r| {
            let outputs: Vec<String> =
                r.outputs.iter().cloned().chain(r.secret_outputs.iter().map(|k| format!("{k}*"))).collect();
            vec![
                r.uid.clone(),
                r.target.to_owned(),
                r.declared_by.join(", "),
                r.provisioner.clone(),
                outputs.join(", "),
            ]
        })
        .collect();
    let header = ["UID", "TARGET", "DECLARED BY", "PROVISIONER", "OUTPUTS (* secret)"];
    printer.stdout(&table::render(&header, &rows));
}

fn get_outputs(printer: &Printer, outputs: &ResourceOutputs, format: Format) {
    if format == Format::Json {
        let text = serde_json::to_string_pretty(outputs).expect("outputs serialise");
        return printer.stdout(&format!("{text}\n"));
    }
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let plain = outputs.values.iter().map(|(k, v)| vec![k.clone(), text(v), String::new()]);
    let secret = outputs.secrets.iter().map(|(k, v)| vec![k.clone(), text(v), "secret".to_owned()]);
    printer.stdout(&table::render(&["OUTPUT", "VALUE", ""], &plain.chain(secret).collect::<Vec<_>>()));
}
