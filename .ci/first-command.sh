#!/usr/bin/env bash
# The README's first command and the tour's first steps, typed the way a user types them, with Compose v2
# (`docker compose`), curl and jq, in a clean copy of the repository: fails when any step would fail for a
# user. .ci/compose-v2.sh runs it inside a current Docker Engine; it runs as well on any machine with Docker
# and Compose v2 (it takes the stack down, volumes included, at the end).
#
#   1. docker compose up --build -d, then wait until every service is healthy
#   2. log in, 30 clicks on POST /api/visits through nginx: all three apps serve them, visits go 1..30
#   3. docker compose kill app-2, 20 more clicks: visits go on 31..50, nothing lost
#   4. a source file changes, docker compose up --build -d again (the second-build case), 10 more clicks
#   5. docker compose down -v
#
#   bash .ci/first-command.sh          # env: HTTP_PORT (default 8080)
set -euo pipefail
cd "$(dirname "$0")/.."

url="http://127.0.0.1:${HTTP_PORT:-8080}"
work="$(mktemp -d)"
# Step 4 changes app/src/server.ts; it is put back however the script ends.
cp app/src/server.ts "$work/server.ts"
trap 'cp "$work/server.ts" app/src/server.ts; rm -rf "$work"' EXIT

step() { printf '\n== %s (%ss)\n' "$*" "$SECONDS"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

# Every service of the default profile healthy, within 240 s.
wait_healthy() {
  local services deadline=$((SECONDS + 240)) states
  services="$(docker compose config --services | sort | tr '\n' ' ')"
  while :; do
    states="$(docker compose ps -a --format '{{.Service}}={{.Health}}' | sort | tr '\n' ' ')"
    if [ "$(docker compose ps -a --format '{{.Service}}' | sort | tr '\n' ' ')" = "$services" ] &&
      ! grep -qvE '^[^=]+=healthy$' <(tr ' ' '\n' <<<"$states" | grep .); then
      echo "all healthy after ${SECONDS}s: $states"
      return 0
    fi
    ((SECONDS < deadline)) || fail "not healthy within 240 s: $states"
    sleep 2
  done
}

login() {
  local body
  body="$(curl -sS -c "$work/jar" -H 'content-type: application/json' \
    -d '{"username":"alice","password":"wonderland"}' "$url/api/login")"
  csrf="$(jq -er .csrfToken <<<"$body")" || fail "login answered: $body"
  visits=0
}

# click: POST /api/visits once; sets status, served and the answer's visits (when 200).
click() {
  status="$(curl -sS -b "$work/jar" -H "X-CSRF-Token: $csrf" -X POST -D "$work/headers" -o "$work/body" \
    -w '%{http_code}' "$url/api/visits" || echo 000)"
  served="$(tr -d '\r' <"$work/headers" | awk -F': ' 'tolower($1) == "x-served-by" {print $2}')"
  answered="$(jq -r '.visits // empty' "$work/body" 2>/dev/null || true)"
}

# clicks N: N clicks, each must answer the previous visits + 1. A click nginx could not deliver (502/504,
# or no answer) is sent again, at most 3 times, and counted in `resent`. Prints who served them.
clicks() {
  local n="$1" i tries
  declare -A by=()
  for ((i = 0; i < n; i++)); do
    for ((tries = 0; ; tries++)); do
      click
      [ "$status" = 200 ] && break
      case "$status" in 502 | 504 | 000) ((tries < 3)) || fail "click $((visits + 1)): $status three times" ;;
        *) fail "click $((visits + 1)) answered $status: $(cat "$work/body")" ;; esac
      resent=$((resent + 1))
      sleep 0.2
    done
    [ "$answered" = $((visits + 1)) ] || fail "click $((visits + 1)) answered visits=$answered (served by $served): the session lost data"
    visits="$answered"
    by[$served]=$((${by[$served]:-0} + 1))
  done
  shares=""
  for k in $(printf '%s\n' "${!by[@]}" | sort); do shares+="$k×${by[$k]} "; done
  shares="${shares% }"
  echo "visits now $visits; served by $shares"
}

resent=0
docker compose version
docker version --format 'Docker Engine {{.Server.Version}}, API {{.Server.APIVersion}}'

step "1. docker compose up --build -d"
docker compose up --build -d
wait_healthy
docker compose ps

step "2. log in, 30 clicks through nginx"
login
clicks 30
[ "$shares" = "app-1×10 app-2×10 app-3×10" ] || fail "round robin over three apps expected, got: $shares"

step "3. docker compose kill app-2, 20 more clicks"
docker compose kill app-2
clicks 20
case " $shares " in *" app-2×"*) fail "app-2 was killed but served: $shares" ;; esac
echo "clicks nginx had to be sent again after the kill: $resent"

step "4. a source file changes; docker compose up --build -d again"
before="$(docker image inspect -f '{{.Id}}' session-cluster-app:local)"
printf '\n// changed by .ci/first-command.sh: the second build\n' >>app/src/server.ts
docker compose up --build -d
after="$(docker image inspect -f '{{.Id}}' session-cluster-app:local)"
[ "$before" != "$after" ] || fail "the app image was not rebuilt"
wait_healthy
for app in app-1 app-2 app-3; do
  [ "$(docker inspect -f '{{.Image}}' "$(docker compose ps -q "$app")")" = "$after" ] || fail "$app does not run the new image"
done
echo "app image rebuilt ($before -> $after); app-1, app-2 and app-3 run it"
clicks 10
deadline=$((SECONDS + 60))
until [ "$(wc -w <<<"$shares")" = 3 ]; do
  ((SECONDS < deadline)) || fail "app-2 not back in nginx's rotation within 60 s: $shares"
  sleep 1
  clicks 3
done

step "5. docker compose down -v"
docker compose down -v
echo "first command: passed in ${SECONDS}s (visits $visits, clicks sent again $resent)"
