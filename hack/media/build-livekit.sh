#!/usr/bin/env bash
# Builds livekit-server from the Go module proxy (no Docker, no prebuilt downloads):
#   go install github.com/livekit/livekit-server/cmd/server@${LIVEKIT_VERSION}
# (that tag's go.mod has no replace directives, so `go install pkg@version` works; it needs Go >= 1.26)
# into ${XDG_CACHE_HOME:-$HOME/.cache}/meet-operator/livekit-<version>/bin/livekit-server
# (override: LIVEKIT_CACHE_DIR). Same flags as upstream's Dockerfile: CGO_ENABLED=0.
# A stamp file records the version, the Go version and the build recipe; when it matches, nothing is
# rebuilt and the script returns at once.
#
# Usage: hack/media/build-livekit.sh              build (or verify) the binary
#        hack/media/build-livekit.sh --print-dir  print the bin dir and exit (does not build)
#        hack/media/build-livekit.sh --force      rebuild
set -euo pipefail

LIVEKIT_VERSION="${LIVEKIT_VERSION:-v1.13.5}"
MODULE=github.com/livekit/livekit-server
RECIPE=1   # bump when the build flags below change, to invalidate caches

log() { printf '[build-livekit %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf '[build-livekit] ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=../lib/go-build.sh
. "$(dirname "$0")/../lib/go-build.sh"

CACHE_DIR="${LIVEKIT_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/meet-operator/livekit-${LIVEKIT_VERSION}}"
BIN="$CACHE_DIR/bin"

build_args "$@"

require_go "livekit-server ${LIVEKIT_VERSION}"

KEY="recipe=$RECIPE livekit=$LIVEKIT_VERSION go=$GOVERSION $(go env GOOS)/$(go env GOARCH)"
STAMP="$CACHE_DIR/stamp"

up_to_date() { [[ -f "$STAMP" && "$(head -1 "$STAMP")" == "$KEY" && -x "$BIN/livekit-server" ]]; }
cached_or_lock up_to_date "up to date: livekit-server ${LIVEKIT_VERSION} in $BIN"
rm -f "$STAMP"

# The tag must not carry replace directives (go install pkg@version refuses them).
GOMOD="$(go mod download -json "$MODULE@$LIVEKIT_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
[[ -f "$GOMOD" ]] || die "go mod download $MODULE@$LIVEKIT_VERSION failed (is the Go module proxy reachable?)"
if grep -q '^replace\|^[[:space:]]*replace[[:space:]]' "$GOMOD"; then
  die "$MODULE@$LIVEKIT_VERSION has replace directives in its go.mod ($GOMOD): go install pkg@version cannot build it; use a wrapper module"
fi

BLOG="$CACHE_DIR/logs/livekit-server.log"
TMPBIN="$CACHE_DIR/.gobin"
rm -rf "$TMPBIN"; mkdir -p "$TMPBIN"
export CGO_ENABLED=0 GOBIN="$TMPBIN" GOFLAGS="-buildvcs=false -p=${GO_BUILD_P:-2}"
log "livekit-server ${LIVEKIT_VERSION}: go install $MODULE/cmd/server@$LIVEKIT_VERSION (log: $BLOG)"
run_go_build livekit-server "$BLOG" "" go install -v -trimpath -ldflags "-s -w" "$MODULE/cmd/server@$LIVEKIT_VERSION"
mv -f "$TMPBIN/server" "$BIN/livekit-server"
rm -rf "$TMPBIN"

"$BIN/livekit-server" --version 2>&1 | grep -q "${LIVEKIT_VERSION#v}" \
  || die "livekit-server --version reports '$("$BIN/livekit-server" --version 2>&1)', expected ${LIVEKIT_VERSION#v}"

echo "livekit-server ${TOOK}s $(date -u +%FT%TZ) $GOVERSION" >>"$CACHE_DIR/build-times.txt"
{ echo "$KEY"; echo "livekit=${LIVEKIT_VERSION} go=${GOVERSION} built=$(date -u +%FT%TZ) took=${TOOK}s"; } >"$STAMP.tmp"
mv -f "$STAMP.tmp" "$STAMP"
log "done: livekit-server ${LIVEKIT_VERSION} built in ${TOOK}s ($(du -h "$BIN/livekit-server" | cut -f1)); stamp $STAMP"
