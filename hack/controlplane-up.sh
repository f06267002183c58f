#!/usr/bin/env bash
# Starts a real local Kubernetes control plane (no containers) in STATE_DIR:
#   etcd, kube-apiserver, kube-controller-manager, kube-scheduler (built by hack/build-k8s.sh)
#   and kwok, which fakes NODES (default 4) Outscale-like nodes and runs their pods.
# Every process runs in its own process group (setsid); hack/controlplane-down.sh STATE_DIR stops them.
#
# Usage: hack/controlplane-up.sh [--fresh] [--watch-pid PID [--watch-clean]] [--user NAME]... STATE_DIR
#        hack/controlplane-up.sh --only COMPONENT STATE_DIR
#   --fresh          wipe STATE_DIR (etcd data, certs, logs) before starting
#   --watch-pid PID  also start a watchdog that runs controlplane-down.sh when PID exits, and give up
#                    start-up if PID exits meanwhile (used by the vitest globalSetup: a test run killed
#                    with SIGKILL leaks nothing)
#   --watch-clean    the watchdog runs controlplane-down.sh --clean (removes STATE_DIR)
#   --user NAME      also issue a client certificate for user NAME (no group, so no rights until a
#                    binding grants some) and write STATE_DIR/kubeconfigs/NAME.kubeconfig
#   --only COMPONENT start one component again, with the command line it was first started with, into a
#                    running control plane (after hack/controlplane-down.sh --only COMPONENT STATE_DIR:
#                    fault-injection tests stop and restart kube-apiserver this way)
# Env: NODES (4; kwok nodes), CONTROLPLANE_TIMEOUT (seconds per wait phase, 90), K8S_BIN_DIR (default: build-k8s.sh cache),
#      REAL_NODE=1: prepare for a real kubelet node (hack/node-up.sh): kube-apiserver listens on every
#      address and advertises this machine's own address (pods reach it through the kubernetes
#      Service), its certificate names that address, and kwok nodes carry the taint
#      kwok.x-k8s.io/node=fake:NoSchedule so that pods land on the real node unless they tolerate it
#      (NODES may then be 0),
#      AUDIT_READ_USERS (comma-separated user names whose reads are audited too; default none),
#      APISERVER_EXTRA_ARGS (extra kube-apiserver flags, space-separated; default none).
#
# Writes: STATE_DIR/kubeconfig (admin, group system:masters), STATE_DIR/env (shell-sourceable),
#         STATE_DIR/audit.log (JSON lines, write requests), STATE_DIR/logs/<component>.log, STATE_DIR/pids,
#         STATE_DIR/cmdlines/<component> (NUL-separated command line, for --only).
# An existing STATE_DIR without running processes is reused (same etcd data and certs) unless --fresh.
set -euo pipefail

HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
T0=$(date +%s%N)

FRESH=0 WATCH_PID="" WATCH_CLEAN="" ONLY=""
declare -a USERS=()
while (($#)); do
  case "$1" in
    --fresh) FRESH=1; shift ;;
    --watch-pid) WATCH_PID="${2:?--watch-pid needs a PID}"; shift 2 ;;
    --watch-clean) WATCH_CLEAN=--clean; shift ;;
    --user) USERS+=("${2:?--user needs a NAME}"); shift 2 ;;
    --only) ONLY="${2:?--only needs a COMPONENT}"; shift 2 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    -*) echo "controlplane-up: unknown flag $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[[ $# -eq 1 ]] || { echo "usage: $0 [--fresh] [--watch-pid PID [--watch-clean]] [--user NAME]... STATE_DIR | --only COMPONENT STATE_DIR" >&2; exit 2; }
mkdir -p "$1"
S="$(cd "$1" && pwd)"
NODES="${NODES:-4}"
TIMEOUT="${CONTROLPLANE_TIMEOUT:-90}"

elapsed() { local now; now=$(date +%s%N); printf '%d.%01d' $(((now - T0) / 1000000000)) $(((now - T0) / 100000000 % 10)); }
log() { printf '[controlplane-up %5ss] %s\n' "$(elapsed)" "$*" >&2; }
die() { printf '[controlplane-up] ERROR: %s\n' "$*" >&2; exit 1; }

