//! The project folder `.score-fly/`: the state file, its lock, and provisioner files.
//!
//! - `state.json` holds the workloads added by `generate`, every provisioned resource (its
//!   outputs, secret outputs and provisioner state) and the shared state. It has a
//!   `version`; an unknown version or a corrupt file is an error, never a silent reset. It is
//!   written atomically (temporary file, fsync, rename) with mode 0600 since it holds
//!   secrets, and `.score-fly/.gitignore` keeps it out of git.
//! - Concurrent runs are serialised by an exclusive `flock` on the **project folder** itself
//!   (so a run that fails creates nothing); the holder's pid is recorded in
//!   `.score-fly/lock` for the "state is locked by pid N" message.
//! - Provisioner definitions live in `*.provisioners.yaml` files (see [`crate::provision`]).
//! - Generated files live in `files/<app>/` beside each `fly.toml`'s own `.score-fly/`
//!   (written by `generate`, ignored by git like the state).
//! - score-fly never follows a symbolic link inside `.score-fly/` (nor `.score-fly` itself
//!   being one): opening the project refuses one, naming it, and every read and write
//!   there goes through [`fsutil`]'s `*_inside` functions, which open each folder with
//!   `O_NOFOLLOW` below the project root.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::fsutil::{self, FsError};
use crate::limits;
use crate::secret::Redactor;
use crate::spec::Workload;

/// The project folder's name.
pub const STATE_DIR: &str = ".score-fly";
/// The state file's name inside [`STATE_DIR`].
pub const STATE_FILE: &str = "state.json";
/// The state format this version reads and writes.
pub const STATE_VERSION: u32 = 1;

/// Nested lists and maps `serde_json` reads (its recursion limit: the 128th level fails).
/// Every state written is checked against it, so what is written can be read back.
pub const READABLE_DEPTH: usize = 127;

const GITIGNORE: &str = "# Written by score-fly. state.json holds provisioned resources' secret outputs: never commit it.\nstate.json\nlock\n.*.tmp\nfiles/\n";

/// The generated files' folder, as `.gitignore` names it (added to older projects' files).
const GITIGNORE_FILES: &str = "files/";

/// The pid file holds one pid and a newline (a longer file is not ours: no holder is named).
const PID_FILE_BYTES: usize = 32;

/// The pid file's name inside [`STATE_DIR`].
const LOCK_FILE: &str = "lock";

/// The local (`cargo score-fly dev`) state folder's name inside [`STATE_DIR`]:
/// `.score-fly/dev/` holds its own `state.json`, `lock` and files, never mixed with the Fly
/// state ([`Project::open_dev`]).
pub const DEV_DIR: &str = "dev";

/// `.score-fly/dev/.gitignore`: everything there is local to this machine (state with
/// secrets, generated files, data folders) except the provisioner files a team may share.
const DEV_GITIGNORE: &str = "# Written by score-fly: local state of `cargo score-fly dev` (secrets, data). Only the\n# provisioner files here are meant to be committed.\n*\n!.gitignore\n!*.provisioners.yaml\n";

/// Which state a [`Project`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The Fly state: `.score-fly/state.json`, locked on the project folder.
    Fly,
    /// The local state of `cargo score-fly dev`: `.score-fly/dev/state.json`, locked on the
    /// `.score-fly/dev` folder (a dev session holds it while it runs; `generate` and
    /// `deploy` are not blocked by it).
    Dev,
}

impl Target {
    /// `fly` or `dev`, as `resources list` shows it.
    pub fn as_str(self) -> &'static str {
        match self {
            Target::Fly => "fly",
            Target::Dev => "dev",
        }
    }

    /// The state folder, relative to the project root.
    pub fn dir(self) -> PathBuf {
        match self {
            Target::Fly => PathBuf::from(STATE_DIR),
            Target::Dev => Path::new(STATE_DIR).join(DEV_DIR),
        }
    }
}

/// Problems with the project state.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A filesystem operation failed.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// The state file is not valid.
    #[error(
        "the state file {} is corrupt: {reason}; restore it from a backup, or move it away to start over (resources it lists would be provisioned again)",
        path.display()
    )]
    Corrupt {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The state file has a version this build does not know.
    #[error(
        "the state file {} has version {found}, but this score-fly reads version {STATE_VERSION}; use a score-fly release that knows version {found}",
        path.display()
    )]
    UnknownVersion {
        /// The state file.
        path: PathBuf,
        /// Its version.
        found: u64,
    },
    /// The state file is larger than score-fly reads.
    #[error(
        "the state file {} is {bytes} bytes, more than score-fly reads ({} bytes, limits::MAX_STATE_BYTES); restore it from a backup, or move it away to start over (resources it lists would be provisioned again)",
        path.display(),
        limits::MAX_STATE_BYTES
    )]
    TooLarge {
        /// The state file.
        path: PathBuf,
        /// Its size.
        bytes: u64,
    },
    /// Writing the state would give a file score-fly could not read back: refused, so the
    /// file on disk stays readable.
    #[error("refusing to write the state file {}: {reason}; the file on disk was left as it was", path.display())]
    Unreadable {
        /// The state file.
        path: PathBuf,
        /// Which bound it would exceed, and what to do.
        reason: String,
    },
    /// Another process holds the lock.
    #[error("state is locked by {holder} (waited {waited_s} s); wait for it to finish, or raise --lock-timeout")]
    Locked {
        /// `pid N` or "another score-fly process".
        holder: String,
        /// Seconds waited.
        waited_s: u64,
    },
}

/// Something the state records as made on Fly under the project's app prefix: while there
/// is none, the prefix may change ([`State::change_prefix`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Made {
    /// An app `deploy` created or deployed to.
    App(String),
    /// An image pushed to an app's repository of the registry (the app exists).
    Image {
        /// The workload it was built for.
        workload: String,
        /// Where it was pushed.
        reference: String,
    },
    /// A resource whose provisioner created something named after the prefix.
    Resource {
        /// Its uid.
        uid: String,
        /// The provisioner that made it.
        provisioner: String,
    },
}

