//! `provisioners add|list|remove`: the `cli.provisioners.yaml` file and the others.
//!
//! `list` never shows a credential: http URLs are masked ([`mask_url`]: user info password,
//! query values) and static secret outputs are `********`.

use std::fmt::Write as _;

use score_fly_core::provision::definition::{
    self, CLI_FILE, CmdDef, DEFAULT_FILE, HttpDef, Located, ProvisionerDef, StaticDef,
};
use score_fly_core::secret::{MASK, mask_url};

use score_fly_core::fly::annotations::parse_duration_in;
use score_fly_core::limits;
use score_fly_core::provision::definition::TIMEOUT_RANGE;
use score_fly_core::provision::protocol::Budget;

use super::{Failure, Session, open_project};
use crate::cli::{Format, ProvisionerAddArgs, ProvisionersCommand};
use crate::table;

/// Runs a `provisioners` subcommand.
pub fn run(command: &ProvisionersCommand, session: &Session) -> Result<(), Failure> {
    match command {
        ProvisionersCommand::Add(args) => add(args, session),
        ProvisionersCommand::List(args) => list(args.format, session),
        ProvisionersCommand::Remove { id } => remove(id, session),
    }
}

fn add(args: &ProvisionerAddArgs, session: &Session) -> Result<(), Failure> {
    let def = definition_from_args(args)?;
    let project = open_project(session)?;
    let dir = project.dir();
    let cli_file = dir.join(CLI_FILE);
    // The id must not be taken by a file we do not manage.
    for located in definition::load_all(&dir)? {
        if located.def.id == def.id && located.file != cli_file {
            return Err(Failure::Invalid(format!(
                "provisioner `{}` is defined in {}; edit that file, or choose another id",
                def.id,
                located.file.display()
            )));
        }
    }
    let mut defs = if cli_file.is_file() { definition::read_file(&cli_file)? } else { Vec::new() };
    let replaced: Vec<String> = defs
        .iter()
        .filter(|d| {
            d.id == def.id
                || (d.resource_type == def.resource_type && d.class == def.class && d.resource_id == def.resource_id)
        })
        .map(|d| d.id.clone())
        .collect();
    defs.retain(|d| !replaced.contains(&d.id));
    defs.insert(0, def.clone());
    definition::write_file(&project, CLI_FILE, &defs)?;
    for id in replaced {
        session.printer.status("Replaced", &format!("provisioner `{id}`"));
    }
    session.printer.status(
        "Added",
        &format!("{} provisioner `{}` for {} (first in line)", def.kind_name(), def.id, selector(&def)),
    );
    Ok(())
}

fn definition_from_args(args: &ProvisionerAddArgs) -> Result<ProvisionerDef, Failure> {
    if let Some(timeout) = &args.timeout {
        // Checked here to name the option; the definition's own check names its field.
        parse_duration_in(timeout, "--timeout", TIMEOUT_RANGE)
            .map_err(|e| Failure::Invalid(format!("{e} (limits::MAX_TIMEOUT)")))?;
    }
    let mut def = ProvisionerDef {
        id: args.id.clone(),
        resource_type: args.resource_type.clone(),
        class: args.res_class.clone(),
        resource_id: args.res_id.clone(),
        cmd: None,
        http: None,
        static_: None,
        builtin: None,
    };
    if let Some(name) = &args.builtin {
        def.builtin = Some(name.clone());
    } else if let Some(binary) = &args.cmd_binary {
        def.cmd = Some(CmdDef { binary: binary.clone(), args: args.cmd_args.clone(), timeout: args.timeout.clone() });
    } else if let Some(url) = &args.http_url {
        def.http =
            Some(HttpDef { url: url.clone(), timeout: args.timeout.clone(), connect_timeout: None, retries: None });
    } else if let Some(json) = &args.static_json {
        def.static_ = Some(StaticDef { values: static_json(json)?, secrets: serde_json::Map::new() });
    }
    def.check().map_err(Failure::Invalid)?;
    Ok(def)
}

/// `--static-json`: a JSON object of at most [`limits::MAX_DOCUMENT_BYTES`], nested at most
/// [`limits::MAX_DEPTH`] levels, with at most [`limits::MAX_NODES`] values (what a provisioner
/// file may hold, so the outputs can be written to the state and read back).
fn static_json(json: &str) -> Result<serde_json::Map<String, serde_json::Value>, Failure> {
    if json.len() > limits::MAX_DOCUMENT_BYTES {
        return Err(Failure::Invalid(format!(
            "--static-json is {} bytes, more than {} (limits::MAX_DOCUMENT_BYTES); put large outputs in a *.provisioners.yaml file, or make them smaller",
            json.len(),
            limits::MAX_DOCUMENT_BYTES
        )));
    }
    let budget = Budget::new(limits::MAX_DEPTH, limits::MAX_NODES);
    match budget.read_json(json.as_bytes()) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(Failure::Invalid("--static-json must be a JSON object of outputs".to_owned())),
        Err(e) => Err(Failure::Invalid(match budget.exceeded() {
            Some(exceeded) => format!("--static-json: {exceeded}"),
            None => format!("--static-json is not valid JSON: {e}"),
        })),
    }
}

