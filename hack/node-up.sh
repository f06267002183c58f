#!/usr/bin/env bash
# Joins this machine to the control plane in STATE_DIR as one real Kubernetes node: containerd
# (runc, CNI bridge + portmap), kubelet, kube-proxy (iptables mode) and CoreDNS as a real pod, with
# the images built by images/ loaded into containerd. The control plane must have been started by
# hack/controlplane-up.sh with REAL_NODE=1 (API server reachable from pods).
#
# Before touching anything it records the host's state (hack/lib/host-state.sh); hack/node-down.sh
# STATE_DIR (also run by hack/controlplane-down.sh) stops the node and puts the host back as it was:
# iptables rules, mounts, cgroups, sysctls, links.
#
# Usage: hack/node-up.sh STATE_DIR
# Env:   NODE_NAME (real-node-1), NODE_ZONE (cloudgouv-eu-west-1a), NODE_REGION (cloudgouv-eu-west-1),
#        NODE_POD_CIDR (10.88.0.0/24), NODE_TIMEOUT (seconds per wait phase, 120),
#        NODE_BIN_DIR (default: hack/build-node.sh --print-dir), IMAGES_JSON (default: the images/
#        build output; every image listed there is loaded)
# Writes: STATE_DIR/node/ (configs, certificates, kubelet and containerd roots, host snapshot, local
#         volumes: NODE_LOCAL_PVS (10) each for StorageClasses local (default) and bsu-gp2-encrypted),
#         STATE_DIR/logs/{containerd,kubelet,kube-proxy}.log, STATE_DIR/node/env (shell-sourceable).
#
# Labels: meet.sovereign.io/node=real, the zone/region/instance-type labels kwok nodes carry. The
# node carries no taint: with REAL_NODE=1 the kwok nodes carry kwok.x-k8s.io/node=fake:NoSchedule,
# so only pods that tolerate it may land on a fake node.
set -euo pipefail

HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HACK/.." && pwd)"
T0=$(date +%s%N)
elapsed() { local now; now=$(date +%s%N); printf '%d.%01d' $(((now - T0) / 1000000000)) $(((now - T0) / 100000000 % 10)); }
log() { printf '[node-up %5ss] %s\n' "$(elapsed)" "$*" >&2; }
die() { printf '[node-up] ERROR: %s\n' "$*" >&2; exit 1; }

