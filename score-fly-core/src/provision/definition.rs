//! Provisioner definitions and the `*.provisioners.yaml` files that hold them.
//!
//! A file is a YAML list; each item names the resources it serves (`type`, optionally
//! `class` and `resource_id`) and exactly one way to provision them:
//!
//! ```yaml
//! - id: local-pg
//!   type: postgres
//!   cmd:
//!     binary: ./scripts/pg-provisioner.sh     # relative to the project folder, or on PATH
//!     args: ["$SCORE_PROVISIONER_MODE"]       # replaced by provision / deprovision
//!     timeout: 5m                             # default 5m
//! - id: team-redis
//!   type: redis
//!   class: large
//!   http:
//!     url: https://provisioners.example.com/redis
//!     timeout: 2m                             # whole request, default 5m
//!     connect_timeout: 10s                    # default 10s
//!     retries: 3                              # on connection errors and 5xx, default 3
//! - id: builtin-postgres
//!   type: postgres
//!   builtin: postgres                         # a builtin Fly provisioner (see `builtin`)
//! - id: shared-dns
//!   type: dns
//!   resource_id: main-dns                     # only the resource with this id
//!   static:
//!     values: {host: example.com}
//!     secrets: {}                             # secret outputs (keep such files out of git)
//! ```
//!
//! Order of matching (the first provisioner that matches a resource wins):
//! `cli.provisioners.yaml` (managed by `provisioners add/remove`, newest first), then every
//! other `*.provisioners.yaml` in file-name order, then `default.provisioners.yaml` (the
//! defaults `init` writes) last.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::fly::annotations::{DurationInError, DurationRange, parse_duration_in};
use crate::fsutil::FsError;
use crate::limits;

use super::protocol::{Budget, Exceeded, map_depth};

/// The file `provisioners add/remove` manage.
pub const CLI_FILE: &str = "cli.provisioners.yaml";
/// The file holding the defaults `init` registers.
pub const DEFAULT_FILE: &str = "default.provisioners.yaml";
/// Suffix of provisioner files.
pub const SUFFIX: &str = ".provisioners.yaml";

/// Default timeout of a provisioner call.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_mins(5);
/// Default connect timeout of an http provisioner.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default number of retries of an http provisioner.
pub const DEFAULT_RETRIES: u32 = 3;

/// Every provisioner timeout: longer than zero, at most [`limits::MAX_TIMEOUT`].
pub const TIMEOUT_RANGE: DurationRange = DurationRange::positive(limits::MAX_TIMEOUT);

/// A timeout field's value, `default` when unset; out of range is clamped (see
/// [`ProvisionerDef::timeout`]).
fn checked_duration(field: &str, text: Option<&str>, default: Duration) -> Duration {
    let Some(text) = text else { return default };
    match parse_duration_in(text, field, TIMEOUT_RANGE) {
        Ok(d) => d,
        Err(_) => crate::fly::annotations::parse_duration(text)
            .map_or(default, |d| d.clamp(Duration::from_nanos(1), limits::MAX_TIMEOUT)),
    }
}

/// Problems with provisioner files.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    /// Reading or writing failed.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// A file is not valid.
    #[error("invalid provisioner file {}: {reason}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong (with the item and field when known).
        reason: String,
    },
    /// A definition in a file fails its check ([`ProvisionerDef::check`]).
    #[error("invalid provisioner file {}: item {item}: {source}", path.display())]
    Item {
        /// The file.
        path: PathBuf,
        /// Which definition (1-based).
        item: usize,
        /// What is wrong with it.
        source: CheckError,
    },
    /// The same id in two places.
    #[error("provisioner id `{id}` is defined twice: in {} and in {}; ids must be unique", first.display(), second.display())]
    Duplicate {
        /// The id.
        id: String,
        /// First file.
        first: PathBuf,
        /// Second file.
        second: PathBuf,
    },
}

