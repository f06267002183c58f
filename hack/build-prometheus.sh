#!/usr/bin/env bash
# Builds Prometheus' promtool and prometheus from the Go module proxy (no prebuilt download, no Docker):
#   go install github.com/prometheus/prometheus/cmd/{promtool,prometheus}@$PROMETHEUS_VERSION
# into ${XDG_CACHE_HOME:-$HOME/.cache}/meet-operator/prometheus-<version>/bin (override: PROMETHEUS_CACHE_DIR).
# The Go module's versions are v0.X.Y for Prometheus 3.X.Y (v0.316.0 is Prometheus 3.16.0): the Prometheus
# version is read from the module's VERSION file, as Prometheus' own build (promu) does. Its go.mod has no
# replace/exclude directives, so a plain `go install module/cmd/x@version` works (otherwise: a wrapper
# module, as hack/build-k8s.sh does). The ldflags are those of Prometheus' .promu.yml (common/version.*);
# the git revision is unknown from a module zip (the proxy's .info has no Origin), so it is "unknown".
# Tags: `netgo` only. Release builds add `builtinassets`, which embeds the web UI; its assets are generated
# with npm and are not in the Go module, so this prometheus serves its HTTP API (/api/v1/..., /-/ready,
# /metrics) but not the web UI (the UI pages answer 500/404). promtool is unaffected.
# A stamp records version + Go version + recipe; when it matches, the script returns at once.
#
# Usage: hack/build-prometheus.sh              build (or verify) promtool and prometheus
#        hack/build-prometheus.sh --print-dir  print the bin dir and exit (does not build)
#        hack/build-prometheus.sh --force      rebuild
# Env:   PROMETHEUS_VERSION (Go module version, default below), PROMETHEUS_CACHE_DIR
set -euo pipefail

PROMETHEUS_VERSION="${PROMETHEUS_VERSION:-v0.316.0}"   # Prometheus 3.16.0
RECIPE=1                                                # bump when the build flags below change
MODULE=github.com/prometheus/prometheus
BINARIES=(promtool prometheus)

log() { printf '[build-prometheus %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf '[build-prometheus] ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=lib/go-build.sh
. "$(dirname "$0")/lib/go-build.sh"

# v0.MNN.P[-pre] -> M.NN.P[-pre] (v0.316.0 -> 3.16.0); only used to check the module's VERSION file.
[[ "$PROMETHEUS_VERSION" =~ ^v0\.([1-9])([0-9][0-9])\.([0-9]+)(-.*)?$ ]] \
  || die "unexpected PROMETHEUS_VERSION '$PROMETHEUS_VERSION' (want the Go module version, e.g. v0.316.0 for Prometheus 3.16.0)"
EXPECTED="${BASH_REMATCH[1]}.$((10#${BASH_REMATCH[2]})).${BASH_REMATCH[3]}${BASH_REMATCH[4]}"

CACHE_DIR="${PROMETHEUS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/meet-operator/prometheus-${PROMETHEUS_VERSION}}"
BIN="$CACHE_DIR/bin"

build_args "$@"

require_go "prometheus ${PROMETHEUS_VERSION}"
KEY="recipe=$RECIPE prometheus=$PROMETHEUS_VERSION go=$GOVERSION $(go env GOOS)/$(go env GOARCH)"
STAMP="$CACHE_DIR/stamp"

up_to_date() {
  local b
  for b in "${BINARIES[@]}"; do [[ -x "$BIN/$b" ]] || return 1; done
  [[ -f "$STAMP" && "$(head -1 "$STAMP")" == "$KEY" ]]
}
cached_or_lock up_to_date "up to date: prometheus $PROMETHEUS_VERSION in $BIN"
rm -f "$STAMP"

# Download first (fast, and lets us read the module's go.mod and VERSION).
log "downloading $MODULE@$PROMETHEUS_VERSION"
MODJSON="$(cd "$CACHE_DIR" && GOFLAGS=-mod=mod go mod download -json "$MODULE@$PROMETHEUS_VERSION")" \
  || die "go mod download $MODULE@$PROMETHEUS_VERSION failed"
modjson_field() { printf '%s' "$MODJSON" | sed -n "s/^[[:space:]]*\"$1\": \"\\(.*\\)\",\\{0,1\\}\$/\\1/p"; }
GOMOD="$(modjson_field GoMod)"
MODDIR="$(modjson_field Dir)"
[[ -f "$GOMOD" && -d "$MODDIR" ]] || die "cannot locate go.mod / source of $MODULE@$PROMETHEUS_VERSION"
if grep -qE '^[[:space:]]*(replace|exclude)[[:space:](]' "$GOMOD"; then
  die "$MODULE@$PROMETHEUS_VERSION has replace/exclude directives: go install would refuse it (use a wrapper module)"
fi
[[ -f "$MODDIR/VERSION" ]] || die "$MODULE@$PROMETHEUS_VERSION has no VERSION file"
VERSION="$(tr -d '[:space:]' <"$MODDIR/VERSION")"
[[ "$VERSION" == "$EXPECTED" ]] \
  || log "warning: $MODULE@$PROMETHEUS_VERSION says VERSION=$VERSION (expected $EXPECTED); using $VERSION"

# As .promu.yml (Branch: promu reads `git rev-parse --abbrev-ref HEAD`, "HEAD" for a release tag).
V=github.com/prometheus/common/version
LDFLAGS="-s -w -X $V.Version=$VERSION -X $V.Revision=unknown -X $V.Branch=HEAD"
LDFLAGS+=" -X $V.BuildUser=$(id -un)@${HOSTNAME:-$(uname -n)} -X $V.BuildDate=$(date +%Y%m%d-%H:%M:%S)"

BLOG="$CACHE_DIR/logs/prometheus.log"
TMPBIN="$CACHE_DIR/.gobin"
rm -rf "$TMPBIN"; mkdir -p "$TMPBIN"
PKGS=()
for b in "${BINARIES[@]}"; do PKGS+=("$MODULE/cmd/$b@$PROMETHEUS_VERSION"); done
log "building ${BINARIES[*]} from $MODULE@$PROMETHEUS_VERSION (Prometheus $VERSION, log: $BLOG)"
CGO_ENABLED=0 GOBIN="$TMPBIN" GOFLAGS="-buildvcs=false -p=2" \
  run_go_build prometheus "$BLOG" "" env -C "$CACHE_DIR" go install -v -trimpath -tags netgo -ldflags "$LDFLAGS" "${PKGS[@]}"
took=$TOOK
for b in "${BINARIES[@]}"; do
  "$TMPBIN/$b" --version 2>&1 | grep -q "^$b, version $VERSION " \
    || die "$b --version reports '$("$TMPBIN/$b" --version 2>&1 | head -1)', expected version $VERSION"
  mv -f "$TMPBIN/$b" "$BIN/$b"
done
rm -rf "$TMPBIN"
{ echo "$KEY"; echo "prometheus=$VERSION module=$MODULE@$PROMETHEUS_VERSION go=$GOVERSION built=$(date -u +%FT%TZ)"; } >"$STAMP.tmp"
mv -f "$STAMP.tmp" "$STAMP"
echo "prometheus $PROMETHEUS_VERSION ${took}s $(date -u +%FT%TZ) $GOVERSION" >>"$CACHE_DIR/build-times.txt"
log "built in ${took}s: $(cd "$BIN" && du -h "${BINARIES[@]}" | awk '{ printf "%s %s  ", $2, $1 }')"
log "$("$BIN/promtool" --version 2>&1 | head -1)"
