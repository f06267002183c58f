#!/usr/bin/env bash
# Installs the programs the real Kubernetes node needs beside the binaries of hack/build-node.sh, from
# Debian's apt (bookworm):
#   runc       -> /usr/sbin/runc       the OCI runtime containerd-shim-runc-v2 executes (runc 1.1.x)
#   iptables   -> /usr/sbin/iptables{,-save,-restore}, ip6tables...  kube-proxy (iptables mode), the
#                 kubelet's KUBE-IPTABLES-HINT/firewall chains, the CNI portmap and bridge (ipMasq) plugins
#   conntrack  -> /usr/sbin/conntrack  inspecting/flushing connection tracking by hand; kube-proxy 1.36 itself
#                 clears stale UDP entries over netlink and no longer runs it
#   umoci, skopeo -> /usr/bin/{umoci,skopeo}  building and copying OCI images for the node (no Docker)
#   chromium, libnss3-tools -> /usr/bin/{chromium,certutil}  the browser test of the node suite (a person
#                 joining with livekit-client; certutil trusts the test CA in the browser's own NSS database)
# Not installed, because nothing here runs them: ethtool (kubeadm's preflight looks for it, the kubelet
# and kube-proxy never call it), socat (port-forward is done inside containerd's CRI, in Go), ipset
# (kube-proxy's IPVS mode only).
# Idempotent: when every program is already installed it returns at once without touching apt;
# `apt-get update` runs only when a package is missing and apt has no candidate for it. None of these
# packages ships a service, so unlike hack/media/install-deps.sh no policy-rc.d is needed. apt's output
# goes to a log, shown when something fails.
#
# Usage: hack/node-deps.sh           install what is missing (needs root or sudo), print the versions
#        hack/node-deps.sh --check   exit 1 and list what is missing, install nothing
set -euo pipefail

log() { printf '[node-deps %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { printf '[node-deps] ERROR: %s\n' "$*" >&2; exit 1; }

# package:program pairs
WANT=(runc:/usr/sbin/runc
      iptables:/usr/sbin/iptables iptables:/usr/sbin/iptables-save iptables:/usr/sbin/iptables-restore
      iptables:/usr/sbin/ip6tables iptables:/usr/sbin/ip6tables-save iptables:/usr/sbin/ip6tables-restore
      nftables:/usr/sbin/nft conntrack:/usr/sbin/conntrack umoci:/usr/bin/umoci skopeo:/usr/bin/skopeo
      chromium:/usr/bin/chromium libnss3-tools:/usr/bin/certutil)

# shellcheck source=lib/apt-deps.sh
. "$(dirname "$0")/lib/apt-deps.sh"
apt_missing

case "${1:-}" in
  --check)
    if ((${#missing[@]})); then echo "missing: ${missing[*]}"; exit 1; fi
    exit 0 ;;
  "") ;;
  *) die "unknown argument '$1' (usage: $0 [--check])" ;;
esac

# One line; each program's own version (the Debian package version in parentheses when they differ).
report() {
  local runc ipt ct umoci skopeo
  runc="$(/usr/sbin/runc --version 2>/dev/null | sed -n 's/^runc version //p')"
  ipt="$(/usr/sbin/iptables --version 2>/dev/null | sed 's/^iptables //')"
  ct="$(/usr/sbin/conntrack --version 2>/dev/null | sed -n 's/^conntrack \(v[^ ]*\).*/\1/p')"
  umoci="$(/usr/bin/umoci --version 2>/dev/null | sed -n 's/^umoci version //p')"
  skopeo="$(/usr/bin/skopeo --version 2>/dev/null | sed -n 's/^skopeo version //p')"
  log "runc ${runc:-?} ($(dpkg-query -W -f='${Version}' runc 2>/dev/null || echo '?')), iptables ${ipt:-?}, conntrack ${ct:-?}, umoci ${umoci:-?}, skopeo ${skopeo:-?}"
}

if ((${#missing[@]} == 0)); then
  log "up to date: runc, iptables, conntrack, umoci, skopeo, chromium and certutil are installed"; report; exit 0
fi

apt_install node-deps
report
