#!/usr/bin/env bash
# What a real node changes on this machine, recorded before it starts so that teardown can put it
# back and prove it did: sysctls, iptables/ip6tables/nftables rules, mounts, network links and
# routes, cgroups, and the paths kubelet, containerd and the CNI plugins write to by default.
#
# Usage: hack/lib/host-state.sh snapshot DIR   record the current state into DIR (overwrites)
#        hack/lib/host-state.sh restore DIR    put back what can be put back: sysctl values, the
#                                              iptables/ip6tables rule sets, links, cgroups and paths
#                                              that did not exist (mounts are the caller's job: they
#                                              must be gone before the cgroups and links can go)
#        hack/lib/host-state.sh diff DIR       compare the current state with DIR; prints the
#                                              differences and exits 1 if there are any
set -euo pipefail
# comm needs sort's order: one collation for both.
export LC_ALL=C

# Kernel counters and random values that change on their own.
VOLATILE_SYSCTLS='^(fs\.(dentry-state|file-nr|inode-nr|inode-state|quota\..*)|kernel\.(ns_last_pid|random\..*)|net\.netfilter\.nf_conntrack_count) '
# Paths that kubelet, containerd and the CNI plugins create by default (hack/node-up.sh points every
# configurable one into the state dir; these are the ones that cannot be moved).
WATCHED_PATHS=(/run/containerd /run/netns /var/run/netns /var/lib/cni /var/lib/kubelet /var/log/pods /var/log/containers /etc/cni /opt/cni /var/lib/containerd)

# sysctls as "key = value" lines; per-interface keys only for interfaces that exist now (those of
# links created and deleted by the node come and go with the links, which are compared separately).
sysctls() { sysctl -a 2>/dev/null | grep -Ev "$VOLATILE_SYSCTLS" | { grep -Ev '^net\.ipv[46]\.(conf|neigh)\.(cni|veth|vxlan|kube|flannel)' || true; } | sort; }
# Rule sets without counters (iptables-save comments, nft --stateless).
iptables_rules() { { "$1" 2>/dev/null || true; } | { grep -v '^#' || true; } | sed -e 's/\[[0-9]*:[0-9]*\]$/[0:0]/'; }
nft_rules() { nft --stateless list ruleset 2>/dev/null || true; }
mounts() { awk '{ print $5, $9 }' /proc/self/mountinfo | sort; }
links() { ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | sort; }
routes() { { ip -4 route show table all; ip -6 route show table all; } 2>/dev/null | sort; }
# Top-level groups of each hierarchy (the kubelet's are /kubepods...); deeper ones come and go with
# whoever runs commands on this machine, and go with their top-level group anyway.
cgroups() { find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d 2>/dev/null | sort; }
paths() { local p; for p in "${WATCHED_PATHS[@]}"; do if [[ -e "$p" || -L "$p" ]]; then echo "$p"; fi; done | sort; }

ASPECTS=(sysctls iptables ip6tables nft mounts links routes cgroups paths)
record() {  # record ASPECT: print the current state of one aspect
  case "$1" in
    iptables) iptables_rules iptables-save ;;
    ip6tables) iptables_rules ip6tables-save ;;
    nft) nft_rules ;;
    *) "$1" ;;
  esac
}

snapshot() {
  local dir=$1 a
  mkdir -p "$dir"
  for a in "${ASPECTS[@]}"; do record "$a" >"$dir/$a.txt"; done
}

diff_state() {
  local dir=$1 a changed=0 now
  for a in "${ASPECTS[@]}"; do
    [[ -f "$dir/$a.txt" ]] || { echo "no $dir/$a.txt (no snapshot?)" >&2; return 2; }
    now="$(record "$a")"
    if ! diff -q "$dir/$a.txt" <(printf '%s\n' "$now" | sed '${/^$/d}') >/dev/null; then
      echo "--- $a changed (< before, > now):"
      diff "$dir/$a.txt" <(printf '%s\n' "$now" | sed '${/^$/d}') | awk '/^[<>]/ && n++ < 40' || true
      changed=1
    fi
  done
  return "$changed"
}

restore_sysctls() {
  local dir=$1 key value
  # Keys whose value differs now: write the recorded value back (read-only keys are skipped).
  while IFS= read -r line; do
    key="${line%% = *}" value="${line#* = }"
    [[ -w "/proc/sys/${key//.//}" ]] || continue
    printf '%s' "$value" >"/proc/sys/${key//.//}" 2>/dev/null || echo "host-state: could not restore $key" >&2
  done < <(comm -23 "$dir/sysctls.txt" <(sysctls))
}

restore_rules() {
  local dir=$1
  # Without nft (hack/node-deps.sh installs it; a host that predates that may lack it), iptables'
  # own restore puts back what it recorded.
  if ! command -v nft >/dev/null; then
    iptables-restore <"$dir/iptables.txt"
    ip6tables-restore <"$dir/ip6tables.txt"
    return
  fi
  # iptables here is Debian's iptables-nft: every iptables/ip6tables rule lives in nftables, so the
  # recorded nft rule set is the whole truth. Put it back as it was (usually: empty).
  nft flush ruleset
  if [[ -s "$dir/nft.txt" ]] && ! nft -f "$dir/nft.txt"; then
    # A rule set nft cannot read back (iptables extensions it only prints): reload through iptables.
    nft flush ruleset
    iptables-restore <"$dir/iptables.txt"
    ip6tables-restore <"$dir/ip6tables.txt"
  fi
}

restore() {
  local dir=$1 l c p
  [[ -f "$dir/sysctls.txt" ]] || { echo "host-state: no snapshot in $dir" >&2; return 2; }
  # Links the node made (the bridge; veths go with their network namespaces).
  for l in $(comm -13 "$dir/links.txt" <(links)); do ip link delete "$l" 2>/dev/null || true; done
  # cgroups the node made, deepest first (a cgroup can only be removed once it is empty).
  for c in $(comm -13 "$dir/cgroups.txt" <(cgroups)); do find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true; done
  for p in $(comm -13 "$dir/paths.txt" <(paths)); do rm -rf --one-file-system "$p"; done
  restore_rules "$dir"
  restore_sysctls "$dir"
}

case "${1:-}" in
  snapshot) snapshot "${2:?DIR}" ;;
  restore) restore "${2:?DIR}" ;;
  diff) diff_state "${2:?DIR}" ;;
  *) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac
