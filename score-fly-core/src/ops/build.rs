//! Building a package's container image without Docker (cargo, then the image assembled
//! on a base and written to an OCI layout and/or pushed), or writing a Dockerfile for Fly's
//! remote builder.

use super::ErrorKind;

/// One step of a build.
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildEvent<'a> {
    /// A line for the verbose log.
    Note(&'a str),
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Another reason.
    #[error("{0}")]
    Other(String),
}

impl BuildError {
    /// How a front end should treat it.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Failed
    }
}
