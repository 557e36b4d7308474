//! Why an operation failed.

use crate::fly::ConvertError;
use crate::spec::{LoadError, Loaded};

/// How a front end should treat an [`Error`] (the command line maps each to an exit code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input is wrong: Score files, flags, settings, provisioner files.
    Invalid,
    /// Something failed that is not the input's fault.
    Failed,
    /// A check found files out of date.
    OutOfDate,
    /// A tool or credential is missing or refused (flyctl, the Fly token).
    Unavailable,
}

/// Why an operation failed. Messages are lowercase fragments that name the file, field or
/// resource and say what to do; none carries a secret value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Invalid Score files: every problem of every file.
    #[error("{} invalid Score file(s)", .0.len())]
    InvalidScore(Vec<LoadError>),
    /// Workloads Fly cannot run as written, with the loaded files to point into.
    #[error("{} workload(s) cannot be converted", .0.len())]
    Unconvertible(Vec<(ConvertError, Option<Loaded>)>),
    /// What a check found out of date (one line each).
    #[error("{}", .0.join("\n"))]
    OutOfDate(Vec<String>),
    /// Other invalid input (one message per line).
    #[error("{0}")]
    Invalid(String),
    /// Something failed that is not the input's fault (one message per line).
    #[error("{0}")]
    Failed(String),
    /// A tool or credential is missing or refused: one line each.
    #[error("{}", .0.join("\n"))]
    Unavailable(Vec<String>),
    /// The project state cannot be read or saved.
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    /// A provisioner file is invalid or unreadable.
    #[error(transparent)]
    Definition(#[from] crate::provision::definition::DefinitionError),
    /// The app prefix cannot change: something exists under the old one.
    #[error(transparent)]
    PrefixInUse(#[from] crate::state::PrefixInUse),
    /// An output would replace an input or a project file.
    #[error(transparent)]
    Output(Box<crate::outputs::OutputError>),
    /// A file could not be written.
    #[error(transparent)]
    Write(#[from] crate::fsutil::FsError),
    /// Building an image failed.
    #[error(transparent)]
    Build(#[from] super::build::BuildError),
    /// The project has no state yet (its `.score-fly` folder named).
    #[error("no project state in {}: run `cargo score-fly init` or `cargo score-fly generate` first", .0.display())]
    NoState(std::path::PathBuf),
    /// `init` was asked for something it cannot do.
    #[error(transparent)]
    Init(#[from] super::init::InitError),
    /// A provisioner cannot be added or removed.
    #[error(transparent)]
    Provisioners(#[from] super::provisioners::ProvisionersError),
    /// A resource cannot be shown or deprovisioned.
    #[error(transparent)]
    Resources(#[from] super::resources::ResourcesError),
    /// A destroy cannot be planned or failed midway.
    #[error(transparent)]
    Destroy(#[from] super::destroy::DestroyError),
    /// Logs cannot be read.
    #[error(transparent)]
    Logs(#[from] super::logs::LogsError),
    /// Releases cannot be listed, or a rollback cannot be done.
    #[error(transparent)]
    Releases(#[from] super::releases::ReleasesError),
    /// The status cannot be read.
    #[error(transparent)]
    Status(#[from] super::status::StatusError),
    /// A fly.toml patch is refused or breaks the file.
    #[error(transparent)]
    Patch(#[from] crate::fly::patch::PatchError),
}

impl Error {
    /// How a front end should treat it.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidScore(_)
            | Error::Unconvertible(_)
            | Error::Invalid(_)
            | Error::PrefixInUse(_)
            | Error::Output(_)
            | Error::NoState(_)
            | Error::Patch(_)
            | Error::Init(_) => ErrorKind::Invalid,
            Error::OutOfDate(_) => ErrorKind::OutOfDate,
            Error::Unavailable(_) => ErrorKind::Unavailable,
            Error::Failed(_) | Error::Write(_) => ErrorKind::Failed,
            Error::State(e) => match e {
                crate::state::StateError::Corrupt { .. } | crate::state::StateError::UnknownVersion { .. } => {
                    ErrorKind::Invalid
                }
                _ => ErrorKind::Failed,
            },
            Error::Definition(e) => match e {
                crate::provision::definition::DefinitionError::Fs(_) => ErrorKind::Failed,
                _ => ErrorKind::Invalid,
            },
            Error::Build(e) => e.kind(),
            Error::Provisioners(e) => e.kind(),
            Error::Resources(e) => e.kind(),
            Error::Destroy(e) => e.kind(),
            Error::Logs(e) => e.kind(),
            Error::Releases(e) => e.kind(),
            Error::Status(e) => e.kind(),
        }
    }
}

impl From<crate::outputs::OutputError> for Error {
    fn from(e: crate::outputs::OutputError) -> Self {
        Error::Output(Box::new(e))
    }
}
