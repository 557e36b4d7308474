//! `cargo-score-fly` as a binary of this crate, so end-to-end tests find it with
//! `env!("CARGO_BIN_EXE_score-fly-e2e")` next to the fake flyctl (a test can only name
//! binaries of its own package).

fn main() -> std::process::ExitCode {
    cargo_score_fly::main()
}
