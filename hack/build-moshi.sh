#!/usr/bin/env bash
# Builds Kyutai's STT server, moshi-server, from crates.io (its `cuda`/`metal` features off: a CPU build;
# no prebuilt download, no Docker) into ${XDG_CACHE_HOME:-$HOME/.cache}/meet-operator/moshi-server-<version>/bin
# (override: MOSHI_CACHE_DIR). Issue 16: the STT pool's program. Not part of `make test` yet: no test runs
# it so far, and a cold build (about 6 min on 2 cores) has to fit the cold CI budget first.
# The binary links libpython3.11 (Debian's libpython3.11 package at run time): moshi-server embeds
# Python for its Py* modules, which the STT pool (BatchedAsr) does not use.
# A stamp records the version, the Rust toolchain and the recipe; when it matches, the script returns at once.
#
# Usage: hack/build-moshi.sh              build (or verify) moshi-server
#        hack/build-moshi.sh --print-dir  print the bin dir and exit (does not build)
#        hack/build-moshi.sh --force      rebuild
# Env:   MOSHI_CACHE_DIR
set -euo pipefail

RECIPE=1   # bump when the build flags below change
MOSHI_SERVER_VERSION=0.6.4
NAME=moshi-server

log() { printf '[build-moshi %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf '[build-moshi] ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck source=lib/go-build.sh
. "$(dirname "$0")/lib/go-build.sh"

CACHE_DIR="${MOSHI_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/meet-operator/moshi-server-${MOSHI_SERVER_VERSION}}"
BIN="$CACHE_DIR/bin"

build_args "$@"

command -v cargo >/dev/null || die "cargo not found in PATH: a Rust toolchain is needed to build moshi-server $MOSHI_SERVER_VERSION"
RUSTC="$(rustc --version)"
KEY="$(echo "recipe=$RECIPE moshi-server=$MOSHI_SERVER_VERSION $RUSTC $(uname -m)" | sha256sum | cut -c1-32)"
STAMP="$CACHE_DIR/stamp"

up_to_date() { [[ -x "$BIN/$NAME" && -f "$STAMP" && "$(head -1 "$STAMP")" == "$KEY" ]]; }
cached_or_lock up_to_date "up to date: moshi-server $MOSHI_SERVER_VERSION in $BIN"
rm -f "$STAMP"

# The build's own files stay in the cache, out of the repository; -j 2: the machines have 2 cores.
export CARGO_TARGET_DIR="$CACHE_DIR/target"
BLOG="$CACHE_DIR/logs/$NAME.log"
log "building moshi-server $MOSHI_SERVER_VERSION from crates.io ($RUSTC, CPU only), log: $BLOG"
cargo_progress() { echo "$(grep -c '^ *Compiling ' "$1" || true) crates compiled"; }
run_logged "cargo install $NAME" "$BLOG" cargo_progress cargo install "$NAME" --version "$MOSHI_SERVER_VERSION" --locked --root "$CACHE_DIR" -j 2
# The compiled crates are only needed to rebuild this very version: keep the binary, drop the rest.
rm -rf "$CARGO_TARGET_DIR"
"$BIN/$NAME" --help >/dev/null || die "the built $BIN/$NAME does not run"
echo "$KEY" >"$STAMP"
log "built moshi-server $MOSHI_SERVER_VERSION in ${TOOK}s: $BIN/$NAME ($(du -h "$BIN/$NAME" | cut -f1))"
