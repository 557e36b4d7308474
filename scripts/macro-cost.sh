#!/usr/bin/env bash
# What `score-fly-macros` adds to a service's build: crates in its dependency graph and the
# time of a clean `cargo build`, for a service with `#[score_workload]` and the same service
# without it. Two services are measured: a std-only `fn main` (everything the macro needs is
# extra) and an axum + tokio one (serde, syn and friends are already there).
#
#   scripts/macro-cost.sh [CHECKOUT...]
#
# CHECKOUT: score-fly checkouts to compare (default: this repository), e.g. an export of an
# older commit (`git archive <commit> | tar -x -C /tmp/old`). Runs are interleaved (each
# round builds every service of every checkout once), so a busy machine weighs on all alike.
# Each build has its own fresh target folder; the lock file is the checkout's (the
# workspace's versions); cargo runs --offline from the local registry cache.
# RUNS=N rounds (default 3); SCRATCH=DIR keeps the services there (default: a temp folder).
# Reported per service: crates in `cargo tree -e normal,build` (the service included),
# crates compiled, and the medians of the wall-clock time and of the CPU time (user + sys,
# which other load on the machine disturbs less) of a clean `cargo build` (debug).
set -euo pipefail

checkouts=()
for c in "${@:-$(dirname "$0")/..}"; do checkouts+=("$(cd "$c" && pwd)"); done
scratch=${SCRATCH:-$(mktemp -d /tmp/score-fly-macro-cost.XXXXXX)}
runs=${RUNS:-3}
mkdir -p "$scratch"

write_service() { # dir checkout kind(std|axum) with_macro(yes|no)
    local dir=$1 checkout=$2 kind=$3 with=$4
    rm -rf "$dir"
    mkdir -p "$dir/src"
    {
        printf '[package]\nname = "svc"\nversion = "0.1.0"\nedition = "2024"\npublish = false\n\n'
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

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

services=()
for i in "${!checkouts[@]}"; do
    for kind in std axum; do
        for with in no yes; do
            # Without the macro, the service does not depend on the checkout: measure it once.
            if [ "$with" = no ] && [ "$i" -gt 0 ]; then continue; fi
            name="$kind-$([ "$with" = yes ] && echo macro || echo plain)"
            [ "$with" = yes ] && name="$name@$i"
            write_service "$scratch/$name" "${checkouts[$i]}" "$kind" "$with"
            services+=("$name")
        done
    done
done

echo "machine: $(nproc) cores, $(uname -m), $(rustc --version), load $(cut -d' ' -f1-3 /proc/loadavg)"
for i in "${!checkouts[@]}"; do
    echo "checkout @$i: ${checkouts[$i]} ($(git -C "${checkouts[$i]}" rev-parse --short HEAD 2>/dev/null || echo 'not a git checkout'))"
done
for round in $(seq "$runs"); do
    for name in "${services[@]}"; do
        dir=$scratch/$name
        rm -rf "$dir/target"
        TIMEFORMAT='%R %U %S'
        { time (cd "$dir" && cargo build --offline --target-dir "$dir/target" 2>"$dir/build.log"); } 2>>"$dir/times"
        echo "round $round: $name $(tail -1 "$dir/times")" >&2
    done
done
printf '%-14s %7s %9s %10s %10s\n' service crates compiled "wall (s)" "cpu (s)"
for name in "${services[@]}"; do
    dir=$scratch/$name
    crates=$(cd "$dir" && cargo tree --offline -e normal,build --prefix none | sed 's/ (\*)$//' | sort -u | wc -l)
    compiled=$(grep -c '^ *Compiling ' "$dir/build.log")
    wall=$(awk '{print $1}' "$dir/times" | median)
    cpu=$(awk '{print $2 + $3}' "$dir/times" | median)
    printf '%-14s %7d %9d %10.1f %10.1f\n' "$name" "$crates" "$compiled" "$wall" "$cpu"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
