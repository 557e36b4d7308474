#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine of this kind (Debian 12, Rust stable):
# installs the system packages the tests need (scripts/install-packages.sh), checks
# formatting and lints, then runs every test, doc test and benchmark-as-test.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-packages.sh

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked
