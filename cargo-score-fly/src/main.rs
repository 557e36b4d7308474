//! `cargo-score-fly`: run as `cargo score-fly <command>` or `cargo-score-fly <command>`.

fn main() -> std::process::ExitCode {
    cargo_score_fly::main()
}