impl std::fmt::Display for Made {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Made::App(app) => write!(f, "app `{app}`"),
            Made::Image { workload, reference } => write!(f, "image {reference} (workload `{workload}`)"),
            Made::Resource { uid, provisioner } => write!(f, "resource `{uid}` made by `{provisioner}`"),
        }
    }
}

/// The app prefix cannot change: things exist on Fly under the old one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the project's app prefix is {} and cannot change to {}: {} on Fly under it ({}); keep {} (drop --app-prefix, or set the app-prefix setting to it), or migrate: deprovision each resource (`cargo score-fly resources deprovision UID`), destroy each app (`fly apps destroy APP`), move .score-fly/state.json away, then run again with the new prefix",
    shown_prefix(old),
    shown_prefix(new),
    if made.len() == 1 { "1 thing exists".to_owned() } else { format!("{} things exist", made.len()) },
    made.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
    shown_prefix(old)
)]
pub struct PrefixInUse {
    /// The project's prefix.
    pub old: String,
    /// The prefix asked for.
    pub new: String,
    /// What exists under the old one.
    pub made: Vec<Made>,
}

/// A prefix as messages show it: `` `acme-` ``, or "empty" (never two backticks).
pub fn shown_prefix(prefix: &str) -> String {
    if prefix.is_empty() { "empty".to_owned() } else { format!("`{prefix}`") }
}

/// A workload that `generate` added to the project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadEntry {
    /// The Score file it came from (as given, relative to the project folder).
    pub file: PathBuf,
    /// Where its `fly.toml` is written.
    pub output: PathBuf,
    /// The folder `source` files are relative to, when not the Score file's folder (the
    /// package folder of a `#[score_workload]` workload).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dir: Option<PathBuf>,
    /// `primary_region` when the workload sets none (from `--region` or the package settings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The `--patch` files applied to its fly.toml, in order, after the `fly.patch.toml` beside
    /// its Score file or package when there is one (project-relative as given).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<PathBuf>,
    /// The workload after overrides.
    pub spec: Workload,
    /// Its releases, oldest first: the last [`limits::MAX_RELEASES`] `deploy` and `rollback`
    /// made (`ops::releases`). A failed deploy records none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub releases: Vec<Release>,
}

impl WorkloadEntry {
    /// The entry of `spec` read from `file` and written to `output`: no folder, region, patch
    /// or release yet (the fields say which to set).
    pub fn new(file: impl Into<PathBuf>, output: impl Into<PathBuf>, spec: Workload) -> WorkloadEntry {
        WorkloadEntry {
            file: file.into(),
            output: output.into(),
            dir: None,
            region: None,
            patches: Vec::new(),
            spec,
            releases: Vec::new(),
        }
    }
}

/// One release of a workload's app, as `deploy` or `rollback` recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// Fly's release version (`fly releases -a APP --json`, fly-2026.md §5.3).
    pub version: u64,
    /// The image reference `fly deploy` was given (none: Fly's builder built a Dockerfile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// The image's manifest digest (`sha256:...`), when the reference names it
    /// (`registry/app@sha256:...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// SHA-256 of the fly.toml text deployed; a copy is kept in
    /// `.score-fly/releases/<workload>/<version>.toml` (`ops::releases::config_copy`).
    pub config_sha256: String,
    /// HMAC-SHA256 of the app's secrets (names and values), keyed with the project's
    /// [`State::release_key`]; none when the app has no secrets. Never the values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_digest: Option<String>,
    /// SHA-256 of the Score file (or the Rust source holding `#[score_workload]`) deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score_sha256: Option<String>,
    /// When it was recorded (RFC 3339, UTC).
    pub created_at: String,
    /// For a rollback: the version whose image and fly.toml it deployed again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<u64>,
}

/// A provisioned resource.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceEntry {
    /// Resource type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Resource class.
    pub class: String,
    /// Resource id.
    pub id: String,
    /// Workloads declaring it (`workload.resource-name`).
    pub declared_by: Vec<String>,
    /// The provisioner that provisioned it.
    pub provisioner: String,
    /// Params as sent (expanded).
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Metadata as sent.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    /// Hash of everything that went into provisioning; equal means "nothing to do".
    pub fingerprint: String,
    /// The provisioner's own state, sent back on the next call.
    pub state: serde_json::Map<String, serde_json::Value>,
    /// Plain outputs.
    pub values: serde_json::Map<String, serde_json::Value>,
    /// Secret outputs.
    pub secrets: serde_json::Map<String, serde_json::Value>,
}

/// The whole state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Format version ([`STATE_VERSION`]).
    pub version: u32,
    /// Prefix of every app name; fixed once something exists under it
    /// ([`State::change_prefix`]).
    pub app_prefix: String,
    /// Workloads by name.
    #[serde(default)]
    pub workloads: BTreeMap<String, WorkloadEntry>,
    /// Resources by uid.
    #[serde(default)]
    pub resources: BTreeMap<String, ResourceEntry>,
    /// The provisioners' shared state (RFC 7386 patches are merged into it).
    #[serde(default = "empty_object")]
    pub shared: serde_json::Value,
    /// The image `build` made for each workload (what `generate` uses for image `.`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub images: BTreeMap<String, ImageEntry>,
    /// What `deploy` last did for each app (by app name).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub deployments: BTreeMap<String, Deployment>,
    /// The key (64 hex digits from `/dev/urandom`, made by the first recorded release) that
    /// [`Release::secrets_digest`] is an HMAC with, so a digest shown or shared cannot be
    /// tested against guessed values without this file (which holds the secrets anyway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_key: Option<String>,
}

/// What `deploy` last did for an app.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// SHA-256 of the secrets last imported (names and values): equal means "import nothing".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secrets_digest: Option<String>,
    /// Names of the secrets last imported (to unset those that go away).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_names: Vec<String>,
    /// The image last deployed, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Its manifest digest: the pinned digest of an image deployed by digest, or what the
    /// registry answered for a tag (absent when it could not be asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    /// Whether the last `fly deploy` succeeded.
    #[serde(default)]
    pub deployed: bool,
}

/// The image `build` made for a workload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ImageEntry {
    /// Pushed to a registry.
    Pushed {
        /// `registry.fly.io/<app>:<tag>`.
        reference: String,
        /// The manifest digest.
        digest: String,
        /// The git commit it was built from (`org.opencontainers.image.revision`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        revision: Option<String>,
        /// Tracked files differed from that commit when it was built.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        dirty: bool,
    },
    /// A Dockerfile for Fly's remote builder.
    Dockerfile {
        /// The Dockerfile, relative to the project root.
        dockerfile: PathBuf,
        /// Its `.dockerignore`, relative to the project root.
        ignorefile: PathBuf,
    },
}

impl ImageEntry {
    /// The pushed image by digest, `<registry>/<repository>@sha256:...` (what `deploy` gives
    /// `fly deploy`, so a tag that moves later never changes a release); `None` for a
    /// Dockerfile.
    pub fn pinned(&self) -> Option<String> {
        let ImageEntry::Pushed { reference, digest, .. } = self else { return None };
        Some(pin(reference, digest))
    }
}

/// `reference` (`host/repo:tag`, `host/repo@sha256:...`) named by `digest` instead of its tag.
pub fn pin(reference: &str, digest: &str) -> String {
    let name = reference.split_once('@').map_or(reference, |(name, _)| name);
    // The tag is after the last `:` that follows the last `/` (a host may have a port).
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    let name = match name[slash..].rfind(':') {
        Some(colon) => &name[..slash + colon],
        None => name,
    };
    format!("{name}@{digest}")
}

/// How what a provisioner does relates to the project's app prefix (each builtin's:
/// `builtin::prefix_use`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixUse {
    /// It creates things on Fly named after the prefix or attached to the apps
    /// (`<prefix>pg`, Redis databases, buckets, volumes): the prefix is fixed once it ran.
    Creates,
    /// It creates nothing, but its outputs hold names made from the prefix (`<app>.fly.dev`):
    /// when the prefix changes it must run again.
    Names,
    /// Neither (`environment`).
    Unrelated,
}

impl Redactor {
    /// Every secret output of every resource of a state. (Written here, beside the state,
    /// so `secret` stays below everything that stores secrets.)
    pub fn for_state(state: &State) -> Self {
        let redactor = Redactor::default();
        for entry in state.resources.values() {
            redactor.add_json(&serde_json::Value::Object(entry.secrets.clone()));
        }
        redactor
    }
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

impl State {
    /// A fresh state.
    pub fn new(app_prefix: impl Into<String>) -> Self {
        State {
            version: STATE_VERSION,
            app_prefix: app_prefix.into(),
            workloads: BTreeMap::new(),
            resources: BTreeMap::new(),
            shared: empty_object(),
            images: BTreeMap::new(),
            deployments: BTreeMap::new(),
            release_key: None,
        }
    }

    /// What this state records as made on Fly under its app prefix: every app `deploy`
    /// created or deployed to, every image pushed to an app's repository, and every resource
    /// whose provisioner `uses` says creates things ([`PrefixUse::Creates`]).
    pub fn made_under_prefix(&self, uses: impl Fn(&ResourceEntry) -> PrefixUse) -> Vec<Made> {
        let apps = self.deployments.keys().map(|app| Made::App(app.clone()));
        let images = self.images.iter().filter_map(|(workload, image)| match image {
            ImageEntry::Pushed { reference, .. } => {
                Some(Made::Image { workload: workload.clone(), reference: reference.clone() })
            }
            ImageEntry::Dockerfile { .. } => None,
        });
        let resources = self
            .resources
            .iter()
            .filter(|(_, entry)| uses(entry) == PrefixUse::Creates)
            .map(|(uid, entry)| Made::Resource { uid: uid.clone(), provisioner: entry.provisioner.clone() });
        apps.chain(images).chain(resources).collect()
    }

    /// Changes the app prefix to `new` when nothing was made under the old one
    /// ([`State::made_under_prefix`]); otherwise an error naming what exists and how to
    /// migrate. Resources whose outputs hold names made from the old prefix
    /// ([`PrefixUse::Names`]) are forgotten, so their provisioner runs again; their uids are
    /// returned.
    pub fn change_prefix(
        &mut self,
        new: &str,
        uses: impl Fn(&ResourceEntry) -> PrefixUse,
    ) -> Result<Vec<String>, PrefixInUse> {
        if new == self.app_prefix {
            return Ok(Vec::new());
        }
        let made = self.made_under_prefix(&uses);
        if !made.is_empty() {
            return Err(PrefixInUse { old: self.app_prefix.clone(), new: new.to_owned(), made });
        }
        let stale: Vec<String> =
            self.resources.iter().filter(|(_, e)| uses(e) == PrefixUse::Names).map(|(uid, _)| uid.clone()).collect();
        for uid in &stale {
            self.resources.remove(uid);
        }
        new.clone_into(&mut self.app_prefix);
        Ok(stale)
    }

    /// Parses a state file's text (at most [`limits::MAX_STATE_BYTES`]).
    pub fn parse(path: &Path, text: &str) -> Result<State, StateError> {
        if text.len() > limits::MAX_STATE_BYTES {
            return Err(StateError::TooLarge {
                path: path.to_path_buf(),
                bytes: u64::try_from(text.len()).unwrap_or(u64::MAX),
            });
        }
        let corrupt = |reason: String| StateError::Corrupt { path: path.to_path_buf(), reason };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| corrupt(format!("it is not valid JSON ({e})")))?;
        let version = match value.get("version") {
            Some(v) => v.as_u64().ok_or_else(|| corrupt("`version` is not a number".to_owned()))?,
            None => return Err(corrupt("it has no `version`".to_owned())),
        };
        if version != u64::from(STATE_VERSION) {
            return Err(StateError::UnknownVersion { path: path.to_path_buf(), found: version });
        }
        serde_json::from_value(value).map_err(|e| corrupt(e.to_string()))
    }

