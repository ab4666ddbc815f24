#!/bin/sh
# Starts redis-server (role file primary.conf, replica.conf or replica-2.conf, after redis.conf and
# replicated.conf), a Redis Cluster node (cluster-node.conf) or Sentinel (sentinel.conf) in the redis
# image, from a config file kept in /data, the container's named volume. Redis and Sentinel rewrite their
# config file (Sentinel as it learns, Redis when Sentinel changes its role after a failover), so the file
# must be writable and must survive a restart; the repository's files are mounted read-only.
#
#   start.sh server       /usr/local/etc/redis/primary.conf      [redis-server options...]
#   start.sh cluster-node /usr/local/etc/redis/cluster-node.conf [redis-server options...]
#   start.sh sentinel     /usr/local/etc/redis/sentinel.conf     [redis-server options...]
#
# REDIS_PASSWORD (required) becomes requirepass and masterauth, and Sentinel's auth-pass: the default user,
# for replication, Sentinel and operators. REDIS_APP_PASSWORD (required) is the password of the apps' own
# user (REDIS_APP_USERNAME, default session-app), whose rules come from session-app.acl (Redis) or
# session-app.sentinel.acl (Sentinel). Both are applied on every start and never written to the repository.
set -euf  # -f: the rules' key patterns (~sess:*) are words for Redis, not globs for the shell

mode="$1"
template="$2"
shift 2
: "${REDIS_PASSWORD:?REDIS_PASSWORD must be set}"
: "${REDIS_APP_PASSWORD:?REDIS_APP_PASSWORD must be set}"
app_user="${REDIS_APP_USERNAME:-session-app}"
etc="$(dirname "$template")"

# The words of an ACL rules file, comments and blank lines dropped (split into arguments by the caller).
acl_rules() {
  sed -e 's/#.*//' "$1"
}

# A restarted container may get another address from Docker. nodes.conf remembers each node by address and
# name (`id ip:port@bus,name …`): point every entry whose name resolves now at its current address, so this
# node finds its peers (and they it) after all of them restarted.
refresh_node_addresses() {
  [ -f "$1" ] || return 0
  while read -r id address rest; do
    case "$address" in
      *,*)
        name="${address#*,}"
        ip="$(getent hosts "${name%%,*}" | awk '{ print $1; exit }' || true)"
        [ -z "$ip" ] || address="$ip:${address#*:}"
        ;;
    esac
    printf '%s %s %s\n' "$id" "$address" "$rest"
  done <"$1" >"$1.new"
  mv "$1.new" "$1"
}

case "$mode" in
  cluster-node)
    conf=/data/redis.conf
    cat "$etc/redis.conf" "$template" >"$conf.new"
    mv "$conf.new" "$conf"
    refresh_node_addresses /data/nodes.conf
    # shellcheck disable=SC2046  # one argument per rule
    exec redis-server "$conf" --cluster-announce-hostname "$(hostname)" \
      --requirepass "$REDIS_PASSWORD" --masterauth "$REDIS_PASSWORD" \
      --user "$app_user" $(acl_rules "$etc/session-app.acl") on ">$REDIS_APP_PASSWORD" "$@"
    ;;
  server)
    conf=/data/redis.conf
    # The role belongs to Sentinel once the cluster runs: keep the replicaof line it last had Redis write
    # (CONFIG REWRITE after a failover; none means primary), take the role file's on the very first start.
    # Everything else comes fresh from the repository on every start.
    role_from="$template"
    [ ! -f "$conf" ] || role_from="$conf"
    role="$(grep -E '^replicaof[[:space:]]' "$role_from" || true)"
    {
      cat "$etc/redis.conf" "$etc/replicated.conf"
      grep -vE '^replicaof[[:space:]]' "$template"
      printf '%s\n' "$role"
    } >"$conf.new"
    mv "$conf.new" "$conf"
    # shellcheck disable=SC2046  # one argument per rule
    exec redis-server "$conf" --requirepass "$REDIS_PASSWORD" --masterauth "$REDIS_PASSWORD" \
      --user "$app_user" $(acl_rules "$etc/session-app.acl") on ">$REDIS_APP_PASSWORD" "$@"
    ;;
  sentinel)
    conf=/data/sentinel.conf
    # Sentinel owns this file after the first start; the template only seeds it.
    [ -f "$conf" ] || cp "$template" "$conf"
    # Sentinel writes its users into that file too (passwords hashed); they are given again below, and
    # Redis refuses a user defined twice.
    sed -i -e '/^user[[:space:]]/d' "$conf"
    master="$(awk '$1 == "sentinel" && $2 == "monitor" { print $3; exit }' "$template")"
    # shellcheck disable=SC2046  # one argument per rule
    exec redis-server "$conf" --sentinel \
      --requirepass "$REDIS_PASSWORD" \
      --sentinel auth-pass "$master" "$REDIS_PASSWORD" \
      --user "$app_user" $(acl_rules "$etc/session-app.sentinel.acl") on ">$REDIS_APP_PASSWORD" "$@"
    ;;
  *)
    echo "usage: start.sh server|cluster-node|sentinel TEMPLATE [options]" >&2
    exit 64
    ;;
esac
