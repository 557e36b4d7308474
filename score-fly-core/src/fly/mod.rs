//! Fly.io: the typed `fly.toml` model ([`config`]) and the Score → Fly conversion
//! ([`convert`]).
//!
//! The conversion is pure: it reads `source` files through a [`FileAccess`] and returns the
//! `fly.toml` model, the secrets to import, the files to write beside `fly.toml` (binary
//! content, byte-exact) and the warnings. Nothing is written here, and nothing here talks
//! to Fly: the clients (flyctl, the Machines API) are in `flyio`, which this module never
//! imports.

pub mod annotations;
pub mod config;
mod convert;
pub mod machine;
pub mod patch;
pub mod regions;
pub mod secrets;
pub mod vm;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use config::FlyConfig;
pub use convert::{Resolved, ResolvedFile, convert, resolve_container};

use crate::placeholder::ResourceOutputs;
use crate::secret::Secret;
use crate::spec::node::FieldPath;

/// A conversion problem or warning, with the Score field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Score field path (e.g. `containers.main.files["/etc/x"].mode`).
    pub path: FieldPath,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.segments().is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// A workload Fly cannot run as written: every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConvertError {
    /// The workload name.
    pub workload: String,
    /// The problems.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "workload `{}` cannot be converted for Fly ({n} problem{})",
            self.workload,
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            write!(f, "\n  {p}")?;
        }
        Ok(())
    }
}

/// Reads the files a Score workload refers to (`source` files, a Dockerfile). `source` files
/// are read through [`read_source`], which decides which may be read.
pub trait FileAccess {
    /// Reads a whole file.
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>>;
    /// Whether a file exists.
    fn exists(&self, path: &Path) -> bool;
    /// The path with symlinks resolved, to decide whether it is inside the project. The
    /// default cleans it lexically (`a/../b` → `b`), for files that are not on a disk.
    fn resolve(&self, path: &Path) -> std::io::Result<PathBuf> {
        Ok(crate::fsutil::normalize(path))
    }
}

/// The local filesystem. `source` files must be regular files of at most
/// [`MAX_SOURCE_FILE_BYTES`](crate::limits::MAX_SOURCE_FILE_BYTES), never on `/proc`
/// ([`crate::input::read_regular`]): a FIFO or a device cannot hang or flood a run.
#[cfg(feature = "engine")]
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalFiles;

#[cfg(feature = "engine")]
impl FileAccess for LocalFiles {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        let limit = (
            "MAX_SOURCE_FILE_BYTES",
            crate::limits::MAX_SOURCE_FILE_BYTES,
            "fly.toml carries file contents in its text: build large files into the image, or keep them on a volume",
        );
        crate::input::read_regular(path, limit).map_err(std::io::Error::other)
    }
    fn exists(&self, path: &Path) -> bool {
        path.is_file()
    }
    fn resolve(&self, path: &Path) -> std::io::Result<PathBuf> {
        let path = if path.as_os_str().is_empty() { Path::new(".") } else { path };
        std::fs::canonicalize(path)
    }
}

/// Where `source` files may come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourcePolicy {
    /// The folder `source` files must be inside once symlinks are resolved: the project.
    /// `None`: the folder of the Score file.
    pub root: Option<PathBuf>,
    /// Files outside `root` may be read too (`--allow-outside-source`). Never from `/proc`.
    pub allow_outside: bool,
}

/// A `source` file that was not read: the path as written (joined to the Score file's
/// folder) and why.
#[derive(Debug, thiserror::Error)]
#[error("cannot read source file {}: {reason}", path.display())]
pub struct SourceError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub reason: SourceRefusal,
}

