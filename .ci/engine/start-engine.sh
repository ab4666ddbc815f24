#!/bin/sh
# Starts dockerd in this container (the engine's state in the /var/lib/docker volume).
#   ENGINE_STORE=containerd   the containerd image store (the default of Docker Desktop and of new Engine 29
#                             installs) instead of overlay2
set -eu
if [ "${ENGINE_STORE:-overlay2}" = containerd ]; then
  mkdir -p /etc/docker
  echo '{"features": {"containerd-snapshotter": true}}' >/etc/docker/daemon.json
fi
exec dockerd --host unix:///var/run/docker.sock "$@"
