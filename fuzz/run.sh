#!/usr/bin/env bash
# Run one fuzz target with the project's settings: `fuzz/run.sh TARGET [SECONDS]` (default 600).
# Seeds come from fuzz/corpus/TARGET (build them with fuzz/seed-corpus.sh); new inputs are added there,
# crashes, timeouts and OOMs land in fuzz/artifacts/TARGET; `scan` and `summary` use the dictionary
# snapshot.dict. Never panic, never take 10 s on one input, never go over 2 GiB of RSS. One rayon thread:
# small inputs gain nothing from more, and it keeps the machine free.
set -euo pipefail
cd "$(dirname "$0")"
target=${1:?usage: fuzz/run.sh TARGET [SECONDS]}
secs=${2:-600}
dict=()
case "$target" in
    scan | summary) max_len=65536 dict=(-dict=snapshot.dict) ;;
    numbers) max_len=4096 ;;
    strings | summary_structured) max_len=8192 ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
esac
mkdir -p "corpus/$target"
export RAYON_NUM_THREADS=${RAYON_NUM_THREADS:-1}
exec cargo +nightly fuzz run "$target" "corpus/$target" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -max_len="$max_len" -print_final_stats=1 "${dict[@]}"
