#!/usr/bin/env bash
# Stops the real node started by hack/node-up.sh STATE_DIR and puts the host back as node-up found
# it: every container killed, kubelet, kube-proxy, containerd and its shims stopped, every mount under
# the node's directories and network namespaces unmounted, then links, cgroups, paths, iptables rules
# and sysctls restored from the snapshot node-up took (hack/lib/host-state.sh), and compared with it.
# hack/controlplane-down.sh runs this first when STATE_DIR holds a node.
#
# Usage: hack/node-down.sh STATE_DIR          exit 1 if the host differs from the snapshot afterwards
#        hack/node-down.sh --check STATE_DIR  exit 0 if a node is up in STATE_DIR
set -euo pipefail

HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { echo "[node-down] $*" >&2; }
T0=$(date +%s%N)
declare -a PHASES=()
phase() { PHASES+=("$1 $(( ($(date +%s%N) - T0) / 1000000 ))ms"); }
CHECK=0
[[ "${1:-}" == --check ]] && { CHECK=1; shift; }
[[ $# -eq 1 ]] || { sed -n '2,9p' "$0" >&2; exit 2; }
[[ -d "$1" ]] || { ((CHECK)) && exit 1; log "$1 does not exist"; exit 0; }
S="$(cd "$1" && pwd)"
N="$S/node"
if ((CHECK)); then [[ -f "$N/up" ]]; exit $?; fi
[[ -f "$N/up" ]] || { log "no node up in $S"; exit 0; }

pid_of() { awk -v n="$1" '$1 == n { p = $2 } END { print p }' "$N/pids" 2>/dev/null || true; }
stop() {  # stop <name> <signal> [seconds]: signal the process group, wait (10 s), then SIGKILL
  local pid; pid="$(pid_of "$1")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill "-$2" -- "-$pid" 2>/dev/null || true
  local i; for ((i = 0; i < ${3:-10} * 10; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  log "$1 (pid $pid) still running, sending SIGKILL"
  kill -KILL -- "-$pid" 2>/dev/null || true
  sleep 0.2
}

# 1. The kubelet first, so nothing restarts what is killed next.
stop kubelet TERM
stop kube-proxy TERM
phase kubelet
# 2. Every container process: they live in the kubelet's pod cgroups (kubepods under each v1
#    controller). Freeze-free SIGKILL, repeated until the cgroups are empty.
pod_pids() { { find /sys/fs/cgroup/pids/kubepods -name cgroup.procs -exec cat {} + 2>/dev/null || true; } | sort -u; }
for ((i = 0; i < 50; i++)); do
  pids="$(pod_pids)"
  [[ -z "$pids" ]] && break
  # shellcheck disable=SC2086 # one pid per word
  kill -KILL $pids 2>/dev/null || true
  sleep 0.1
done
[[ -z "$(pod_pids)" ]] || log "WARNING: container processes survived SIGKILL: $(pod_pids | tr '\n' ' ')"
phase containers
# 3. containerd, then its shims (they outlive it: containerd starts them in their own sessions).
# Its containers are gone: nothing left to shut down cleanly (SIGTERM alone takes it ~7 s here).
stop containerd TERM 2
SOCK="$N/containerd/containerd.sock"
shims() { ps -e -ww -o pid=,args= | awk -v s="$SOCK" 'index($0, "containerd-shim-runc-v2") && index($0, s) { print $1 }'; }
for ((i = 0; i < 50; i++)); do
  p="$(shims)"; [[ -z "$p" ]] && break
  # shellcheck disable=SC2086
  kill -KILL $p 2>/dev/null || true
  sleep 0.1
done

phase containerd
# 4. Mounts: kubelet's volumes and its bind-mounted root dir, containerd's overlay snapshots and
#    sandbox network namespaces, deepest first.
node_mounts() {
  awk -v n="$N" '{ m = $5; if (index(m, n "/") == 1 || index(m, "/run/containerd/") == 1 || index(m, "/run/netns/") == 1 || index(m, "/var/run/netns/") == 1) print m }' /proc/self/mountinfo | sort -r
}
for ((i = 0; i < 5; i++)); do
  mapfile -t ms < <(node_mounts)
  ((${#ms[@]})) || break
  for m in "${ms[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
done
[[ -z "$(node_mounts)" ]] || log "WARNING: mounts left: $(node_mounts | tr '\n' ' ')"
rm -f /run/netns/cni-* 2>/dev/null || true
phase mounts
# 5. Links, cgroups, paths, iptables rules and sysctls as they were; then prove it.
bash "$HACK/lib/host-state.sh" restore "$N/host-before"
rm -f "$N/up"
if ! bash "$HACK/lib/host-state.sh" diff "$N/host-before" >"$N/host-diff.txt" 2>&1; then
  log "ERROR: the host differs from before the node started:"
  cat "$N/host-diff.txt" >&2
  exit 1
fi
phase restored
log "node stopped; host state as before (iptables, mounts, cgroups, sysctls, links, routes, paths); at: ${PHASES[*]}"
