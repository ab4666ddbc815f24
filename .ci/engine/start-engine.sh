#!/bin/sh
# Starts dockerd in this container (the engine's state in the /var/lib/docker volume). The image store is
# overlay2, or the containerd image store (the default of Docker Desktop and of new Engine 29 installs) when
# /etc/docker/image-store says `containerd` (.ci/compose-v2.sh writes it, then restarts the container).
set -eu
if [ "$(cat /etc/docker/image-store 2>/dev/null || echo overlay2)" = containerd ]; then
  mkdir -p /etc/docker
  echo '{"features": {"containerd-snapshotter": true}}' >/etc/docker/daemon.json
else
  rm -f /etc/docker/daemon.json
fi
exec dockerd --host unix:///var/run/docker.sock "$@"