/// What is wrong with a definition, beyond what its type says ([`ProvisionerDef::check`]).
/// Messages never quote an output's text, and show an http URL with its credentials masked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// An id with characters other than letters, digits, `-`, `_` and `.` (or none).
    #[error("provisioner id `{id}` may only hold letters, digits, `-`, `_` and `.`")]
    Id {
        /// The id.
        id: String,
    },
    /// An empty `type`.
    #[error("provisioner `{id}`: `type` must not be empty")]
    NoType {
        /// The provisioner's id.
        id: String,
    },
    /// Not exactly one kind.
    #[error("provisioner `{id}` needs exactly one of `cmd`, `http`, `static` or `builtin` (found {found})")]
    Kinds {
        /// The provisioner's id.
        id: String,
        /// How many kinds it has.
        found: usize,
    },
    /// An empty `builtin`.
    #[error("provisioner `{id}`: `builtin` must name a builtin provisioner")]
    NoBuiltinName {
        /// The provisioner's id.
        id: String,
    },
    /// A timeout that is not a duration in range.
    #[error("provisioner `{id}`: {source} (limits::MAX_TIMEOUT)")]
    Timeout {
        /// The provisioner's id.
        id: String,
        /// Which field, and why.
        source: Box<DurationInError>,
    },
    /// Too many retries.
    #[error("provisioner `{id}`: `http.retries` {retries} must be from 0 to {max} (limits::MAX_RETRIES)")]
    Retries {
        /// The provisioner's id.
        id: String,
        /// The retries asked for.
        retries: u32,
        /// [`limits::MAX_RETRIES`].
        max: usize,
    },
    /// Static outputs nested too deep.
    #[error("provisioner `{id}`: `{field}` is nested deeper than {limit} levels (limits::MAX_DEPTH); flatten it")]
    StaticDepth {
        /// The provisioner's id.
        id: String,
        /// `static.values` or `static.secrets`.
        field: &'static str,
        /// [`limits::MAX_DEPTH`].
        limit: usize,
    },
    /// An empty `cmd.binary`.
    #[error("provisioner `{id}`: `cmd.binary` must not be empty")]
    NoBinary {
        /// The provisioner's id.
        id: String,
    },
    /// An `http.url` that is not http(s).
    #[error("provisioner `{id}`: `http.url` `{url}` must start with http:// or https://")]
    Url {
        /// The provisioner's id.
        id: String,
        /// The URL, credentials masked.
        url: String,
    },
}

/// A `cmd` provisioner: runs a program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CmdDef {
    /// The program (a path relative to the project folder, or a name on `PATH`).
    pub binary: String,
    /// Its arguments; `$SCORE_PROVISIONER_MODE` is replaced by the mode.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Go-style duration (default 5m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

/// An `http` provisioner: calls a URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpDef {
    /// POST to provision, DELETE to deprovision.
    pub url: String,
    /// Whole-request timeout (default 5m).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Connect timeout (default 10s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<String>,
    /// Retries on connection errors and 5xx (default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
}

impl HttpDef {
    /// The connect timeout ([`DEFAULT_CONNECT_TIMEOUT`] when not set; see
    /// [`ProvisionerDef::timeout`] for values out of range).
    pub fn connect_timeout(&self) -> Duration {
        checked_duration("http.connect_timeout", self.connect_timeout.as_deref(), DEFAULT_CONNECT_TIMEOUT)
    }

    /// Retries after a connection error or a 5xx ([`DEFAULT_RETRIES`] when not set, at most
    /// [`limits::MAX_RETRIES`]).
    pub fn retries(&self) -> usize {
        self.retries
            .map_or(DEFAULT_RETRIES as usize, |r| usize::try_from(r).unwrap_or(usize::MAX))
            .min(limits::MAX_RETRIES)
    }
}

/// A `static` provisioner: fixed outputs.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticDef {
    /// Plain outputs.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub values: serde_json::Map<String, serde_json::Value>,
    /// Secret outputs.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub secrets: serde_json::Map<String, serde_json::Value>,
}

/// How a provisioner provisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Run a program.
    Cmd(CmdDef),
    /// Call a URL.
    Http(HttpDef),
    /// Fixed outputs.
    Static(StaticDef),
    /// A builtin Fly provisioner, by name.
    Builtin(String),
}

/// A provisioner definition as written in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionerDef {
    /// Unique id.
    pub id: String,
    /// Resource type served.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// Only this class (any class when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// Only this resource id (any when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// `cmd` kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<CmdDef>,
    /// `http` kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpDef>,
    /// `static` kind.
    #[serde(default, rename = "static", skip_serializing_if = "Option::is_none")]
    pub static_: Option<StaticDef>,
    /// `builtin` kind: the name of a builtin Fly provisioner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub builtin: Option<String>,
}

