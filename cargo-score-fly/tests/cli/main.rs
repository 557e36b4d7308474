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
//! - [`cargo`]: the binary run by cargo itself as `cargo score-fly`;
//! - [`init`]: `init`, its state file, `.gitignore`, sample and fixed app prefix;
//! - [`provisioners`]: `provisioners add/list/remove`, provisioner files and their errors;
//! - [`resources`]: `generate` with real provisioners (outputs, reuse, additivity) and the
//!   `resources` commands;
//! - [`secrets`]: `--secrets-file` read back as flyctl reads it, and a scan for leaked secrets;
//! - [`settings`]: issue 12's settings resolved once (`FLY_REGISTRY_HOST` in what `deploy`
//!   builds and deploys, the `org` setting over `FLY_ORG`);
//! - [`state`]: a corrupt or unknown state, and bad provisioner answers, keep the previous state;
//! - [`dev`]: `cargo score-fly dev` on a copy of `examples/hello`: local resources, resolved
//!   variables over HTTP, files, SIGINT and the process group, both targets listed, `--watch`;
//! - [`crash`]: `generate` killed at random moments leaves a consistent project;
//! - [`concurrency`]: two runs on one project and the lock between them;
//! - [`cargo_packages`]: cargo mode (no Score file, inside a package): `score.yaml` beside
//!   `Cargo.toml`, `#[score_workload]` (inline, `file = ...`, bare), the two disagreeing, `-o`,
//!   invalid attributes located in the source, and `cargo score-fly` in a package;
//! - [`cargo_selection`]: `-p`, `--workspace`, `--bin`, the package of the current folder, and
//!   the errors listing candidates, members and binaries;
//! - [`cargo_settings`]: `[workspace|package.metadata.score-fly]`, flags over them, and
//!   invalid settings;
//! - [`regions`]: issue 13's regions: `--region`, the `region` settings and the
//!   `primary-region` annotation checked against Fly's list (deprecated codes replaced with a
//!   warning, unknown ones refused with the nearest codes);
//! - [`check`]: `generate --check` (fly.toml and resources out of date, nothing written or
//!   provisioned) and its JSON summary;
//! - [`summary`]: `generate --format json`;
//! - [`newcomer_project`]: issue 11 on a package shaped like a real service: `generate
//!   --check` with an `environment` resource, the app prefix (proposed, changeable until
//!   something exists on Fly), `generate` without `init`, `init` in a package and `--macro`,
//!   the header of a fly.toml from `#[score_workload]`;
//! - [`examples`]: `examples/hello` and `examples/todo`, their fly.toml snapshot-tested;
//! - [`readme`]: every `cargo score-fly` line of the README (the CI workflow too) parses;
//! - [`help`]: every command's `--help`/`-h` free of Markdown artefacts, and the examples
//!   ending each long help parse and run that command;
//! - [`completions`]: `completions bash|zsh|fish`, and bash completing `cargo score-fly ...`;
//! - [`hostile`]: issue 10's classes of hostile input, each run as a probe under a memory
//!   limit and a timeout (bounds, numbers, paths, secrets, identity, fuzz regressions);
//! - [`newcomer`]: issue 11's walkthrough: a native-tls Postgres service from `init` to a
//!   pushed image and a checked `fly.toml`, in the order a newcomer takes;
//! - [`newcomer_macro`]: issue 11's macro dependency line (it resolves and builds; what the
//!   macro pulls) and static secrets (`--static-secrets-file`, the plain-text warning);
//! - [`image`]: `build` of `examples/hello`'s image against real registries (`docker-registry`,
//!   `skopeo`, `umoci`): pushed, pulled back, unpacked and run; uploads, reproducibility,
//!   registry faults, the glibc check, `--output-oci` and `--builder dockerfile`;
//! - [`newcomer_image`]: issue 11's image points: every shared library checked against the
//!   base, `--output-oci` into existing layouts, offline (`oci:`) bases checked before the
//!   build, reused pins announced, `build-env`.
//!
//! Shared helpers live in [`support`]; those for provisioners and the state in [`fixtures`];
//! fixture cargo packages and workspaces (never compiled) in [`cargo_fixtures`].

mod cargo;
mod cargo_fixtures;
mod cargo_packages;
mod cargo_selection;
mod cargo_settings;
mod check;
mod colors;
mod completions;
mod concurrency;
mod crash;
mod dev;
mod errors;
mod examples;
mod fixtures;
mod generate;
mod help;
mod hostile;
mod image;
mod init;
mod newcomer;
mod newcomer_image;
mod newcomer_macro;
mod newcomer_project;
mod overrides;
mod patches;
mod provisioners;
mod readme;
mod regions;
mod resources;
mod secrets;
mod settings;
mod state;
mod summary;
mod support;
