//! Exit codes (documented in the README).

/// Everything worked.
pub const SUCCESS: u8 = 0;
/// The command failed (I/O, a tool it runs, an unexpected error).
pub const FAILURE: u8 = 1;
/// The command line is wrong (unknown flag, missing value...).
pub const USAGE: u8 = 2;
/// The input is invalid: a Score file, an override, or a workload Fly cannot run.
pub const INVALID_INPUT: u8 = 3;
/// A tool or credential the command needs is missing or refused: flyctl not found, no Fly
/// token, or a token the Fly API refuses (`deploy`, and `deploy --dry-run`, which reports
/// them as blockers).
pub const UNAVAILABLE: u8 = 4;
