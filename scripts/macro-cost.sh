#!/usr/bin/env bash
# What `score-fly-macros` adds to a service's build: crates in its dependency graph and the
# time of a clean `cargo build`, for a service with `#[score_workload]` and the same service
# without it. Two services are measured: a std-only `fn main` (everything the macro needs is
# extra) and an axum + tokio one (serde, syn and friends are already there).
#
#   scripts/macro-cost.sh [SCORE_FLY_CHECKOUT] [SCRATCH_DIR]
#
# SCORE_FLY_CHECKOUT defaults to this repository; SCRATCH_DIR to a fresh folder under /tmp.
# Each service gets its own target folder, so nothing is shared between builds. The lock file
# is the checkout's (same versions as the workspace); cargo runs --offline, from the local
# registry cache. RUNS=N clean builds per service (default 3); the median is reported.
# The figures depend on the machine and on what else runs on it: compare rows of one run.
set -euo pipefail

checkout=$(cd "${1:-$(dirname "$0")/..}" && pwd)
scratch=${2:-$(mktemp -d /tmp/score-fly-macro-cost.XXXXXX)}
runs=${RUNS:-3}
mkdir -p "$scratch"

write_service() { # name kind(std|axum) with_macro(yes|no)
    local dir=$scratch/$1 kind=$2 with=$3
    rm -rf "$dir"
    mkdir -p "$dir/src"
    {
        printf '[package]\nname = "%s"\nversion = "0.1.0"\nedition = "2024"\npublish = false\n\n' "$1"
        printf '[workspace]\n\n[dependencies]\n'
        if [ "$with" = yes ]; then
            printf 'score-fly-macros = { path = "%s/score-fly-macros" }\n' "$checkout"
        fi
        if [ "$kind" = axum ]; then
            printf 'axum = { version = "0.8", default-features = false, features = ["http1", "json", "tokio"] }\n'
            printf 'serde = { version = "1", features = ["derive"] }\n'
            printf 'tokio = { version = "1", features = ["macros", "rt-multi-thread"] }\n'
        fi
    } >"$dir/Cargo.toml"
    local attr=''
    if [ "$with" = yes ]; then
        attr='#[score_fly_macros::score_workload(name = "svc", variables(PORT = "8080"), port(web, port = 443, target_port = 8080), resource(db, type = "postgres"))]'
    fi
    if [ "$kind" = axum ]; then
        cat >"$dir/src/main.rs" <<EOF
use axum::{Json, Router, routing::get};

#[derive(serde::Serialize)]
struct Health { ok: bool }

$attr
#[tokio::main]
async fn main() {
    let app = Router::new().route("/healthz", get(|| async { Json(Health { ok: true }) }));
    let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await.unwrap();
    axum::serve(listener, app).await.unwrap();
}
EOF
    else
        cat >"$dir/src/main.rs" <<EOF
$attr
fn main() {
    println!("hello");
}
EOF
    fi
    cp "$checkout/Cargo.lock" "$dir/Cargo.lock"
}

measure() { # name
    local dir=$scratch/$1 crates units times=() t
    crates=$(cd "$dir" && cargo tree --offline -e normal,build --prefix none | sed 's/ (\*)$//' | sort -u | wc -l)
    for _ in $(seq "$runs"); do
        rm -rf "$dir/target"
        local start end
        start=$(date +%s.%N)
        (cd "$dir" && cargo build --offline --target-dir "$dir/target" 2>"$dir/build.log")
        end=$(date +%s.%N)
        times+=("$(echo "$end - $start" | bc)")
    done
    units=$(grep -c '^ *Compiling ' "$dir/build.log")
    t=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
    printf '%-12s crates %3d  compiled %3d  clean build %6.1f s  (runs: %s)\n' \
        "$1" "$crates" "$units" "$t" "$(printf '%.1f ' "${times[@]}")"
}

echo "checkout: $checkout ($(git -C "$checkout" rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "machine: $(nproc) cores, $(uname -m), $(rustc --version), load $(cut -d' ' -f1-3 /proc/loadavg)"
for kind in std axum; do
    write_service "$kind-plain" "$kind" no
    write_service "$kind-macro" "$kind" yes
    measure "$kind-plain"
    measure "$kind-macro"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
