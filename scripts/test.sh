#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine of this kind (Debian 12, Rust stable):
# installs the system packages the tests need (scripts/install-packages.sh), checks
# formatting and lints, then runs every test, doc test and benchmark-as-test.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-packages.sh

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The fuzz targets (fuzz/, run by scripts/fuzz.sh on nightly) are not run here, but they must
# keep compiling against the library they fuzz.
cargo check --manifest-path fuzz/Cargo.toml --all-targets --locked
cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked
