#!/usr/bin/env bash
# How often a three-target bake session (base → tooling → app, each FROM the one below through a
# `target:` context, as Strata writes them) fails on this machine's buildx and docker driver, with and
# without the grandchild's extra `target:base` context (core/build-steps.ts linkSessionAncestors),
# interleaved. Each session gets a fresh context folder and nonce files. Nothing is pushed.
# Usage: bash bench/session-links.sh [sessions per variant, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10}
work=$(mktemp -d "${TMPDIR:-/tmp}/strata-session-links-XXXX")
trap 'rm -rf "$work"' EXIT
declare -A fails=([unlinked]=0 [linked]=0)
session() { # variant index
  local d="$work/$1-$2" nonce repo extra=''
  mkdir -p "$d"
  cp __fixtures__/images/Dockerfile.base __fixtures__/images/Dockerfile.tooling __fixtures__/images/Dockerfile.app "$d/"
  cp /bin/busybox "$d/"
  nonce=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
  for f in base tooling app; do echo "$f $nonce" >"$d/$f.txt"; done
  repo="localhost:5000/strata-bench/links-$nonce"
  [ "$1" = linked ] && extra=',"strata-ancestor-base":"target:base"'
  cat >"$d/bake.json" <<JSON
{"group":{"default":{"targets":["base","tooling","app"]}},"target":{
 "base":{"context":".","dockerfile":"Dockerfile.base","tags":["$repo:base"],"output":["type=image,push=false"]},
 "tooling":{"context":".","dockerfile":"Dockerfile.tooling","args":{"BASE_IMAGE":"strata-layer-base"},
   "contexts":{"strata-layer-base":"target:base"},"tags":["$repo:tooling"],"output":["type=image,push=false"]},
 "app":{"context":".","dockerfile":"Dockerfile.app","args":{"TOOLING_IMAGE":"strata-layer-tooling"},
   "contexts":{"strata-layer-tooling":"target:tooling"$extra},"tags":["$repo:app"],"output":["type=image,push=false"]}}}
JSON
  if ! (cd "$d" && docker buildx bake -f bake.json --progress plain >out.txt 2>&1); then
    fails[$1]=$((fails[$1] + 1))
    echo "$1 session $2 failed: $(grep -m1 '^ERROR' "$d/out.txt" | cut -c1-160)"
  fi
  for t in base tooling app; do docker image rm -f "$repo:$t" >/dev/null 2>&1 || true; done
}
echo "$(docker buildx version | cut -d' ' -f1-2), docker $(docker version -f '{{.Server.Version}}'), load $(cut -d' ' -f1 /proc/loadavg)"
for i in $(seq 1 "$N"); do
  session unlinked "$i"
  session linked "$i"
done
echo "failed sessions: without the ancestor link ${fails[unlinked]}/$N, with it ${fails[linked]}/$N"
