#!/usr/bin/env bash
# Builds a cert-manager controller as a host binary from the Go module proxy (no prebuilt download, no Docker):
#   hack/cert-manager/{main.go,go.mod} -> cert-manager-controller (cert-manager's pkg/controller controllers: certificates,
#   certificaterequests for the ca and selfsigned issuers, approver, issuers, clusterissuers; see main.go)
# into ${XDG_CACHE_HOME:-$HOME/.cache}/meet-operator/cert-manager-<version>/bin (override: CERT_MANAGER_CACHE_DIR),
# and copies the CRDs those controllers watch (the module's deploy/crds/cert-manager.io_*.yaml; no acme.* ones: no
# controller here watches Orders or Challenges) into <cache>/crds/.
# Why a wrapper module with our own main: upstream's main is in the module github.com/cert-manager/cert-manager/cmd/controller,
# which the proxy does not serve; the main module (pkg/controller, where the controllers are) is served.
# The version is the one hack/cert-manager/go.mod requires. A stamp records a hash of go.mod/go.sum/main.go, the Go
# version and the recipe; when it matches, the script returns at once.
#
# Usage: hack/build-cert-manager.sh              build (or verify) cert-manager-controller and the CRDs
#        hack/build-cert-manager.sh --print-dir  print the bin dir and exit (does not build); CRDs are in <bin>/../crds
#        hack/build-cert-manager.sh --force      rebuild
# Env:   CERT_MANAGER_CACHE_DIR
set -euo pipefail

HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RECIPE=1   # bump when the build flags below change
MODULE=github.com/cert-manager/cert-manager
SRC="$HACK/cert-manager"
NAME=cert-manager-controller

log() { printf '[build-cert-manager %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf '[build-cert-manager] ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=lib/go-build.sh
. "$(dirname "$0")/lib/go-build.sh"

CERT_MANAGER_VERSION="$(awk -v m="$MODULE" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$SRC/go.mod")"
[[ "$CERT_MANAGER_VERSION" =~ ^v1\.[0-9]+\.[0-9]+ ]] || die "cannot read the $MODULE version from $SRC/go.mod"

CACHE_DIR="${CERT_MANAGER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/meet-operator/cert-manager-${CERT_MANAGER_VERSION}}"
BIN="$CACHE_DIR/bin"
CRDS="$CACHE_DIR/crds"

build_args "$@"

require_go "cert-manager ${CERT_MANAGER_VERSION}"
KEY="$( { echo "recipe=$RECIPE cert-manager=$CERT_MANAGER_VERSION go=$GOVERSION $(go env GOOS)/$(go env GOARCH)"
          cat "$SRC"/go.mod "$SRC"/go.sum "$SRC"/main.go; } | sha256sum | cut -c1-32)"
STAMP="$CACHE_DIR/stamp"

up_to_date() {
  [[ -x "$BIN/$NAME" && -f "$CRDS/cert-manager.io_certificates.yaml" && -f "$STAMP" && "$(head -1 "$STAMP")" == "$KEY" ]]
}
cached_or_lock up_to_date "up to date: cert-manager $CERT_MANAGER_VERSION in $BIN"
rm -f "$STAMP"

export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false -p=2"

# Download first: the CRDs come from the module's source (deploy/crds), and go list needs the module graph.
log "downloading $MODULE@$CERT_MANAGER_VERSION"
MODDIR="$(cd "$SRC" && go mod download -json "$MODULE" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')" \
  || die "go mod download $MODULE@$CERT_MANAGER_VERSION failed"
[[ -d "$MODDIR/deploy/crds" ]] || die "no deploy/crds in $MODULE@$CERT_MANAGER_VERSION ($MODDIR)"

# As upstream's make/00_mod.mk (the git commit is unknown from a module zip).
LDFLAGS="-s -w -X $MODULE/pkg/util.AppVersion=$CERT_MANAGER_VERSION"
BLOG="$CACHE_DIR/logs/$NAME.log"
total="$(cd "$SRC" && go list -deps . 2>>"$BLOG" | wc -l)" || total="?"
log "building $NAME from $MODULE@$CERT_MANAGER_VERSION (~$total packages; log: $BLOG)"
run_go_build "$NAME" "$BLOG" "$total" env -C "$SRC" go build -v -trimpath -ldflags "$LDFLAGS" -o "$BIN/.$NAME.tmp" .
took=$TOOK
"$BIN/.$NAME.tmp" --version | grep -qx "$NAME cert-manager $CERT_MANAGER_VERSION" \
  || die "$NAME --version reports '$("$BIN/.$NAME.tmp" --version | head -1)', expected cert-manager $CERT_MANAGER_VERSION"
mv -f "$BIN/.$NAME.tmp" "$BIN/$NAME"

rm -rf "$CRDS"; mkdir -p "$CRDS"
install -m 0644 "$MODDIR"/deploy/crds/cert-manager.io_*.yaml "$CRDS/"

{ echo "$KEY"; echo "cert-manager=$CERT_MANAGER_VERSION go=$GOVERSION built=$(date -u +%FT%TZ)"; } >"$STAMP.tmp"
mv -f "$STAMP.tmp" "$STAMP"
echo "$NAME $CERT_MANAGER_VERSION ${took}s $(date -u +%FT%TZ) $GOVERSION" >>"$CACHE_DIR/build-times.txt"
log "built in ${took}s: $NAME $(du -h "$BIN/$NAME" | cut -f1); CRDs: $(cd "$CRDS" && echo *.yaml)"
