//! Real-process tests of the `cargo-score-fly` binary.
//!
//! Every test runs the built binary (`CARGO_BIN_EXE_cargo-score-fly`) in its own temporary
//! folder with [`std::process::Command`] and checks what a user sees: the exit code (see
//! `src/exit.rs`), stderr (status lines, warnings, errors with source snippets), and the files
//! written. Every `fly.toml` a test produces goes through the independent checker
//! [`score_fly_tests::flytoml::assert_valid`], and every failing run must leave the folder
//! exactly as it was.
//!
//! Modules, by what they exercise:
//!
//! - [`generate`]: the happy paths (default file, several files, `-o`, generated files,
//!   warnings, `-q`, determinism);
//! - [`overrides`]: `--app-prefix`, `--image`, `--override-property`, `--overrides-file`;
//! - [`errors`]: invalid input (exit 3), usage errors (exit 2), write failures (exit 1);
//! - [`colors`]: `--color`, `NO_COLOR`, `CARGO_TERM_COLOR`;
//! - [`cargo`]: the binary run by cargo itself as `cargo score-fly`.
//!
//! Shared helpers live in [`support`].

mod cargo;
mod colors;
mod errors;
mod generate;
mod overrides;
mod support;
