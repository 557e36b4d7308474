#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine of this kind (Debian 12, Rust stable):
# installs the system packages the tests need (PostgreSQL for examples/todo), checks
# formatting and lints, then runs every test, doc test and benchmark-as-test.
set -euo pipefail
cd "$(dirname "$0")/.."

# System packages the tests use. Each later feature adds its servers here
# (PostgreSQL, docker-registry, skopeo, umoci...).
packages=(postgresql docker-registry skopeo umoci apache2-utils)
missing=()
for p in "${packages[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --all-targets --locked
cargo test --workspace --doc --locked