    /// The state file's text.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("state always serialises");
        text.push('\n');
        text
    }

    /// The state file's text, if [`State::parse`] can read it back: at most
    /// [`limits::MAX_STATE_BYTES`], nested at most [`READABLE_DEPTH`] levels. What enters the
    /// state is bounded where it enters (documents, responses); this is the last guard, so a
    /// state that could not be read is never written.
    pub fn to_readable_json(&self, path: &Path) -> Result<String, StateError> {
        let text = self.to_json();
        let unreadable = |reason: String| StateError::Unreadable { path: path.to_path_buf(), reason };
        if text.len() > limits::MAX_STATE_BYTES {
            return Err(unreadable(format!(
                "it would be {} bytes, more than score-fly reads back ({} bytes, limits::MAX_STATE_BYTES); deprovision resources whose outputs are large, or split the project",
                text.len(),
                limits::MAX_STATE_BYTES
            )));
        }
        let levels = json_depth(text.as_bytes());
        if levels > READABLE_DEPTH {
            return Err(unreadable(format!(
                "it would be nested {levels} levels deep, more than can be read back ({READABLE_DEPTH}); a workload, resource or provisioner output is nested too deep: flatten it (at most {} levels, limits::MAX_DEPTH)",
                limits::MAX_DEPTH
            )));
        }
        Ok(text)
    }
}

