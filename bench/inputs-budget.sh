#!/usr/bin/env bash
# Issue 17's speed budget, measured the way it is stated: SPEC 3a's inputs and SPEC 4a's content ids of
# the 10,000-file repository, as a plan runs them, against twice what the inputs alone cost before
# content ids existed (readLayers at BEFORE, the commit that published "56–73 ms warm"). Both benches
# run in turn, PAIRS times (interleaved, so both see the same load); each pair's ratio is printed, then
# the median, min and max of each side and of the ratios. The floor (the work tree's readLayers and one
# lstat of each input, nothing else) is the least any content id checked by stat data can cost.
# Usage: bash bench/inputs-budget.sh [pairs] [runs per bench]
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE=e789b98
pairs=${1:-5}
runs=${2:-9}
tmp=.tmp/bench-budget
trap 'rm -rf "$tmp" .tmp/bench-inputs' EXIT
source bench/inputs-at.sh
rm -rf "$tmp"
compile_inputs_bench_at "$BEFORE" "$tmp/before"
npx tsc -p bench/tsconfig.inputs.json
field() { sed -n "s/^$1[^:]*: \([0-9.]*\) ms.*/\1/p" "$2"; }
echo "before: readLayers at $BEFORE; now: the work tree, inputs and content ids as a plan runs them; $pairs pairs"
for i in $(seq "$pairs"); do
  node "$tmp/before/.tmp/bench-inputs/bench/inputs.js" "$runs" >"$tmp/before.out" 2>&1 || { cat "$tmp/before.out"; exit 1; }
  node .tmp/bench-inputs/bench/inputs.js "$runs" >"$tmp/now.out" 2>&1 || { cat "$tmp/now.out"; exit 1; }
  before=$(field 'readLayers (read' "$tmp/before.out")
  now=$(field 'readLayers and content ids as a plan' "$tmp/now.out")
  floor=$(field 'floor' "$tmp/now.out")
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo "$before $now $floor" >>"$tmp/all"
  awk -v b="$before" -v n="$now" -v f="$floor" -v l="$load" \
    'BEGIN {printf "before %6.1f ms  now %6.1f ms  now/before %.2f  (budget 2.00)  floor/before %.2f  (load %s)\n", b, n, n/b, f/b, l}'
done
stat() { sort -n | awk -v name="$1" '{v[NR]=$1} END {printf "%-10s median %7.2f  min %7.2f  max %7.2f  (%d pairs)\n", name, v[int((NR+1)/2)], v[1], v[NR], NR}'; }
awk '{print $1}' "$tmp/all" | stat before
awk '{print $2}' "$tmp/all" | stat now
awk '{print $2/$1}' "$tmp/all" | stat now/before
awk '{print $3/$1}' "$tmp/all" | stat floor/before
grep -h '^floor' "$tmp/now.out" | sed 's/.*(/the last run: (/'
