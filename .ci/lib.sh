# shellcheck shell=bash
# Helpers the .ci scripts share (sourced).

# debian_mirror: the Debian mirror this machine's apt already uses (deb822 `URIs:` or one-line `deb`), so
# images built here fetch from wherever the host is allowed to; DEBIAN_MIRROR overrides it.
debian_mirror() {
  local found
  found="$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list |
    grep -oE '(https?|ftp)://[^ ]+/debian/?$' | head -n 1 | sed 's:/$::' || true)"
  echo "${DEBIAN_MIRROR:-${found:-http://deb.debian.org/debian}}"
}

# product_image NAME: the tag the product names for an official image, read where the product names it:
# the first `image: NAME:TAG` of docker-compose.yml, or for node the first FROM of app/Dockerfile.
product_image() {
  local repo
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if [[ "$1" == node ]]; then
    grep -m 1 -oE '^FROM node:[^ ]+' "$repo/app/Dockerfile" | awk '{print $2}'
  else
    grep -oE "^\s+image: $1:[^ ]+" "$repo/docker-compose.yml" | head -n 1 | awk '{print $2}'
  fi
}
