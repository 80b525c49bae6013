#!/usr/bin/env bash
# QEMU vs native, per platform (docs/platforms.md): the same FROM scratch + busybox RUN built for
# linux/amd64 (native here), linux/arm64 (QEMU here) and both at once (one job, QEMU for arm64),
# interleaved, no cache, ROUNDS rounds each. Prints one line per build and then median and spread.
# Needs: an amd64 busybox at BUSYBOX_AMD64 (default /bin/busybox), an arm64 static busybox at
# BUSYBOX_ARM64 (Debian: `apt-get download busybox-static:arm64` with the arm64 architecture added, then
# `dpkg-deb -x`), and QEMU's aarch64 binfmt handler registered (docker/setup-qemu-action on a runner).
set -euo pipefail
ROUNDS=${ROUNDS:-3}
LOOPS=${LOOPS:-300000}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp "${BUSYBOX_AMD64:-/bin/busybox}" "$dir/busybox-amd64"
cp "${BUSYBOX_ARM64:?set BUSYBOX_ARM64 to an arm64 static busybox}" "$dir/busybox-arm64"
cat >"$dir/Dockerfile" <<DOCKERFILE
FROM scratch
ARG TARGETARCH
COPY busybox-\${TARGETARCH} /bin/busybox
RUN ["/bin/busybox", "sh", "-c", "i=0; while [ \$i -lt $LOOPS ]; do i=\$((i+1)); done; /bin/busybox uname -m"]
DOCKERFILE
declare -A samples
for round in $(seq "$ROUNDS"); do
  for p in linux/amd64 linux/arm64 linux/amd64,linux/arm64; do
    start=$(date +%s.%N)
    docker buildx build --no-cache --platform "$p" --output type=cacheonly --progress quiet "$dir" >/dev/null
    s=$(echo "$(date +%s.%N) - $start" | bc)
    samples[$p]="${samples[$p]:-} $s"
    printf 'round %s %-24s %6.2f s\n' "$round" "$p" "$s"
  done
done
for p in linux/amd64 linux/arm64 linux/amd64,linux/arm64; do
  # shellcheck disable=SC2086
  sorted=$(printf '%s\n' ${samples[$p]} | sort -n)
  n=$(echo "$sorted" | wc -l)
  median=$(echo "$sorted" | sed -n "$(((n + 1) / 2))p")
  printf '%-24s median %6.2f s  min %6.2f s  max %6.2f s\n' "$p" "$median" "$(echo "$sorted" | head -1)" "$(echo "$sorted" | tail -1)"
done
