//! Fly.io: the typed `fly.toml` model ([`config`]) and the Score → Fly conversion
//! ([`convert`]).
//!
//! The conversion is pure: it reads `source` files through a [`FileAccess`] and returns the
//! `fly.toml` model, the secrets to import, the files to write beside `fly.toml` (binary
//! content, byte-exact) and the warnings. Nothing is written here.

pub mod annotations;
#[cfg(feature = "engine")]
pub mod api;
#[cfg(feature = "engine")]
pub mod cli;
pub mod config;
mod convert;
pub mod secrets;
pub mod vm;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use config::FlyConfig;
pub use convert::convert;

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

/// Reads the files a Score workload refers to (`source` files, a Dockerfile).
pub trait FileAccess {
    /// Reads a whole file.
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>>;
    /// Whether a file exists.
    fn exists(&self, path: &Path) -> bool;
}

/// The local filesystem.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalFiles;

impl FileAccess for LocalFiles {
    fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        std::fs::read(path)
    }
    fn exists(&self, path: &Path) -> bool {
        path.is_file()
    }
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

/// Characters allowed in a Fly app name: lowercase letters, digits and `-`, at most 63.
pub fn check_app_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 63 {
        return Err(format!("app name `{name}` must be 1 to 63 characters long (it is {})", name.len()));
    }
    if !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(format!("app name `{name}` may only hold lowercase letters, digits and `-`"));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(format!("app name `{name}` must not start or end with `-`"));
    }
    Ok(())
}
