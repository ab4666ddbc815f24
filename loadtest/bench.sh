#!/usr/bin/env bash
# The benchmark (docs/benchmarks.md): sticky vs Redis vs a no-session baseline, in one run, on a compose
# project of its own. Maximum sustainable rates, latency at equal load, CPU-seconds per 1000 requests,
# Redis commands per request, nginx's upstream keep-alive reuse, and the Redis variant on 1, 2, 3 apps.
#
#   npm run bench                       # full run, ~35 min; writes docs/reports/bench-<date>.{md,svg,json}
#   npm run bench:ci                    # BENCH_SHORT=1: ~3 min, no baseline ramp, no scaling; the report goes
#                                       # to .artifacts/bench/<time>-short/; fails when a read costs > 1.05
#                                       # Redis commands
#   SC_BENCH_PROJECT=scbench HTTP_PORT=18580 STICKY_HTTP_PORT=18581 bash loadtest/bench.sh
#                                       # reuse a running project (both profiles up); left running
#
# Otherwise it brings up its own project (scbench, or scbench-ci for the short run) on free loopback ports
# with --build, and removes it (down -v) at the end. The phases, the measurements and the report:
# loadtest/tools/bench-run.ts. k6 runs from the loadtest profile's grafana/k6 image, inside the project's
# network (K6_RUNNER=binary for a k6 on the host, against the loopback ports); where no registry is
# reachable .ci/standins.sh builds a stand-in around the k6 that .ci/k6.sh builds.
#
# Environment: BENCH_SHORT, BENCH_OUT (report path prefix), BENCH_P95_MS (the sustainable-rate latency
# bound, 50), BENCH_ROUNDS (2; 1 in the short run), BENCH_VUS (100), BENCH_SESSIONS (30), BENCH_WRITE_EVERY
# (10: 90 % reads), LOG_LEVEL (warn).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== bench: %s (%ss)\n' "$1" "$SECONDS" >&2; }
compose() {
  if docker-compose version >/dev/null 2>&1; then docker-compose "$@"; else docker compose "$@"; fi
}
free_port() {
  node -e "const s = require('net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })"
}

args=()
short=""
if [[ -n "${BENCH_SHORT:-}" && "$BENCH_SHORT" != 0 ]]; then short=1; args+=(--short); fi
if [[ -n "${BENCH_OUT:-}" ]]; then args+=(--out "$BENCH_OUT"); fi

export K6_RUNNER="${K6_RUNNER:-docker}"
if [[ "$K6_RUNNER" == docker ]] && ! docker image inspect "grafana/k6:${K6_IMAGE_TAG:-2.2.0}" >/dev/null 2>&1; then
  step "k6 image (stand-in)"
  bash .ci/standins.sh
fi

# Request logs at info would measure pino and Docker's log driver as much as the session store.
export LOG_LEVEL="${LOG_LEVEL:-warn}"
if [[ -n "${SC_BENCH_PROJECT:-}" ]]; then
  : "${HTTP_PORT:?reusing $SC_BENCH_PROJECT needs its HTTP_PORT}" "${STICKY_HTTP_PORT:?and its STICKY_HTTP_PORT}"
  export COMPOSE_PROJECT_NAME="$SC_BENCH_PROJECT"
  step "reusing compose project $COMPOSE_PROJECT_NAME (127.0.0.1:$HTTP_PORT, :$STICKY_HTTP_PORT)"
else
  export COMPOSE_PROJECT_NAME="scbench${short:+-ci}"
  HTTP_PORT="$(free_port)"
  STICKY_HTTP_PORT="$(free_port)"
  export HTTP_PORT STICKY_HTTP_PORT
  step "compose project $COMPOSE_PROJECT_NAME up (127.0.0.1:$HTTP_PORT, :$STICKY_HTTP_PORT)"
  mkdir -p .artifacts
  compose --profile sticky down -v --remove-orphans >/dev/null 2>&1 || true
  trap 'step "compose project $COMPOSE_PROJECT_NAME down"; compose --profile sticky --profile loadtest down -v --remove-orphans >/dev/null 2>&1 || true' EXIT
  compose --profile sticky up -d --build >.artifacts/bench-compose-up.log 2>&1 || {
    tail -n 40 .artifacts/bench-compose-up.log >&2
    exit 1
  }
fi

# Both nginx answer and reach an app (up -d has waited for the apps' healthchecks; nginx's own is later).
for port in "$HTTP_PORT" "$STICKY_HTTP_PORT"; do
  deadline=$((SECONDS + 120))
  until curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz"; do
    ((SECONDS < deadline)) || { echo "bench: 127.0.0.1:$port/healthz did not answer within 120 s" >&2; exit 1; }
    sleep 1
  done
done

step "phases"
node_modules/.bin/tsx loadtest/tools/bench-run.ts --project "$COMPOSE_PROJECT_NAME" ${args[@]+"${args[@]}"}
