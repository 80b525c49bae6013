#!/usr/bin/env bash
# SPEC 4b's cost on a push step: signing and verifying against local Sigstore servers and the
# registry on localhost:5000. Compiles bench/attest.ts and what it imports into a private temporary
# directory, then runs it. Usage: bash bench/attest.sh [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
npx tsc -p bench/tsconfig.attest.json --outDir "$out"
# The compiled files are ES modules: mark the directory so; node_modules resolve from the repository.
echo '{"type":"module"}' > "$out/package.json"
ln -s "$PWD/node_modules" "$out/node_modules"
node "$out/bench/attest.js" "$@"
