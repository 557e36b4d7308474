//! One module per command, each with one entry function `run`.

pub mod generate;

use crate::exit;

/// Why a command failed. Rendering is the printer's job; this only carries the facts.
#[derive(Debug)]
pub enum Failure {
    /// Invalid Score files (all of them, every problem).
    InvalidScore(Vec<score_fly_core::spec::LoadError>),
    /// Workloads Fly cannot run as written, with the loaded files to point into.
    Unconvertible(Vec<(score_fly_core::fly::ConvertError, Option<score_fly_core::spec::Loaded>)>),
    /// Other invalid input (a clear one-line message).
    Invalid(String),
    /// Something failed that is not the input's fault.
    Error(String),
}

impl Failure {
    /// The exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Failure::InvalidScore(_) | Failure::Unconvertible(_) | Failure::Invalid(_) => exit::INVALID_INPUT,
            Failure::Error(_) => exit::FAILURE,
        }
    }
}
