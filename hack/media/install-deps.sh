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

# shellcheck source=../lib/apt-deps.sh
. "$(dirname "$0")/../lib/apt-deps.sh"
apt_missing

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

apt_install media-deps
if command -v systemctl >/dev/null; then  # works offline too: it only removes the boot-time links
  systemctl disable coturn.service redis-server.service >>"$APT_LOG" 2>&1 || true
fi
report
