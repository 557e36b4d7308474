//! Why a command failed, and the exit code each kind maps to. It sits below the commands,
//! the printer and cargo discovery, which all return or render it.

use score_fly_core::ops::ErrorKind;

use crate::exit;

/// Why a command failed. Rendering is the printer's job; this only carries the facts.
#[derive(Debug)]
pub enum Failure {
    /// Invalid Score files (all of them, every problem).
    InvalidScore(Vec<score_fly_core::spec::LoadError>),
    /// `#[score_workload]` read from source is invalid (located in the source file).
    InvalidSource(score_fly_core::attr::SourceError),
    /// Files `generate --check` found out of date (one line each).
    OutOfDate(Vec<String>),
    /// Workloads Fly cannot run as written, with the loaded files to point into.
    Unconvertible(Vec<(score_fly_core::fly::ConvertError, Option<score_fly_core::spec::Loaded>)>),
    /// Other invalid input (one message per line).
    Invalid(String),
    /// Something failed that is not the input's fault (one message per line).
    Error(String),
    /// A tool or credential is missing or refused (flyctl, the Fly token): one line each.
    Unavailable(String),
    /// The command line cannot work as given (`rollback` without a terminal and without `--yes`).
    Usage(String),
}

impl Failure {
    /// The exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::InvalidScore(_) | Failure::InvalidSource(_) | Failure::Unconvertible(_) | Failure::Invalid(_) => {
                exit::INVALID_INPUT
            }
            Failure::Error(_) | Failure::OutOfDate(_) => exit::FAILURE,
            Failure::Unavailable(_) => exit::UNAVAILABLE,
            Failure::Usage(_) => exit::USAGE,
        }
    }
}

impl From<score_fly_core::state::StateError> for Failure {
    fn from(e: score_fly_core::state::StateError) -> Self {
        match e {
            score_fly_core::state::StateError::Corrupt { .. }
            | score_fly_core::state::StateError::UnknownVersion { .. } => Failure::Invalid(e.to_string()),
            _ => Failure::Error(e.to_string()),
        }
    }
}

impl From<score_fly_core::provision::definition::DefinitionError> for Failure {
    fn from(e: score_fly_core::provision::definition::DefinitionError) -> Self {
        match e {
            score_fly_core::provision::definition::DefinitionError::Fs(_) => Failure::Error(e.to_string()),
            _ => Failure::Invalid(e.to_string()),
        }
    }
}

impl From<score_fly_core::ops::Error> for Failure {
    fn from(e: score_fly_core::ops::Error) -> Self {
        use score_fly_core::ops::{Error, ErrorKind};
        match e {
            Error::InvalidScore(errors) => Failure::InvalidScore(errors),
            Error::Unconvertible(problems) => Failure::Unconvertible(problems),
            Error::OutOfDate(lines) => Failure::OutOfDate(lines),
            Error::Unavailable(lines) => Failure::Unavailable(lines.join("\n")),
            Error::Build(e) => Failure::from(e),
            other => match other.kind() {
                ErrorKind::Invalid => Failure::Invalid(other.to_string()),
                ErrorKind::Unavailable => Failure::Unavailable(other.to_string()),
                ErrorKind::Failed | ErrorKind::OutOfDate => Failure::Error(other.to_string()),
            },
        }
    }
}

impl From<score_fly_core::ops::build::BuildError> for Failure {
    fn from(e: score_fly_core::ops::build::BuildError) -> Self {
        match e.kind() {
            ErrorKind::Invalid => Failure::Invalid(e.to_string()),
            ErrorKind::Unavailable => Failure::Unavailable(e.to_string()),
            ErrorKind::OutOfDate => Failure::OutOfDate(vec![e.to_string()]),
            ErrorKind::Failed => Failure::Error(e.to_string()),
        }
    }
}