/// Why a `source` file was not read.
#[derive(Debug, thiserror::Error)]
pub enum SourceRefusal {
    /// The operating system said no (missing, permissions...).
    #[error("{0}")]
    Io(std::io::Error),
    /// Outside the project, and not allowed.
    #[error(
        "it is outside the project folder {} (it resolves to {}); move it into the project, or pass --allow-outside-source to read it anyway",
        root.display(),
        real.display()
    )]
    Outside {
        /// The file, symlinks resolved.
        real: PathBuf,
        /// The project folder, symlinks resolved.
        root: PathBuf,
    },
    /// On `/proc`.
    #[error(
        "it is on /proc, which holds the environment and memory of processes (secrets included); score-fly never reads source files from there"
    )]
    Proc,
    /// A FIFO, a device, a folder...
    #[error("it is {0}, not a regular file; point `source` at a file")]
    NotRegular(&'static str),
    /// Too large.
    #[error("it is larger than {} (limits::MAX_SOURCE_FILE_BYTES); {hint}", crate::limits::human_bytes(*limit_bytes))]
    TooLarge {
        /// The limit.
        limit_bytes: usize,
        /// What to do.
        hint: &'static str,
    },
}

/// Reads the `source` file of a container's `files` entry: **the** one way score-fly reads
/// them (conversion, `generate --check`, the `environment` builtin's key discovery).
///
/// `source` is relative to `score_dir`. The file must resolve (symlinks followed) inside the
/// policy's root unless it allows outside files, and never to `/proc`; the reading itself
/// ([`FileAccess::read`]) refuses what is not a regular file and what is too large.
pub fn read_source(
    files: &dyn FileAccess,
    policy: &SourcePolicy,
    score_dir: &Path,
    source: &str,
) -> Result<Vec<u8>, SourceError> {
    let path = score_dir.join(source);
    let fail = |reason| SourceError { path: path.clone(), reason };
    let real = files.resolve(&path).map_err(|e| fail(SourceRefusal::Io(e)))?;
    if crate::input::is_proc_path(&real) {
        return Err(fail(SourceRefusal::Proc));
    }
    if !policy.allow_outside {
        let root = policy.root.as_deref().unwrap_or(score_dir);
        let root = files.resolve(root).map_err(|e| fail(SourceRefusal::Io(e)))?;
        if !real.starts_with(&root) {
            return Err(fail(SourceRefusal::Outside { real, root }));
        }
    }
    files.read(&real).map_err(|e| fail(refusal(e)))
}

/// Why [`FileAccess::read`] failed: [`LocalFiles`] says why it refused a file.
fn refusal(e: std::io::Error) -> SourceRefusal {
    #[cfg(feature = "engine")]
    let e = match e.downcast::<crate::input::ReadError>() {
        Ok(read) => {
            use crate::input::ReadError;
            return match read {
                ReadError::Proc { .. } => SourceRefusal::Proc,
                ReadError::NotRegular { kind, .. } => SourceRefusal::NotRegular(kind),
                ReadError::TooLarge { limit_bytes, hint, .. } => SourceRefusal::TooLarge { limit_bytes, hint },
                ReadError::Io { source, .. } => SourceRefusal::Io(source),
                other @ ReadError::NotText { .. } => SourceRefusal::Io(std::io::Error::other(other.to_string())),
            };
        }
        Err(e) => e,
    };
    SourceRefusal::Io(e)
}

/// No files at all (for conversions that must not touch the disk).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoFiles;

impl FileAccess for NoFiles {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        Err(std::io::Error::new(std::io::ErrorKind::NotFound, format!("{} is not available", path.display())))
    }
    fn exists(&self, _: &Path) -> bool {
        false
    }
}

/// Inputs of a conversion besides the workload.
#[derive(Debug, Clone, Default)]
pub struct ConvertOptions {
    /// Prefix of the Fly app name (`<prefix><metadata.name>`).
    pub app_prefix: String,
    /// Folder of the Score file: `source` paths and the Dockerfile are relative to it.
    pub score_dir: PathBuf,
    /// Folder `fly.toml` is written to: `local_path` entries are relative to it.
    pub out_dir: PathBuf,
    /// Outputs of the provisioned resources, by resource name in this workload.
    pub resources: BTreeMap<String, ResourceOutputs>,
    /// Check everything that does not depend on resource outputs, before provisioning:
    /// resources without outputs are not a problem then.
    pub preflight: bool,
    /// `primary_region` when the workload's annotations set none.
    pub primary_region: Option<String>,
    /// For containers whose image is `.`: the image `build` pushed, or the Dockerfile (and
    /// ignore file) it wrote.
    pub built: Option<Built>,
    /// Where `source` files may come from (by default: the folder of the Score file).
    pub sources: SourcePolicy,
}

