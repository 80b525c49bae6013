#!/usr/bin/env bash
# The whole test suite from zero, as CI runs it (.ci/run calls this and nothing else): installs the
# locked dependencies, makes the Docker stack true (scripts/stack.sh: installs what is missing, starts
# what is not running, leaves a running stack alone), then type check, lint (with the lock-file
# check), the dist/ check and every test, unit and integration.
#
#   bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*" >&2; }

step "npm ci (fails when package-lock.json is out of sync with package.json)"
npm ci --no-fund --no-audit
step "the Docker stack"
bash scripts/stack.sh up
step "type check"
npm run build
step "lint: lock file, eslint, prettier"
npm run lint
step "dist/ is a fresh build of src/"
npm run check:dist
step "every test"
npm test
