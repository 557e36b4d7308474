#!/usr/bin/env bash
# The main job on the bundled example: `cargo score-fly deploy` of examples/todo, built,
# pushed, provisioned and deployed on this machine against local stand-ins for Fly.io (a
# strict fake Machines API and flyctl, a real PostgreSQL, a real OCI registry), then the
# deployed image pulled back and run against the provisioned database.
# Usage: ./scripts/demo.sh [DIR]   (the project copy goes to DIR/todo; default target/score-fly-demo)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-packages.sh
cargo build -q --locked -p score-fly-tests --bins
cargo run -q --locked -p score-fly-tests --bin score-fly-demo -- "$@"
