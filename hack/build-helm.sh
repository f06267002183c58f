#!/usr/bin/env bash
# Builds the helm CLI from the Go module proxy (no prebuilt download, no Docker):
#   go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION
# into ${XDG_CACHE_HOME:-$HOME/.cache}/meet-operator/helm-<version>/bin/helm (override: HELM_CACHE_DIR).
# helm's go.mod has no replace directives, so a plain `go install module@version` works (unlike
# k8s.io/kubernetes, see hack/README.md). The version flags are the ones helm's own Makefile sets
# (helm version, and the default Kubernetes version used by `helm lint`/`helm template`, derived from the
# k8s.io/client-go version helm requires).
# A stamp records version + Go version + recipe; when it matches, the script returns at once.
#
# Usage: hack/build-helm.sh              build (or verify) helm
#        hack/build-helm.sh --print-dir  print the bin dir and exit (does not build)
#        hack/build-helm.sh --force      rebuild
# Env:   HELM_VERSION (default below), HELM_CACHE_DIR
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.22.0}"   # latest v3 on proxy.golang.org at the time of writing
RECIPE=1                                  # bump when the build flags below change

log() { printf '[build-helm %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf '[build-helm] ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=lib/go-build.sh
. "$(dirname "$0")/lib/go-build.sh"

[[ "$HELM_VERSION" =~ ^v([0-9]+)\.[0-9]+\.[0-9]+ ]] || die "unexpected HELM_VERSION '$HELM_VERSION'"
HELM_MAJOR="${BASH_REMATCH[1]}"
MODULE="helm.sh/helm/v${HELM_MAJOR}"

CACHE_DIR="${HELM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/meet-operator/helm-${HELM_VERSION}}"
BIN="$CACHE_DIR/bin"

build_args "$@"

require_go "helm ${HELM_VERSION}"
KEY="recipe=$RECIPE helm=$HELM_VERSION go=$GOVERSION $(go env GOOS)/$(go env GOARCH)"
STAMP="$CACHE_DIR/stamp"

up_to_date() { [[ -x "$BIN/helm" && -f "$STAMP" && "$(cat "$STAMP")" == "$KEY" ]]; }
cached_or_lock up_to_date "up to date: helm $HELM_VERSION in $BIN"
rm -f "$STAMP"

# Download first (fast, and lets us read the module's go.mod for the client-go version).
log "downloading $MODULE@$HELM_VERSION"
MODJSON="$(cd "$CACHE_DIR" && GOFLAGS=-mod=mod go mod download -json "$MODULE@$HELM_VERSION")" \
  || die "go mod download $MODULE@$HELM_VERSION failed"
GOMOD="$(printf '%s' "$MODJSON" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
[[ -f "$GOMOD" ]] || die "cannot locate go.mod of $MODULE@$HELM_VERSION"
if grep -qE '^[[:space:]]*replace[[:space:](]' "$GOMOD"; then
  die "$MODULE@$HELM_VERSION has replace directives: go install would refuse it (use a wrapper module)"
fi
CLIENT_GO="$(awk '$1 == "k8s.io/client-go" && $2 ~ /^v0\./ { print $2; exit }' "$GOMOD")"
[[ "$CLIENT_GO" =~ ^v0\.([0-9]+)\. ]] || die "cannot read the k8s.io/client-go version from $GOMOD"
K8S_MINOR="${BASH_REMATCH[1]}"

LDFLAGS="-s -w -X $MODULE/internal/version.version=$HELM_VERSION -X $MODULE/internal/version.metadata="
LDFLAGS+=" -X $MODULE/internal/version.gitTreeState=clean"
LDFLAGS+=" -X $MODULE/pkg/lint/rules.k8sVersionMajor=1 -X $MODULE/pkg/lint/rules.k8sVersionMinor=$K8S_MINOR"
LDFLAGS+=" -X $MODULE/pkg/chartutil.k8sVersionMajor=1 -X $MODULE/pkg/chartutil.k8sVersionMinor=$K8S_MINOR"

BLOG="$CACHE_DIR/logs/helm.log"
TMPBIN="$CACHE_DIR/.gobin"
rm -rf "$TMPBIN"; mkdir -p "$TMPBIN"
log "building $MODULE/cmd/helm@$HELM_VERSION (client-go $CLIENT_GO, log: $BLOG)"
CGO_ENABLED=0 GOBIN="$TMPBIN" GOFLAGS="-buildvcs=false -p=2" \
  run_go_build helm "$BLOG" "" env -C "$CACHE_DIR" go install -v -trimpath -ldflags "$LDFLAGS" "$MODULE/cmd/helm@$HELM_VERSION"
mv -f "$TMPBIN/helm" "$BIN/helm"
rm -rf "$TMPBIN"
echo "$KEY" >"$STAMP"
took=$TOOK
echo "helm $HELM_VERSION ${took}s $(date -u +%FT%TZ) $GOVERSION" >>"$CACHE_DIR/build-times.txt"
log "built in ${took}s ($(du -h "$BIN/helm" | cut -f1)): $("$BIN/helm" version --short 2>/dev/null || true)"
