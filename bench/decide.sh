#!/usr/bin/env bash
# Benchmark of the decision engine: compiles bench/decide.ts and the core it imports into .tmp/bench, then runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
# The compiled copy is removed afterwards so that linters never see it.
trap 'rm -rf .tmp/bench' EXIT
npx tsc -p bench/tsconfig.json
node .tmp/bench/bench/decide.js "$@"
