//! `provisioners add|list|remove`: the provisioner definitions of a project. `add` and
//! `remove` edit `cli.provisioners.yaml` (and `remove` the builtins' `default.provisioners.yaml`);
//! files of the user's own are only read.
//!
//! A listing never holds a credential: http URLs are masked ([`mask_url`]: user info
//! password, query values) and static secret outputs are [`MASK`].

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::Error;
pub use super::error::ProvisionersError;
use crate::fly::annotations::parse_duration_in;
use crate::limits;
use crate::provision::definition::{
    self, CLI_FILE, CmdDef, DEFAULT_FILE, HttpDef, Kind, ProvisionerDef, StaticDef, TIMEOUT_RANGE,
};
use crate::provision::protocol::Budget;
use crate::secret::{MASK, mask_url};
use crate::state::Project;

/// Outputs of a static provisioner, by name.
type Outputs = serde_json::Map<String, serde_json::Value>;

/// A provisioner to add, as given (`provisioners add`).
#[derive(Debug, Clone, Default)]
pub struct NewProvisioner {
    /// Its id.
    pub id: String,
    /// The resource type it serves.
    pub resource_type: String,
    /// The resource class it serves (any when `None`).
    pub class: Option<String>,
    /// The resource id it serves (any when `None`).
    pub resource_id: Option<String>,
    /// The `cmd`/`http` timeout (a Go duration).
    pub timeout: Option<String>,
    /// What it runs.
    pub runs: Option<Runs>,
}

/// What a new provisioner runs.
#[derive(Debug, Clone)]
pub enum Runs {
    /// A builtin Fly provisioner, by name.
    Builtin(String),
    /// A command.
    Cmd {
        /// The program.
        binary: String,
        /// Its arguments.
        args: Vec<String>,
    },
    /// An HTTP endpoint.
    Http(String),
    /// Static outputs: plain ones as JSON text (`--static-json`), secret ones as JSON text
    /// read with [`read_secrets`].
    Static {
        /// `--static-json`.
        values: Option<String>,
        /// `--static-secrets-file`'s text.
        secrets: Option<String>,
    },
}

/// What `add` did.
#[derive(Debug, Clone)]
pub struct Added {
    /// The definition, first in line now.
    pub def: ProvisionerDef,
    /// The file it was written to (`cli.provisioners.yaml`).
    pub file: PathBuf,
    /// Definitions it replaced (same id, or same type, class and id), by id.
    pub replaced: Vec<String>,
    /// Plain static outputs whose names look secret ([`crate::secret::looks_secret`]).
    pub secret_looking: Vec<String>,
    /// The definition has secret outputs (so the file holds secrets).
    pub has_secrets: bool,
    /// `.score-fly/.gitignore` was just made to keep the file out of git.
    pub newly_ignored: bool,
}

/// One provisioner of a listing, with its credentials masked. Serialises as the definition
/// (as in a provisioner file) plus `file`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listed {
    /// The definition, masked.
    #[serde(flatten)]
    pub def: ProvisionerDef,
    /// The file defining it.
    pub file: String,
}

impl Listed {
    /// `def` from `file`, masked.
    pub fn masked(mut def: ProvisionerDef, file: &Path) -> Listed {
        if let Some(s) = &mut def.static_ {
            for value in s.secrets.values_mut() {
                *value = serde_json::Value::String(MASK.to_owned());
            }
        }
        if let Some(h) = &mut def.http {
            h.url = mask_url(&h.url);
        }
        Listed { def, file: file.display().to_string() }
    }

    /// What it runs, in one line: the command line, the masked URL, the builtin, the outputs.
    pub fn runs(&self) -> String {
        match self.def.kind() {
            Kind::Cmd(c) => std::iter::once(c.binary).chain(c.args).collect::<Vec<_>>().join(" "),
            Kind::Http(h) => h.url,
            Kind::Builtin(name) => format!("builtin {name}"),
            Kind::Static(s) => {
                let mut keys: Vec<String> = s.values.keys().cloned().collect();
                keys.extend(s.secrets.keys().map(|k| format!("{k} (secret)")));
                format!("outputs: {}", keys.join(", "))
            }
        }
    }
}

/// The resources a definition serves, as messages name them: `` type `x`, class `y`, id `z` ``.
pub fn selector(def: &ProvisionerDef) -> String {
    let mut s = format!("type `{}`", def.resource_type);
    if let Some(c) = &def.class {
        let _ = write!(s, ", class `{c}`");
    }
    if let Some(i) = &def.resource_id {
        let _ = write!(s, ", id `{i}`");
    }
    s
}

