#!/usr/bin/env bash
# Stable-tag look-ups: docker buildx imagetools inspect vs the registry HTTP API. Compiles
# bench/registry-inspect.ts and what it imports into a private temporary directory, then runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
npx tsc -p bench/tsconfig.registry.json --outDir "$out"
# The compiled files are ES modules: mark the directory so.
echo '{"type":"module"}' > "$out/package.json"
node "$out/bench/registry-inspect.js" "$@"