[[ $# -eq 1 ]] || { sed -n '2,21p' "$0" >&2; exit 2; }
S="$(cd "$1" && pwd)"
N="$S/node"
[[ -f "$S/env" ]] || die "$S has no env file: start the control plane first (REAL_NODE=1 hack/controlplane-up.sh $S)"
# shellcheck disable=SC1091
. "$S/env"
[[ "${REAL_NODE:-0}" == 1 && -n "${HOST_IP:-}" ]] || die "the control plane in $S was not started with REAL_NODE=1 (pods could not reach its API server)"
((EUID == 0)) || die "a real node needs root (kubelet, containerd, iptables, mounts)"
[[ ! -f "$N/up" ]] || die "a node is already up in $S (hack/node-down.sh $S first)"

NODE_NAME="${NODE_NAME:-real-node-1}"
NODE_ZONE="${NODE_ZONE:-cloudgouv-eu-west-1a}"
NODE_REGION="${NODE_REGION:-cloudgouv-eu-west-1}"
POD_CIDR="${NODE_POD_CIDR:-10.88.0.0/24}"
TIMEOUT="${NODE_TIMEOUT:-120}"
CLUSTER_DNS=10.96.0.10
KUBECTL="$K8S_BIN_DIR/kubectl"

# --- binaries and host tools ---------------------------------------------------------------------
if [[ -z "${NODE_BIN_DIR:-}" ]]; then
  bash "$HACK/build-node.sh" || die "hack/build-node.sh failed"
  NODE_BIN_DIR="$(bash "$HACK/build-node.sh" --print-dir)"
fi
for b in kubelet kube-proxy containerd containerd-shim-runc-v2 ctr cni/bridge cni/loopback cni/host-local cni/portmap; do
  [[ -x "$NODE_BIN_DIR/$b" ]] || die "missing $NODE_BIN_DIR/$b (run hack/build-node.sh)"
done
bash "$HACK/node-deps.sh" --check >/dev/null || die "missing host packages: $(bash "$HACK/node-deps.sh" --check) (run: make node-binaries)"
IMAGES_JSON="${IMAGES_JSON:-${XDG_CACHE_HOME:-$HOME/.cache}/meet-operator/images/images.json}"
[[ -f "$IMAGES_JSON" ]] || die "no $IMAGES_JSON: build the images first (make images)"
image_ref() { node -e 'const i=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).find(i=>i.name===process.argv[2]);if(!i)process.exit(1);console.log(i.ref)' "$IMAGES_JSON" "$1"; }
PAUSE_IMAGE="$(image_ref pause)" || die "$IMAGES_JSON has no pause image (make images)"
COREDNS_IMAGE="$(image_ref coredns)" || die "$IMAGES_JSON has no coredns image (make images)"

mkdir -p "$N"/{pki,kubeconfigs,containerd,cni/net.d,cni/ipam,kubelet,pod-logs,host-before}
rm -f "$N/pids"

# --- host snapshot first: whatever happens next, node-down can put it back ---------------------
bash "$HACK/lib/host-state.sh" snapshot "$N/host-before" || die "recording the host state (hack/lib/host-state.sh snapshot) failed"
touch "$N/up"   # from here on, node-down has something to undo
UP_OK=0
on_exit() {
  local rc=$?
  if ((!UP_OK)); then
    log "start-up failed (exit $rc); stopping the node and restoring the host (logs kept in $S/logs)"
    bash "$HACK/node-down.sh" "$S" >&2 || true
  fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Routing between the pod bridge and the host, and iptables seeing bridged traffic (Services).
sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1

# --- certificates: the node and kube-proxy, signed by the control plane's CA --------------------
P="$S/pki"
ossl() { openssl "$@" 2>>"$S/logs/openssl.log" >/dev/null || die "openssl $1 failed, see $S/logs/openssl.log"; }
client_cert() {  # client_cert <name> <subject>
  ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$N/pki/$1.key"
  ossl req -new -key "$N/pki/$1.key" -subj "$2" -out "$N/pki/$1.csr"
  printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >"$N/pki/$1.ext"
  ossl x509 -req -in "$N/pki/$1.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial -days 365 -extfile "$N/pki/$1.ext" -out "$N/pki/$1.crt"
  rm -f "$N/pki/$1.csr" "$N/pki/$1.ext"
  chmod 600 "$N/pki/$1.key"
}
kubeconfig() {  # kubeconfig <cert name>
  cat >"$N/kubeconfigs/$1.kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: local
  cluster: {server: "$APISERVER_URL", certificate-authority: "$P/ca.crt"}
users:
- name: $1
  user: {client-certificate: "$N/pki/$1.crt", client-key: "$N/pki/$1.key"}
contexts:
- name: local
  context: {cluster: local, user: $1}
current-context: local
EOF
}
# The Node authorizer and NodeRestriction know a kubelet by this name and group.
client_cert kubelet "/O=system:nodes/CN=system:node:$NODE_NAME"
client_cert kube-proxy "/CN=system:kube-proxy"   # bound to system:node-proxier by default
kubeconfig kubelet
kubeconfig kube-proxy

# --- processes (same conventions as controlplane-up.sh: own process group, recorded in pids) ---
start() {
  local name="$1"; shift
  printf '%s\0' "$@" >"$S/cmdlines/$name"
  setsid "$@" </dev/null >"$S/logs/$name.log" 2>&1 &
  local pid=$!
  echo "$name $pid" >>"$N/pids"
  log "started $name (pid $pid, log $S/logs/$name.log)"
}
alive() {
  local pid
  pid="$(awk -v n="$1" '$1 == n { p = $2 } END { print p }' "$N/pids")"
  kill -0 "$pid" 2>/dev/null && return 0
  tail -n 20 "$S/logs/$1.log" >&2 || true
  die "$1 exited during start-up, see $S/logs/$1.log"
}
wait_for() {  # wait_for <what> <process names> <command...>
  local what="$1" names="$2"; shift 2
  local deadline=$((SECONDS + TIMEOUT)) n
  until "$@" >/dev/null 2>&1; do
    for n in $names; do alive "$n"; done
    if ((SECONDS >= deadline)); then
      for n in $names; do echo "--- last lines of $S/logs/$n.log:" >&2; tail -n 15 "$S/logs/$n.log" >&2 || true; done
      die "timed out after ${TIMEOUT}s waiting for $what"
    fi
    sleep 0.25
  done
  log "$what: ok"
}

# --- containerd ---------------------------------------------------------------------------------
SOCK="$N/containerd/containerd.sock"
cat >"$N/containerd/config.toml" <<EOF
# Generated by hack/node-up.sh. Roots inside the state dir; the shim sockets stay in
# /run/containerd/s (not configurable in containerd 2.x), removed by node-down.
version = 3
root = "$N/containerd/root"
state = "$N/containerd/state"

[grpc]
  address = "$SOCK"

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "$PAUSE_IMAGE"

[plugins."io.containerd.cri.v1.runtime"]
  # Required on these machines: root lacks CAP_SYS_RESOURCE, so runc cannot lower a container's
  # oom_score_adj below containerd's own; without this every sandbox fails to start.
  restrict_oom_score_adj = true
  [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
      # cgroup v1 with the cgroupfs driver, like the kubelet (no systemd here).
      SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["$NODE_BIN_DIR/cni"]
    conf_dir = "$N/cni/net.d"
    max_conf_num = 1

[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
EOF
mkdir -p "$S/cmdlines"
start containerd env PATH="$NODE_BIN_DIR:$PATH" "$NODE_BIN_DIR/containerd" --config "$N/containerd/config.toml" --log-level warn
CTR=("$NODE_BIN_DIR/ctr" --address "$SOCK" --namespace k8s.io)
wait_for "containerd" containerd "${CTR[@]}" version

# --- images -------------------------------------------------------------------------------------
mapfile -t ARCHIVES < <(node -e 'for (const i of JSON.parse(require("fs").readFileSync(process.argv[1],"utf8"))) console.log(i.archive)' "$IMAGES_JSON")
for a in "${ARCHIVES[@]}"; do
  [[ -f "$a" ]] || die "image archive $a (listed in $IMAGES_JSON) is missing: make images"
  "${CTR[@]}" images import --no-unpack=false "$a" >>"$S/logs/ctr.log" 2>&1 || die "ctr images import $a failed, see $S/logs/ctr.log"
done
log "loaded ${#ARCHIVES[@]} images into containerd: $("${CTR[@]}" images list -q | grep -c '^localhost/' || true) tagged localhost/..."

# --- CNI: one bridge for the pod network, portmap for hostPort on pod-network pods --------------
cat >"$N/cni/net.d/10-meet-node.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "meet-node",
  "plugins": [
    {
      "type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": true, "hairpinMode": true,
      "ipam": {"type": "host-local", "ranges": [[{"subnet": "$POD_CIDR"}]], "routes": [{"dst": "0.0.0.0/0"}], "dataDir": "$N/cni/ipam"}
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
EOF

# --- kubelet ------------------------------------------------------------------------------------
cat >"$N/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# cgroup v1 here (1.36 still runs on it with this set) and no systemd: the cgroupfs driver.
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://$SOCK
address: $HOST_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: "$P/ca.crt"}
authorization: {mode: Webhook}
clusterDomain: cluster.local
clusterDNS: [$CLUSTER_DNS]
resolvConf: /etc/resolv.conf
failSwapOn: false
podLogsDir: "$N/pod-logs"
# ConfigMap and Secret volume updates (certificates, CoreDNS hosts) within ~10 s.
syncFrequency: 10s
# A busy test machine's disk is not a reason to evict the pods under test.
evictionHard: {memory.available: 100Mi, nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
EOF
# A Node object left from an earlier run of this state dir still says Ready: remove it, so that
# "Ready" below is this kubelet's (pods bound to it go with it; their containers are gone anyway).
"$KUBECTL" delete node "$NODE_NAME" --ignore-not-found --wait=true >>"$S/logs/kubectl.log" 2>&1 || die "deleting the stale Node $NODE_NAME failed, see $S/logs/kubectl.log"
LABELS="meet.sovereign.io/node=real,type=real,topology.kubernetes.io/zone=$NODE_ZONE,topology.kubernetes.io/region=$NODE_REGION,node.kubernetes.io/instance-type=local"
start kubelet "$NODE_BIN_DIR/kubelet" \
  --config="$N/kubelet/config.yaml" --kubeconfig="$N/kubeconfigs/kubelet.kubeconfig" \
  --root-dir="$N/kubelet/root" --cert-dir="$N/kubelet/pki" \
  --hostname-override="$NODE_NAME" --node-ip="$HOST_IP" --node-labels="$LABELS" --v=1

# --- kube-proxy ---------------------------------------------------------------------------------
cat >"$N/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: "$N/kubeconfigs/kube-proxy.kubeconfig"}
mode: iptables
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
bindAddress: $HOST_IP
metricsBindAddress: 127.0.0.1:10249
healthzBindAddress: 127.0.0.1:10256
# Leave the host's conntrack sysctls alone (0 = do not set).
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
# NodePorts on 127.0.0.1 would need net.ipv4.conf.all.route_localnet=1, a host-wide change.
iptables: {localhostNodePorts: false}
EOF
start kube-proxy "$NODE_BIN_DIR/kube-proxy" --config="$N/kube-proxy.yaml" --v=1

node_ready() {
  [[ "$("$KUBECTL" get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" == True ]]
}
T_KUBELET=$(elapsed)
wait_for "node $NODE_NAME Ready" "containerd kubelet kube-proxy" node_ready
T_READY=$(elapsed)

# --- CoreDNS: cluster DNS as a real pod (names of Services; test and dev domains via its hosts file)
sed -e "s|@COREDNS_IMAGE@|$COREDNS_IMAGE|g" -e "s|@CLUSTER_DNS@|$CLUSTER_DNS|g" "$HACK/node/coredns.yaml" \
  | "$KUBECTL" apply --server-side --force-conflicts --field-manager=node-up -f - >>"$S/logs/kubectl.log" 2>&1 \
  || die "applying CoreDNS failed, see $S/logs/kubectl.log"
coredns_ready() {
  [[ "$("$KUBECTL" -n kube-system get deploy coredns -o jsonpath='{.status.readyReplicas}')" == 1 ]]
}
wait_for "CoreDNS Ready" "containerd kubelet kube-proxy" coredns_ready

# --- storage: local volumes on this node, for the default StorageClass and the Outscale profile's
# class name (kubelet applies fsGroup to local volumes, unlike hostPath: Redis writes as uid 999).
LOCAL_PVS="${NODE_LOCAL_PVS:-10}"
{
  for class in local bsu-gp2-encrypted; do
    cat <<EOF
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: $class
  labels: {meet.sovereign.io/node-storage: "true"}
$([[ $class == local ]] && printf '  annotations: {storageclass.kubernetes.io/is-default-class: "true"}\n')
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
reclaimPolicy: Delete
EOF
    for ((i = 1; i <= LOCAL_PVS; i++)); do
      mkdir -p "$N/volumes/$class-$i"
      cat <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: $NODE_NAME-$class-$i
  labels: {meet.sovereign.io/node-storage: "true"}
spec:
  capacity: {storage: 10Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: $class
  local: {path: "$N/volumes/$class-$i"}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [$NODE_NAME]}]
EOF
    done
  done
} >"$N/storage.yaml"
"$KUBECTL" apply --server-side --force-conflicts --field-manager=node-up -f "$N/storage.yaml" >>"$S/logs/kubectl.log" 2>&1 \
  || die "creating local volumes failed, see $S/logs/kubectl.log"
log "local volumes: $LOCAL_PVS each for StorageClasses local (default) and bsu-gp2-encrypted under $N/volumes"

cat >"$N/env" <<EOF
# Generated by hack/node-up.sh; source it after STATE_DIR/env.
NODE_NAME='$NODE_NAME'
NODE_IP='$HOST_IP'
NODE_POD_CIDR='$POD_CIDR'
CONTAINERD_SOCK='$SOCK'
NODE_BIN_DIR='$NODE_BIN_DIR'
export NODE_NAME NODE_IP NODE_POD_CIDR CONTAINERD_SOCK NODE_BIN_DIR
EOF
UP_OK=1
log "node $NODE_NAME ($HOST_IP) ready in $(elapsed)s: kubelet started at ${T_KUBELET}s, Node Ready at ${T_READY}s, CoreDNS after; containerd socket $SOCK"
