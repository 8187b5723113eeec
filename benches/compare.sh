#!/usr/bin/env bash
# Peer comparison: heapsnap vs Chrome DevTools' heap-snapshot engine (../shared/oracle) vs memlab, on the same
# snapshot, in one run. Prints wall time, peak RSS and ratios.
#
#   bash benches/compare.sh SNAPSHOT [SNAPSHOT_B]
#
# With SNAPSHOT_B, also times `heapsnap diff SNAPSHOT SNAPSHOT_B`. heapsnap's commands run HEAPSNAP_RUNS times
# (default 3; the median wall time and the largest peak RSS are compared), the peers once. Peers that are not installed are skipped:
# the DevTools engine needs `bash ../shared/oracle/setup.sh`; memlab is installed from npm on first use into
# ${HEAPSNAP_PEERS:-$HOME/.cache/heapsnap-peers}. Make a big snapshot with fixtures/gen/big.js.
set -euo pipefail
cd "$(dirname "$0")/.."
SNAP="${1:?usage: benches/compare.sh SNAPSHOT [SNAPSHOT_B]}"
SNAP_B="${2:-}"
PEERS="${HEAPSNAP_PEERS:-$HOME/.cache/heapsnap-peers}"
# heapsnap's runs take seconds, so each is repeated and the median reported (every run is printed); the
# peers take minutes each and run once.
RUNS="${HEAPSNAP_RUNS:-3}"
ORACLE="../shared/oracle/devtools-oracle.mjs"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

cargo build --release --quiet
BIN="$PWD/target/release/heapsnap"

# measure NAME CMD...: runs CMD under /usr/bin/time, records "NAME wall_s rss_kb".
measure() {
  local name="$1"; shift
  if /usr/bin/time -f "%e %M" -o "$OUT/time" "$@" >"$OUT/stdout" 2>"$OUT/stderr"; then
    read -r wall rss <"$OUT/time"
    echo "$name $wall $rss" >>"$OUT/results"
  else
    echo "$name failed: $(tail -n 3 "$OUT/stderr")" >&2
  fi
}

# measure_runs N NAME CMD...: runs CMD N times (as hyperfine does, for a command short enough to repeat),
# prints every run and records the median wall time and the largest peak RSS as "NAME wall_s rss_kb".
measure_runs() {
  local n="$1" name="$2"; shift 2
  local walls=() rss_max=0
  for _ in $(seq "$n"); do
    if ! /usr/bin/time -f "%e %M" -o "$OUT/time" "$@" >"$OUT/stdout" 2>"$OUT/stderr"; then
      echo "$name failed: $(tail -n 3 "$OUT/stderr")" >&2
      return
    fi
    read -r wall rss <"$OUT/time"
    walls+=("$wall")
    [ "$rss" -gt "$rss_max" ] && rss_max=$rss
  done
  local median
  median=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  echo "$name: $n runs, wall ${walls[*]} s (median $median s), peak RSS up to $((rss_max / 1024)) MiB"
  echo "$name $median $rss_max" >>"$OUT/results"
}

size=$(stat -c %s "$SNAP")
echo "snapshot: $SNAP ($((size / 1048576)) MiB)"
measure_runs "$RUNS" "heapsnap-summary" "$BIN" summary "$SNAP" --format json
if [ -n "$SNAP_B" ]; then
  measure_runs "$RUNS" "heapsnap-diff" "$BIN" diff "$SNAP" "$SNAP_B" --format json
fi
ENGINE="${DEVTOOLS_ORACLE_ENGINE:-${DEVTOOLS_LAB:-${XDG_CACHE_HOME:-$HOME/.cache}/heapsnap-devtools-oracle}/dist/devtools-heap-engine.mjs}"
if [ -f "$ORACLE" ] && [ -f "$ENGINE" ]; then
  measure "devtools-engine-summary" node --max-old-space-size=16000 "$ORACLE" --quiet summary "$SNAP" "$OUT/o.json"
fi
if [ ! -x "$PEERS/node_modules/.bin/memlab" ]; then
  mkdir -p "$PEERS" && (cd "$PEERS" && PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error memlab >/dev/null 2>&1) || true
fi
if [ -x "$PEERS/node_modules/.bin/memlab" ]; then
  measure "memlab-heap" env NODE_OPTIONS=--max-old-space-size=16000 "$PEERS/node_modules/.bin/memlab" analyze object-size --snapshot "$SNAP"
fi

echo
printf '%-26s %10s %12s %14s %12s\n' tool wall_s peak_MiB "vs heapsnap" "RSS/file"
base=$(awk '$1=="heapsnap-summary"{print $2}' "$OUT/results")
while read -r name wall rss; do
  ratio=$(awk -v w="$wall" -v b="$base" 'BEGIN{ if (b > 0) printf "%.1fx", w / b; else print "-" }')
  rel=$(awk -v r="$rss" -v s="$size" 'BEGIN{ printf "%.2f", r * 1024 / s }')
  printf '%-26s %10s %12d %14s %12s\n' "$name" "$wall" "$((rss / 1024))" "$ratio" "$rel"
done <"$OUT/results"
