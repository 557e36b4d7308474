#!/usr/bin/env bash
# Runs each cargo-fuzz target (fuzz/) for a bounded time, under a memory limit and with a
# bounded input size, and prints the executions and the crashes found per target.
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]
#
#   SECONDS   time per target (default 60)
#   TARGET    some of: yaml_load yaml_shapes placeholder overrides attr secrets_import patch shell_words
#             (default: all, one after the other)
#
# Environment:
#   FUZZ_RSS_MB    memory limit of the fuzzed process, MiB (default 1024: issue 10's bound)
#   FUZZ_OPTIONS   more libFuzzer options, e.g. `-len_control=0` (long inputs from the start)
#   SCORE_FLY_SHARED_DIR  the shared folder whose score/samples and score/examples seed the YAML
#                  targets (default: ../shared beside the repository, else /work/shared;
#                  skipped when absent)
#
# Not run by CI (it needs nightly and takes minutes); CI runs the regression tests made
# from what it found (cargo-score-fly/tests/cli/hostile/fuzz_regressions.rs). Inputs that
# crash are kept in fuzz/artifacts/<target>/ (crash-*, oom-*, timeout-*, slow-unit-*);
# replay one with `cargo +nightly fuzz run -s none <target> <file>`. The corpus grows in
# fuzz/corpus/<target>/. Both are git-ignored: a crash becomes a test, not a file.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

seconds=${1:-60}
[[ $# -gt 0 ]] && shift
all=(yaml_load yaml_shapes placeholder overrides attr secrets_import patch shell_words)
targets=("$@")
[[ ${#targets[@]} -eq 0 ]] && targets=("${all[@]}")
rss_mb=${FUZZ_RSS_MB:-1024}
if [[ ! $seconds =~ ^[0-9]+$ ]] || ((seconds < 1)); then
    echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]  (SECONDS: a whole number of seconds)" >&2
    exit 2
fi
for t in "${targets[@]}"; do
    [[ " ${all[*]} " == *" $t "* ]] || { echo "unknown target \`$t\`; targets: ${all[*]}" >&2; exit 2; }
done

# Bytes of one input, per target: Score files are a few KiB, but the shapes that once broke
# the loader (a deep tree of `- `, many keys) need room; the rest are one line or a few.
max_len() {
    case $1 in
        yaml_load) echo 65536 ;;
        overrides | attr | secrets_import | patch | shell_words) echo 4096 ;;
        yaml_shapes) echo 64 ;; # a shape and its sizes, not text
        placeholder) echo 1024 ;;
    esac
}

# libFuzzer options of a target beyond the common ones: a dictionary of YAML tokens.
extra_options() {
    case $1 in
        yaml_load | overrides) echo "-dict=yaml.dict" ;;
    esac
}

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "cargo fuzz needs a nightly toolchain: rustup toolchain install nightly" >&2
    exit 2
fi
if ! command -v cargo-fuzz >/dev/null; then
    echo "installing cargo-fuzz (crates.io)..." >&2
    cargo install cargo-fuzz --locked
fi

shared=${SCORE_FLY_SHARED_DIR:-}
if [[ -z $shared ]]; then
    for candidate in "$repo/../shared" /work/shared; do
        [[ -d $candidate/score ]] && { shared=$candidate; break; }
    done
fi

