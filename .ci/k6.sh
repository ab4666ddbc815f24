#!/usr/bin/env bash
# Builds k6 v2 from source with Go (k6 is not packaged for Debian here) and caches the binary.
# Prints the binary's path on stdout; everything else goes to stderr.
#   K6_VERSION   the k6 release (default: the one the grafana/k6 image tag in docker-compose.yml names)
#   K6_CACHE     where built binaries are kept (default ~/.cache/session-cluster)
set -euo pipefail

# shellcheck source=.ci/lib.sh
. "$(dirname "$0")/lib.sh"
k6_image="$(product_image grafana/k6)"
version="${K6_VERSION:-v${k6_image#*:}}"
[[ "$version" != v ]] || { echo "k6.sh: no grafana/k6 image tag in docker-compose.yml" >&2; exit 1; }
cache="${K6_CACHE:-$HOME/.cache/session-cluster}/k6-$version"
bin="$cache/k6"

if [ -x "$bin" ] && "$bin" version >/dev/null 2>&1; then
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { echo "k6.sh: Go >= 1.25 is needed to build k6" >&2; exit 1; }
# k6 v2 needs Go 1.25 or newer.
go_minor="$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')"
[ "$go_minor" -ge 25 ] || { echo "k6.sh: Go $(go env GOVERSION) is too old; k6 $version needs go1.25+" >&2; exit 1; }

started=$SECONDS
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache"
# A throw-away module pins the exact version: `go install module@version` would also ask the vanity
# import host (not reachable from here) whether the module is deprecated.
(
  cd "$work"
  go mod init k6-build >/dev/null 2>&1
  GOFLAGS=-mod=mod GOPROXY="${GOPROXY:-https://proxy.golang.org}" go get "go.k6.io/k6/v2@$version" >&2
  GOPROXY="${GOPROXY:-https://proxy.golang.org}" go build -trimpath -o "$bin.tmp" go.k6.io/k6/v2 >&2
)
mv "$bin.tmp" "$bin"
echo "k6.sh: built $("$bin" version | head -1) in $((SECONDS - started)) s" >&2
echo "$bin"