/// Levels of nested lists and maps in JSON text (strings skipped), in one pass.
fn json_depth(text: &[u8]) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &b in text {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The folders of `.score-fly/` that hold a folder per app or workload: generated files
/// (`files/<app>/`) and the fly.toml of each release (`releases/<workload>/`).
fn is_ours(name: &std::ffi::OsStr) -> bool {
    name == "files" || name == RELEASES_DIR
}

/// The folder inside [`STATE_DIR`] holding each release's fly.toml.
pub const RELEASES_DIR: &str = "releases";

/// How long to wait for another process's lock.
#[derive(Debug, Clone, Copy)]
pub struct LockWait {
    /// Give up after this long.
    pub timeout: Duration,
}

/// An opened project: its folder, locked for this process until dropped.
#[derive(Debug)]
pub struct Project {
    root: PathBuf,
    target: Target,
    _lock: std::fs::File,
    /// Whether `.gitignore` was checked (once per run: `save` runs after every resource).
    gitignore_checked: AtomicBool,
}

impl Drop for Project {
    /// The pid file only exists while the lock is held.
    fn drop(&mut self) {
        let relative = self.relative(LOCK_FILE);
        let ours = fsutil::read_inside(&self.root, &relative, PID_FILE_BYTES)
            .ok()
            .flatten()
            .is_some_and(|bytes| String::from_utf8_lossy(&bytes).trim() == std::process::id().to_string());
        if ours {
            let _ = fsutil::remove_inside(&self.root, &relative);
        }
    }
}

impl Project {
    /// Opens the project rooted at `root`, taking its lock (waiting up to `wait.timeout`).
    /// `on_wait` is called once if the lock is busy, with a description of the holder.
    pub fn open(root: &Path, wait: LockWait, on_wait: &mut dyn FnMut(&str)) -> Result<Project, StateError> {
        Self::open_target(root, Target::Fly, wait, on_wait)
    }

    /// Opens the local state of `cargo score-fly dev` in the project rooted at `root`:
    /// `.score-fly/dev/` (created, with its `.gitignore`, if missing; no link followed),
    /// locked on that folder, so a dev session does not block `generate` or `deploy`. The
    /// Fly state is neither read nor written through it.
    pub fn open_dev(root: &Path, wait: LockWait, on_wait: &mut dyn FnMut(&str)) -> Result<Project, StateError> {
        let base = if root.as_os_str().is_empty() { Path::new(".") } else { root };
        for dir in [base.join(STATE_DIR), base.join(STATE_DIR).join(DEV_DIR)] {
            match std::fs::symlink_metadata(&dir) {
                Ok(m) if m.file_type().is_symlink() => return Err(fsutil::link_error("use", &dir, &dir, &dir).into()),
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(
                        FsError::new("use", &dir, std::io::Error::other("it is not a folder; move it away")).into()
                    );
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    std::fs::create_dir(&dir).map_err(|e| FsError::new("create folder", &dir, e))?;
                }
                Err(e) => return Err(FsError::new("use", &dir, e).into()),
            }
        }
        let project = Self::open_target(root, Target::Dev, wait, on_wait)?;
        let ignore = project.relative(".gitignore");
        if fsutil::read_inside(&project.root, &ignore, limits::MAX_DOCUMENT_BYTES)?.is_none() {
            fsutil::write_atomic_inside(&project.root, &ignore, DEV_GITIGNORE.as_bytes(), None)?;
        }
        Ok(project)
    }

    fn open_target(
        root: &Path,
        target: Target,
        wait: LockWait,
        on_wait: &mut dyn FnMut(&str),
    ) -> Result<Project, StateError> {
        let base = if root.as_os_str().is_empty() { Path::new(".") } else { root };
        let folder = match target {
            Target::Fly => base.to_path_buf(),
            Target::Dev => base.join(target.dir()),
        };
        let folder = folder.as_path();
        let dir = std::fs::File::open(folder).map_err(|e| FsError::new("open project folder", folder, e))?;
        let started = Instant::now();
        let mut told = false;
        loop {
            match dir.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) => {
                    let holder = lock_holder(root, target);
                    if started.elapsed() >= wait.timeout {
                        let holder = holder.unwrap_or_else(|| "another score-fly process".to_owned());
                        return Err(StateError::Locked { holder, waited_s: started.elapsed().as_secs() });
                    }
                    // The holder writes its pid just after taking the lock: give it a moment
                    // before settling for "another process".
                    if !told && (holder.is_some() || started.elapsed() >= Duration::from_millis(500)) {
                        on_wait(holder.as_deref().unwrap_or("another score-fly process"));
                        told = true;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(FsError::new("lock project folder", folder, e).into());
                }
            }
        }
        let project = Project {
            root: root.to_path_buf(),
            target,
            _lock: dir,
            // The dev folder's own `.gitignore` is written by `open_dev`.
            gitignore_checked: AtomicBool::new(target == Target::Dev),
        };
        if project.check_dir()? {
            project.check_links()?;
            project.write_pid();
            project.remove_stale_temporaries();
        }
        Ok(project)
    }

    /// The project root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The state folder: `.score-fly` (or `.score-fly/dev` for [`Project::open_dev`]).
    pub fn dir(&self) -> PathBuf {
        self.root.join(self.target.dir())
    }

    /// Which state this is.
    pub fn target(&self) -> Target {
        self.target
    }

    /// The state file.
    pub fn state_path(&self) -> PathBuf {
        self.dir().join(STATE_FILE)
    }

    /// `name` inside the state folder, relative to the project root.
    pub fn relative(&self, name: &str) -> PathBuf {
        self.target.dir().join(name)
    }

    /// Loads the state, or `None` if the project has none yet.
    pub fn load(&self) -> Result<Option<State>, StateError> {
        self.check_dir()?;
        let path = self.state_path();
        let Some(file) = fsutil::open_inside(&self.root, &self.relative(STATE_FILE))? else { return Ok(None) };
        match read_bounded(file) {
            Ok(text) => State::parse(&path, &text).map(Some),
            Err(ReadError::Io(e)) => Err(FsError::new("read", &path, e).into()),
            Err(ReadError::TooLarge(bytes)) => Err(StateError::TooLarge { path, bytes }),
        }
    }

    /// `.score-fly` must be a folder, not a link to one, if it exists (whether it does is
    /// returned).
    fn check_dir(&self) -> Result<bool, FsError> {
        let dir = self.dir();
        match std::fs::symlink_metadata(&dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(FsError::new("use", &dir, e)),
            Ok(m) if m.file_type().is_symlink() => Err(fsutil::link_error("use", &dir, &dir, &dir)),
            Ok(m) if !m.is_dir() => Err(FsError::new(
                "use",
                &dir,
                std::io::Error::other("it is not a folder; score-fly keeps the project state there, move it away"),
            )),
            Ok(_) => Ok(true),
        }
    }

    /// `.score-fly/` holds no symbolic link: not at its top, not in `files/` (the generated
    /// files' folder), not in `files/<app>/`. Every write there refuses a link anyway; this
    /// names one when the project is opened, before anything starts.
    fn check_links(&self) -> Result<(), StateError> {
        let dir = self.dir();
        let mut folders = vec![(dir.clone(), 0)];
        while let Some((folder, depth)) = folders.pop() {
            let entries = std::fs::read_dir(&folder).map_err(|e| FsError::new("read folder", &folder, e))?;
            for entry in entries {
                let entry = entry.map_err(|e| FsError::new("read folder", &folder, e))?;
                let kind = entry.file_type().map_err(|e| FsError::new("read folder", &folder, e))?;
                if kind.is_symlink() {
                    return Err(fsutil::link_error("use", &dir, &entry.path(), &dir).into());
                }
                // `files/`, `files/<app>/`, `releases/` and `releases/<workload>/`; deeper
                // folders are not score-fly's.
                if kind.is_dir() && (depth == 1 || (depth == 0 && is_ours(&entry.file_name()))) {
                    folders.push((entry.path(), depth + 1));
                }
            }
        }
        Ok(())
    }

    /// Creates `.score-fly/` with its `.gitignore` if missing; adds the generated files'
    /// folder to an older `.gitignore` that lacks it (keeping every other line).
    pub fn ensure_dir(&self) -> Result<(), StateError> {
        Ok(self.prepare_dir()?)
    }

    fn prepare_dir(&self) -> Result<(), FsError> {
        let existed = self.check_dir()?;
        if !self.gitignore_checked.swap(true, Ordering::Relaxed) {
            let relative = self.relative(".gitignore");
            match fsutil::read_inside(&self.root, &relative, crate::limits::MAX_DOCUMENT_BYTES)? {
                None => fsutil::write_atomic_inside(&self.root, &relative, GITIGNORE.as_bytes(), None)?,
                Some(bytes) => {
                    let text = String::from_utf8_lossy(&bytes);
                    if !text.lines().any(|l| matches!(l.trim(), "files/" | "files" | "/files/" | "/files")) {
                        let separator = if text.is_empty() || text.ends_with('\n') { "" } else { "\n" };
                        let updated = format!("{text}{separator}{GITIGNORE_FILES}\n");
                        fsutil::write_atomic_inside(&self.root, &relative, updated.as_bytes(), None)?;
                    }
                }
            }
        }
        if !existed {
            self.write_pid();
        }
        Ok(())
    }

    /// Adds `name` (a file inside `.score-fly/`) to `.score-fly/.gitignore` unless a line
    /// already names it: for a file that now holds secrets. Returns whether it was added.
    pub fn ignore(&self, name: &str) -> Result<bool, StateError> {
        self.prepare_dir()?;
        let relative = self.relative(".gitignore");
        let text = fsutil::read_inside(&self.root, &relative, crate::limits::MAX_DOCUMENT_BYTES)?
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        if text.lines().any(|l| l.trim().trim_start_matches('/') == name) {
            return Ok(false);
        }
        let separator = if text.is_empty() || text.ends_with('\n') { "" } else { "\n" };
        let updated = format!("{text}{separator}{name}\n");
        fsutil::write_atomic_inside(&self.root, &relative, updated.as_bytes(), None)?;
        Ok(true)
    }

    /// Writes `name` inside `.score-fly/` atomically, following no link (see
    /// [`fsutil::write_atomic_inside`]), creating the folder if missing.
    pub fn write(&self, name: &str, bytes: &[u8], mode: Option<u32>) -> Result<(), FsError> {
        self.prepare_dir()?;
        fsutil::write_atomic_inside(&self.root, &self.relative(name), bytes, mode)
    }

    /// Saves the state atomically with mode 0600.
    pub fn save(&self, state: &State) -> Result<(), StateError> {
        let text = state.to_readable_json(&self.state_path())?;
        Ok(self.write(STATE_FILE, text.as_bytes(), Some(0o600))?)
    }

    /// Informational: who holds the lock. Failing to write it is not fatal (a link there
    /// was refused by [`Project::check_dir`] already, and is never followed).
    fn write_pid(&self) {
        let write = fsutil::PendingWrite::inside(
            &self.root,
            self.relative(LOCK_FILE),
            format!("{}\n", std::process::id()).into_bytes(),
        );
        let _ = fsutil::write_all_atomic(&[write.not_durable()]);
    }

    /// Temporary files left by a process that was killed mid-write, in `.score-fly/` and
    /// in the generated files' folders `files/<app>/`.
    fn remove_stale_temporaries(&self) {
        let dir = self.dir();
        let mut folders = vec![(dir.clone(), 0)];
        while let Some((folder, depth)) = folders.pop() {
            let Ok(entries) = std::fs::read_dir(&folder) else { continue };
            for entry in entries.flatten() {
                let Ok(kind) = entry.file_type() else { continue };
                let name = entry.file_name();
                if kind.is_dir() && (depth == 1 || (depth == 0 && is_ours(&name))) {
                    folders.push((entry.path(), depth + 1));
                } else if !kind.is_dir() && fsutil::is_temporary(&name) {
                    // Not followed: removing a link removes the link.
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
    }
}

enum ReadError {
    Io(std::io::Error),
    TooLarge(u64),
}

/// Reads the state file, opened by [`fsutil::open_inside`] (a regular file, reached without
/// following links): at most [`limits::MAX_STATE_BYTES`] (one byte more is read to tell a
/// file at the limit from one past it).
fn read_bounded(file: std::fs::File) -> Result<String, ReadError> {
    use std::io::Read as _;
    let metadata = file.metadata().map_err(ReadError::Io)?;
    let limit = u64::try_from(limits::MAX_STATE_BYTES).unwrap_or(u64::MAX);
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes).map_err(ReadError::Io)?;
    if bytes.len() > limits::MAX_STATE_BYTES {
        return Err(ReadError::TooLarge(metadata.len().max(limit.saturating_add(1))));
    }
    String::from_utf8(bytes)
        .map_err(|e| ReadError::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error())))
}

