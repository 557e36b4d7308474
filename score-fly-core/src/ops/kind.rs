//! How a front end treats a failed operation: the kind every error of `ops` has, below all
//! of them (each operation's own error says its kind, and [`super::Error`] carries them).

/// How a front end should treat an [`Error`](super::Error) (the command line maps each to an exit code).
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
