#!/usr/bin/env bash
# Peer comparison: heapsnap vs Chrome DevTools' heap-snapshot engine (../shared/oracle), memlab and
# @heap-snapshot/tool, on the same snapshots, in one run. Prints wall time, peak RSS and ratios, as one Markdown
# table.
#
#   bash benches/compare.sh SNAPSHOT [SNAPSHOT_B]                     # given snapshots
#   bash benches/compare.sh --shapes big,app --sizes 200,1200 [--no-peers] [--timings]   # the heap-shape corpus
#
# Shapes (issue 19), each made by its generator at SIZE MB (~ the file's size, 1 MB = 10^6 bytes) with --two (a
# second snapshot of the same process, for `diff`): big (fixtures/gen/big.js), app, linked, wide, text
# (fixtures/gen/shapes/*.js), browser (fixtures/gen/browser/shape.mjs, headless Chromium); default: all of them
# at 200. Generated files are cached in $HEAPSNAP_SHAPES (default ${XDG_CACHE_HOME:-~/.cache}/heapsnap-shapes) as
# SHAPE-SIZE.heapsnapshot and SHAPE-SIZE-b.heapsnapshot and reused; delete them to regenerate. A 1200 MB
# generator run needs ~6-8 GB of memory and 2-4 minutes.
#
# Per snapshot (pair): the locality figures of its node order (cargo bench --bench locality; the table's
# `dfs miss`: the share of the edge targets a DFS from the root looks at whose 4 KiB page of a u32 column it did
# not look at within its last 256 looks, see src/locality.rs: 1.3 % on big.js, 16 % on app at 200 MB), heapsnap
# `summary` and `diff` (HEAPSNAP_RUNS times, default 3: the median wall time and the largest peak RSS), then
# once each: the DevTools engine's summary (needs `bash ../shared/oracle/setup.sh`, or HEAPSNAP_ORACLE_DIR to
# find it elsewhere; it cannot load a strings
# section past ~536 M characters: such a row says failed), memlab `analyze object-size` and
# `heap-snapshot summary` (@heap-snapshot/tool). memlab and @heap-snapshot/tool are installed from npm on first
# use into ${HEAPSNAP_PEERS:-~/.cache/heapsnap-peers}; the latter's prebuilt binary needs glibc 2.39 for two weak
# symbols only, so a copy with those version needs marked weak (benches/glibc-weak.py) runs on older glibc.
# --no-peers: heapsnap only. --timings: also print HEAPSNAP_TIMINGS of one more summary run per snapshot.
# Each peer run is cut after HEAPSNAP_PEER_TIMEOUT seconds (default 1800).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
usage() { awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2; exit 2; }

SHAPES="" SIZES="" PEERS_ON=1 TIMINGS=0 FILES=()
while [ $# -gt 0 ]; do
  case "$1" in
    --shapes) SHAPES="${2:?}"; shift 2 ;;
    --sizes) SIZES="${2:?}"; shift 2 ;;
    --no-peers) PEERS_ON=0; shift ;;
    --timings) TIMINGS=1; shift ;;
    -h|--help) usage ;;
    -*) echo "unknown option $1" >&2; usage ;;
    *) FILES+=("$1"); shift ;;
  esac
