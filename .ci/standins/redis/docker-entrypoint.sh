#!/bin/sh
# Behaves like the official redis image's entrypoint in the cases this project uses.
set -e

# `docker run redis:8.10 --port 7000` and `docker run redis:8.10 my.conf` start redis-server.
case "$1" in
  -*|*.conf) set -- redis-server "$@" ;;
esac

# The official image builds redis-server with protected mode off by default (a container is reached
# through Docker's network, never from loopback); Debian's keeps it on. Unless the arguments or a config
# file named in them set it, it is turned off here the same way.
if [ "$1" = redis-server ]; then
  set_here=no
  for arg in "$@"; do
    case "$arg" in
      --protected-mode) set_here=yes ;;
      *.conf) if [ -r "$arg" ] && grep -qE '^[[:space:]]*protected-mode' "$arg"; then set_here=yes; fi ;;
    esac
  done
  [ "$set_here" = yes ] || set -- "$@" --protected-mode no
fi

# Started as root for redis-server or Sentinel: hand /data to redis, then run as redis.
if [ "$(id -u)" = 0 ] && { [ "$1" = redis-server ] || [ "$1" = redis-sentinel ]; }; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid redis --regid redis --init-groups "$0" "$@"
fi

# Data and rewritten configs are readable by redis only, as with the official image.
[ "$(umask)" != 0022 ] || umask 0077
exec "$@"
