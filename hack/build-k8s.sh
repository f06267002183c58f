#!/usr/bin/env bash
# Builds the local control plane binaries from the Go module proxy (no Docker, no prebuilt downloads):
#   kube-apiserver kube-controller-manager kube-scheduler kubectl  (hack/controlplane/go.mod, k8s.io/kubernetes)
#   etcd                                                            (hack/etcd/go.mod, go.etcd.io/etcd/server/v3)
#   kwok                                                            (hack/kwok/go.mod, sigs.k8s.io/kwok)
# into ${XDG_CACHE_HOME:-$HOME/.cache}/meet-operator/k8s-<version>/bin (override: K8S_CACHE_DIR).
# A stamp file records a hash of the go.mod/go.sum files, the Go version and the build recipe; when it
# matches, nothing is rebuilt and the script returns at once. An interrupted build resumes per binary.
#
# Usage: hack/build-k8s.sh              build (or verify) all binaries
#        hack/build-k8s.sh --print-dir  print the bin dir and exit (does not build)
#        hack/build-k8s.sh --force      rebuild everything
set -euo pipefail

HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
RECIPE=1   # bump when the build flags below change, to invalidate caches

log() { printf '[build-k8s %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf '[build-k8s] ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=lib/go-build.sh
. "$(dirname "$0")/lib/go-build.sh"

gomod_version() {  # gomod_version <go.mod> <module>: the version a wrapper go.mod requires
  awk -v m="$2" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$1"
}

K8S_VERSION="$(gomod_version "$HACK/controlplane/go.mod" k8s.io/kubernetes)"
ETCD_VERSION="$(gomod_version "$HACK/etcd/go.mod" go.etcd.io/etcd/server/v3)"
KWOK_VERSION="$(gomod_version "$HACK/kwok/go.mod" sigs.k8s.io/kwok)"
[[ -n "$K8S_VERSION" && -n "$ETCD_VERSION" && -n "$KWOK_VERSION" ]] \
  || die "cannot read versions from hack/{controlplane,etcd,kwok}/go.mod; run hack/controlplane/gen-gomod.sh"
[[ "$K8S_VERSION" =~ ^v1\.([0-9]+)\. ]] || die "unexpected Kubernetes version '$K8S_VERSION'"
K8S_MINOR="${BASH_REMATCH[1]}"

CACHE_DIR="${K8S_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/meet-operator/k8s-${K8S_VERSION}}"
BIN="$CACHE_DIR/bin"
BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok)

build_args "$@"

require_go "k8s.io/kubernetes ${K8S_VERSION}"

KEY="$( { echo "recipe=$RECIPE go=$GOVERSION $(go env GOOS)/$(go env GOARCH)"
          cat "$HACK"/controlplane/go.{mod,sum} "$HACK"/etcd/go.{mod,sum} "$HACK"/kwok/go.{mod,sum}; } \
        | sha256sum | cut -c1-32)"
STAMP="$CACHE_DIR/stamp"

all_present() { local b; for b in "${BINARIES[@]}"; do [[ -x "$BIN/$b" ]] || return 1; done; }
up_to_date() { [[ -f "$STAMP" && "$(head -1 "$STAMP")" == "$KEY" ]] && all_present; }
cached_or_lock up_to_date "up to date: kubernetes ${K8S_VERSION}, etcd ${ETCD_VERSION}, kwok ${KWOK_VERSION} in $BIN"
rm -f "$STAMP"

VERSION_LDFLAGS=""
for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  VERSION_LDFLAGS+=" -X $p.gitVersion=${K8S_VERSION} -X $p.gitMajor=1 -X $p.gitMinor=${K8S_MINOR} -X $p.gitTreeState=clean"
done

export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false -p=2"
TIMES="$CACHE_DIR/build-times.txt"
TOTAL_START=$SECONDS
BUILT=0

# build <name> <module dir> <package> <extra ldflags>
build() {
  local name="$1" dir="$2" pkg="$3" ldflags="-s -w $4"
  local bstamp="$BIN/.$name.key" blog="$CACHE_DIR/logs/$name.log"
  if (( ! FORCE )) && [[ -x "$BIN/$name" && -f "$bstamp" && "$(cat "$bstamp")" == "$KEY" ]]; then
    log "$name: already built"; return 0
  fi
  local total
  total="$(cd "$dir" && go list -deps "$pkg" 2>>"$blog" | wc -l)" || total="?"
  log "$name: building $pkg (~$total packages; log: $blog)"
  run_go_build "$name" "$blog" "$total" env -C "$dir" go build -v -trimpath -ldflags "$ldflags" -o "$BIN/.$name.tmp" "$pkg"
  mv -f "$BIN/.$name.tmp" "$BIN/$name"
  echo "$KEY" >"$bstamp"
  local took=$TOOK
  log "$name: built in ${took}s ($(du -h "$BIN/$name" | cut -f1))"
  echo "$name ${took}s $(date -u +%FT%TZ) $GOVERSION" >>"$TIMES"
  BUILT=$((BUILT + 1))
}

log "kubernetes ${K8S_VERSION}, etcd ${ETCD_VERSION}, kwok ${KWOK_VERSION} -> $BIN"
build etcd                    "$HACK/etcd"         go.etcd.io/etcd/server/v3                   ""
build kube-apiserver          "$HACK/controlplane" k8s.io/kubernetes/cmd/kube-apiserver          "$VERSION_LDFLAGS"
build kube-controller-manager "$HACK/controlplane" k8s.io/kubernetes/cmd/kube-controller-manager "$VERSION_LDFLAGS"
build kube-scheduler          "$HACK/controlplane" k8s.io/kubernetes/cmd/kube-scheduler          "$VERSION_LDFLAGS"
build kubectl                 "$HACK/controlplane" k8s.io/kubernetes/cmd/kubectl                 "$VERSION_LDFLAGS"
build kwok                    "$HACK/kwok"         sigs.k8s.io/kwok/cmd/kwok                     "-X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION#v}"

# Sanity: the versions the binaries report.
"$BIN/kube-apiserver" --version | grep -qx "Kubernetes ${K8S_VERSION}" \
  || die "kube-apiserver --version reports '$("$BIN/kube-apiserver" --version)', expected Kubernetes ${K8S_VERSION}"
"$BIN/etcd" --version | grep -q "etcd Version: ${ETCD_VERSION#v}" \
  || die "etcd --version does not report ${ETCD_VERSION}"

{ echo "$KEY"; echo "kubernetes=${K8S_VERSION} etcd=${ETCD_VERSION} kwok=${KWOK_VERSION} go=${GOVERSION} built=$(date -u +%FT%TZ)"; } >"$STAMP.tmp"
mv -f "$STAMP.tmp" "$STAMP"
log "done: $BUILT binaries built in $((SECONDS - TOTAL_START))s; stamp $STAMP"
