#!/usr/bin/env bash
# Stops a control plane started by hack/controlplane-up.sh STATE_DIR: sends SIGTERM to every recorded
# process group, then SIGKILL to what is still alive after DOWN_GRACE seconds (default 5).
# Keeps STATE_DIR (logs, audit log, etcd data) unless --clean is given.
#
# Usage: hack/controlplane-down.sh [--clean] STATE_DIR
#        hack/controlplane-down.sh --check STATE_DIR   exit 0 if any of its processes is running, else 1
#        hack/controlplane-down.sh --status STATE_DIR  print each component and whether it runs
#        hack/controlplane-down.sh --only COMPONENT STATE_DIR
# A real node in STATE_DIR (hack/node-up.sh) is stopped first, by hack/node-down.sh.
#                                       stop just that component (e.g. kube-apiserver, for fault
#                                       injection); hack/controlplane-up.sh --only starts it again
set -euo pipefail

MODE=down CLEAN=0 ONLY=""
while (($#)); do
  case "$1" in
    --clean) CLEAN=1; shift ;;
    --check) MODE=check; shift ;;
    --status) MODE=status; shift ;;
    --only) ONLY="${2:?--only needs a COMPONENT}"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    -*) echo "controlplane-down: unknown flag $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[[ $# -eq 1 ]] || { echo "usage: $0 [--clean|--check|--status] STATE_DIR" >&2; exit 2; }
if [[ ! -d "$1" ]]; then
  case "$MODE" in
    down) echo "[controlplane-down] $1 does not exist, nothing to stop" >&2; exit 0 ;;
    status) echo "no control plane in $1"; exit 1 ;;
    *) exit 1 ;;
  esac
fi
S="$(cd "$1" && pwd)"
GRACE="${DOWN_GRACE:-5}"
log() { echo "[controlplane-down] $*" >&2; }

# Members of process group $1 whose command line mentions STATE_DIR (guards against recycled pids).
members() { ps -e -ww -o pid=,pgid=,args= | awk -v g="$1" -v s="$S" '$2 == g && index($0, s) { print $1 }'; }

MY_PGID="$(ps -o pgid= -p $$ | tr -d ' ')"
declare -a NAMES=() PGIDS=()
if [[ -f "$S/pids" ]]; then
  while read -r name pid; do
    [[ -n "${pid:-}" ]] || continue
    [[ "$pid" == "$MY_PGID" ]] && continue   # the watchdog running this script
    [[ -z "$ONLY" || "$name" == "$ONLY" ]] || continue
    NAMES+=("$name"); PGIDS+=("$pid")
  done <"$S/pids"
fi

if [[ -n "$ONLY" && ${#PGIDS[@]} -eq 0 ]]; then echo "[controlplane-down] no component '$ONLY' recorded in $S/pids" >&2; exit 2; fi

running() { local i; for i in "${!PGIDS[@]}"; do [[ -n "$(members "${PGIDS[$i]}")" ]] && return 0; done; return 1; }

case "$MODE" in
  check) running; exit $? ;;
  status)
    any=1
    for i in "${!PGIDS[@]}"; do
      if [[ -n "$(members "${PGIDS[$i]}")" ]]; then echo "${NAMES[$i]} running (pgid ${PGIDS[$i]})"; any=0
      else echo "${NAMES[$i]} stopped"; fi
    done
    ((${#PGIDS[@]})) || echo "no processes recorded in $S/pids"
    exit $any ;;
esac

# A real node (hack/node-up.sh) goes first, while the API server still answers: its teardown also
# restores the host (iptables, mounts, cgroups, sysctls) and fails loudly if it could not.
NODE_RC=0
if [[ -z "$ONLY" ]] && bash "$(dirname "$0")/node-down.sh" --check "$S"; then
  bash "$(dirname "$0")/node-down.sh" "$S" || NODE_RC=$?
fi

# stop_group <index...>: SIGTERM the groups, SIGKILL what is left after GRACE seconds.
stopped=0
alive_in() { local i; for i in "$@"; do [[ -n "$(members "${PGIDS[$i]}")" ]] && return 0; done; return 1; }
stop_groups() {
  local i deadline
  for i in "$@"; do
    if [[ -n "$(members "${PGIDS[$i]}")" ]]; then
      kill -TERM -- "-${PGIDS[$i]}" 2>/dev/null && stopped=$((stopped + 1)) || true
    fi
  done
  deadline=$((SECONDS + GRACE))
  while alive_in "$@" && ((SECONDS < deadline)); do sleep 0.1; done
  for i in "$@"; do
    if [[ -n "$(members "${PGIDS[$i]}")" ]]; then
      log "${NAMES[$i]} (pgid ${PGIDS[$i]}) still running after ${GRACE}s, sending SIGKILL"
      kill -KILL -- "-${PGIDS[$i]}" 2>/dev/null || true
    fi
  done
  deadline=$((SECONDS + 5))
  while alive_in "$@" && ((SECONDS < deadline)); do sleep 0.1; done
}
# Clients first, then kube-apiserver, then etcd: etcd waits for open watch streams to drain, and the
# API server shuts down quickly only when its clients are gone.
declare -a CLIENTS=() API=() ETCD=()
for i in "${!PGIDS[@]}"; do
  case "${NAMES[$i]}" in
    kube-apiserver) API+=("$i") ;;
    etcd) ETCD+=("$i") ;;
    *) CLIENTS+=("$i") ;;
  esac
done
((${#CLIENTS[@]})) && stop_groups "${CLIENTS[@]}"
((${#API[@]})) && stop_groups "${API[@]}"
((${#ETCD[@]})) && stop_groups "${ETCD[@]}"
if running; then log "ERROR: some processes of $S survived SIGKILL"; exit 1; fi
log "stopped $stopped process group(s) of $S${ONLY:+ ($ONLY only)}"
((NODE_RC == 0)) || { log "ERROR: the real node's teardown failed (see above); keeping $S"; exit "$NODE_RC"; }
[[ -z "$ONLY" ]] || exit 0

if ((CLEAN)); then
  if [[ -f "$S/pids" || -f "$S/kubeconfig" || -d "$S/etcd" ]]; then
    rm -rf "${S:?}"
    log "removed $S"
  else
    log "not removing $S: it does not look like a control plane state dir"
  fi
fi
