#!/usr/bin/env bash
# Installs the media programs the local media tests run, from Debian's apt (bookworm):
#   coturn        -> /usr/bin/turnserver, /usr/bin/turnutils_uclient (coturn 4.6.x)
#   redis-server  -> /usr/bin/redis-server (redis 7.0.x); redis-tools comes with it (redis-cli)
# Idempotent: when every program is already installed it returns at once without touching apt;
# `apt-get update` runs only when a package is missing and apt has no candidate for it.
# The Debian services are neither started (policy-rc.d during the install) nor enabled at boot:
# the tests start their own processes. apt's output goes to a log, shown when something fails.
#
# Usage: hack/media/install-deps.sh           install what is missing (needs root or sudo)
#        hack/media/install-deps.sh --check   exit 1 and list what is missing, install nothing
set -euo pipefail

log() { printf '[media-deps %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf '[media-deps] ERROR: %s\n' "$*" >&2; exit 1; }

# package:program pairs
WANT=(coturn:/usr/bin/turnserver coturn:/usr/bin/turnutils_uclient redis-server:/usr/bin/redis-server)

missing=()
for pair in "${WANT[@]}"; do
  pkg="${pair%%:*}" prog="${pair#*:}"
  if [[ ! -x "$prog" ]]; then
    [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
  fi
done

if [[ "${1:-}" == "--check" ]]; then
  if ((${#missing[@]})); then echo "missing: ${missing[*]}"; exit 1; fi
  exit 0
fi

report() {
  log "turnserver $(dpkg-query -W -f='${Version}' coturn 2>/dev/null || echo '?'), redis-server $(/usr/bin/redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')"
}

if ((${#missing[@]} == 0)); then
  log "up to date: coturn and redis-server are installed"; report; exit 0
fi

SUDO=""
if ((EUID != 0)); then
  command -v sudo >/dev/null || die "installing ${missing[*]} needs root (or sudo)"
  SUDO="sudo"
fi
command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} (coturn 4.6, redis-server 7) with your system's package manager"

# Only refresh the package lists when apt does not know a candidate for a missing package.
need_update=0
for pkg in "${missing[@]}"; do
  cand="$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')"
  if [[ -z "$cand" || "$cand" == "(none)" ]]; then need_update=1; fi
done
LOG="${XDG_CACHE_HOME:-$HOME/.cache}/meet-operator/media-deps.log"
mkdir -p "$(dirname "$LOG")"
: >"$LOG"
if ((need_update)); then
  log "apt-get update (no candidate known for: ${missing[*]})"
  $SUDO apt-get update -qq >>"$LOG" 2>&1 || { tail -n 20 "$LOG" >&2; die "apt-get update failed, full log: $LOG"; }
fi

# Keep Debian's maintainer scripts from starting system-wide turnserver/redis services: the tests
# start their own processes. Only for this install, and only if no policy exists.
policy=/usr/sbin/policy-rc.d created_policy=0
if [[ ! -e "$policy" ]]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod 755 "$policy" && created_policy=1
fi
cleanup() { if ((created_policy)); then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT

log "apt-get install ${missing[*]} (log: $LOG)"
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$LOG" 2>&1 \
  || { tail -n 30 "$LOG" >&2; die "apt-get install ${missing[*]} failed, full log: $LOG"; }
if command -v systemctl >/dev/null; then  # works offline too: it only removes the boot-time links
  $SUDO systemctl disable coturn.service redis-server.service >>"$LOG" 2>&1 || true
fi

for pair in "${WANT[@]}"; do
  prog="${pair#*:}"
  [[ -x "$prog" ]] || die "$prog still missing after apt-get install ${missing[*]}"
done
report