/// The definition of `new`, checked: the timeout names its option, a builtin must exist in
/// `builtins`, static outputs are bounded JSON objects and none is both plain and secret.
pub fn definition(new: &NewProvisioner, builtins: &dyn crate::provision::Builtins) -> Result<ProvisionerDef, Error> {
    if let Some(timeout) = &new.timeout {
        // Checked here to name the option; the definition's own check names its field.
        parse_duration_in(timeout, "--timeout", TIMEOUT_RANGE).map_err(ProvisionersError::Timeout)?;
    }
    let mut def = ProvisionerDef {
        id: new.id.clone(),
        resource_type: new.resource_type.clone(),
        class: new.class.clone(),
        resource_id: new.resource_id.clone(),
        cmd: None,
        http: None,
        static_: None,
        builtin: None,
    };
    match &new.runs {
        Some(Runs::Builtin(name)) => {
            if !builtins.names().contains(&name.as_str()) {
                return Err(ProvisionersError::UnknownBuiltin(crate::provision::no_builtin(builtins, name)).into());
            }
            def.builtin = Some(name.clone());
        }
        Some(Runs::Cmd { binary, args }) => {
            def.cmd = Some(CmdDef { binary: binary.clone(), args: args.clone(), timeout: new.timeout.clone() });
        }
        Some(Runs::Http(url)) => {
            def.http =
                Some(HttpDef { url: url.clone(), timeout: new.timeout.clone(), connect_timeout: None, retries: None });
        }
        Some(Runs::Static { values, secrets }) => {
            let values = values.as_deref().map_or_else(|| Ok(Outputs::new()), |j| static_json(j, "--static-json"))?;
            let secrets =
                secrets.as_deref().map_or_else(|| Ok(Outputs::new()), |j| static_json(j, "--static-secrets-file"))?;
            if let Some(both) = values.keys().find(|k| secrets.contains_key(*k)) {
                return Err(ProvisionersError::PlainAndSecret(both.clone()).into());
            }
            def.static_ = Some(StaticDef { values, secrets });
        }
        None => {}
    }
    def.check().map_err(ProvisionersError::Definition)?;
    Ok(def)
}

/// `--static-secrets-file`'s text: the file (bounded, text), or stdin for `-`. Secrets never
/// come from the command line, where other local users can read them.
pub fn read_secrets(path: &Path) -> Result<String, Error> {
    if path.as_os_str() == "-" {
        let mut input = Vec::new();
        let limit = u64::try_from(limits::MAX_DOCUMENT_BYTES).unwrap_or(u64::MAX).saturating_add(1);
        std::io::stdin().take(limit).read_to_end(&mut input).map_err(ProvisionersError::Stdin)?;
        // Too large is reported by `static_json`, which names the limit.
        return Ok(String::from_utf8(input).map_err(|_| ProvisionersError::StdinNotText)?);
    }
    Ok(crate::input::read_document(path).map_err(ProvisionersError::SecretsFile)?)
}

/// Static outputs given as JSON text (named by `what`): an object of at most
/// [`limits::MAX_DOCUMENT_BYTES`], nested at most [`limits::MAX_DEPTH`] levels, with at most
/// [`limits::MAX_NODES`] values (what a provisioner file may hold, so the outputs can be
/// written to the state and read back).
fn static_json(json: &str, what: &'static str) -> Result<Outputs, ProvisionersError> {
    if json.len() > limits::MAX_DOCUMENT_BYTES {
        return Err(ProvisionersError::TooLarge { what, len: json.len() });
    }
    let budget = Budget::new(limits::MAX_DEPTH, limits::MAX_NODES);
    match budget.read_json(json.as_bytes()) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(ProvisionersError::NotObject { what }),
        Err(error) => Err(match budget.exceeded() {
            Some(exceeded) => ProvisionersError::Exceeded { what, exceeded },
            None => ProvisionersError::NotJson { what, error },
        }),
    }
}

/// Adds `def` first in line to `cli.provisioners.yaml`, replacing definitions there with
/// its id or its selector; an id defined in another file is refused. A file that holds
/// secret outputs is kept out of git before the secrets land.
pub fn add(project: &Project, def: ProvisionerDef) -> Result<Added, Error> {
    let dir = project.dir();
    let file = dir.join(CLI_FILE);
    if let Some(other) = definition::load_all(&dir)?.into_iter().find(|l| l.def.id == def.id && l.file != file) {
        return Err(ProvisionersError::TakenElsewhere { id: def.id, file: other.file }.into());
    }
    let mut defs = if file.is_file() { definition::read_file(&file)? } else { Vec::new() };
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
    let holds_secrets = defs.iter().any(|d| d.static_.as_ref().is_some_and(|s| !s.secrets.is_empty()));
    let newly_ignored = holds_secrets && project.ignore(CLI_FILE)?;
    definition::write_file(project, CLI_FILE, &defs)?;
    let secret_looking = def
        .static_
        .as_ref()
        .map_or_else(Vec::new, |s| s.values.keys().filter(|k| crate::secret::looks_secret(k)).cloned().collect());
    let has_secrets = def.static_.as_ref().is_some_and(|s| !s.secrets.is_empty());
    Ok(Added { def, file, replaced, secret_looking, has_secrets, newly_ignored })
}

