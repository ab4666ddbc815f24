#!/bin/sh
# Starts redis-server (role file primary.conf or replica.conf) or Sentinel (sentinel.conf) in the redis
# image, from a config file kept in /data, the container's named volume. Redis and Sentinel rewrite their
# config file (Sentinel as it learns, Redis when Sentinel changes its role after a failover), so the file
# must be writable and must survive a restart; the repository's files are mounted read-only.
#
#   start.sh server   /usr/local/etc/redis/primary.conf  [redis-server options...]
#   start.sh sentinel /usr/local/etc/redis/sentinel.conf [redis-server options...]
#
# REDIS_PASSWORD (required) becomes requirepass and masterauth, and Sentinel's auth-pass; it is applied
# on every start and never written to the repository.
set -eu

mode="$1"
template="$2"
shift 2
: "${REDIS_PASSWORD:?REDIS_PASSWORD must be set}"
etc="$(dirname "$template")"

case "$mode" in
  server)
    conf=/data/redis.conf
    # The role belongs to Sentinel once the cluster runs: keep the replicaof line it last had Redis write
    # (CONFIG REWRITE after a failover; none means primary), take the role file's on the very first start.
    # Everything else comes fresh from the repository on every start.
    role_from="$template"
    [ ! -f "$conf" ] || role_from="$conf"
    role="$(grep -E '^replicaof[[:space:]]' "$role_from" || true)"
    {
      cat "$etc/redis.conf"
      grep -vE '^replicaof[[:space:]]' "$template"
      printf '%s\n' "$role"
    } >"$conf.new"
    mv "$conf.new" "$conf"
    exec redis-server "$conf" --requirepass "$REDIS_PASSWORD" --masterauth "$REDIS_PASSWORD" "$@"
    ;;
  sentinel)
    conf=/data/sentinel.conf
    # Sentinel owns this file after the first start; the template only seeds it.
    [ -f "$conf" ] || cp "$template" "$conf"
    master="$(awk '$1 == "sentinel" && $2 == "monitor" { print $3; exit }' "$template")"
    exec redis-server "$conf" --sentinel \
      --requirepass "$REDIS_PASSWORD" \
      --sentinel auth-pass "$master" "$REDIS_PASSWORD" "$@"
    ;;
  *)
    echo "usage: start.sh server|sentinel TEMPLATE [options]" >&2
    exit 64
    ;;
esac
