//! # score-fly-macros
//!
//! Home of the `#[score_workload(...)]` attribute, which declares a Score workload on a Rust
//! service's `main` and checks it at compile time.
//!
//! **Status: skeleton.** The attribute itself is not implemented yet (it is planned work, see
//! the README's status section), so this crate exports nothing: a service cannot use it by
//! mistake and get a silently ignored workload. It already builds against
//! `score-fly-core` with the engine features off, which is the dependency shape the macro
//! will keep (no reqwest, tokio or OCI code in a service's build).

// Keeps the dependency edge the macro will use: the validator of `score-fly-core`.
use score_fly_core as _;
