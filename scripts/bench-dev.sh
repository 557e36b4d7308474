#!/usr/bin/env bash
# Issue 14's benchmark: time from `cargo score-fly dev` to the first HTTP 200 of
# examples/todo (a standalone copy), its PostgreSQL started by the local provisioner and its
# migration (release command) run first, against the service's own start time (the same todo
# binary started alone against that already-running PostgreSQL).
#   cold: the first run (initdb of the data folder; todo already compiled);
#   warm: the next runs (data folder there, binary fresh: cargo only checks);
#   watch: under `dev --watch`, from a change of src/main.rs to the new process's first 200
#          (cargo's rebuild of todo included).
# Usage: scripts/bench-dev.sh [RUNS]   (needs PostgreSQL: scripts/install-packages.sh)
set -euo pipefail
runs=${1:-5}
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
chmod 755 "$work"   # as root the server runs as `postgres`, which must enter the project
dev_pid=
trap 'kill -INT "$dev_pid" 2>/dev/null || true; sleep 1; rm -rf "$work"' EXIT
cargo build -q -p cargo-score-fly -p score-fly-tests --bins --manifest-path "$repo/Cargo.toml"
bin="$repo/target/debug/cargo-score-fly"
target="${CARGO_TARGET_DIR_BENCH:-$repo/target/tests/score-fly-build}"  # shared with the tests that build todo
"$repo/target/debug/score-fly-demo" --write-todo "$work/todo"
(cd "$work/todo" && cargo build -q --target-dir "$target")  # todo compiled before any timing
ms() { date +%s%3N; }
wait_200() { until curl -sf -o /dev/null "http://127.0.0.1:$1/healthz"; do sleep 0.01; done; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=8080
for i in $(seq 0 "$runs"); do
  start=$(ms)
  (cd "$work/todo" && exec "$bin" dev --target-dir "$target" 2>"$work/dev.err") & dev_pid=$!
  until port=$(grep -o 'http://localhost:[0-9]*' "$work/dev.err" 2>/dev/null | head -1 | cut -d: -f3) && [ -n "$port" ]; do
    kill -0 "$dev_pid" 2>/dev/null || { cat "$work/dev.err"; exit 1; }
    sleep 0.01
  done
  wait_200 "$port"; dev=$(( $(ms) - start ))
  # The service alone, against the PostgreSQL dev started (its URL from the dev state).
  url=$(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(s["resources"]["postgres.default#todo.db"]["secrets"]["uri"])' "$work/todo/.score-fly/dev/state.json")
  alone_port=$(free_port)
  start=$(ms)
  DATABASE_URL=$url PORT=$alone_port "$target/debug/todo" 2>/dev/null & svc=$!
  wait_200 "$alone_port"; alone=$(( $(ms) - start ))
  kill "$svc"; wait "$svc" 2>/dev/null || true
  kill -INT "$dev_pid"; wait "$dev_pid" || true
  if [ "$i" -eq 0 ]; then kind=cold; else kind="warm $i"; fi
  echo "$kind: dev → first 200: ${dev} ms; todo alone: ${alone} ms; dev adds $(( dev - alone )) ms"
done
# --watch: a source change → rebuild → the new process serves.
(cd "$work/todo" && exec "$bin" dev --watch --target-dir "$target" 2>"$work/watch.err") & dev_pid=$!
until grep -q 'Running `todo`' "$work/watch.err" 2>/dev/null; do sleep 0.05; done
port=$(grep -o 'http://localhost:[0-9]*' "$work/watch.err" | head -1 | cut -d: -f3)
wait_200 "$port"
for i in $(seq "$runs"); do
  before=$(grep -c 'Running `todo`' "$work/watch.err")
  start=$(ms)
  echo "// bench-dev watch $i" >> "$work/todo/src/main.rs"
  until [ "$(grep -c 'Running `todo`' "$work/watch.err")" -gt "$before" ]; do sleep 0.01; done
  wait_200 "$port"; echo "watch $i: change → new process's first 200: $(( $(ms) - start )) ms"
done
kill -INT "$dev_pid"; wait "$dev_pid" || true
