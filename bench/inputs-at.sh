#!/usr/bin/env bash
# Sourced by bench/inputs-compare.sh and bench/inputs-budget.sh: bench/inputs.ts and the sources it
# imports, compiled at git ref $1 into folder $2 (node_modules linked from the work tree). With a third
# argument, that bench file replaces the ref's own before compiling (the same benchmark on older code).
compile_inputs_bench_at() {
  local ref=$1 dir=$2 bench=${3:-}
  rm -rf "$dir" && mkdir -p "$dir"
  git archive "$ref" src bench tsconfig.json package.json | tar -x -C "$dir"
  ln -s "$PWD/node_modules" "$dir/node_modules"
  if [ -n "$bench" ]; then cp "$bench" "$dir/bench/inputs.ts"; fi
  (cd "$dir" && npx tsc -p bench/tsconfig.inputs.json)
}