# Seeds are made afresh in fuzz/seeds/ (git-ignored) from files of the repository and the
# shared folder, read where they are; nothing is copied into tracked files.
seed() {
    local target=$1 dir=fuzz/seeds/$1 n=0
    rm -rf "$dir"
    mkdir -p "$dir"
    add() { # add FILE...: each file one seed
        local f
        for f in "$@"; do
            [[ -f $f ]] || continue
            n=$((n + 1))
            cp "$f" "$dir/$(printf '%04d' "$n")-$(basename "$f")"
        done
    }
    text() { # text STRING: one seed
        n=$((n + 1))
        printf '%s' "$1" >"$dir/$(printf '%04d' "$n")-text"
    }
    local score_files=(tests/corpus/score/valid/*.yaml tests/corpus/score/invalid/*.yaml examples/*/score.yaml)
    if [[ -n $shared ]]; then
        score_files+=("$shared"/score/samples/*.yaml)
        while IFS= read -r -d '' f; do score_files+=("$f"); done < <(find "$shared/score/examples" -name '*.yaml' -print0)
    fi
    case $target in
        yaml_load) add "${score_files[@]}" ;;
        placeholder)
            text 'postgres://${resources.db.user}:${resources.db.password}@${resources.db.host}:${resources.db.port}'
            text '$${literal} $$ $x ${metadata.annotations.example\.com/key} ${metadata.list.1.k.0}'
            text '${resources.db} ${resources.db.nested.a\.b.0} ${} ${env.HOME} ${unterminated'
            # Every line of the Score files that holds a placeholder.
            while IFS= read -r line; do text "$line"; done < <(grep -h '\$' "${score_files[@]}" 2>/dev/null | head -n 200)
            ;;
        overrides)
            text $'containers.main.image=nginx\nmetadata.annotations.a=b'
            text $'resources.db.params.size=2\nresources.db=\ncontainers.main.variables.X={"a": [1, 2]}'
            text $'service.ports.web.port=8443\ncontainers.main.files./etc/app\\.conf.mode=0600'
            text $'metadata.name=other\n---\ncontainers:\n  main:\n    args: null\nresources:\n  cache: {type: redis}\n'
            text $'containers.sidecar={"image": "busybox", "command": ["sh"]}\ncontainers.main.resources.limits.memory=1Gi'
            ;;
        attr)
            add examples/*/src/main.rs score-fly-macros/tests/ui/pass/*.rs score-fly-macros/tests/ui/fail/*.rs
            text 'name = "web", port(name = "web", port = 443, target_port = 8080), resource(name = "db", type = "postgres")'
            text 'file = "score.yaml"'
            ;;
        patch)
            text $'swap_size_mb = 512\n\n[[statics]]\nguest_path = "/app/public"\nurl_prefix = "/static"\n'
            text $'[deploy]\nrelease_command = "migrate"\nrelease_command_timeout = "10m"\n\n[http_service]\nauto_stop_machines = "stop"\n'
            text $'app = "other"\n[env]\nDATABASE_URL = "x"\nPORT = {}\n[build]\nimage = "x"\n'
            text $'[processes]\nweb = "serve"\nworker = "work"\n[[metrics]]\nport = 9091\npath = "/metrics"\n'
            ;;
        shell_words)
            text 'migrate'
            text $'sh -c \'echo "a b"\' "x y" z\\ w'
            ;;
        yaml_shapes | secrets_import) ;; # structured input (arbitrary): libFuzzer starts from nothing
    esac
    echo "$n"
}

echo "building the fuzz targets (nightly, release with debug assertions)..." >&2
(cd fuzz && cargo +nightly fuzz build -s none)

declare -A execs crashes seeds
for t in "${targets[@]}"; do
    seeds[$t]=$(seed "$t")
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    before=$(find "fuzz/artifacts/$t" -type f | wc -l)
    log="fuzz/artifacts/$t.log"
    echo "fuzzing $t for ${seconds}s (${seeds[$t]} seeds, max ${rss_mb} MiB, inputs up to $(max_len "$t") bytes)..." >&2
    # -fork=1 with -ignore_*: a crash (or out-of-memory, or timeout) is saved and the run
    # goes on, so one known crash does not hide the others. libFuzzer's timeout handler can
    # deadlock in a child that was interrupted inside malloc (seen with yaml_shapes), which
    # stalls the whole run: `timeout` bounds it anyway (the counts so far are still read).
    set +e
    (cd fuzz && timeout --kill-after=10 $((seconds + 60)) cargo +nightly fuzz run -s none "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -malloc_limit_mb="$rss_mb" \
        -max_len="$(max_len "$t")" -timeout=10 -fork=1 -ignore_crashes=1 -ignore_ooms=1 \
        -ignore_timeouts=1 -artifact_prefix="artifacts/$t/" -print_final_stats=1 $(extra_options "$t") ${FUZZ_OPTIONS:-}) >"$log" 2>&1
    set -e
    # Fork mode reports `#<executions>: cov: ... oom/timeout/crash: a/b/c ...` lines.
    last=$(grep -E '^#[0-9]+: ' "$log" | tail -n 1 || true)
    execs[$t]=$(sed -E 's/^#([0-9]+):.*/\1/' <<<"$last")
    [[ -z ${execs[$t]} ]] && execs[$t]=$(grep -oE 'stat::number_of_executed_units: [0-9]+' "$log" | awk '{s += $2} END {print s + 0}')
    kinds=$(grep -oE 'oom/timeout/crash: [0-9]+/[0-9]+/[0-9]+' <<<"$last" | awk '{print $2}')
    after=$(find "fuzz/artifacts/$t" -type f | wc -l)
    crashes[$t]="$((after - before)) new input(s) saved (oom/timeout/crash: ${kinds:-0/0/0})"
done

echo
printf '%-16s %14s  %s\n' target executions crashes
for t in "${targets[@]}"; do
    printf '%-16s %14s  %s\n' "$t" "${execs[$t]:-?}" "${crashes[$t]}"
done
echo "(logs: fuzz/artifacts/<target>.log; inputs: fuzz/artifacts/<target>/)"
