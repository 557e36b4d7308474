//! `provisioners add|list|remove`: the `cli.provisioners.yaml` file and the others.
//!
//! `list` never shows a credential: http URLs are masked ([`mask_url`]: user info password,
//! query values) and static secret outputs are `********`.

use std::fmt::Write as _;
use std::io::Read as _;

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
    // A file that holds secret outputs stays out of git: ignored before the secrets land.
    let holds_secrets = defs.iter().any(|d| d.static_.as_ref().is_some_and(|s| !s.secrets.is_empty()));
    let newly_ignored = holds_secrets && project.ignore(CLI_FILE)?;
    definition::write_file(&project, CLI_FILE, &defs)?;
    for id in replaced {
        session.printer.status("Replaced", &format!("provisioner `{id}`"));
    }
    session.printer.status(
        "Added",
        &format!("{} provisioner `{}` for {} (first in line)", def.kind_name(), def.id, selector(&def)),
    );
    if let Some(s) = &def.static_ {
        for key in s.values.keys().filter(|k| score_fly_core::secret::looks_secret(k)) {
            session.printer.warning(
                &format!(
                    "output `{key}` of provisioner `{}` looks secret, but --static-json makes it a plain output: a variable that reads it is written to fly.toml in plain text; give it in --static-secrets-file instead, and it becomes an app secret",
                    def.id
                ),
                "",
            );
        }
        if !s.secrets.is_empty() {
            session.printer.warning(
                &format!(
                    "{} now holds secret outputs (mode 0600){}: define the provisioners your team shares in another .score-fly/*.provisioners.yaml, and check that git does not track this one already (`git rm --cached`)",
                    crate::cargo::relative(&cli_file),
                    if newly_ignored { ", so .score-fly/.gitignore now keeps it out of git" } else { " and .score-fly/.gitignore keeps it out of git" }
                ),
                "",
            );
        }
    }
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
        let builtins: &dyn score_fly_core::provision::Builtins = &score_fly_core::builtin::FlyEnv::default();
        if !builtins.names().contains(&name.as_str()) {
            return Err(Failure::Invalid(score_fly_core::provision::no_builtin(builtins, name)));
        }
        def.builtin = Some(name.clone());
    } else if let Some(binary) = &args.cmd_binary {
        def.cmd = Some(CmdDef { binary: binary.clone(), args: args.cmd_args.clone(), timeout: args.timeout.clone() });
    } else if let Some(url) = &args.http_url {
        def.http =
            Some(HttpDef { url: url.clone(), timeout: args.timeout.clone(), connect_timeout: None, retries: None });
    } else if args.static_json.is_some() || args.static_secrets_file.is_some() {
        let values = match &args.static_json {
            Some(json) => static_json(json, "--static-json")?,
            None => serde_json::Map::new(),
        };
        let secrets = match &args.static_secrets_file {
            Some(path) => static_json(&read_secrets_file(path)?, "--static-secrets-file")?,
            None => serde_json::Map::new(),
        };
        if let Some(both) = values.keys().find(|k| secrets.contains_key(*k)) {
            return Err(Failure::Invalid(format!(
                "output `{both}` is in both --static-json and --static-secrets-file; keep it in one (a secret belongs in --static-secrets-file)"
            )));
        }
        def.static_ = Some(StaticDef { values, secrets });
    }
    def.check().map_err(Failure::Invalid)?;
    Ok(def)
}

/// `--static-secrets-file`: the file (bounded, text), or stdin for `-`. Secrets never come
/// from the command line, where other local users can read them.
fn read_secrets_file(path: &std::path::Path) -> Result<String, Failure> {
    if path.as_os_str() == "-" {
        let mut input = Vec::new();
        let limit = u64::try_from(limits::MAX_DOCUMENT_BYTES).unwrap_or(u64::MAX).saturating_add(1);
        std::io::stdin()
            .take(limit)
            .read_to_end(&mut input)
            .map_err(|e| Failure::Error(format!("cannot read --static-secrets-file from stdin: {e}")))?;
        // Too large is reported by `static_json`, which names the limit.
        return String::from_utf8(input)
            .map_err(|_| Failure::Invalid("--static-secrets-file (stdin) is not UTF-8 text".to_owned()));
    }
    score_fly_core::input::read_document(path).map_err(|e| Failure::Invalid(format!("--static-secrets-file: {e}")))
}

/// `--static-json` (or the `--static-secrets-file` text, named by `what`): a JSON object of
/// at most [`limits::MAX_DOCUMENT_BYTES`], nested at most [`limits::MAX_DEPTH`] levels, with
/// at most [`limits::MAX_NODES`] values (what a provisioner file may hold, so the outputs can
/// be written to the state and read back). Errors never quote the text (it may be secret).
fn static_json(json: &str, what: &str) -> Result<serde_json::Map<String, serde_json::Value>, Failure> {
    if json.len() > limits::MAX_DOCUMENT_BYTES {
        return Err(Failure::Invalid(format!(
            "{what} is {} bytes, more than {} (limits::MAX_DOCUMENT_BYTES); put large outputs in a *.provisioners.yaml file, or make them smaller",
            json.len(),
            limits::MAX_DOCUMENT_BYTES
        )));
    }
    let budget = Budget::new(limits::MAX_DEPTH, limits::MAX_NODES);
    match budget.read_json(json.as_bytes()) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(Failure::Invalid(format!("{what} must be a JSON object of outputs"))),
        Err(e) => Err(Failure::Invalid(match budget.exceeded() {
            Some(exceeded) => format!("{what}: {exceeded}"),
            // serde_json's messages give the position, never the text.
            None => format!("{what} is not valid JSON: {e}"),
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
        match static_json(json, "--static-json") {
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
        assert_eq!(static_json(r#"{"host": "h"}"#, "--static-json").unwrap()["host"], "h");
    }
}
