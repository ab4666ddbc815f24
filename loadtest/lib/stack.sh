# Shell helpers shared by loadtest/run.sh, ci.sh and bench.sh: sourced, not run. The caller has cd'ed to the
# repository root and defines step() (its own progress line) before it calls stack_up or k6_runner_ready.

# The stack toolkit's command line (toolkit/cli.ts), with the repository's tsx: what the TypeScript tools
# use, not a second copy of it.
sc_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
sc_toolkit() { "$sc_repo/node_modules/.bin/tsx" "$sc_repo/toolkit/cli.ts" "$@"; }

# compose ARGS: the `docker compose` plugin (Compose v2) when Docker has it, else docker-compose v1 where that
# is all there is (this machine's CI engine, Debian 12's docker.io); SC_COMPOSE=v1|v2 picks one, as in the
# test suites. Chosen once, when this file is sourced.
read -ra sc_compose <<<"$(sc_toolkit compose-command)"
compose() { "${sc_compose[@]}" "$@"; }

# A loopback TCP port nothing listens on right now.
free_port() { sc_toolkit free-port; }

# The k6 binary: $K6, else k6 on PATH, else the one .ci/k6.sh builds.
k6_binary() { sc_toolkit k6-binary; }

# k6_runner_ready: K6_RUNNER exported (default docker); for the docker runner, the loadtest profile's image,
# built as a stand-in (.ci/standins.sh) where no registry has it.
k6_runner_ready() {
  export K6_RUNNER="${K6_RUNNER:-docker}"
  if [[ "$K6_RUNNER" == docker ]] && ! docker image inspect "$(sc_toolkit product-image grafana/k6)" >/dev/null 2>&1; then
    step "k6 image (stand-in)"
    bash .ci/standins.sh
  fi
}

# stack_up REUSE_PROJECT FRESH_PROJECT UP_LOG [redis-cluster]: the compose project the caller measures, both
# profiles (redis, sticky) up — and the redis-cluster profile with that fourth argument — and every nginx
# answering, with COMPOSE_PROJECT_NAME, HTTP_PORT, STICKY_HTTP_PORT (and REDIS_CLUSTER_HTTP_PORT) exported.
# REUSE_PROJECT non-empty: that running project, whose ports those variables must name; it is left running.
# Otherwise FRESH_PROJECT, brought up with --build on free loopback ports (compose's output to UP_LOG) and
# removed with its volumes when the caller exits.
stack_up() {
  local reuse="$1" fresh="$2" up_log="$3" cluster="${4:-}"
  local profiles=(--profile sticky) ports_var=(HTTP_PORT STICKY_HTTP_PORT)
  if [[ "$cluster" == redis-cluster ]]; then profiles+=(--profile redis-cluster); ports_var+=(REDIS_CLUSTER_HTTP_PORT); fi
  local var
  if [[ -n "$reuse" ]]; then
    for var in "${ports_var[@]}"; do
      [[ -n "${!var:-}" ]] || { echo "reusing $reuse needs its $var" >&2; exit 1; }
      export "${var?}"
    done
    export COMPOSE_PROJECT_NAME="$reuse"
    step "reusing compose project $COMPOSE_PROJECT_NAME ($(for var in "${ports_var[@]}"; do printf '127.0.0.1:%s ' "${!var}"; done))"
  else
    export COMPOSE_PROJECT_NAME="$fresh"
    for var in "${ports_var[@]}"; do
      printf -v "$var" '%s' "$(free_port)"
      export "${var?}"
    done
    step "compose project $COMPOSE_PROJECT_NAME up ($(for var in "${ports_var[@]}"; do printf '127.0.0.1:%s ' "${!var}"; done))"
    mkdir -p "$(dirname "$up_log")"
    sc_profiles=("${profiles[@]}")
    compose "${sc_profiles[@]}" down -v --remove-orphans >/dev/null 2>&1 || true
    trap 'step "compose project $COMPOSE_PROJECT_NAME down"; compose "${sc_profiles[@]}" --profile loadtest down -v --remove-orphans >/dev/null 2>&1 || true' EXIT
    compose "${profiles[@]}" up -d --build >"$up_log" 2>&1 || {
      tail -n 40 "$up_log" >&2
      exit 1
    }
  fi

  # Every nginx answers and reaches an app (up -d has waited for the apps' healthchecks; nginx's own is later).
  local deadline
  for var in "${ports_var[@]}"; do
    deadline=$((SECONDS + 120))
    until curl -fsS -o /dev/null "http://127.0.0.1:${!var}/healthz"; do
      ((SECONDS < deadline)) || { echo "127.0.0.1:${!var}/healthz did not answer within 120 s" >&2; exit 1; }
      sleep 1
    done
  done
}
