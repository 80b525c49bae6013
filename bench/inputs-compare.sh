#!/usr/bin/env bash
# Before/after of bench/inputs.ts on one machine at one time: compiles the benchmark at a git ref
# (default: main) and in the work tree, then runs them in turn, PAIRS times each (interleaved, so both
# see the same load), and prints each run's figures and, per side, the median, min and max.
# Usage: bash bench/inputs-compare.sh [ref] [pairs] [runs per bench]
set -euo pipefail
cd "$(dirname "$0")/.."
ref=${1:-main}
pairs=${2:-5}
runs=${3:-9}
tmp=.tmp/bench-compare
trap 'rm -rf "$tmp" .tmp/bench-inputs' EXIT
source bench/inputs-at.sh
rm -rf "$tmp"
# The same repository and gc setting on both sides: only the code under test differs.
compile_inputs_bench_at "$ref" "$tmp/before" bench/inputs.ts
npx tsc -p bench/tsconfig.inputs.json
cp -r .tmp/bench-inputs "$tmp/after"
echo "before: $ref ($(git rev-parse --short "$ref")); after: the work tree; $pairs pairs, $runs runs each"
for i in $(seq "$pairs"); do
  for side in before after; do
    if [ "$side" = before ]; then js="$tmp/before/.tmp/bench-inputs/bench/inputs.js"; else js="$tmp/after/bench/inputs.js"; fi
    node "$js" "$runs" >"$tmp/out" 2>&1 || { cat "$tmp/out"; exit 1; }
    load=$(sed -n 's/^load average \([0-9.]*\).*/\1/p' "$tmp/out")
    read_ms=$(sed -n 's/^readLayers (read, walk, parse, resolve, check): \([0-9.]*\) ms.*/\1/p' "$tmp/out")
    ids_ms=$(sed -n 's/^content ids of the [0-9]* input files[^:]*: \([0-9.]*\) ms.*/\1/p' "$tmp/out")
    planned=$(sed -n 's/^readLayers and content ids as a plan runs them[^:]*: \([0-9.]*\) ms.*/\1/p' "$tmp/out")
    echo "$side $read_ms $ids_ms $load ${planned:--}" | tee -a "$tmp/all" |
      awk '{printf "%-6s readLayers %6.1f ms  content ids %6.1f ms  together %6.1f ms  as a plan runs them %s ms  (load %s)\n", $1, $2, $3, $2+$3, $5, $4}'
  done
done
for side in before after; do
  for col in 2 3 4 5; do
    name=$(case $col in 2) echo readLayers ;; 3) echo "content ids" ;; 4) echo together ;; 5) echo "as planned" ;; esac)
    awk -v s="$side" -v c="$col" '$1==s && !(c==5 && $5=="-") {print (c==4 ? $2+$3 : (c==5 ? $5 : $c))}' "$tmp/all" | sort -n |
      awk -v s="$side" -v n="$name" 'NR>0 {v[NR]=$1} END {if (NR) printf "%-6s %-11s median %6.1f ms  min %6.1f  max %6.1f  (%d runs)\n", s, n, v[int((NR+1)/2)], v[1], v[NR], NR}'
  done
done
