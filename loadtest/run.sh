#!/usr/bin/env bash
# Runs the k6 scripts against a running compose stack, one folder of results per run:
#
#   loadtest/run.sh smoke | continuity | chaos | compare | all      [extra k6 run arguments]
#
# Each run writes to $RESULTS/<UTC time>-<name>/: summary.json + summary.txt (handleSummary),
# metrics.csv.gz (every sample, timestamps in ms), dashboard.html (K6_WEB_DASHBOARD_EXPORT), k6.log, run.json
# (machine and versions) and, for chaos and compare, faults.jsonl (the chaos driver's log) and the compare
# report (report.md, report.svg, report.json). `all` = smoke on both variants, continuity, compare.
#
# Environment:
#   BASE_URL, STICKY_URL   the two nginx (default http://127.0.0.1:8080 and :8081, the compose defaults)
#   CLUSTER_URL            the redis-cluster profile's nginx-cluster (default http://127.0.0.1:8082)
#   TARGET                 redis (default), sticky or cluster: the variant smoke, continuity and chaos run
#                          against (cluster: smoke and continuity, with the redis-cluster profile up; the
#                          chaos schedules break the default profile's services)
#   CHAOS                  the chaos schedule (loadtest/lib/chaos-schedules.ts): chaos → apps | redis,
#                          compare → compare | compare-ci
#   COMPOSE_PROJECT_NAME   the compose project the chaos driver breaks (default: this folder's name, as compose)
#   RESULTS                where run folders go (default .artifacts/loadtest)
#   K6_RUNNER              binary (default) or docker: the loadtest profile's grafana/k6 image, inside the
#                          project's network (docker compose --profile loadtest run k6)
#   K6                     the k6 binary (default: k6 on PATH, else the one .ci/k6.sh builds)
#   RATE, USERS, DURATION, LOAD_SHAPE   passed to the scripts (loadtest/lib/load-shapes.ts)
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit 2
}
[[ $# -ge 1 ]] || usage
what="$1"
shift

export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-$(basename "$root" | tr '[:upper:]' '[:lower:]' | tr -cd 'a-z0-9_-')}"
results="$(mkdir -p "${RESULTS:-.artifacts/loadtest}" && cd "${RESULTS:-.artifacts/loadtest}" && pwd)"
runner="${K6_RUNNER:-binary}"
tsx=("$root/node_modules/.bin/tsx")

log() { printf '[loadtest] %s\n' "$*" >&2; }

# Every sample with a millisecond timestamp (the report bins them per second); the HTML report exported at
# the end without serving the live dashboard (no port to collide with a parallel run); no usage report.
# The loadtest service in docker-compose.yml sets the same for the image.
export K6_CSV_TIME_FORMAT=unix_milli K6_WEB_DASHBOARD=true K6_WEB_DASHBOARD_PORT=-1 K6_NO_USAGE_REPORT=true

# compose, free_port, k6_binary
source "$root/loadtest/lib/stack.sh"

# k6_run SCRIPT API_PORT [k6 args]: one k6 run into $run (= $results/$run_name), by binary or by image.
k6_run() {
  local script="$1" api_port="$2"
  shift 2
  local env=(
    -e "TARGET=${TARGET:-redis}" -e "CHAOS=${CHAOS:-}"
    -e "RATE=${RATE:-}" -e "USERS=${USERS:-}" -e "DURATION=${DURATION:-}" -e "LOAD_SHAPE=${LOAD_SHAPE:-}"
  )
  if [[ "$runner" == docker ]]; then
    # Inside the project's network the targets are the nginx services; results land in the bind mount.
    LOADTEST_RESULTS="$results" compose --profile loadtest run --rm --no-deps -T \
      --user "$(id -u):$(id -g)" --publish "127.0.0.1:$api_port:6565" \
      -e "RESULTS_DIR=/results/$run_name" \
      -e "K6_WEB_DASHBOARD_EXPORT=/results/$run_name/dashboard.html" \
      k6 run --quiet --address 0.0.0.0:6565 --out "csv=/results/$run_name/metrics.csv.gz" \
      "${env[@]}" "$@" "/scripts/$script"
  else
    RESULTS_DIR="$run" K6_WEB_DASHBOARD_EXPORT="$run/dashboard.html" "$(k6_binary)" run \
      --quiet --address "127.0.0.1:$api_port" --out "csv=$run/metrics.csv.gz" \
      -e "BASE_URL=${BASE_URL:-http://127.0.0.1:8080}" -e "STICKY_URL=${STICKY_URL:-http://127.0.0.1:8081}" \
      "${env[@]}" "$@" "$root/loadtest/$script"
  fi
}

# run_script NAME SCRIPT SCHEDULE [k6 args]: one script, with the chaos driver beside it unless SCHEDULE is "".
run_script() {
  local name="$1" script="$2" schedule="$3"
  shift 3
  run_name="$(date -u +%Y%m%dT%H%M%SZ)-$name"
  run="$results/$run_name"
  mkdir -p "$run"
  "${tsx[@]}" "$root/loadtest/tools/run-info.ts" --script "$script" --schedule "$schedule" \
    --project "$COMPOSE_PROJECT_NAME" --runner "$runner" --k6 "$([[ $runner == docker ]] && echo docker || k6_binary)" >"$run/run.json"
  log "$name: $script${schedule:+ with chaos schedule $schedule} → $run"

  local api_port rc=0 driver_rc=0 driver_pid=""
  api_port="$(free_port)"
  k6_run "$script" "$api_port" "$@" 2> >(tee "$run/k6.log" >&2) &
  local k6_pid=$!
  if [[ -n "$schedule" ]]; then
    "${tsx[@]}" "$root/loadtest/tools/chaos-driver.ts" --project "$COMPOSE_PROJECT_NAME" --schedule "$schedule" \
      --k6-api "http://127.0.0.1:$api_port" --log "$run/faults.jsonl" &
    driver_pid=$!
  fi
  wait "$k6_pid" || rc=$?
  if [[ -n "$driver_pid" ]]; then
    # k6 ending first (a failed setup) must not leave the driver waiting; it heals what it took down.
    kill -TERM "$driver_pid" 2>/dev/null || true
    wait "$driver_pid" || driver_rc=$?
  fi
  # 99: thresholds failed (the run itself is complete); anything else: k6 could not run it.
  log "$name: k6 exit $rc${driver_pid:+, chaos driver exit $driver_rc}"
  if [[ "$script" == 04.compare.ts && -s "$run/summary.json" ]]; then
    "${tsx[@]}" "$root/loadtest/tools/compare-report.ts" "$run" --out "$run/report" || rc=$((rc ? rc : 1))
  fi
  if ((rc == 0 && driver_rc != 0 && driver_rc != 130)); then rc=$driver_rc; fi
  return "$rc"
}

case "$what" in
  smoke) run_script "smoke-${TARGET:-redis}" 01.smoke.ts "" "$@" ;;
  continuity) run_script "continuity-${TARGET:-redis}" 02.continuity.ts "" "$@" ;;
  chaos) run_script "chaos-${CHAOS:-apps}-${TARGET:-redis}" 03.chaos.ts "${CHAOS:-apps}" "$@" ;;
  compare) run_script "compare" 04.compare.ts "${CHAOS:-compare}" "$@" ;;
  all)
    rc=0
    TARGET=redis run_script smoke-redis 01.smoke.ts "" "$@" || rc=$?
    TARGET=sticky run_script smoke-sticky 01.smoke.ts "" "$@" || rc=$?
    run_script "continuity-${TARGET:-redis}" 02.continuity.ts "" "$@" || rc=$?
    run_script compare 04.compare.ts "${CHAOS:-compare}" "$@" || rc=$?
    exit "$rc"
    ;;
  *) usage ;;
esac