fn selector(def: &ProvisionerDef) -> String {
    let mut s = format!("type `{}`", def.resource_type);
    if let Some(c) = &def.class {
        let _ = write!(s, ", class `{c}`");
    }
    if let Some(i) = &def.resource_id {
        let _ = write!(s, ", id `{i}`");
    }
    s
}

fn detail(def: &ProvisionerDef) -> String {
    match def.kind() {
        definition::Kind::Cmd(c) => std::iter::once(c.binary).chain(c.args).collect::<Vec<_>>().join(" "),
        definition::Kind::Http(h) => mask_url(&h.url),
        definition::Kind::Builtin(name) => format!("builtin {name}"),
        definition::Kind::Static(s) => {
            let mut keys: Vec<String> = s.values.keys().cloned().collect();
            keys.extend(s.secrets.keys().map(|k| format!("{k} (secret)")));
            format!("outputs: {}", keys.join(", "))
        }
    }
}

fn list(format: Format, session: &Session) -> Result<(), Failure> {
    let project = open_project(session)?;
    let defs = definition::load_all(&project.dir())?;
    match format {
        Format::Json => {
            let items: Vec<serde_json::Value> = defs
                .iter()
                .map(|Located { def, file }| {
                    let mut v = serde_json::to_value(def).expect("definitions serialise");
                    if let Some(s) =
                        v.get_mut("static").and_then(|s| s.get_mut("secrets")).and_then(|s| s.as_object_mut())
                    {
                        for value in s.values_mut() {
                            *value = serde_json::Value::String(MASK.to_owned());
                        }
                    }
                    if let Some(url) = v.get_mut("http").and_then(|h| h.get_mut("url")) {
                        let masked = url.as_str().map(mask_url).unwrap_or_default();
                        *url = serde_json::Value::String(masked);
                    }
                    v["file"] = serde_json::Value::String(file.display().to_string());
                    v
                })
                .collect();
            session.printer.stdout(&format!("{}\n", serde_json::to_string_pretty(&items).expect("json")));
        }
        Format::Table => {
            let rows: Vec<Vec<String>> = defs
                .iter()
                .map(|Located { def, file }| {
                    vec![
                        def.id.clone(),
                        def.resource_type.clone(),
                        def.class.clone().unwrap_or_else(|| "*".to_owned()),
                        def.resource_id.clone().unwrap_or_else(|| "*".to_owned()),
                        def.kind_name().to_owned(),
                        detail(def),
                        file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
                    ]
                })
                .collect();
            if rows.is_empty() {
                session.printer.status("Note", "no provisioners: add one with `cargo score-fly provisioners add`");
            } else {
                session
                    .printer
                    .stdout(&table::render(&["ID", "TYPE", "CLASS", "RES ID", "KIND", "RUNS", "FILE"], &rows));
            }
        }
    }
    Ok(())
}

fn remove(id: &str, session: &Session) -> Result<(), Failure> {
    let project = open_project(session)?;
    let dir = project.dir();
    let all = definition::load_all(&dir)?;
    let Some(found) = all.iter().find(|l| l.def.id == id) else {
        let ids: Vec<&str> = all.iter().map(|l| l.def.id.as_str()).collect();
        return Err(Failure::Invalid(format!(
            "no provisioner `{id}` (defined: {})",
            if ids.is_empty() { "none".to_owned() } else { ids.join(", ") }
        )));
    };
    let name = found.file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    if name != CLI_FILE && name != DEFAULT_FILE {
        return Err(Failure::Invalid(format!(
            "provisioner `{id}` is defined in your file {}; edit that file to remove it",
            found.file.display()
        )));
    }
    let mut defs = definition::read_file(&found.file)?;
    defs.retain(|d| d.id != id);
    definition::write_file(&project, &name, &defs)?;
    session.printer.status("Removed", &format!("provisioner `{id}` from {}", found.file.display()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(json: &str) -> String {
        match static_json(json) {
            Err(Failure::Invalid(message)) => message,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn static_json_is_bounded_like_a_provisioner_file() {
        // (Linux refuses arguments past 128 KiB; other systems may let these through.)
        let wide = format!(r#"{{"host": "{}"}}"#, "x".repeat(limits::MAX_DOCUMENT_BYTES));
        assert!(error(&wide).contains("more than 1048576 (limits::MAX_DOCUMENT_BYTES)"));
        let many = format!(r#"{{"a": [{}]}}"#, vec!["0"; limits::MAX_NODES].join(","));
        assert_eq!(
            error(&many),
            "--static-json: it holds more than 100000 values (limits::MAX_NODES; a YAML alias counts every value it repeats); make it smaller"
        );
        let deep = format!(r#"{{"a": {}1{}}}"#, "[".repeat(limits::MAX_DEPTH), "]".repeat(limits::MAX_DEPTH));
        assert!(error(&deep).starts_with("--static-json: it is nested deeper than 64 levels"));
        assert_eq!(error("[1]"), "--static-json must be a JSON object of outputs");
        assert!(error("{").starts_with("--static-json is not valid JSON"));
        assert_eq!(static_json(r#"{"host": "h"}"#).unwrap()["host"], "h");
    }
}
