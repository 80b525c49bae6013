#!/usr/bin/env bash
# The bundled example, end to end: a fresh git repository made from examples/three-layer with a short
# history (an initial commit, then an application-only commit), and Strata's CLI run on it.
#
#   bash scripts/example.sh          plan the application-only commit (reads git and the registry)
#   bash scripts/example.sh build    build all three layers and push them to localhost:5000, then
#                                    commit an application-only change and rebuild: only app builds
#
# STRATA_CLI: the CLI to run (default: dist/cli/index.js; built into a temp dir when it is missing).
# KEEP=1 keeps the temp repository.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-plan}
case $what in plan | build) ;; *) echo "usage: bash scripts/example.sh [plan|build]" >&2; exit 2 ;; esac

# Both read the registry, and the base layer needs busybox: make the stack true first (installs what a
# fresh machine lacks, starts what is not running; a no-op when it is up).
bash "$root/scripts/stack.sh" up >&2

work=$(mktemp -d "${TMPDIR:-/tmp}/strata-example.XXXXXX")
cleanup() { if [ "${KEEP:-}" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi; }
trap cleanup EXIT

cli=${STRATA_CLI:-$root/dist/cli/index.js}
if [ ! -f "$cli" ]; then
  echo "[example] $cli is missing: bundling the CLI into $work/cli" >&2
  (cd "$root" && npx --no-install ncc build src/cli.ts -o "$work/cli" >/dev/null)
  cli=$work/cli/index.js
fi
strata() { (cd "$repo" && node "$cli" "$@"); }

# A throwaway identity for the example's commits; nothing global is written.
export GIT_AUTHOR_NAME=strata-example GIT_AUTHOR_EMAIL=example@strata.invalid
export GIT_COMMITTER_NAME=strata-example GIT_COMMITTER_EMAIL=example@strata.invalid

repo=$work/repo
cp -R "$root/examples/three-layer" "$repo"
# The base layer is FROM scratch with busybox as its shell: no image is pulled.
cp "$(command -v busybox || echo /bin/busybox)" "$repo/busybox"
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" commit -q -m 'three layers: base, tooling, app'
first=$(git -C "$repo" rev-parse HEAD)

app_commit() {
  echo "echo \"changed at $(date -u +%H:%M:%S)\"" >>"$repo/docker/app/hello.sh"
  git -C "$repo" commit -q -am 'app: say when it changed'
  git -C "$repo" rev-parse HEAD
}

elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f s", b - a }'; }

if [ "$what" = plan ]; then
  second=$(app_commit)
  echo "== strata plan --base ${first:0:7} --head ${second:0:7} (an application-only commit)"
  strata plan --base "$first" --head "$second"
  exit 0
fi

echo "== first build: every layer (forced, so that it builds even when the registry already has them)"
t0=$(date +%s.%N)
strata build --push --force all --base "$first" --head "$first"
t1=$(date +%s.%N)

second=$(app_commit)
echo
echo "== application-only commit ${second:0:7}: strata build --push --base ${first:0:7} --head ${second:0:7}"
strata build --push --base "$first" --head "$second"
t2=$(date +%s.%N)

echo
echo "first build (3 layers):        $(elapsed "$t0" "$t1")"
echo "application-only rebuild:      $(elapsed "$t1" "$t2")"
