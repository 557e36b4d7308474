//! Test doubles and shared helpers for score-fly's end-to-end tests.
//!
//! Everything here is written from Fly.io's own documentation and flyctl's behaviour
//! (`../shared/reference/fly.md`), never from score-fly's product code, so a mistake in the
//! product cannot be mirrored by its checker.
//!
//! - [`flytoml`]: an independent, strict `fly.toml` checker (unknown keys, types, machine
//!   sizes, handlers, check durations...). Every `fly.toml` a test produces goes through it,
//!   and the fake flyctl will use it to reject what Fly would reject.
//! - [`fake_fly`]: a fake Fly.io backend (Machines API and the services flyctl uses) on
//!   loopback HTTP, with inspection helpers and fault injection.
//! - [`fake_flyctl`]: the fake `flyctl` (binary `fake-flyctl`) that talks to it, with
//!   flyctl's argument strictness and an invocation log.
//! - [`postgres`]: a real, throwaway Postgres server for a test.
//! - [`shared_dir`]: where the read-only reference material (`../shared/`) lives.

pub mod fake_fly;
pub mod fake_flyctl;
pub mod flytoml;
pub mod postgres;

use std::path::PathBuf;

/// The workspace root (the folder holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent folder").to_path_buf()
}

/// The read-only reference folder `../shared/` beside the checkout, if present.
///
/// `SCORE_FLY_SHARED_DIR` overrides the location.
pub fn shared_dir() -> Option<PathBuf> {
    let dir =
        std::env::var_os("SCORE_FLY_SHARED_DIR").map_or_else(|| workspace_root().join("../shared"), PathBuf::from);
    dir.is_dir().then_some(dir)
}