/// The state of `target` in the project rooted at `root`, read without its lock (a state is
/// replaced atomically, so what is read is whole); `None` when there is none. For listings
/// that must not wait for a running `dev` session.
pub fn peek(root: &Path, target: Target) -> Result<Option<State>, StateError> {
    let relative = target.dir().join(STATE_FILE);
    let path = root.join(&relative);
    let Some(file) = fsutil::open_inside(root, &relative)? else { return Ok(None) };
    match read_bounded(file) {
        Ok(text) => State::parse(&path, &text).map(Some),
        Err(ReadError::Io(e)) => Err(FsError::new("read", &path, e).into()),
        Err(ReadError::TooLarge(bytes)) => Err(StateError::TooLarge { path, bytes }),
    }
}

/// `pid N` of the lock holder, if its pid file is there and names a live process (a
/// killed holder leaves a stale file behind).
fn lock_holder(root: &Path, target: Target) -> Option<String> {
    let relative = target.dir().join(LOCK_FILE);
    let bytes = fsutil::read_inside(root, &relative, PID_FILE_BYTES).ok()??;
    let pid = String::from_utf8_lossy(&bytes).trim().parse::<u32>().ok()?;
    let alive = !cfg!(target_os = "linux") || Path::new("/proc").join(pid.to_string()).exists();
    alive.then(|| format!("pid {pid}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait(ms: u64) -> LockWait {
        LockWait { timeout: Duration::from_millis(ms) }
    }

    #[test]
    fn the_dev_state_is_its_own_file_with_its_own_lock() {
        let dir = tempfile::tempdir().unwrap();
        let fly = Project::open(dir.path(), wait(0), &mut |_| {}).unwrap();
        // A dev session does not wait for the Fly lock, nor the reverse.
        let dev = Project::open_dev(dir.path(), wait(0), &mut |_| {}).unwrap();
        assert_eq!(dev.target(), Target::Dev);
        assert_eq!(dev.state_path(), dir.path().join(".score-fly/dev/state.json"));
        let mut local = State::new("");
        local.app_prefix = "local-".into();
        dev.save(&local).unwrap();
        assert!(fly.load().unwrap().is_none(), "the Fly state is not the dev state");
        assert_eq!(dev.load().unwrap().unwrap().app_prefix, "local-");
        // A second dev session waits for the first.
        let e = Project::open_dev(dir.path(), wait(50), &mut |_| {}).unwrap_err();
        assert!(matches!(e, StateError::Locked { .. }), "{e}");
        let ignore = std::fs::read_to_string(dir.path().join(".score-fly/dev/.gitignore")).unwrap();
        assert!(ignore.lines().any(|l| l == "*") && ignore.contains("!*.provisioners.yaml"), "{ignore}");
        drop(dev);
        assert!(!dir.path().join(".score-fly/dev/lock").exists(), "the pid file goes with the lock");
        Project::open_dev(dir.path(), wait(0), &mut |_| {}).unwrap();
    }

    #[test]
    fn round_trip_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let project = Project::open(dir.path(), wait(0), &mut |_| {}).unwrap();
        assert!(project.load().unwrap().is_none());
        assert!(!project.dir().exists(), "opening creates nothing");
        let mut state = State::new("demo-");
        state.shared = serde_json::json!({"cluster": "pg-1"});
        project.save(&state).unwrap();
        assert_eq!(project.load().unwrap(), Some(state));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(project.state_path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let gitignore = std::fs::read_to_string(project.dir().join(".gitignore")).unwrap();
        assert!(gitignore.lines().any(|l| l == "state.json"));
        assert!(project.dir().join("lock").exists(), "the holder's pid is recorded while it holds the lock");
        drop(project);
        assert!(!dir.path().join(STATE_DIR).join("lock").exists(), "and removed when it lets go");
    }

    #[test]
    fn corrupt_and_unknown_versions_are_errors() {
        let path = Path::new(".score-fly/state.json");
        let e = State::parse(path, "{ not json").unwrap_err().to_string();
        assert!(e.contains("state.json is corrupt") && e.contains("not valid JSON"), "{e}");
        let e = State::parse(path, r#"{"app_prefix": ""}"#).unwrap_err().to_string();
        assert!(e.contains("no `version`"), "{e}");
        let e = State::parse(path, r#"{"version": 7, "app_prefix": ""}"#).unwrap_err().to_string();
        assert!(e.contains("version 7") && e.contains("reads version 1"), "{e}");
        let e = State::parse(path, r#"{"version": 1, "app_prefix": "", "extra": 1}"#).unwrap_err().to_string();
        assert!(e.contains("unknown field `extra`"), "{e}");
    }

    /// A link planted in `.score-fly/` (or as `.score-fly`) stops the project from opening,
    /// naming it; its target is never read or written.
    #[test]
    fn links_in_the_project_folder_are_refused_when_it_opens() {
        use std::os::unix::fs::symlink;
        let outside = tempfile::tempdir().unwrap();
        let victim = outside.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        for link in ["lock", "state.json", ".gitignore", "x.provisioners.yaml", "files/web", "files/web/%2Fetc%2Fx"] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join(STATE_DIR).join(link);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            let target = if link == "files/web" { outside.path() } else { victim.as_path() };
            symlink(target, &path).unwrap();
            let e = Project::open(dir.path(), wait(0), &mut |_| {}).unwrap_err().to_string();
            assert!(e.contains(&format!("{} is a symbolic link", path.display())), "{link}: {e}");
            assert!(e.contains("score-fly never follows links inside"), "{e}");
        }
        let dir = tempfile::tempdir().unwrap();
        symlink(outside.path(), dir.path().join(STATE_DIR)).unwrap();
        let e = Project::open(dir.path(), wait(0), &mut |_| {}).unwrap_err().to_string();
        assert!(e.contains(".score-fly is a symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1, "nothing written outside");
    }

    /// An older `.gitignore` gets the generated files' folder, every other line kept, once.
    #[test]
    fn a_file_holding_secrets_is_ignored_once() {
        let dir = tempfile::tempdir().unwrap();
        let project = Project::open(dir.path(), wait(0), &mut |_| {}).unwrap();
        assert!(project.ignore("cli.provisioners.yaml").unwrap());
        assert!(!project.ignore("cli.provisioners.yaml").unwrap(), "a second time adds nothing");
        let gitignore = std::fs::read_to_string(project.dir().join(".gitignore")).unwrap();
        assert_eq!(gitignore.lines().filter(|l| *l == "cli.provisioners.yaml").count(), 1);
        assert!(gitignore.lines().any(|l| l == "state.json"), "the other lines are kept: {gitignore}");
    }

    #[test]
    fn an_older_gitignore_gets_the_generated_files_folder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(STATE_DIR)).unwrap();
        let gitignore = dir.path().join(STATE_DIR).join(".gitignore");
        std::fs::write(&gitignore, "# mine\nstate.json\n").unwrap();
        let project = Project::open(dir.path(), wait(0), &mut |_| {}).unwrap();
        project.save(&State::new("")).unwrap();
        project.save(&State::new("")).unwrap();
        assert_eq!(std::fs::read_to_string(&gitignore).unwrap(), "# mine\nstate.json\nfiles/\n");
        drop(project);
        let project = Project::open(dir.path(), wait(0), &mut |_| {}).unwrap();
        project.save(&State::new("")).unwrap();
        assert_eq!(std::fs::read_to_string(&gitignore).unwrap(), "# mine\nstate.json\nfiles/\n");
        // A new project's file has it from the start.
        let fresh = tempfile::tempdir().unwrap();
        Project::open(fresh.path(), wait(0), &mut |_| {}).unwrap().save(&State::new("")).unwrap();
        let text = std::fs::read_to_string(fresh.path().join(STATE_DIR).join(".gitignore")).unwrap();
        assert!(text.lines().any(|l| l == "files/"), "{text}");
    }

    /// Leftovers of a killed process (temporary files of the current shape) are removed when
    /// the project opens, in `.score-fly/` and in `files/<app>/`; nothing else is.
    #[test]
    fn stale_temporaries_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join(STATE_DIR);
        std::fs::create_dir_all(folder.join("files/web")).unwrap();
        let stale = [".state.json.77.0.1a2b3c4d.tmp", "files/web/.%2Fetc%2Fx.77.3.00000000.tmp"];
        for name in stale.iter().chain(&["state.json", "files/web/%2Fetc%2Fx"]) {
            std::fs::write(folder.join(name), "x").unwrap();
        }
        drop(Project::open(dir.path(), wait(0), &mut |_| {}).unwrap());
        for name in stale {
            assert!(!folder.join(name).exists(), "{name} removed");
        }
        assert!(folder.join("state.json").exists() && folder.join("files/web/%2Fetc%2Fx").exists());
    }

    fn nested(levels: usize) -> String {
        format!("{}1{}", "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn readable_depth_is_serde_jsons_limit() {
        assert!(serde_json::from_str::<serde_json::Value>(&nested(READABLE_DEPTH)).is_ok());
        let e = serde_json::from_str::<serde_json::Value>(&nested(READABLE_DEPTH + 1)).unwrap_err();
        assert!(e.to_string().contains("recursion limit exceeded"), "{e}");
        assert_eq!(json_depth(nested(READABLE_DEPTH).as_bytes()), READABLE_DEPTH);
        assert_eq!(json_depth(br#"{"a": "[[[{{{", "b": ["\"[", {}]}"#), 3);
    }

    #[test]
    fn a_state_that_could_not_be_read_back_is_never_written() {
        let dir = tempfile::tempdir().unwrap();
        let project = Project::open(dir.path(), wait(0), &mut |_| {}).unwrap();
        let mut state = State::new("demo-");
        // state.json → shared → value: READABLE_DEPTH - 1 levels fit.
        state.shared = serde_json::from_str(&nested(READABLE_DEPTH - 1)).unwrap();
        project.save(&state).unwrap();
        assert_eq!(project.load().unwrap(), Some(state.clone()));
        let saved = std::fs::read(project.state_path()).unwrap();
        let too_deep = format!("[{}]", nested(READABLE_DEPTH - 1));
        // Built without serde_json's parser (which would refuse it).
        let mut value = serde_json::json!(1);
        for _ in 0..READABLE_DEPTH {
            value = serde_json::Value::Array(vec![value]);
        }
        assert_eq!(value.to_string(), too_deep);
        state.shared = value;
        let e = project.save(&state).unwrap_err().to_string();
        assert!(
            e.starts_with("refusing to write the state file")
                && e.contains(&format!(
                    "nested {} levels deep, more than can be read back ({READABLE_DEPTH})",
                    READABLE_DEPTH + 1
                )),
            "{e}"
        );
        assert_eq!(std::fs::read(project.state_path()).unwrap(), saved, "the file on disk is untouched");
        assert!(project.load().is_ok());
    }

    #[test]
    fn state_files_must_be_regular_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(STATE_DIR).join(STATE_FILE)).unwrap();
        let project = Project::open(dir.path(), wait(0), &mut |_| {}).unwrap();
        let e = project.load().unwrap_err().to_string();
        assert!(e.contains("state.json: it is not a regular file"), "{e}");
    }

    #[test]
    fn second_open_waits_then_reports_the_holder() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(STATE_DIR)).unwrap();
        let first = Project::open(dir.path(), wait(0), &mut |_| {}).unwrap();
        let mut waited_for = String::new();
        let e = Project::open(dir.path(), wait(200), &mut |h| waited_for = h.to_owned()).unwrap_err();
        let pid = std::process::id();
        assert_eq!(waited_for, format!("pid {pid}"));
        assert!(e.to_string().starts_with(&format!("state is locked by pid {pid}")), "{e}");
        drop(first);
        Project::open(dir.path(), wait(0), &mut |_| {}).unwrap();
    }

    fn resource(provisioner: &str) -> ResourceEntry {
        ResourceEntry {
            kind: "postgres".into(),
            class: "default".into(),
            id: "api.db".into(),
            declared_by: vec!["api.db".into()],
            provisioner: provisioner.into(),
            params: serde_json::Map::new(),
            metadata: serde_json::Map::new(),
            fingerprint: String::new(),
            state: serde_json::Map::new(),
            values: serde_json::Map::new(),
            secrets: serde_json::Map::new(),
        }
    }

    /// By provisioner id, as the CLI classifies them from the definitions.
    fn uses(entry: &ResourceEntry) -> PrefixUse {
        match entry.provisioner.as_str() {
            "builtin-postgres" => PrefixUse::Creates,
            "builtin-dns" => PrefixUse::Names,
            _ => PrefixUse::Unrelated,
        }
    }

    #[test]
    fn pushed_images_are_pinned_by_digest() {
        let d = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(pin("registry.fly.io/acme-api:sf-0123", &d), format!("registry.fly.io/acme-api@{d}"));
        assert_eq!(pin("127.0.0.1:5000/acme-api:v1", &d), format!("127.0.0.1:5000/acme-api@{d}"));
        assert_eq!(pin("127.0.0.1:5000/acme-api", &d), format!("127.0.0.1:5000/acme-api@{d}"));
        assert_eq!(pin("r/acme-api@sha256:00", &d), format!("r/acme-api@{d}"));
        let entry = ImageEntry::Pushed { reference: "r/a:v1".into(), digest: d.clone(), revision: None, dirty: false };
        assert_eq!(entry.pinned(), Some(format!("r/a@{d}")));
        let dockerfile = ImageEntry::Dockerfile { dockerfile: "Dockerfile".into(), ignorefile: ".dockerignore".into() };
        assert_eq!(dockerfile.pinned(), None);
        // A state written before revisions were recorded reads as before.
        let old: ImageEntry =
            serde_json::from_str(r#"{"kind": "pushed", "reference": "r/a:v1", "digest": "sha256:0"}"#).unwrap();
        assert_eq!(
            old,
            ImageEntry::Pushed { reference: "r/a:v1".into(), digest: "sha256:0".into(), revision: None, dirty: false }
        );
    }

    #[test]
    fn the_prefix_changes_while_nothing_exists_under_it() {
        let mut state = State::new("");
        state.resources.insert("static#api.cfg".into(), resource("my-static"));
        state.resources.insert("dns#api.host".into(), resource("builtin-dns"));
        assert_eq!(state.change_prefix("acme-", uses), Ok(vec!["dns#api.host".to_owned()]));
        assert_eq!(state.app_prefix, "acme-");
        assert!(state.resources.contains_key("static#api.cfg"), "outputs not made from the prefix are kept");
        assert!(!state.resources.contains_key("dns#api.host"), "names made from the old prefix are forgotten");
        // A Dockerfile for the remote builder made nothing on Fly either.
        state.images.insert(
            "api".into(),
            ImageEntry::Dockerfile { dockerfile: "Dockerfile".into(), ignorefile: ".dockerignore".into() },
        );
        assert_eq!(state.change_prefix("other-", uses), Ok(Vec::new()));
        assert_eq!(state.app_prefix, "other-");
    }

    #[test]
    fn what_exists_under_the_prefix_fixes_it_and_is_named() {
        let mut state = State::new("acme-");
        state.deployments.insert("acme-api".into(), Deployment::default());
        state.images.insert(
            "api".into(),
            ImageEntry::Pushed {
                reference: "registry.fly.io/acme-api:v1".into(),
                digest: "sha256:0".into(),
                revision: None,
                dirty: false,
            },
        );
        state.resources.insert("postgres.default#api.db".into(), resource("builtin-postgres"));
        state.resources.insert("dns#api.host".into(), resource("builtin-dns"));
        let before = state.clone();
        let e = state.change_prefix("other-", uses).unwrap_err();
        assert_eq!(state, before, "nothing changed");
        assert_eq!(
            e.made,
            [
                Made::App("acme-api".into()),
                Made::Image { workload: "api".into(), reference: "registry.fly.io/acme-api:v1".into() },
                Made::Resource { uid: "postgres.default#api.db".into(), provisioner: "builtin-postgres".into() },
            ]
        );
        let message = e.to_string();
        for part in [
            "the project's app prefix is `acme-` and cannot change to `other-`: 3 things exist on Fly under it",
            "app `acme-api`",
            "resource `postgres.default#api.db` made by `builtin-postgres`",
            "cargo score-fly resources deprovision UID",
            "fly apps destroy APP",
        ] {
            assert!(message.contains(part), "{part} in {message}");
        }
        // Asking for the prefix it has is no change.
        assert_eq!(state.change_prefix("acme-", uses), Ok(Vec::new()));
        let e = State { deployments: before.deployments.clone(), ..State::new("") }.change_prefix("x-", uses);
        assert!(
            e.unwrap_err()
                .to_string()
                .starts_with("the project's app prefix is empty and cannot change to `x-`: 1 thing exists")
        );
    }
}
