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
//! - [`registry`]: real OCI registries (`docker-registry` on loopback), base images made with
//!   `umoci` and pushed with `skopeo`, images read back and unpacked, and binaries run from an
//!   unpacked image with its own loader.
//! - [`todo`]: `examples/todo` as a standalone project that compiles.
//! - [`shared_target_dir`] and [`build_lock`]: the cargo target folder the tests that build a
//!   service (`build`, `deploy` without `--image`) share.
//! - [`free_port`]: the one place tests choose a loopback port for a server they start.
//! - [`shared_dir`]: where the read-only reference material (`../shared/`) lives, and
//!   [`shared_or_skip`]: what a test that needs it does when it is missing (skip with a note on
//!   a developer's machine, fail in CI).

pub mod fake_fly;
pub mod fake_flyctl;
pub mod flytoml;
pub mod postgres;
pub mod registry;
pub mod todo;

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The ports [`free_port`] chooses from: below Linux's ephemeral range (32768–60999), so the
/// kernel never hands one of them to an outgoing connection (a psql client, an HTTP request)
/// between the moment a test chooses it and the moment its server binds it. That race is what
/// port 0 ("the kernel's choice, then released") loses now and then on a busy machine.
const PORTS: std::ops::Range<u32> = 20_000..32_000;

/// A loopback port nothing listens on right now, for a server a test starts (Postgres, the
/// registry, the demo's service). Each call of a process gets another port (a counter that
/// starts at a place drawn from the process id, so concurrent test binaries start apart), and a
/// port something already holds is skipped. A server that still finds its port taken (another
/// process bound it meanwhile) should choose again: the registry and Postgres helpers do.
pub fn free_port() -> u16 {
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let span = PORTS.end - PORTS.start;
    let _ = NEXT.compare_exchange(
        u32::MAX,
        std::process::id().wrapping_mul(7919) % span,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    for _ in 0..span {
        let offset = NEXT.fetch_add(1, Ordering::SeqCst) % span;
        let port = u16::try_from(PORTS.start + offset).expect("the range is below 65536");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {}..{}", PORTS.start, PORTS.end)
}

/// The workspace root (the folder holding the top-level `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ has a parent folder").to_path_buf()
}

/// The processes whose process group is `pgid` (read from `/proc`): what a test checks is
/// empty after a service and everything it started were stopped.
pub fn process_group_members(pgid: i32) -> Vec<i32> {
    let mut members = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // pid (comm) state ppid pgrp ...: comm may hold spaces; split after the last ')'.
        let fields: Vec<&str> = stat.rsplit_once(')').map(|(_, r)| r.split_whitespace().collect()).unwrap_or_default();
        if fields.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(pgid) {
            members.push(pid);
        }
    }
    members
}

/// The read-only reference folder `../shared/` beside the checkout, if present.
///
/// `SCORE_FLY_SHARED_DIR` overrides the location.
pub fn shared_dir() -> Option<PathBuf> {
    let dir =
        std::env::var_os("SCORE_FLY_SHARED_DIR").map_or_else(|| workspace_root().join("../shared"), PathBuf::from);
    dir.is_dir().then_some(dir)
}

/// What a test that needs the shared reference folder does: use it, skip (a developer's
/// machine without it), or fail (CI without it: CI never goes green on fewer tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SharedDir {
    /// The folder is there.
    Present(PathBuf),
    /// It is missing on a developer's machine: the test says so and checks nothing.
    Skip,
    /// It is missing in CI: the test fails.
    Fail,
}

/// Whether the environment variable `CI` says this is a CI run: set to anything but the
/// empty string, `0` or `false` (GitHub Actions, GitLab and most others set `CI=true`).
pub fn is_ci(value: Option<&std::ffi::OsStr>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// The rule: the folder if present; when missing, skip on a developer's machine, fail in CI.
pub fn shared_dir_rule(dir: Option<PathBuf>, ci: bool) -> SharedDir {
    match (dir, ci) {
        (Some(dir), _) => SharedDir::Present(dir),
        (None, false) => SharedDir::Skip,
        (None, true) => SharedDir::Fail,
    }
}

/// [`shared_dir`] for a test that needs it for `what` (e.g. "the official Score samples"):
/// `None`, with a note on stderr, when it is missing on a developer's machine; a panic when it
/// is missing and `CI` is set.
pub fn shared_or_skip(what: &str) -> Option<PathBuf> {
    match shared_dir_rule(shared_dir(), is_ci(std::env::var_os("CI").as_deref())) {
        SharedDir::Present(dir) => Some(dir),
        SharedDir::Skip => {
            eprintln!(
                "note: {what} is not checked: the shared reference folder (../shared, or SCORE_FLY_SHARED_DIR) is missing"
            );
            None
        }
        SharedDir::Fail => panic!(
            "{what} needs the shared reference folder (../shared, or SCORE_FLY_SHARED_DIR), missing; CI is set, so this fails instead of skipping"
        ),
    }
}

/// The cargo target folder every test that builds a service (a standalone copy of
/// `examples/hello` or `examples/todo`) passes to the product: `<target>/tests/score-fly-build`,
/// beside the calling test binary's own target folder (`<target>/<profile>/deps/<test>`).
///
/// Not the workspace's own `<target>/debug`: a standalone package resolves its dependencies'
/// features alone, not unified with the whole workspace's, so cargo would compile them all
/// again there anyway (under other hashes) and would overwrite the workspace's uplifted
/// binaries (`<target>/debug/todo`). Shared by every such test, of every test binary, so the
/// dependencies compile once per folder and profile; cargo's own lock serialises builds of
/// different processes, [`build_lock`] those of one process.
pub fn shared_target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let target = exe.ancestors().nth(3).expect("the test binary is in <target>/<profile>/deps");
    target.join("tests").join("score-fly-build")
}

/// Held while a test builds in [`shared_target_dir`] (or reads a binary a build writes
/// there): builds of one test process never overlap, and a binary is never read mid-build.
/// A panicking holder does not poison it for the others.
pub fn build_lock() -> MutexGuard<'static, ()> {
    static BUILD: Mutex<()> = Mutex::new(());
    BUILD.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::path::PathBuf;

    use super::{SharedDir, is_ci, shared_dir_rule};

    #[test]
    fn a_missing_shared_folder_skips_on_a_developer_machine_and_fails_in_ci() {
        let dir = PathBuf::from("/somewhere/shared");
        assert_eq!(shared_dir_rule(Some(dir.clone()), false), SharedDir::Present(dir.clone()));
        assert_eq!(shared_dir_rule(Some(dir.clone()), true), SharedDir::Present(dir));
        assert_eq!(shared_dir_rule(None, false), SharedDir::Skip);
        assert_eq!(shared_dir_rule(None, true), SharedDir::Fail);
    }

    #[test]
    fn ci_is_any_value_but_empty_zero_or_false() {
        for value in ["true", "1", "yes", "github"] {
            assert!(is_ci(Some(OsStr::new(value))), "CI={value}");
        }
        for value in ["", "0", "false", "FALSE"] {
            assert!(!is_ci(Some(OsStr::new(value))), "CI={value}");
        }
        assert!(!is_ci(None));
    }
}