/// What `build` made for a workload whose image is `.`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Built {
    /// A pushed image reference.
    Image(String),
    /// A Dockerfile and its ignore file (absolute paths).
    Dockerfile(PathBuf, PathBuf),
}

impl ConvertOptions {
    /// Options with an app prefix, the current folder for everything, and no resources.
    pub fn new(app_prefix: impl Into<String>) -> Self {
        ConvertOptions { app_prefix: app_prefix.into(), ..ConvertOptions::default() }
    }
}

/// A file to write beside `fly.toml` (content that must arrive byte-exact).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Path relative to the `fly.toml` folder (also its `local_path`).
    pub path: PathBuf,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// The result of converting one workload.
#[derive(Debug, Clone)]
pub struct Conversion {
    /// The `fly.toml` model.
    pub config: FlyConfig,
    /// App secrets: variables and files whose value read a secret output. Never in `fly.toml`.
    pub secrets: BTreeMap<String, Secret>,
    /// Files to write beside `fly.toml`.
    pub generated_files: Vec<GeneratedFile>,
    /// Adjustments and skipped features worth telling the user about.
    pub warnings: Vec<Problem>,
}

impl Conversion {
    /// The `fly.toml` text.
    pub fn to_toml(&self) -> String {
        self.config.to_toml()
    }
}

/// The app-name rule, kept in [`crate::target`] (re-exported here for the conversion).
pub use crate::target::app_name;

/// The longest Fly app name.
const APP_NAME_MAX: usize = 63;

/// Why a name is not a Fly app name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AppNameError {
    /// Empty or longer than 63 characters.
    #[error("app name `{name}` must be 1 to {APP_NAME_MAX} characters long (it is {})", .name.len())]
    Length {
        /// The name.
        name: String,
    },
    /// A character other than a lowercase letter, a digit or `-`.
    #[error("app name `{name}` may only hold lowercase letters, digits and `-`")]
    Characters {
        /// The name.
        name: String,
    },
    /// A `-` at either end.
    #[error("app name `{name}` must not start or end with `-`")]
    Dash {
        /// The name.
        name: String,
    },
}

/// Characters allowed in a Fly app name: lowercase letters, digits and `-`, at most 63.
pub fn check_app_name(name: &str) -> Result<(), AppNameError> {
    if name.is_empty() || name.len() > APP_NAME_MAX {
        return Err(AppNameError::Length { name: name.to_owned() });
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(AppNameError::Characters { name: name.to_owned() });
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(AppNameError::Dash { name: name.to_owned() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_name_errors_carry_the_name() {
        assert_eq!(check_app_name("demo-web-1"), Ok(()));
        assert_eq!(check_app_name(&"a".repeat(APP_NAME_MAX)), Ok(()));
        let long = "a".repeat(APP_NAME_MAX + 1);
        let e = check_app_name(&long).unwrap_err();
        assert_eq!(e, AppNameError::Length { name: long.clone() });
        assert_eq!(e.to_string(), format!("app name `{long}` must be 1 to 63 characters long (it is 64)"));
        assert_eq!(
            check_app_name("").unwrap_err().to_string(),
            "app name `` must be 1 to 63 characters long (it is 0)"
        );
        let e = check_app_name("Demo_web").unwrap_err();
        assert_eq!(e, AppNameError::Characters { name: "Demo_web".to_owned() });
        assert_eq!(e.to_string(), "app name `Demo_web` may only hold lowercase letters, digits and `-`");
        let e = check_app_name("demo-").unwrap_err();
        assert_eq!(e, AppNameError::Dash { name: "demo-".to_owned() });
        assert_eq!(e.to_string(), "app name `demo-` must not start or end with `-`");
    }
}
