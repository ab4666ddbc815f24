#!/usr/bin/env bash
# The benchmark (docs/benchmarks.md): sticky vs Redis (Sentinel mode) vs Redis Cluster vs a no-session
# baseline, in one run, on a compose project of its own (the default, sticky and redis-cluster profiles). Maximum sustainable rates, latency at equal load, CPU-seconds per 1000 requests,
# Redis commands per request, nginx's upstream keep-alive reuse, and the Redis variant on 1, 2, 3 apps.
#
#   npm run bench                       # full run, 35 to 45 min; writes docs/reports/bench-<date>.{md,svg,json}
#   npm run bench:ci                    # BENCH_SHORT=1: ~3 min, no baseline ramp, no scaling; the report goes
#                                       # to .artifacts/bench/<time>-short/; fails when a read costs > 1.05
#                                       # Redis commands in either store mode
#   SC_BENCH_PROJECT=scbench HTTP_PORT=18580 STICKY_HTTP_PORT=18581 REDIS_CLUSTER_HTTP_PORT=18582 bash loadtest/bench.sh
#                                       # reuse a running project (all three profiles up); left running
#
# Otherwise it brings up its own project (scbench, or scbench-ci for the short run) on free loopback ports
# with --build, and removes it (down -v) at the end. The phases, the measurements and the report:
# loadtest/tools/bench-run.ts. k6 runs from the loadtest profile's grafana/k6 image, inside the project's
# network (K6_RUNNER=binary for a k6 on the host, against the loopback ports); where no registry is
# reachable .ci/standins.sh builds a stand-in around the k6 that .ci/k6.sh builds.
#
# Environment: BENCH_SHORT, BENCH_OUT (report path prefix), BENCH_P95_MS (the sustainable-rate latency
# bound, 50), BENCH_ROUNDS (2; 1 in the short run), BENCH_VUS (100), BENCH_SESSIONS (30), BENCH_WRITE_EVERY
# (10: 90 % reads), BENCH_STEADY_S (60; 8 in the short run), BENCH_EQUAL_RATE (50 % of sticky's maximum), LOG_LEVEL
# (warn).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== bench: %s (%ss)\n' "$1" "$SECONDS" >&2; }
# k6_runner_ready, stack_up (and compose, free_port)
source loadtest/lib/stack.sh

args=()
short=""
if [[ -n "${BENCH_SHORT:-}" && "$BENCH_SHORT" != 0 ]]; then short=1; args+=(--short); fi
if [[ -n "${BENCH_OUT:-}" ]]; then args+=(--out "$BENCH_OUT"); fi

k6_runner_ready

# Request logs at info would measure pino and Docker's log driver as much as the session store.
export LOG_LEVEL="${LOG_LEVEL:-warn}"
stack_up "${SC_BENCH_PROJECT:-}" "scbench${short:+-ci}" .artifacts/bench-compose-up.log redis-cluster

step "phases"
node_modules/.bin/tsx loadtest/tools/bench-run.ts --project "$COMPOSE_PROJECT_NAME" ${args[@]+"${args[@]}"}
