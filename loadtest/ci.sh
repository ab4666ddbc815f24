#!/usr/bin/env bash
# CI's load test against the real compose stack: smoke on both variants, then a short compare with chaos
# (CHAOS=compare-ci: one instance of each variant killed at the same moment, 80 s). Fails when a smoke
# check fails or when the Redis variant loses a session (loadtest/tools/ci-verdict.ts).
#
#   bash loadtest/ci.sh                 # a compose project of its own (sck6-ci) on free loopback ports,
#                                       # started with --build and removed (down -v) at the end
#   SC_LOADTEST_PROJECT=sck6 HTTP_PORT=18480 STICKY_HTTP_PORT=18481 bash loadtest/ci.sh
#                                       # reuse a running project (both profiles up); left running
#
# k6 runs from the loadtest profile's grafana/k6 image (K6_RUNNER=binary for a k6 on PATH or from
# .ci/k6.sh); where no registry is reachable, .ci/standins.sh builds a stand-in for it around the k6 that
# .ci/k6.sh builds. Results: .artifacts/loadtest/ci/ (summaries, CSV, HTML dashboards, the compare report).
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== loadtest: %s (%ss)\n' "$1" "$SECONDS"; }
# k6_runner_ready, stack_up (and compose, free_port)
source loadtest/lib/stack.sh

k6_runner_ready

export LOG_LEVEL="${LOG_LEVEL:-warn}"
stack_up "${SC_LOADTEST_PROJECT:-}" sck6-ci .artifacts/loadtest-compose-up.log
export BASE_URL="http://127.0.0.1:$HTTP_PORT" STICKY_URL="http://127.0.0.1:$STICKY_HTTP_PORT"

export RESULTS=.artifacts/loadtest/ci
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
# A failed run is judged by the verdict below, from its summary; run.sh's exit code only says thresholds
# crossed (99), and some of those are reported without failing CI.
step "smoke, Redis variant"
TARGET=redis loadtest/run.sh smoke || true
step "smoke, sticky variant"
TARGET=sticky loadtest/run.sh smoke || true
step "compare with chaos (compare-ci)"
CHAOS=compare-ci loadtest/run.sh compare || true

step "verdict"
cat "$RESULTS"/*-compare/report.md 2>/dev/null | sed -n '/^| |/,/^$/p' || true
node_modules/.bin/tsx loadtest/tools/ci-verdict.ts "$RESULTS"/*/
