#!/usr/bin/env bash
# Makes sure a Docker engine answers on this machine: installs docker.io, docker-compose (v1) and
# debootstrap when missing, then starts dockerd in the background when `docker info` does not answer.
# Idempotent: a second run with an engine already up only checks it. Needs root (CI runs as root).
#
#   bash .ci/docker.sh            # env: DOCKERD_WAIT_S (default 60), DOCKERD_LOG (default /tmp/dockerd.log)
set -euo pipefail

DOCKERD_WAIT_S="${DOCKERD_WAIT_S:-60}"
DOCKERD_LOG="${DOCKERD_LOG:-/tmp/dockerd.log}"

log() { printf '[docker.sh] %s\n' "$*" >&2; }

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if ((${#missing[@]})); then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# docker info exits non-zero while no daemon answers; a short timeout keeps a hung socket from blocking.
engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

if engine_answers; then
  log "engine already answering"
  exit 0
fi

if ! pgrep -x dockerd >/dev/null 2>&1; then
  log "starting dockerd (log: $DOCKERD_LOG)"
  # setsid detaches dockerd from this script's process group, so it outlives the CI step that started it.
  setsid nohup dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
fi

deadline=$((SECONDS + DOCKERD_WAIT_S))
until engine_answers; do
  if ((SECONDS >= deadline)); then
    log "dockerd did not answer within ${DOCKERD_WAIT_S}s; last log lines:"
    tail -n 30 "$DOCKERD_LOG" >&2 || true
    exit 1
  fi
  sleep 1
done
log "engine answering after $((SECONDS))s: $(docker version --format '{{.Server.Version}}')"