impl ProvisionerDef {
    /// The kind (validation guarantees exactly one).
    pub fn kind(&self) -> Kind {
        match (&self.cmd, &self.http, &self.builtin, &self.static_) {
            (Some(c), _, _, _) => Kind::Cmd(c.clone()),
            (None, Some(h), _, _) => Kind::Http(h.clone()),
            (None, None, Some(b), _) => Kind::Builtin(b.clone()),
            (None, None, None, s) => Kind::Static(s.clone().unwrap_or_default()),
        }
    }

    /// `cmd`, `http`, `static` or `builtin`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind() {
            Kind::Cmd(_) => "cmd",
            Kind::Http(_) => "http",
            Kind::Static(_) => "static",
            Kind::Builtin(_) => "builtin",
        }
    }

    /// Whether it serves this resource.
    pub fn matches(&self, resource_type: &str, class: &str, id: &str) -> bool {
        self.resource_type == resource_type
            && self.class.as_deref().is_none_or(|c| c == class)
            && self.resource_id.as_deref().is_none_or(|i| i == id)
    }

    /// The call timeout ([`DEFAULT_TIMEOUT`] when not set). [`ProvisionerDef::check`] refuses
    /// a timeout that is not a duration in range; one that slipped past it (a definition made
    /// in code) is clamped to [`limits::MAX_TIMEOUT`] rather than trusted.
    pub fn timeout(&self) -> Duration {
        let (field, text) = match self.kind() {
            Kind::Cmd(c) => ("cmd.timeout", c.timeout),
            Kind::Http(h) => ("http.timeout", h.timeout),
            Kind::Static(_) | Kind::Builtin(_) => return DEFAULT_TIMEOUT,
        };
        checked_duration(field, text.as_deref(), DEFAULT_TIMEOUT)
    }

    /// Checks the fields a serde type cannot express.
    pub fn check(&self) -> Result<(), CheckError> {
        let id = || self.id.clone();
        if self.id.is_empty() || !self.id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')) {
            return Err(CheckError::Id { id: id() });
        }
        if self.resource_type.is_empty() {
            return Err(CheckError::NoType { id: id() });
        }
        let kinds = [self.cmd.is_some(), self.http.is_some(), self.static_.is_some(), self.builtin.is_some()]
            .iter()
            .filter(|k| **k)
            .count();
        if kinds != 1 {
            return Err(CheckError::Kinds { id: id(), found: kinds });
        }
        // Which `builtin:` names exist is the builtin kind's to say: the plan checks them
        // (`provision::Builtins::names`).
        if self.builtin.as_ref().is_some_and(String::is_empty) {
            return Err(CheckError::NoBuiltinName { id: id() });
        }
        let durations: Vec<(&str, Option<&String>)> = match (&self.cmd, &self.http) {
            (Some(c), _) => vec![("cmd.timeout", c.timeout.as_ref())],
            (None, Some(h)) => {
                vec![("http.timeout", h.timeout.as_ref()), ("http.connect_timeout", h.connect_timeout.as_ref())]
            }
            _ => Vec::new(),
        };
        for (field, value) in durations {
            if let Some(v) = value {
                parse_duration_in(v, &format!("`{field}`"), TIMEOUT_RANGE)
                    .map_err(|source| CheckError::Timeout { id: id(), source: Box::new(source) })?;
            }
        }
        if let Some(retries) = self.http.as_ref().and_then(|h| h.retries)
            && usize::try_from(retries).map_or(true, |r| r > limits::MAX_RETRIES)
        {
            return Err(CheckError::Retries { id: id(), retries, max: limits::MAX_RETRIES });
        }
        if let Some(s) = &self.static_ {
            for (field, map) in [("static.values", &s.values), ("static.secrets", &s.secrets)] {
                if map_depth(map) > limits::MAX_DEPTH {
                    return Err(CheckError::StaticDepth { id: id(), field, limit: limits::MAX_DEPTH });
                }
            }
        }
        if let Some(c) = &self.cmd
            && c.binary.is_empty()
        {
            return Err(CheckError::NoBinary { id: id() });
        }
        if let Some(h) = &self.http
            && !(h.url.starts_with("http://") || h.url.starts_with("https://"))
        {
            return Err(CheckError::Url { id: id(), url: crate::secret::mask_url(&h.url) });
        }
        Ok(())
    }
}

/// A definition and the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The definition.
    pub def: ProvisionerDef,
    /// Its file.
    pub file: PathBuf,
}

