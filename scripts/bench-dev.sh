#!/usr/bin/env bash
# Time from `cargo score-fly dev` to the first HTTP 200 of a standalone copy of
# examples/hello, warm (its binary already built in the target folder), against the time the
# service alone takes to answer once started. Usage: scripts/bench-dev.sh [RUNS]
# (no resources: this measures dev's own overhead: cargo's freshness check, state, start).
set -euo pipefail
runs=${1:-5}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'kill "$dev_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
dev_pid=
cargo build -q -p cargo-score-fly --manifest-path "$repo/Cargo.toml"
bin="$repo/target/debug/cargo-score-fly"
target="${CARGO_TARGET_DIR_BENCH:-$repo/target/tests/score-fly-build}"  # shared with the tests that build hello
mkdir -p "$work/src"
cp "$repo/examples/hello/src/main.rs" "$work/src/"
cp "$repo/Cargo.lock" "$work/"
printf '[package]\nname = "hello"\nversion = "0.1.0"\nedition = "2024"\npublish = false\n\n[dependencies]\nscore-fly-macros = { path = "%s/score-fly-macros" }\n\n[workspace]\n' "$repo" > "$work/Cargo.toml"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed "s/8080/$port/g" "$repo/examples/hello/score.yaml" > "$work/score.yaml"
ms() { date +%s%3N; }
wait_200() { until curl -sf -o /dev/null "http://127.0.0.1:$port/healthz"; do sleep 0.01; done; }
(cd "$work" && cargo build -q --target-dir "$target")  # warm
for i in $(seq "$runs"); do
  start=$(ms)
  (cd "$work" && exec "$bin" -q dev --target-dir "$target") & dev_pid=$!
  wait_200; dev=$(( $(ms) - start ))
  kill -INT "$dev_pid"; wait "$dev_pid" || true
  start=$(ms)
  (cd "$work" && PORT=$port exec "$target/debug/hello") & svc=$!
  wait_200; alone=$(( $(ms) - start ))
  kill "$svc"; wait "$svc" 2>/dev/null || true
  echo "run $i: dev → first 200: ${dev} ms; the service alone: ${alone} ms; overhead: $(( dev - alone )) ms"
done
