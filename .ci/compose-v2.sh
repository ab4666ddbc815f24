#!/usr/bin/env bash
# Runs the README's first command the way a user with today's Docker runs it: Compose v2 (`docker compose`)
# on a current Docker Engine (>= 26), from a clean copy of the repository, through .ci/first-command.sh.
# That engine runs in a container of this machine's engine (docker-in-docker; .ci/engine/Dockerfile), fed
# the stand-in images with `docker save | docker load`, since no registry can be reached from here.
#
# This VM lacks CAP_SYS_RESOURCE, so the engine container cannot be --privileged: it gets every other
# capability, no seccomp/AppArmor confinement, writable /proc and /sys paths, and the host's cgroups.
# Its /var/lib/docker is a volume of its own (overlay2 on it), removed afterwards with the container.
#
#   bash .ci/compose-v2.sh        # env: ENGINE_STORE=containerd (the containerd image store, as on
#                                 # Docker Desktop and new Engine 29 installs) or overlay2 (default)
# Needs the outer engine (.ci/docker.sh) and the stand-ins (.ci/standins.sh). Output: .artifacts/compose-v2-<store>.log
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=.ci/lib.sh
. .ci/lib.sh

# Tagged by the content of .ci/engine/, so a change there builds a new image and an unchanged one is reused.
engine_image="session-cluster-ci/engine:26-$(cat .ci/engine/* | sha256sum | cut -c1-12)"
name="sc-compose-v2-$$"
store="${ENGINE_STORE:-overlay2}"
log() { printf '[compose-v2] %s\n' "$*" >&2; }

if [[ -n "${ENGINE_REBUILD:-}" ]] || ! docker image inspect "$engine_image" >/dev/null 2>&1; then
  log "building $engine_image"
  docker build --build-arg BASE=session-cluster-standin/debian:trixie --build-arg "MIRROR=$(debian_mirror)" \
    -t "$engine_image" .ci/engine >/var/tmp/compose-v2-engine-build.log 2>&1 || {
    tail -n 40 /var/tmp/compose-v2-engine-build.log >&2
    exit 1
  }
fi

# KEEP_ENGINE=1 leaves the engine container running afterwards, for a look inside (its name is printed).
cleanup() {
  if [[ -n "${KEEP_ENGINE:-}" ]]; then log "engine container $name left running"; return; fi
  docker rm -f -v "$name" >/dev/null 2>&1 || true
}
trap cleanup EXIT

docker run -d --name "$name" \
  --cap-add ALL --cap-drop SYS_RESOURCE \
  --security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
  -e DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE=1 \
  -v /sys/fs/cgroup:/sys/fs/cgroup:rw \
  -v /var/lib/docker \
  "$engine_image" >/dev/null
in_engine() { docker exec "$name" "$@"; }

wait_engine() {
  local deadline=$((SECONDS + 60))
  until in_engine docker info >/dev/null 2>&1; do
    ((SECONDS < deadline)) || { docker logs "$name" 2>&1 | tail -n 30 >&2; log "the engine did not answer within 60 s"; exit 1; }
    sleep 1
  done
}
wait_engine

# The images the compose file and the Dockerfile name, as the stand-ins built them.
images=("$(product_image redis)" "$(product_image nginx)" "$(product_image node)")
started=$SECONDS
docker save "${images[@]}" | docker exec -i "$name" docker load -q >/dev/null
if [[ "$store" == containerd ]]; then
  # The containerd store refuses Engine 20.10's archive format ("unrecognized image format"); Engine 26 saves
  # them again in the OCI layout it reads, and the engine restarts on the containerd store.
  in_engine sh -c "docker save ${images[*]} -o /var/tmp/images.tar && echo containerd >/etc/docker/image-store"
  docker restart "$name" >/dev/null
  wait_engine
  in_engine docker load -q -i /var/tmp/images.tar >/dev/null
  in_engine rm /var/tmp/images.tar
fi
log "${images[*]} loaded in $((SECONDS - started)) s"
log "engine $(in_engine docker version --format '{{.Server.Version}}'), storage: $(in_engine docker info --format '{{.Driver}} {{.DriverStatus}}')"

# A clean copy: the files of a clone (tracked, and in a work tree also those not yet added, never the
# ignored ones: no node_modules, dist or .env), in a folder named like a clone (the project name comes from it).
git ls-files -z --cached --others --exclude-standard | tar --null -T - -c | docker exec -i "$name" sh -c 'mkdir -p /home/user/session-cluster && tar -x -C /home/user/session-cluster'

mkdir -p .artifacts
docker exec -w /home/user/session-cluster "$name" bash .ci/first-command.sh 2>&1 | tee ".artifacts/compose-v2-$store.log"
