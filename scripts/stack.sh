#!/usr/bin/env bash
# Makes the Docker stack of shared/STACK.md true on this machine: dockerd (containerd image
# store), buildx, a registry on 127.0.0.1:5000 (and an htpasswd one on 127.0.0.1:5001),
# busybox for FROM-scratch images, qemu for other platforms, curl and git (which the checks below,
# the example and the tests use; slim images lack them). Idempotent: installs only what is missing
# and starts only what is not running. `stack.sh stop` ends what it started.
set -euo pipefail

STATE=${STRATA_STACK_DIR:-/var/lib/strata-stack}
mkdir -p "$STATE"
log() { printf '[stack] %s\n' "$*" >&2; }

install_packages() {
  local need=()
  command -v dockerd >/dev/null || need+=(engine)
  docker buildx version >/dev/null 2>&1 || need+=(engine)
  command -v docker-registry >/dev/null || need+=(registry)
  [ -x /bin/busybox ] || command -v busybox >/dev/null || need+=(registry)
  command -v htpasswd >/dev/null || need+=(registry)
  [ -e /usr/bin/qemu-aarch64-static ] || need+=(registry)
  command -v curl >/dev/null || need+=(registry)
  command -v git >/dev/null || need+=(registry)
  [ ${#need[@]} -eq 0 ] && return 0
  export DEBIAN_FRONTEND=noninteractive
  local dir="$STATE/apt-trixie" mirror
  mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  mkdir -p "$dir/lists/partial" "$dir/parts" "$dir/debs"
  cat >"$dir/parts/trixie.sources" <<SRC
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  local opts=(-oDir::State::Lists="$dir/lists" -oDir::Etc::SourceList=/dev/null -oDir::Etc::SourceParts="$dir/parts")
  log "downloading docker.io, containerd, docker-buildx from trixie"
  apt-get "${opts[@]}" update -qq
  (cd "$dir/debs" && apt-get "${opts[@]}" download docker.io containerd docker-buildx)
  apt-get update -qq
  log "installing the engine, registry, busybox, qemu, curl, git"
  apt-get install -y -qq --no-install-recommends \
    "$dir"/debs/docker.io_26*.deb "$dir"/debs/containerd_1.7*.deb "$dir"/debs/docker-buildx_*.deb \
    docker-registry busybox-static apache2-utils qemu-user-static binfmt-support \
    curl ca-certificates git >"$STATE/apt.log" 2>&1 \
    || { tail -30 "$STATE/apt.log" >&2; exit 1; }
}

start_dockerd() {
  if docker info >/dev/null 2>&1; then return 0; fi
  mkdir -p /etc/docker
  if [ ! -f /etc/docker/daemon.json ]; then
    echo '{ "features": { "containerd-snapshotter": true } }' >/etc/docker/daemon.json
  fi
  log "starting dockerd"
  nohup dockerd >"$STATE/dockerd.log" 2>&1 &
  echo $! >"$STATE/dockerd.pid"
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && return 0; sleep 1; done
  tail -20 "$STATE/dockerd.log" >&2
  log "dockerd did not come up"; exit 1
}

start_registry() { # name port [htpasswd]
  local name=$1 port=$2 auth=${3:-}
  if curl -s -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null; then return 0; fi
  local root="$STATE/$name"
  mkdir -p "$root/data"
  {
    echo "version: 0.1"
    echo "log: { level: info, accesslog: { disabled: false } }"
    echo "storage:"
    echo "  filesystem: { rootdirectory: $root/data }"
    echo "  delete: { enabled: true }"
    echo "http: { addr: 127.0.0.1:$port }"
    if [ -n "$auth" ]; then
      htpasswd -Bbn strata "$auth" >"$root/htpasswd"
      echo "auth: { htpasswd: { realm: strata, path: $root/htpasswd } }"
    fi
  } >"$root/config.yml"
  log "starting registry $name on 127.0.0.1:$port"
  nohup docker-registry serve "$root/config.yml" >"$root/registry.log" 2>&1 &
  echo $! >"$root/registry.pid"
  for _ in $(seq 1 30); do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/" || true)
    case "$code" in 200|401) return 0 ;; esac
    sleep 0.5
  done
  log "registry $name did not come up"; exit 1
}

enable_binfmt() {
  [ -d /proc/sys/fs/binfmt_misc ] || return 0
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || { log "binfmt_misc not mountable: no multi-platform"; return 0; }
  fi
  update-binfmts --enable >/dev/null 2>&1 || true
}

stop_all() {
  for pidfile in "$STATE"/registry*/registry.pid "$STATE"/*/registry.pid "$STATE/dockerd.pid"; do
    [ -f "$pidfile" ] || continue
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

case "${1:-up}" in
  up)
    install_packages
    enable_binfmt
    start_dockerd
    start_registry registry 5000
    start_registry registry-auth 5001 "${STRATA_REGISTRY_PASSWORD:-strata-test}"
    docker buildx version >&2
    log "ready: docker $(docker version -f '{{.Server.Version}}'), registry 127.0.0.1:5000 (open), 127.0.0.1:5001 (htpasswd strata)"
    ;;
  stop) stop_all ;;
  *) echo "usage: $0 [up|stop]" >&2; exit 2 ;;
esac
