#!/usr/bin/env bash
# npm run bench: bundles the CLI and the action from src/ into .tmp (never dist/), compiles the harness,
# then runs bench/run.ts. Needs the Docker stack (bash scripts/stack.sh up). Options: see bench/run.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
docker info >/dev/null 2>&1 || { echo '[bench] no docker engine: run bash scripts/stack.sh up first' >&2; exit 1; }
command -v docker-registry >/dev/null || { echo '[bench] no docker-registry: run bash scripts/stack.sh up first' >&2; exit 1; }

echo '[bench] bundling src/cli.ts and src/index.ts with ncc (into .tmp, not dist/)' >&2
npx --no-install ncc build src/cli.ts -o .tmp/bench-cli --quiet &
cli=$!
npx --no-install ncc build src/index.ts -o .tmp/bench-action --quiet &
action=$!
npx --no-install tsc -p bench/tsconfig.run.json
wait "$cli"
wait "$action"
node .tmp/bench-run/bench/run.js . .tmp/bench-cli/index.js .tmp/bench-action/index.js
# SPEC 4b / 11: what signing adds to a push step, and what verifying adds to a default-branch reuse.
echo '[bench] attestations (local Sigstore servers)' >&2
bash bench/attest.sh 7
