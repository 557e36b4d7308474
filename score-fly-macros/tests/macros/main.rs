//! The tests of `#[score_workload]`, one test binary:
//!
//! - [`ui`]: trybuild cases that must compile (and agree with the CLI) or fail with exact
//!   errors (`tests/ui/`);
//! - [`library`]: `#[score_workload]` on a library's `main` is a compile error.

mod library;
mod ui;