/// Every provisioner of the project, in matching order, masked.
pub fn list(project: &Project) -> Result<Vec<Listed>, Error> {
    let defs = definition::load_all(&project.dir())?;
    Ok(defs.into_iter().map(|l| Listed::masked(l.def, &l.file)).collect())
}

/// Removes provisioner `id` from `cli.provisioners.yaml` or `default.provisioners.yaml`;
/// returns the file it was in.
pub fn remove(project: &Project, id: &str) -> Result<PathBuf, Error> {
    let all = definition::load_all(&project.dir())?;
    let Some(found) = all.iter().find(|l| l.def.id == id) else {
        let defined = all.into_iter().map(|l| l.def.id).collect();
        return Err(ProvisionersError::Unknown { id: id.to_owned(), defined }.into());
    };
    let name = found.file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    if name != CLI_FILE && name != DEFAULT_FILE {
        return Err(ProvisionersError::UsersFile { id: id.to_owned(), file: found.file.clone() }.into());
    }
    let mut defs = definition::read_file(&found.file)?;
    defs.retain(|d| d.id != id);
    definition::write_file(project, &name, &defs)?;
    Ok(found.file.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(json: &str) -> String {
        static_json(json, "--static-json").unwrap_err().to_string()
    }

    #[test]
    fn static_json_is_bounded_like_a_provisioner_file() {
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
        assert!(!error(r#"{"password": "hunter2"#).contains("hunter2"), "never quotes the text");
        assert_eq!(static_json(r#"{"host": "h"}"#, "--static-json").unwrap()["host"], "h");
    }

    fn new(runs: Runs) -> NewProvisioner {
        NewProvisioner { id: "p".to_owned(), resource_type: "redis".to_owned(), runs: Some(runs), ..Default::default() }
    }

    #[test]
    fn a_definition_is_checked_before_anything_is_written() {
        let none = crate::provision::NoBuiltins;
        let both =
            new(Runs::Static { values: Some(r#"{"k": 1}"#.to_owned()), secrets: Some(r#"{"k": 2}"#.to_owned()) });
        assert_eq!(
            definition(&both, &none).unwrap_err().to_string(),
            "output `k` is in both --static-json and --static-secrets-file; keep it in one (a secret belongs in --static-secrets-file)"
        );
        let err = definition(&new(Runs::Builtin("postgres".to_owned())), &none).unwrap_err();
        assert!(err.to_string().contains("no builtin provisioner `postgres`"), "{err}");
        assert_eq!(err.kind(), crate::ops::kind::ErrorKind::Invalid);
        let mut slow = new(Runs::Http("http://h".to_owned()));
        slow.timeout = Some("5x".to_owned());
        assert!(definition(&slow, &none).unwrap_err().to_string().ends_with("(limits::MAX_TIMEOUT)"));
        let def = definition(&new(Runs::Cmd { binary: "./p".to_owned(), args: vec!["a".to_owned()] }), &none).unwrap();
        assert_eq!(def.cmd.as_ref().map(|c| c.args.clone()), Some(vec!["a".to_owned()]));
        assert_eq!(selector(&def), "type `redis`");
    }

    #[test]
    fn a_listing_masks_credentials_and_serialises_as_the_definition_plus_its_file() {
        let mut def = definition(
            &new(Runs::Static {
                values: Some(r#"{"host": "h"}"#.to_owned()),
                secrets: Some(r#"{"password": "hunter2"}"#.to_owned()),
            }),
            &crate::provision::NoBuiltins,
        )
        .unwrap();
        def.class = Some("large".to_owned());
        let listed = Listed::masked(def, Path::new(".score-fly/cli.provisioners.yaml"));
        assert_eq!(
            serde_json::to_value(&listed).unwrap(),
            serde_json::json!({
                "id": "p", "type": "redis", "class": "large",
                "static": {"values": {"host": "h"}, "secrets": {"password": MASK}},
                "file": ".score-fly/cli.provisioners.yaml",
            })
        );
        assert_eq!(listed.runs(), "outputs: host, password (secret)");

        let http = definition(
            &new(Runs::Http("https://u:hunter2@h/p?token=hunter2".to_owned())),
            &crate::provision::NoBuiltins,
        )
        .unwrap();
        let listed = Listed::masked(http, Path::new("f"));
        let json = serde_json::to_string(&listed).unwrap();
        assert!(!json.contains("hunter2") && !listed.runs().contains("hunter2"), "{json}");
        assert_eq!(listed.runs(), mask_url("https://u:hunter2@h/p?token=hunter2"));
        assert_eq!(serde_json::to_value(&listed).unwrap()["http"]["url"], listed.runs());
    }
}
