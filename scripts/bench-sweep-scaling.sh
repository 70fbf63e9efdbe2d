#!/usr/bin/env bash
# Measures how a seed sweep scales from 1 to 2 threads: best of N wall-clock times of the same
# sweep with --jobs 1 and --jobs 2 (best-of-N, because other work on a shared machine only ever
# makes a run slower). Prints both times and the speed-up.
#
#   scripts/bench-sweep-scaling.sh [SEEDS] [REPEATS] [SCENARIO...]
#
# Defaults: seeds 0..300, 5 repeats, the two register scenarios. Builds the release binary first.
set -euo pipefail
cd "$(dirname "$0")/.."
seeds="${1:-0..300}"
repeats="${2:-5}"
shift $(( $# > 2 ? 2 : $# )) || true
scenarios=("$@")
if [[ ${#scenarios[@]} -eq 0 ]]; then
    scenarios=(scenarios/register-steady.toml scenarios/register-crash.toml)
fi
cargo build --release -q
bin="${CARGO_TARGET_DIR:-target}/release/faultline"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# One timed sweep; prints its wall-clock seconds.
timed() {
    local jobs="$1" start end
    start=$(date +%s.%N)
    "$bin" sweep "${scenarios[@]}" --seeds "$seeds" --jobs "$jobs" --out "$out/j$jobs" >/dev/null || [[ $? -eq 1 ]]
    end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}
min() { awk -v t="$1" -v b="$2" 'BEGIN { print (b == "" || t < b) ? t : b }'; }

# Interleave the two settings, so a slow spell of a shared or virtual machine hits both alike.
t1="" t2=""
for _ in $(seq "$repeats"); do
    t1=$(min "$(timed 1)" "$t1")
    t2=$(min "$(timed 2)" "$t2")
done

printf 'seeds %s over %s scenario(s), best of %s: --jobs 1 %.3fs, --jobs 2 %.3fs, speed-up %.2fx\n' \
    "$seeds" "${#scenarios[@]}" "$repeats" "$t1" "$t2" "$(awk -v a="$t1" -v b="$t2" 'BEGIN { print a / b }')"
cmp -s "$out/j1/results.csv" "$out/j2/results.csv" && echo "results.csv identical for --jobs 1 and 2"
