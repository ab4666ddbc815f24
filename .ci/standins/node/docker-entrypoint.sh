#!/bin/sh
# Behaves like the official node image's entrypoint: an option (`-e ...`), a script file or anything that is
# not a command runs under node; a command runs as given.
set -e
if [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1")" ] || { [ -f "$1" ] && ! [ -x "$1" ]; }; then
  set -- node "$@"
fi
exec "$@"