/// Reads one provisioner file: a regular file of at most [`limits::MAX_DOCUMENT_BYTES`].
pub fn read_file(path: &Path) -> Result<Vec<ProvisionerDef>, DefinitionError> {
    let invalid = |reason: String| DefinitionError::Invalid { path: path.to_path_buf(), reason };
    // Checked before opening too: opening a FIFO blocks until something writes to it.
    let is_file = |m: std::io::Result<std::fs::Metadata>| m.map_err(|e| FsError::new("read", path, e));
    if !is_file(std::fs::metadata(path))?.is_file() {
        return Err(invalid("it is not a regular file; move it away".to_owned()));
    }
    let file = std::fs::File::open(path).map_err(|e| FsError::new("read", path, e))?;
    let metadata = is_file(file.metadata())?;
    if !metadata.is_file() {
        return Err(invalid("it is not a regular file; move it away".to_owned()));
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, limit_u64(limits::MAX_DOCUMENT_BYTES) + 1), &mut bytes)
        .map_err(|e| FsError::new("read", path, e))?;
    if bytes.len() > limits::MAX_DOCUMENT_BYTES {
        return Err(invalid(too_big(metadata.len())));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        FsError::new("read", path, std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error()))
    })?;
    parse_file(path, &text)
}

fn too_big(len: u64) -> String {
    format!(
        "it is {len} bytes, more than a provisioner file may be ({} bytes, limits::MAX_DOCUMENT_BYTES); split it into several *.provisioners.yaml files",
        limits::MAX_DOCUMENT_BYTES
    )
}

fn limit_u64(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The levels of a provisioner file above a static provisioner's `values`/`secrets` maps:
/// the list, the definition, its `static` map.
const FILE_LEVELS: usize = 3;

/// Parses one provisioner file's text. At most [`limits::MAX_DOCUMENT_BYTES`], nested at most
/// [`limits::MAX_DEPTH`] levels, with at most [`limits::MAX_NODES`] values once aliases are
/// expanded (a "billion laughs" file stops there, in milliseconds).
pub fn parse_file(path: &Path, text: &str) -> Result<Vec<ProvisionerDef>, DefinitionError> {
    let invalid = |reason: String| DefinitionError::Invalid { path: path.to_path_buf(), reason };
    if text.len() > limits::MAX_DOCUMENT_BYTES {
        return Err(invalid(too_big(limit_u64(text.len()))));
    }
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    // A static provisioner's outputs may be MAX_DEPTH deep (like any outputs), below the
    // file's own levels: the list, a definition, its `static` map.
    let budget = Budget::new(limits::MAX_DEPTH + FILE_LEVELS, limits::MAX_NODES);
    let raw = serde::de::DeserializeSeed::deserialize(budget.seed(), serde_yaml::Deserializer::from_str(text))
        .map_err(|e| {
            let exceeded = budget.exceeded().map(|exceeded| match exceeded {
                // Counted from the outputs maps, as `--static-json` counts them.
                Exceeded::Depth { field, .. } => Exceeded::Depth { field, limit: limits::MAX_DEPTH },
                other => other,
            });
            invalid(match (exceeded, e.location()) {
                (Some(exceeded), Some(at)) => format!("{exceeded} (at line {} column {})", at.line(), at.column()),
                (Some(exceeded), None) => exceeded.to_string(),
                (None, _) => e.to_string(),
            })
        })?;
    let items = match raw {
        serde_json::Value::Array(items) => items,
        serde_json::Value::Null => return Ok(Vec::new()),
        _ => return Err(invalid("the file must be a YAML list of provisioners".to_owned())),
    };
    let mut defs = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        let def: ProvisionerDef = serde_json::from_value(item).map_err(|e| invalid(format!("item {}: {e}", i + 1)))?;
        def.check().map_err(|source| DefinitionError::Item { path: path.to_path_buf(), item: i + 1, source })?;
        defs.push(def);
    }
    Ok(defs)
}