for t in openssl curl setsid flock python3 base64; do
  command -v "$t" >/dev/null || die "'$t' is required (apt-get install openssl curl util-linux python3 coreutils)"
done
REAL_NODE="${REAL_NODE:-0}"
[[ "$REAL_NODE" == 0 || "$REAL_NODE" == 1 ]] || die "REAL_NODE must be 0 or 1, got '$REAL_NODE'"
MIN_NODES=$((REAL_NODE ? 0 : 1))
[[ "$NODES" =~ ^[0-9]+$ ]] && ((NODES >= MIN_NODES && NODES <= 250)) || die "NODES must be $MIN_NODES..250, got '$NODES'"
# The address pods see this machine at (the source address of its default route). 192.0.2.1 is
# this VM's default gateway: advertising it would send pods' API traffic out of the machine.
HOST_IP=""
if ((REAL_NODE)); then
  # A route lookup only (no packet is sent): 203.0.113.1 (TEST-NET-3) follows the default route.
  HOST_IP="$(ip -4 route get 203.0.113.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')"
  [[ "$HOST_IP" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "REAL_NODE=1: cannot find this machine's address (ip -4 route)"
fi
AUDIT_READ_USERS="${AUDIT_READ_USERS:-}"
for u in "${USERS[@]}" ${AUDIT_READ_USERS//,/ }; do
  [[ "$u" =~ ^[a-z0-9][a-z0-9._-]*$ ]] || die "user names must match [a-z0-9][a-z0-9._-]*, got '$u'"
done

# --- start one component again (--only) ----------------------------------------------------------
# Definitions shared with the full start-up below.
# start <name> <cmd...>: own session/process group, output to logs/<name>.log (appended to when
# restarting), pid recorded, command line kept in cmdlines/<name>.
start() {
  local name="$1"; shift
  mkdir -p "$S/cmdlines"
  printf '%s\0' "$@" >"$S/cmdlines/$name"
  if [[ -n "$ONLY" ]]; then
    setsid "$@" </dev/null >>"$S/logs/$name.log" 2>&1 &
  else
    setsid "$@" </dev/null >"$S/logs/$name.log" 2>&1 &
  fi
  local pid=$!
  echo "$name $pid" >>"$S/pids"
  # setsid only execs in place when the caller is not a process-group leader; check that pid == pgid.
  local pgid="" i
  for ((i = 0; i < 40; i++)); do
    pgid="$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" || true
    [[ -z "$pgid" || "$pgid" == "$pid" ]] && break
    sleep 0.05
  done
  [[ -z "$pgid" || "$pgid" == "$pid" ]] || die "$name: pid $pid is not a process-group leader (pgid $pgid)"
  log "started $name (pid $pid, log $S/logs/$name.log)"
}
alive() {  # alive <name>: fail with a pointer to the log if the process is gone
  local pid
  pid="$(awk -v n="$1" '$1 == n { p = $2 } END { print p }' "$S/pids")"
  kill -0 "$pid" 2>/dev/null && return 0
  tail -n 20 "$S/logs/$1.log" >&2 || true
  die "$1 exited during start-up, see $S/logs/$1.log"
}
# wait_for <what> <log name> <command...>: poll until the command succeeds or the phase times out
wait_for() {
  local what="$1" name="$2"; shift 2
  local deadline=$((SECONDS + TIMEOUT))
  until "$@" >/dev/null 2>&1; do
    for n in $name; do alive "$n"; done
    [[ -z "$WATCH_PID" ]] || kill -0 "$WATCH_PID" 2>/dev/null || die "watched process $WATCH_PID exited, giving up"
    if ((SECONDS >= deadline)); then
      for n in $name; do echo "--- last lines of $S/logs/$n.log:" >&2; tail -n 15 "$S/logs/$n.log" >&2 || true; done
      die "timed out after ${TIMEOUT}s waiting for $what; see $(for n in $name; do printf '%s ' "$S/logs/$n.log"; done)"
    fi
    sleep 0.25
  done
  log "$what: ok"
}
P="$S/pki"
curl_api() { curl -sf --max-time 2 --cacert "$P/ca.crt" --cert "$P/admin.crt" --key "$P/admin.key" "$APISERVER_URL$1"; }

if [[ -n "$ONLY" ]]; then
  [[ -f "$S/cmdlines/$ONLY" && -f "$S/env" ]] || die "$S has no recorded command line for '$ONLY' (was it started by this script?)"
  [[ -z "$WATCH_PID" && ${#USERS[@]} -eq 0 && $FRESH -eq 0 ]] || die "--only takes no other flag"
  # shellcheck disable=SC1091
  . "$S/env"
  old="$(awk -v n="$ONLY" '$1 == n { p = $2 } END { print p }' "$S/pids")"
  if [[ -n "$old" ]] && ps -e -ww -o pgid=,args= | awk -v g="$old" -v s="$S" '$1 == g && index($0, s) { f = 1 } END { exit !f }'; then
    die "$ONLY is still running in $S (pgid $old); stop it first: hack/controlplane-down.sh --only $ONLY $S"
  fi
  mapfile -d '' -t ARGV <"$S/cmdlines/$ONLY"
  awk -v n="$ONLY" '$1 != n' "$S/pids" >"$S/pids.tmp" && mv -f "$S/pids.tmp" "$S/pids"
  echo "--- restarted by controlplane-up.sh --only at $(date -u +%FT%TZ)" >>"$S/logs/$ONLY.log"
  start "$ONLY" "${ARGV[@]}"
  case "$ONLY" in
    kube-apiserver) wait_for "kube-apiserver /readyz" kube-apiserver curl_api /readyz ;;
    etcd) wait_for "etcd" etcd curl -sf --max-time 2 "$ETCD_URL/health" ;;
    *) sleep 1; alive "$ONLY" ;;
  esac
  # Keep env's process lists current for whoever sources it next.
  PGIDS="$(awk '{ printf "%s%s", sep, $2; sep = " " }' "$S/pids")"
  PIDS="$(awk '{ printf "%s%s:%s", sep, $1, $2; sep = " " }' "$S/pids")"
  sed -e "s/^CONTROLPLANE_PIDS=.*/CONTROLPLANE_PIDS='$PIDS'/" -e "s/^CONTROLPLANE_PGIDS=.*/CONTROLPLANE_PGIDS='$PGIDS'/" "$S/env" >"$S/env.tmp"
  mv -f "$S/env.tmp" "$S/env"
  exit 0
fi

# Refuse to start twice on the same STATE_DIR.
if [[ -f "$S/pids" ]] && "$HACK/controlplane-down.sh" --check "$S" 2>/dev/null; then
  die "a control plane is already running in $S (stop it with hack/controlplane-down.sh $S)"
fi

# --- binaries ----------------------------------------------------------------------------------
if [[ -z "${K8S_BIN_DIR:-}" ]]; then
  "$HACK/build-k8s.sh" || die "hack/build-k8s.sh failed"
  K8S_BIN_DIR="$("$HACK/build-k8s.sh" --print-dir)"
fi
for b in etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok; do
  [[ -x "$K8S_BIN_DIR/$b" ]] || die "missing $K8S_BIN_DIR/$b (run hack/build-k8s.sh)"
done
KUBECTL="$K8S_BIN_DIR/kubectl"

if ((FRESH)); then
  [[ -f "$S/pids" || -d "$S/etcd" || -z "$(ls -A "$S")" ]] \
    || die "--fresh refuses to wipe $S: it does not look like a control plane state dir"
  rm -rf "${S:?}"/{etcd,pki,kubeconfigs,logs,certs,cmdlines,audit.log,audit-policy.yaml,env,pids,ports,kubeconfig,nodes.yaml}
fi
mkdir -p "$S/logs" "$S/pki" "$S/kubeconfigs" "$S/certs"
: >"$S/pids"
rm -f "$S/env"

# --- teardown on failure -------------------------------------------------------------------------
UP_OK=0
on_exit() {
  local rc=$?
  if ((!UP_OK)); then
    if [[ -n "$WATCH_PID" && -n "$WATCH_CLEAN" ]] && ! kill -0 "$WATCH_PID" 2>/dev/null; then
      log "start-up aborted (exit $rc): watched process $WATCH_PID is gone; stopping and removing $S"
      "$HACK/controlplane-down.sh" --clean "$S" >&2 || true
    else
      log "start-up failed (exit $rc); stopping what was started (logs kept in $S/logs)"
      "$HACK/controlplane-down.sh" "$S" >&2 || true
    fi
  fi
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP
trap 'exit 141' PIPE

# --- ports -------------------------------------------------------------------------------------
# Free loopback ports outside the ephemeral range, reserved under a machine-wide lock for 2 minutes so
# that two control planes starting at the same time never pick the same port.
read -r ETCD_PORT ETCD_PEER_PORT API_PORT KCM_PORT SCHED_PORT < <(python3 - "$S" <<'PY'
import fcntl, os, random, socket, sys, time
reg = os.path.join(os.environ.get("TMPDIR", "/tmp"), "meet-operator-controlplane-ports")
os.makedirs(reg, exist_ok=True)
with open(os.path.join(reg, ".lock"), "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    now = time.time()
    reserved = set()
    for f in os.listdir(reg):
        p = os.path.join(reg, f)
        if f.isdigit():
            if now - os.path.getmtime(p) > 120:
                os.unlink(p)
            else:
                reserved.add(int(f))
    picked = []
    for _ in range(5000):
        port = random.randrange(20000, 32000)
        if port in reserved or port in picked:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        picked.append(port)
        if len(picked) == 5:
            break
    if len(picked) < 5:
        sys.exit("no free ports found")
    for port in picked:
        with open(os.path.join(reg, str(port)), "w") as f:
            f.write(sys.argv[1])
    print(*picked)
PY
) || die "could not pick free ports"
[[ -n "$SCHED_PORT" ]] || die "could not pick free ports"
APISERVER_URL="https://127.0.0.1:$API_PORT"
ETCD_URL="http://127.0.0.1:$ETCD_PORT"
printf 'etcd=%s etcd-peer=%s kube-apiserver=%s kube-controller-manager=%s kube-scheduler=%s\n' \
  "$ETCD_PORT" "$ETCD_PEER_PORT" "$API_PORT" "$KCM_PORT" "$SCHED_PORT" >"$S/ports"

# --- PKI ---------------------------------------------------------------------------------------
ossl() { openssl "$@" 2>>"$S/logs/openssl.log" >/dev/null || die "openssl $1 failed, see $S/logs/openssl.log"; }
# cert <name> <subject> <extendedKeyUsage> [subjectAltName]
cert() {
  local n="$1" subj="$2" eku="$3" san="${4:-}"
  ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/$n.key"
  ossl req -new -key "$P/$n.key" -subj "$subj" -out "$P/$n.csr"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [[ -n "$san" ]] && echo "subjectAltName=$san"
  } >"$P/$n.ext"
  ossl x509 -req -in "$P/$n.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial -days 365 \
    -extfile "$P/$n.ext" -out "$P/$n.crt"
  rm -f "$P/$n.csr" "$P/$n.ext"
}
APISERVER_SAN="IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local${HOST_IP:+,IP:$HOST_IP}"
if [[ -f "$P/ca.crt" && -f "$P/sa.key" && -f "$P/admin.crt" && -f "$P/kwok.crt" ]]; then
  log "reusing certificates in $P"
  # A state dir first started without REAL_NODE: its serving certificate lacks this machine's address.
  if [[ -n "$HOST_IP" ]] && ! openssl x509 -in "$P/apiserver.crt" -noout -ext subjectAltName 2>/dev/null | grep -q "IP Address:$HOST_IP\b"; then
    log "re-issuing the kube-apiserver certificate for $HOST_IP"
    cert apiserver "/CN=kube-apiserver" serverAuth "$APISERVER_SAN"
  fi
else
  log "generating throw-away CA, certificates and service-account key in $P"
  ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/ca.key"
  ossl req -x509 -new -key "$P/ca.key" -subj "/CN=meet-operator-test-ca" -days 365 -out "$P/ca.crt" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"
  cert apiserver "/CN=kube-apiserver" serverAuth "$APISERVER_SAN"
  cert admin "/O=system:masters/CN=admin" clientAuth
  cert kube-controller-manager "/CN=system:kube-controller-manager" clientAuth
  cert kube-scheduler "/CN=system:kube-scheduler" clientAuth
  cert kwok "/O=system:masters/CN=kwok" clientAuth
  ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$P/sa.key"
  ossl pkey -in "$P/sa.key" -pubout -out "$P/sa.pub"
  chmod 600 "$P"/*.key
fi
# kube-apiserver -> kubelet (logs, exec, port-forward on a real node): authorised by the kubelet's
# webhook like any other client; system:masters may do all of it.
if [[ ! -f "$P/apiserver-kubelet-client.crt" ]]; then
  cert apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  chmod 600 "$P"/*.key
fi

b64() { base64 -w0 <"$1"; }
kubeconfig() {  # kubeconfig <cert name> <output>
  cat >"$2" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: meet-operator-test
  cluster:
    server: $APISERVER_URL
    certificate-authority-data: $(b64 "$P/ca.crt")
users:
- name: $1
  user:
    client-certificate-data: $(b64 "$P/$1.crt")
    client-key-data: $(b64 "$P/$1.key")
contexts:
- name: meet-operator-test
  context:
    cluster: meet-operator-test
    user: $1
current-context: meet-operator-test
EOF
  chmod 600 "$2"
}
KC="$S/kubeconfigs"
kubeconfig admin "$S/kubeconfig"
for c in kube-controller-manager kube-scheduler kwok; do kubeconfig "$c" "$KC/$c.kubeconfig"; done
for u in "${USERS[@]}"; do
  [[ -f "$P/user-$u.crt" ]] || cert "user-$u" "/CN=$u" clientAuth
  kubeconfig "user-$u" "$KC/$u.kubeconfig"
done

# Audit policy: every write request (create/update/patch/delete/deletecollection) at Metadata level,
# one JSON line per request (stage ResponseComplete). Lease renewals (kwok node heartbeats) are left out.
# With AUDIT_READ_USERS, those users' reads (get/list/watch) are recorded as well.
cat >"$S/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
- level: None
  resources: [{group: coordination.k8s.io, resources: [leases]}]
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
EOF
if [[ -n "$AUDIT_READ_USERS" ]]; then
  # Every request of these users (reads too): request rates of a client under test.
  printf -- '- level: Metadata\n  users: [%s]\n' "$AUDIT_READ_USERS" >>"$S/audit-policy.yaml"
fi
echo '- level: None' >>"$S/audit-policy.yaml"

# --- processes ---------------------------------------------------------------------------------
start etcd "$K8S_BIN_DIR/etcd" \
  --name=default --data-dir="$S/etcd" \
  --listen-client-urls="$ETCD_URL" --advertise-client-urls="$ETCD_URL" \
  --listen-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster="default=http://127.0.0.1:$ETCD_PEER_PORT" \
  --unsafe-no-fsync=true --snapshot-count=10000 --quota-backend-bytes=2147483648 --log-level=warn

# --advertise-address only feeds the endpoints of the "kubernetes" Service, which rejects loopback
# addresses. Without a real node nobody follows them: 192.0.2.1 (TEST-NET-1) is never contacted and
# clients use the kubeconfig (127.0.0.1). With one, pods reach the API server through that Service, so
# it advertises this machine's own address and listens on it too.
if ((REAL_NODE)); then BIND_ADDRESS=0.0.0.0 ADVERTISE_ADDRESS="$HOST_IP"; else BIND_ADDRESS=127.0.0.1 ADVERTISE_ADDRESS=192.0.2.1; fi
start kube-apiserver "$K8S_BIN_DIR/kube-apiserver" \
  --etcd-servers="$ETCD_URL" \
  --bind-address="$BIND_ADDRESS" --advertise-address="$ADVERTISE_ADDRESS" --secure-port="$API_PORT" \
  --kubelet-client-certificate="$P/apiserver-kubelet-client.crt" --kubelet-client-key="$P/apiserver-kubelet-client.key" \
  --kubelet-preferred-address-types=InternalIP,Hostname \
  --cert-dir="$S/certs/kube-apiserver" \
  --tls-cert-file="$P/apiserver.crt" --tls-private-key-file="$P/apiserver.key" \
  --client-ca-file="$P/ca.crt" \
  --authorization-mode=Node,RBAC \
  --enable-admission-plugins=NodeRestriction \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$P/sa.pub" --service-account-signing-key-file="$P/sa.key" \
  --service-cluster-ip-range=10.96.0.0/16 \
  --allow-privileged=true \
  --audit-policy-file="$S/audit-policy.yaml" --audit-log-path="$S/audit.log" --audit-log-format=json \
  --audit-log-mode=blocking --audit-log-maxsize=0 \
  --profiling=false ${APISERVER_EXTRA_ARGS:-}

wait_for "etcd" etcd curl -sf --max-time 2 "$ETCD_URL/health"
wait_for "kube-apiserver /readyz" "kube-apiserver etcd" curl_api /readyz

start kube-controller-manager "$K8S_BIN_DIR/kube-controller-manager" \
  --kubeconfig="$KC/kube-controller-manager.kubeconfig" \
  --authentication-kubeconfig="$KC/kube-controller-manager.kubeconfig" \
  --authorization-kubeconfig="$KC/kube-controller-manager.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port="$KCM_PORT" --cert-dir="$S/certs/kube-controller-manager" \
  --leader-elect=false --controllers='*' \
  --use-service-account-credentials=true \
  --service-account-private-key-file="$P/sa.key" --root-ca-file="$P/ca.crt" \
  --cluster-signing-cert-file="$P/ca.crt" --cluster-signing-key-file="$P/ca.key" \
  --service-cluster-ip-range=10.96.0.0/16 --allocate-node-cidrs=false \
  --profiling=false

start kube-scheduler "$K8S_BIN_DIR/kube-scheduler" \
  --kubeconfig="$KC/kube-scheduler.kubeconfig" \
  --authentication-kubeconfig="$KC/kube-scheduler.kubeconfig" \
  --authorization-kubeconfig="$KC/kube-scheduler.kubeconfig" \
  --bind-address=127.0.0.1 --secure-port="$SCHED_PORT" --cert-dir="$S/certs/kube-scheduler" \
  --leader-elect=false --profiling=false

start kwok "$K8S_BIN_DIR/kwok" \
  --kubeconfig="$KC/kwok.kubeconfig" \
  --config="$HACK/kwok-stages.yaml" \
  --manage-all-nodes=false \
  --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --node-lease-duration-seconds=40 \
  --cidr=10.244.0.1/16 --node-ip=10.0.0.1

# --- fake nodes (Outscale-like) ----------------------------------------------------------------
ZONES=(a b c)
{
  for ((i = 1; i <= NODES; i++)); do
    name="kwok-node-$i" zone="cloudgouv-eu-west-1${ZONES[$(((i - 1) % 3))]}"
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: $name
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/hostname: $name
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    node.kubernetes.io/instance-type: tinav6.c8r16p1
    topology.kubernetes.io/region: cloudgouv-eu-west-1
    topology.kubernetes.io/zone: $zone
    type: kwok
$( ((REAL_NODE)) && printf 'spec:\n  taints:\n  - {key: kwok.x-k8s.io/node, value: fake, effect: NoSchedule}\n' )
status:
  addresses:
  - {type: InternalIP, address: 10.0.0.$((10 + i))}
  - {type: ExternalIP, address: 198.51.100.$((10 + i))}
  - {type: Hostname, address: $name}
  allocatable: {cpu: "8", memory: 16Gi, pods: "110", ephemeral-storage: 100Gi}
  capacity: {cpu: "8", memory: 16Gi, pods: "110", ephemeral-storage: 100Gi}
  nodeInfo: {architecture: amd64, operatingSystem: linux}
EOF
  done
} >"$S/nodes.yaml"
export KUBECONFIG="$S/kubeconfig"
if ((NODES)); then
  "$KUBECTL" apply --server-side --field-manager=controlplane-up -f "$S/nodes.yaml" >>"$S/logs/kubectl.log" 2>&1 \
    || die "creating nodes failed, see $S/logs/kubectl.log"
fi
# A reused state dir may hold more kwok nodes than asked for now (NODES changed between runs): they
# are ours (label type=kwok, named kwok-node-N), so remove the surplus rather than wait for a count
# that can never match.
surplus="$("$KUBECTL" get nodes -l type=kwok -o name 2>>"$S/logs/kubectl.log" \
  | awk -F'kwok-node-' -v n="$NODES" '$2 ~ /^[0-9]+$/ && $2 + 0 > n' | tr '\n' ' ')"
if [[ -n "$surplus" ]]; then
  # shellcheck disable=SC2086 # one argument per node
  "$KUBECTL" delete --wait=false $surplus >>"$S/logs/kubectl.log" 2>&1 || die "deleting surplus kwok nodes failed, see $S/logs/kubectl.log"
  log "removed $(wc -w <<<"$surplus") kwok node(s) left from an earlier run with more nodes"
fi
log "created $NODES kwok nodes"

curl_local() { curl -skf --max-time 2 "https://127.0.0.1:$1/healthz"; }
wait_for "kube-controller-manager /healthz" kube-controller-manager curl_local "$KCM_PORT"
wait_for "kube-scheduler /healthz" kube-scheduler curl_local "$SCHED_PORT"
nodes_ready() {
  local n
  n="$("$KUBECTL" get nodes -l type=kwok \
    -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' | grep -cx True)" || ((NODES == 0)) || return 1
  ((n == NODES))
}
kwok_nodes_gone() { [[ -z "$("$KUBECTL" get nodes -l type=kwok -o name | awk -F'kwok-node-' -v n="$NODES" '$2 + 0 > n')" ]]; }
[[ -z "$surplus" ]] || wait_for "surplus kwok nodes deleted" kube-apiserver kwok_nodes_gone
wait_for "$NODES nodes Ready" kwok nodes_ready
wait_for "default serviceaccount" kube-controller-manager "$KUBECTL" -n default get serviceaccount default
wait_for "kube-root-ca.crt configmap" kube-controller-manager "$KUBECTL" -n default get configmap kube-root-ca.crt

# --- environment file --------------------------------------------------------------------------
# The leader of each process group: pid == pgid.
PGIDS="$(awk '{ printf "%s%s", sep, $2; sep = " " }' "$S/pids")"
PIDS="$(awk '{ printf "%s%s:%s", sep, $1, $2; sep = " " }' "$S/pids")"

if [[ -n "$WATCH_PID" ]]; then
  # Watchdog: its own process group, stops the control plane when WATCH_PID goes away.
  start watchdog bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$3" $4 "$2"' \
    watchdog "$WATCH_PID" "$S" "$HACK/controlplane-down.sh" "$WATCH_CLEAN"
  PGIDS="$(awk '{ printf "%s%s", sep, $2; sep = " " }' "$S/pids")"
  PIDS="$(awk '{ printf "%s%s:%s", sep, $1, $2; sep = " " }' "$S/pids")"
fi

cat >"$S/env.tmp" <<EOF
# Generated by hack/controlplane-up.sh; source it: . $S/env
CONTROLPLANE_DIR='$S'
KUBECONFIG='$S/kubeconfig'
APISERVER_URL='$APISERVER_URL'
AUDIT_LOG='$S/audit.log'
ETCD_URL='$ETCD_URL'
K8S_BIN_DIR='$K8S_BIN_DIR'
API_PORT='$API_PORT'
REAL_NODE='$REAL_NODE'
HOST_IP='$HOST_IP'
KUBE_CONTROLLER_MANAGER_URL='https://127.0.0.1:$KCM_PORT'
KUBE_SCHEDULER_URL='https://127.0.0.1:$SCHED_PORT'
CONTROLPLANE_PIDS='$PIDS'
CONTROLPLANE_PGIDS='$PGIDS'
export CONTROLPLANE_DIR KUBECONFIG APISERVER_URL AUDIT_LOG ETCD_URL K8S_BIN_DIR API_PORT REAL_NODE HOST_IP KUBE_CONTROLLER_MANAGER_URL KUBE_SCHEDULER_URL CONTROLPLANE_PIDS CONTROLPLANE_PGIDS
EOF
mv -f "$S/env.tmp" "$S/env"
UP_OK=1
log "control plane ready in $(elapsed)s: KUBECONFIG=$S/kubeconfig APISERVER_URL=$APISERVER_URL (env: . $S/env)"
