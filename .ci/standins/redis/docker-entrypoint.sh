#!/bin/sh
# Behaves like the official redis image's entrypoint in the cases this project uses.
set -e

# `docker run redis:8.0 --port 7000` and `docker run redis:8.0 my.conf` start redis-server.
case "$1" in
  -*|*.conf) set -- redis-server "$@" ;;
esac

# Started as root for redis-server or Sentinel: hand /data to redis, then run as redis.
if [ "$(id -u)" = 0 ] && { [ "$1" = redis-server ] || [ "$1" = redis-sentinel ]; }; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid redis --regid redis --init-groups "$0" "$@"
fi

# Data and rewritten configs are readable by redis only, as with the official image.
[ "$(umask)" != 0022 ] || umask 0077
exec "$@"