/// Writes the provisioner file `name` of `project` (0600: static provisioners may hold
/// secrets), never through a link (see [`crate::state::Project::write`]).
pub fn write_file(project: &crate::state::Project, name: &str, defs: &[ProvisionerDef]) -> Result<(), DefinitionError> {
    let mut text =
        String::from("# Provisioners managed by `cargo score-fly provisioners add/remove`; first match wins.\n");
    if !defs.is_empty() {
        text.push_str(&serde_yaml::to_string(defs).expect("definitions serialise"));
    }
    // Whatever is written must read back: several static provisioners can together pass
    // the bounds a file is read with (size, values), although each was accepted alone.
    let path = project.dir().join(name);
    let not_read_back = |path, reason: &dyn std::fmt::Display| DefinitionError::Invalid {
        path,
        reason: format!(
            "it was not changed, as it could not be read back: {reason}; move some provisioners to another *.provisioners.yaml file"
        ),
    };
    parse_file(&path, &text).map_err(|e| match e {
        DefinitionError::Invalid { path, reason } => not_read_back(path, &reason),
        DefinitionError::Item { path, item, source } => not_read_back(path, &format_args!("item {item}: {source}")),
        other => other,
    })?;
    project.write(name, text.as_bytes(), Some(0o600))?;
    Ok(())
}

