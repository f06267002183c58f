# Sourced by hack/build-*.sh. Needs log() and die() from the caller.
# run_logged NAME LOG PROGRESS CMD...: runs a build command in the background with its output in LOG,
# logs "NAME: $(PROGRESS), Ns" every 30 s (PROGRESS: a function that reads LOG), stops it on Ctrl-C,
# and on failure dies with the end of LOG. Sets TOOK (seconds).
run_logged() {
  local name=$1 blog=$2 progress=$3
  shift 3
  local start=$SECONDS
  "$@" >"$blog" 2>&1 &
  local pid=$!
  # shellcheck disable=SC2064 # expand pid now
  trap "kill $pid 2>/dev/null; exit 130" INT TERM
  local next=$((start + 30))
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if ((SECONDS >= next)); then
      next=$((next + 30))
      log "$name: $("$progress" "$blog"), $((SECONDS - start))s"
    fi
  done
  if ! wait "$pid"; then
    tail -n 30 "$blog" >&2
    die "$name: build failed after $((SECONDS - start))s, full log: $blog"
  fi
  trap - INT TERM
  TOOK=$((SECONDS - start))
}

# run_go_build NAME LOG TOTAL CMD...: run_logged for a `go build -v`/`go install -v` command, its
# progress the packages compiled (the -v lines in LOG; TOTAL may be empty).
run_go_build() {
  local name=$1 blog=$2
  GO_BUILD_TOTAL=$3
  shift 3
  run_logged "$name" "$blog" go_progress "$@"
}
go_progress() { echo "$(grep -cv '^#\|^go: ' "$1" || true)${GO_BUILD_TOTAL:+/$GO_BUILD_TOTAL} packages compiled"; }

# build_args "$@": the shared command line of hack/build-*.sh. --print-dir prints $BIN and exits;
# --force sets FORCE=1 (rebuild even when the cache is current).
build_args() {
  FORCE=0
  case "${1:-}" in
    --print-dir) echo "$BIN"; exit 0 ;;
    --force) FORCE=1 ;;
    "") ;;
    *) die "unknown argument '$1' (usage: $0 [--print-dir|--force])" ;;
  esac
}

# require_go WHAT: dies unless Go >= 1.26 is on PATH (WHAT says who needs it); sets GOVERSION.
require_go() {
  command -v go >/dev/null || die "go not found in PATH; Go >= 1.26 is required ($1 needs go 1.26)"
  GOVERSION="$(go env GOVERSION)"
  [[ "$GOVERSION" =~ ^go1\.([0-9]+) ]] && ((BASH_REMATCH[1] >= 26)) || die "Go >= 1.26 is required, found '$GOVERSION'"
}

# cached_or_lock CHECK MSG: exits 0 (logging MSG) when the function CHECK says the cache in
# $CACHE_DIR is current; otherwise takes the cache's build lock (two test runs starting at once),
# waiting for a concurrent build and exiting 0 if that one made the cache current.
cached_or_lock() {
  local check=$1 msg=$2
  if ((!FORCE)) && "$check"; then log "$msg"; exit 0; fi
  mkdir -p "$BIN" "$CACHE_DIR/logs"
  exec 9>"$CACHE_DIR/.lock"
  if ! flock -n 9; then
    log "another build holds $CACHE_DIR/.lock, waiting..."
    flock 9
    if ((!FORCE)) && "$check"; then log "up to date (built by the other process) in $BIN"; exit 0; fi
  fi
}