done
if [ ${#FILES[@]} -gt 2 ]; then usage; fi
if [ ${#FILES[@]} -eq 0 ] && [ -z "$SHAPES" ]; then SHAPES="big,app,linked,wide,text,browser"; fi
if [ -n "$SHAPES" ] && [ -z "$SIZES" ]; then SIZES=200; fi

PEERS="${HEAPSNAP_PEERS:-${XDG_CACHE_HOME:-$HOME/.cache}/heapsnap-peers}"
CACHE="${HEAPSNAP_SHAPES:-${XDG_CACHE_HOME:-$HOME/.cache}/heapsnap-shapes}"
RUNS="${HEAPSNAP_RUNS:-3}"
PEER_TIMEOUT="${HEAPSNAP_PEER_TIMEOUT:-1800}"
ORACLE="${HEAPSNAP_ORACLE_DIR:-../shared/oracle}/devtools-oracle.mjs"
ENGINE="${DEVTOOLS_ORACLE_ENGINE:-${DEVTOOLS_LAB:-${XDG_CACHE_HOME:-$HOME/.cache}/heapsnap-devtools-oracle}/dist/devtools-heap-engine.mjs}"
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

cargo build --release --quiet
# The locality figures' bench binary, built once (cargo bench --bench locality would rebuild on any edit).
LOCALITY=$( (cargo bench --locked --quiet --bench locality --no-run --message-format=json 2>/dev/null || true) |
  grep '"name":"locality"' | sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
BIN="${CARGO_TARGET_DIR:-$REPO/target}/release/heapsnap"
case "$BIN" in /*) ;; *) BIN="$REPO/$BIN" ;; esac

# Peers, installed on first use.
HST=""
if [ "$PEERS_ON" = 1 ]; then
  if [ ! -x "$PEERS/node_modules/.bin/memlab" ] || [ ! -d "$PEERS/node_modules/@heap-snapshot/tool" ]; then
    mkdir -p "$PEERS" && (cd "$PEERS" && PUPPETEER_SKIP_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error \
      memlab @heap-snapshot/tool@0.0.10 >/dev/null 2>&1) || echo "could not install the npm peers" >&2
  fi
  raw="$PEERS/node_modules/@heap-snapshot/linux-x64/heap-snapshot"
  if [ -x "$raw" ]; then
    if "$raw" --version >/dev/null 2>&1; then HST="$raw"
    elif [ -x "$PEERS/heap-snapshot-weak" ] || python3 benches/glibc-weak.py "$raw" "$PEERS/heap-snapshot-weak" >&2; then
      HST="$PEERS/heap-snapshot-weak"
    fi
  fi
fi

# measure LABEL TOOL FILEBYTES N CMD...: runs CMD N times under /usr/bin/time, prints every run, records
# "LABEL TOOL median_wall max_rss_kb FILEBYTES" (or "failed").
measure() {
  local label="$1" tool="$2" bytes="$3" n="$4"; shift 4
  local walls=() rss_max=0 wall rss
  for _ in $(seq "$n"); do
    if ! /usr/bin/time -f "%e %M" -o "$OUT/time" "$@" >"$OUT/stdout" 2>"$OUT/stderr"; then
      echo "  $tool failed: $(grep -v '^Command exited' "$OUT/stderr" | tail -n 2 | tr '\n' ' ' | cut -c1-300)" >&2
      echo "$label $tool - - $bytes" >>"$OUT/results"
      return
    fi
    read -r wall rss < <(tail -n 1 "$OUT/time")
    walls+=("$wall")
    [ "$rss" -gt "$rss_max" ] && rss_max=$rss
  done
  local median
  median=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
  echo "  $tool: wall ${walls[*]} s (median $median s), peak RSS up to $((rss_max / 1024)) MiB"
  echo "$label $tool $median $rss_max $bytes" >>"$OUT/results"
}

# generate SHAPE SIZE: makes (or reuses) the cached pair; prints its two paths.
generate() {
  local shape="$1" size="$2" a="$CACHE/$1-$2.heapsnapshot" b="$CACHE/$1-$2-b.heapsnapshot"
  if [ ! -s "$a" ] || [ ! -s "$b" ]; then
    mkdir -p "$CACHE"
    local pa="$a.part" pb="$b.part" gen
    case "$shape" in
      big) gen=(node --expose-gc --max-old-space-size=20000 fixtures/gen/big.js "$pa" "$size" --two "$pb") ;;
      app|linked|wide|text) gen=(node --expose-gc --max-old-space-size=20000 "fixtures/gen/shapes/$shape.js" "$pa" "$size" --two "$pb") ;;
      browser)
        [ -d fixtures/gen/browser/node_modules/puppeteer-core ] ||
          (cd fixtures/gen/browser && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2)
        gen=(node fixtures/gen/browser/shape.mjs "$pa" "$size" --two "$pb") ;;
      *) echo "unknown shape $shape (big, app, linked, wide, text, browser)" >&2; return 1 ;;
    esac
    echo "generating $shape at $size MB into $CACHE" >&2
    /usr/bin/time -f "  generator: %e s, peak RSS %M kB" "${gen[@]}" >&2 2> >(grep -E 'wrote|generator|rror' >&2)
    mv "$pa" "$a" && mv "$pb" "$b"
  fi
  echo "$a $b"
}

# compare LABEL A [B]
compare() {
  local label="$1" a="$2" b="${3:-}" size size_b=0 loc
  size=$(stat -L -c %s "$a")
  [ -n "$b" ] && size_b=$(stat -L -c %s "$b")
  loc=$( ([ -n "$LOCALITY" ] && "$LOCALITY" "$a" 2>/dev/null | tail -n 1) || echo "$a")
  echo "== $label: $a ($((size / 1048576)) MiB)${b:+ and $b ($((size_b / 1048576)) MiB)}"
  echo "  locality: ${loc#* }"
  echo "$label ${loc#* }" >>"$OUT/locality"
  measure "$label" "heapsnap summary" "$size" "$RUNS" "$BIN" summary "$a" --format json
  if [ -n "$b" ]; then
    measure "$label" "heapsnap diff" "$((size + size_b))" "$RUNS" "$BIN" diff "$a" "$b" --format json
  fi
  if [ "$TIMINGS" = 1 ]; then
    HEAPSNAP_TIMINGS=1 "$BIN" summary "$a" --format json 2>&1 >/dev/null | sed 's/^/  /'
  fi
  [ "$PEERS_ON" = 1 ] || return 0
  if [ -f "$ORACLE" ] && [ -f "$ENGINE" ]; then
    measure "$label" "DevTools engine" "$size" 1 timeout "$PEER_TIMEOUT" node --max-old-space-size=16000 "$ORACLE" --quiet summary "$a" "$OUT/o.json"
  else
    echo "  DevTools engine skipped: no $ORACLE or no $ENGINE (set HEAPSNAP_ORACLE_DIR, run its setup.sh)" >&2
  fi
  if [ -x "$PEERS/node_modules/.bin/memlab" ]; then
    measure "$label" "memlab" "$size" 1 timeout "$PEER_TIMEOUT" env NODE_OPTIONS=--max-old-space-size=16000 \
      "$PEERS/node_modules/.bin/memlab" analyze object-size --snapshot "$a"
  else
    echo "  memlab skipped: not installed in $PEERS" >&2
  fi
  if [ -n "$HST" ]; then
    measure "$label" "@heap-snapshot/tool" "$size" 1 timeout "$PEER_TIMEOUT" "$HST" summary "$a"
  else
    echo "  @heap-snapshot/tool skipped: not installed in $PEERS or not runnable" >&2
  fi
}

if [ ${#FILES[@]} -gt 0 ]; then
  compare "$(basename "${FILES[0]}" .heapsnapshot)" "${FILES[@]}"
fi
for shape in ${SHAPES//,/ }; do
  for size in ${SIZES//,/ }; do
    read -r a b < <(generate "$shape" "$size") || { echo "$shape $size: no snapshot" >&2; continue; }
    compare "$shape-$size" "$a" "$b"
  done
done

# One table: per snapshot, heapsnap's rows then the peers', each against heapsnap's summary of that snapshot.
echo
echo "| snapshot | file | nodes | edges | dfs miss | tool | wall | peak RSS | RSS / file | vs heapsnap |"
echo "| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |"
awk -v LOC="$OUT/locality" '
  BEGIN { while ((getline line < LOC) > 0) { n = split(line, f, " "); for (i = 2; i <= n; i++) { split(f[i], kv, "="); loc[f[1], kv[1]] = kv[2] } } }
  function commas(x,   s) { s = sprintf("%d", x); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]([,]|$)/, ",&", s); return s }
  {
    # fields: label, tool (may hold a space), wall, rss_kb, bytes
    label = $1; bytes = $NF; rss = $(NF - 1); wall = $(NF - 2); tool = $2; for (i = 3; i <= NF - 3; i++) tool = tool " " $i
    if (tool == "heapsnap summary") base[label] = wall
    first = (label != last); last = label
    miss = loc[label, "dfs_miss"]
    printf "| %s | %s | %s | %s | %s | %s | ", (first ? label : ""), (first ? sprintf("%.0f MiB", bytes / 1048576) : ""), \
      (first && loc[label, "nodes"] != "" ? commas(loc[label, "nodes"]) : ""), (first && loc[label, "edges"] != "" ? commas(loc[label, "edges"]) : ""), \
      (first && miss != "" ? sprintf("%.1f %%", miss * 100) : ""), tool
    if (wall == "-") { print "failed | | | |"; next }
    ratio = (tool == "heapsnap summary" || tool == "heapsnap diff" || base[label] == "") ? "" : sprintf("%.1fx", wall / base[label])
    if (tool == "heapsnap diff") ratio = sprintf("%.2fx summary", wall / base[label])
    printf "%.2f s | %s MiB | %.2f | %s |\n", wall, commas(rss / 1024), rss * 1024 / bytes, ratio
  }' "$OUT/results"