/// The provisioner files of a project folder, in matching order.
pub fn files_in(dir: &Path) -> Result<Vec<PathBuf>, DefinitionError> {
    let mut others = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(FsError::new("read folder", dir, e).into()),
    };
    for entry in entries {
        let entry = entry.map_err(|e| FsError::new("read folder", dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(SUFFIX) && name != CLI_FILE && name != DEFAULT_FILE && !name.starts_with('.') {
            // A FIFO or a device with this name would block or never end: read_file refuses it.
            others.push(entry.path());
        }
    }
    others.sort();
    let mut files = Vec::new();
    if dir.join(CLI_FILE).is_file() {
        files.push(dir.join(CLI_FILE));
    }
    files.extend(others);
    if dir.join(DEFAULT_FILE).is_file() {
        files.push(dir.join(DEFAULT_FILE));
    }
    Ok(files)
}

/// Every provisioner of a project folder, in matching order; ids must be unique.
pub fn load_all(dir: &Path) -> Result<Vec<Located>, DefinitionError> {
    let mut all: Vec<Located> = Vec::new();
    for file in files_in(dir)? {
        for def in read_file(&file)? {
            if let Some(existing) = all.iter().find(|l| l.def.id == def.id) {
                return Err(DefinitionError::Duplicate { id: def.id, first: existing.file.clone(), second: file });
            }
            all.push(Located { def, file: file.clone() });
        }
    }
    Ok(all)
}

/// The first provisioner serving a resource.
pub fn find_match<'a>(defs: &'a [Located], resource_type: &str, class: &str, id: &str) -> Option<&'a Located> {
    defs.iter().find(|l| l.def.matches(resource_type, class, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(id: &str, ty: &str, class: Option<&str>, rid: Option<&str>) -> ProvisionerDef {
        ProvisionerDef {
            id: id.into(),
            resource_type: ty.into(),
            class: class.map(Into::into),
            resource_id: rid.map(Into::into),
            cmd: None,
            http: None,
            static_: Some(StaticDef::default()),
            builtin: None,
        }
    }

    #[test]
    fn matching_is_first_match_with_optional_class_and_id() {
        let defs: Vec<Located> = [
            def("a", "postgres", Some("large"), None),
            def("b", "postgres", None, Some("shared-db")),
            def("c", "postgres", None, None),
        ]
        .into_iter()
        .map(|def| Located { def, file: "f".into() })
        .collect();
        assert_eq!(find_match(&defs, "postgres", "large", "x").unwrap().def.id, "a");
        assert_eq!(find_match(&defs, "postgres", "default", "shared-db").unwrap().def.id, "b");
        assert_eq!(find_match(&defs, "postgres", "default", "w.db").unwrap().def.id, "c");
        assert!(find_match(&defs, "redis", "default", "w.cache").is_none());
    }

    #[test]
    fn files_parse_and_errors_name_the_item() {
        let path = Path::new("x.provisioners.yaml");
        let defs = parse_file(
            path,
            "- id: pg\n  type: postgres\n  cmd: {binary: ./p.sh, args: [\"$SCORE_PROVISIONER_MODE\"], timeout: 30s}\n- id: dns\n  type: dns\n  static: {values: {host: example.com}}\n",
        )
        .unwrap();
        assert_eq!(defs.len(), 2);
        assert_eq!(defs[0].timeout(), Duration::from_secs(30));
        assert_eq!(defs[1].kind_name(), "static");
        for (text, fragment) in [
            ("id: x", "YAML list"),
            ("- id: x\n  type: t\n", "exactly one of"),
            ("- id: x\n  type: t\n  cmd: {binary: a}\n  http: {url: http://x}\n", "found 2"),
            ("- id: x\n  type: t\n  cmd: {binary: a, timeout: soon}\n", "`cmd.timeout` `soon` is not a duration"),
            ("- id: x\n  type: t\n  http: {url: ftp://x}\n", "http://"),
            ("- id: x\n  type: t\n  cmd: {binary: a, extra: 1}\n", "unknown field `extra`"),
            ("- id: ok\n  type: t\n  static: {}\n- {id: 'bad id', type: t, static: {}}\n", "item 2"),
            ("- [", "x.provisioners.yaml"),
        ] {
            let e = parse_file(path, text).unwrap_err().to_string();
            assert!(e.contains(fragment) && e.contains("x.provisioners.yaml"), "{text}: {e}");
        }
    }

    /// Each check's refusal, one per line, as `provisioners add` and file errors show it.
    #[test]
    fn check_errors_name_the_provisioner_and_field() {
        let id = || "pg".to_owned();
        let errors = [
            CheckError::Id { id: "bad id".into() },
            CheckError::NoType { id: id() },
            CheckError::Kinds { id: id(), found: 2 },
            CheckError::NoBuiltinName { id: id() },
            CheckError::Retries { id: id(), retries: 99, max: 10 },
            CheckError::StaticDepth { id: id(), field: "static.values", limit: 64 },
            CheckError::NoBinary { id: id() },
            CheckError::Url { id: id(), url: "ftp://x".into() },
        ];
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            messages.join("\n"),
            "provisioner id `bad id` may only hold letters, digits, `-`, `_` and `.`
provisioner `pg`: `type` must not be empty
provisioner `pg` needs exactly one of `cmd`, `http`, `static` or `builtin` (found 2)
provisioner `pg`: `builtin` must name a builtin provisioner
provisioner `pg`: `http.retries` 99 must be from 0 to 10 (limits::MAX_RETRIES)
provisioner `pg`: `static.values` is nested deeper than 64 levels (limits::MAX_DEPTH); flatten it
provisioner `pg`: `cmd.binary` must not be empty
provisioner `pg`: `http.url` `ftp://x` must start with http:// or https://"
        );
        // In a file: the item and the check's error, typed.
        let path = Path::new("x.provisioners.yaml");
        let e =
            parse_file(path, "- {id: ok, type: t, static: {}}\n- {id: x, type: t, cmd: {binary: a, timeout: 0s}}\n")
                .unwrap_err();
        let DefinitionError::Item { item: 2, source: CheckError::Timeout { id, source }, .. } = &e else {
            panic!("{e}")
        };
        assert_eq!(id, "x");
        assert_eq!(
            e.to_string(),
            format!(
                "invalid provisioner file x.provisioners.yaml: item 2: provisioner `x`: {source} (limits::MAX_TIMEOUT)"
            )
        );
        // With the URL's credentials masked.
        let mut def = def("x", "t", None, None);
        def.static_ = None;
        def.http =
            Some(HttpDef { url: "ftp://u:hunter22@h/".into(), timeout: None, connect_timeout: None, retries: None });
        assert!(!def.check().unwrap_err().to_string().contains("hunter22"));
    }

    #[test]
    fn timeouts_and_retries_are_checked_where_they_are_read() {
        let path = Path::new("x.provisioners.yaml");
        for (item, fragment) in [
            (
                "cmd: {binary: a, timeout: 99999999999999999999s}",
                "item 1: provisioner `x`: `cmd.timeout` `99999999999999999999s` is too long to be a duration",
            ),
            (
                "cmd: {binary: a, timeout: 25h}",
                "`cmd.timeout` `25h` (25h) must be longer than 0s and at most 24h (limits::MAX_TIMEOUT)",
            ),
            ("cmd: {binary: a, timeout: 0s}", "`cmd.timeout` `0s` (0s) must be longer than 0s"),
            ("cmd: {binary: a, timeout: 1e400s}", "`cmd.timeout` `1e400s` is not a duration"),
            ("http: {url: 'http://x', timeout: 2562048h}", "`http.timeout` `2562048h` is too long"),
            ("http: {url: 'http://x', connect_timeout: 0s}", "`http.connect_timeout` `0s` (0s) must be longer than 0s"),
            (
                "http: {url: 'http://x', retries: 4000000000}",
                "`http.retries` 4000000000 must be from 0 to 20 (limits::MAX_RETRIES)",
            ),
        ] {
            let e = parse_file(path, &format!("- id: x\n  type: t\n  {item}\n")).unwrap_err().to_string();
            assert!(e.contains(fragment), "{item}: {e}");
        }
        let defs = parse_file(
            path,
            "- {id: x, type: t, http: {url: 'http://x', timeout: 24h, connect_timeout: 1ms, retries: 20}}\n",
        )
        .unwrap();
        assert_eq!(defs[0].timeout(), limits::MAX_TIMEOUT);
        let http = defs[0].http.clone().unwrap();
        assert_eq!((http.connect_timeout(), http.retries()), (Duration::from_millis(1), limits::MAX_RETRIES));
        // A definition made in code skips the checks: its accessors still never panic and stay in range.
        let mut def = def("x", "t", None, None);
        def.static_ = None;
        def.cmd = Some(CmdDef { binary: "a".into(), args: Vec::new(), timeout: Some("99999999999999999999s".into()) });
        assert_eq!(def.timeout(), DEFAULT_TIMEOUT, "not a duration in Go's range: the default");
        def.cmd = Some(CmdDef { binary: "a".into(), args: Vec::new(), timeout: Some("100000h".into()) });
        assert_eq!(def.timeout(), limits::MAX_TIMEOUT);
        assert!(def.check().is_err());
    }

    #[test]
    fn provisioner_files_are_bounded() {
        let path = Path::new("x.provisioners.yaml");
        // Static outputs as deep as outputs may be (the `values` map is their first level, as
        // for `--static-json`), and one level deeper; the file's own levels (list, item,
        // static) come on top.
        let levels = |n: usize| format!("{}1{}", "[".repeat(n), "]".repeat(n));
        let ok = format!("- {{id: x, type: t, static: {{values: {{host: {}}}}}}}\n", levels(limits::MAX_DEPTH - 1));
        assert_eq!(parse_file(path, &ok).unwrap().len(), 1);
        let deep = format!("- {{id: x, type: t, static: {{values: {{host: {}}}}}}}\n", levels(limits::MAX_DEPTH));
        let e = parse_file(path, &deep).unwrap_err().to_string();
        assert!(
            e.contains("it is nested deeper than 64 levels (limits::MAX_DEPTH); flatten it (at line 1 column"),
            "{e}"
        );
        // A definition made in code: checked too.
        let mut def = def("x", "t", None, None);
        let value: serde_json::Value = serde_json::from_str(&levels(limits::MAX_DEPTH)).unwrap();
        def.static_.as_mut().unwrap().secrets.insert("k".into(), value);
        let e = def.check().unwrap_err();
        assert_eq!(e, CheckError::StaticDepth { id: "x".into(), field: "static.secrets", limit: limits::MAX_DEPTH });
        assert!(e.to_string().contains("`static.secrets` is nested deeper than 64 levels"), "{e}");
        // Size.
        let big = format!("# {}\n", "x".repeat(limits::MAX_DOCUMENT_BYTES));
        let e = parse_file(path, &big).unwrap_err().to_string();
        assert!(e.contains("limits::MAX_DOCUMENT_BYTES"), "{e}");
        // Not a regular file (a folder here; a FIFO in the CLI tests): refused, not read.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("odd.provisioners.yaml")).unwrap();
        let e = read_file(&dir.path().join("odd.provisioners.yaml")).unwrap_err().to_string();
        assert!(e.contains("it is not a regular file"), "{e}");
    }

    #[test]
    fn file_order_cli_then_others_then_defaults() {
        let dir = tempfile::tempdir().unwrap();
        for name in [DEFAULT_FILE, "b.provisioners.yaml", CLI_FILE, "a.provisioners.yaml", "notes.yaml"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let names: Vec<String> = files_in(dir.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, [CLI_FILE, "a.provisioners.yaml", "b.provisioners.yaml", DEFAULT_FILE]);
    }

    #[test]
    fn duplicate_ids_across_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.provisioners.yaml"), "- {id: pg, type: postgres, static: {}}\n").unwrap();
        std::fs::write(dir.path().join("b.provisioners.yaml"), "- {id: pg, type: redis, static: {}}\n").unwrap();
        let e = load_all(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("`pg` is defined twice")
                && e.contains("a.provisioners.yaml")
                && e.contains("b.provisioners.yaml"),
            "{e}"
        );
    }
}
