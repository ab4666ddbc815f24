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
# the first `image: NAME:TAG` of docker-compose.yml, or for node the first FROM of app/Dockerfile. A tag
# written `${VAR:-default}` (grafana/k6's K6_IMAGE_TAG) is resolved as compose resolves it.
product_image() {
  local repo image var default
  repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  if [[ "$1" == node ]]; then
    grep -m 1 -oE '^FROM node:[^ ]+' "$repo/app/Dockerfile" | awk '{print $2}'
    return
  fi
  image="$(grep -oE "^\s+image: $1:[^ ]+" "$repo/docker-compose.yml" | head -n 1 | awk '{print $2}')"
  if [[ "$image" =~ ^([^:]+):\$\{([A-Za-z_][A-Za-z0-9_]*):-([^}]*)\}$ ]]; then
    var="${BASH_REMATCH[2]}"
    default="${BASH_REMATCH[3]}"
    image="${BASH_REMATCH[1]}:${!var:-$default}"
  fi
  echo "$image"
}
