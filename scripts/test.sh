#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine of this kind (Debian 12, Rust stable):
# installs the system packages the tests need (scripts/install-packages.sh), checks
# formatting and lints, then runs every test, doc test and benchmark-as-test.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-packages.sh

# Builds the tests start themselves (standalone copies of examples/hello and examples/todo,
# compiled by the product with cargo) get file:line tables only, as the workspace's own dev
# profile does (Cargo.toml): a clean runner compiles their dependencies once, and full debug
# info only made that slower. A clean CI runner never reuses incremental data either.
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-line-tables-only}"
if [[ -n "${CI:-}" ]]; then
    export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# The fuzz targets (fuzz/, run by scripts/fuzz.sh on nightly) are not run here, but they must
# keep compiling against the library they fuzz.
cargo check --manifest-path fuzz/Cargo.toml --all-targets --locked
cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked
