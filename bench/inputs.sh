#!/usr/bin/env bash
# Benchmark of SPEC 3a's derived inputs: compiles bench/inputs.ts and what it imports into
# .tmp/bench-inputs, then runs it. Usage: bash bench/inputs.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
trap 'rm -rf .tmp/bench-inputs' EXIT
npx tsc -p bench/tsconfig.inputs.json
node .tmp/bench-inputs/bench/inputs.js "$@"
