#!/usr/bin/env bash
# Smoke test of a control plane started by hack/controlplane-up.sh STATE_DIR. Proves, with kubectl only:
#   - the kwok nodes exist, are Ready and carry InternalIP + ExternalIP and the Outscale-like labels;
#   - scheduler + Deployment/ReplicaSet controllers + kwok: a 2-replica hostNetwork Deployment with a required
#     podAntiAffinity on kubernetes.io/hostname gets 2 Running+Ready pods on 2 different nodes, pod IP = node IP;
#   - garbage collector: deleting the Deployment removes its ReplicaSet and pods; namespace controller too;
#   - audit log: the write requests made here are in STATE_DIR/audit.log.
# Usage: hack/controlplane-smoke.sh STATE_DIR
set -euo pipefail

[[ $# -eq 1 && -f "$1/env" ]] || { echo "usage: $0 STATE_DIR (a dir where hack/controlplane-up.sh has run)" >&2; exit 2; }
# shellcheck disable=SC1091
. "$1/env"
K="$K8S_BIN_DIR/kubectl"
T0=$SECONDS
log() { printf '[smoke %3ss] %s\n' $((SECONDS - T0)) "$*" >&2; }
die() { printf '[smoke] FAIL: %s\n' "$*" >&2; exit 1; }
NS="smoke-$(date +%s)-$$"
cleanup() { "$K" delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true; }
trap cleanup EXIT

# Count of audit events (write requests) by user admin.
admin_writes() { grep -c '"username":"admin"' "$AUDIT_LOG" || true; }
AUDIT_BEFORE="$(admin_writes)"

# --- nodes -------------------------------------------------------------------------------------
"$K" get nodes -L topology.kubernetes.io/zone,node.kubernetes.io/instance-type -o wide >&2
nodes="$("$K" get nodes -l type=kwok -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.conditions[?(@.type=="Ready")].status}{" "}{.status.addresses[?(@.type=="InternalIP")].address}{" "}{.status.addresses[?(@.type=="ExternalIP")].address}{" "}{.metadata.labels.topology\.kubernetes\.io/zone}{"\n"}{end}')"
n=0
while read -r name ready internal external zone; do
  [[ -n "$name" ]] || continue
  [[ "$ready" == True ]] || die "node $name is not Ready"
  [[ "$internal" == 10.0.0.* ]] || die "node $name has InternalIP '$internal'"
  [[ "$external" == 198.51.100.* ]] || die "node $name has no ExternalIP (got '$external')"
  [[ "$zone" == cloudgouv-eu-west-1[abc] ]] || die "node $name has zone '$zone'"
  n=$((n + 1))
done <<<"$nodes"
((n >= 2)) || die "need at least 2 kwok nodes, found $n"
log "$n kwok nodes Ready with InternalIP and ExternalIP"

# --- Deployment: scheduler, controllers, kwok -------------------------------------------------
"$K" create namespace "$NS" >/dev/null
"$K" -n "$NS" apply -f - >/dev/null <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: smoke
spec:
  replicas: 2
  selector: {matchLabels: {app: smoke}}
  template:
    metadata:
      labels: {app: smoke}
    spec:
      hostNetwork: true
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - topologyKey: kubernetes.io/hostname
            labelSelector: {matchLabels: {app: smoke}}
      containers:
      - name: dummy
        image: registry.k8s.io/pause:3.10
        resources: {requests: {cpu: 100m, memory: 64Mi}}
EOF
log "Deployment smoke created in namespace $NS"
"$K" -n "$NS" rollout status deployment/smoke --timeout=60s >&2 || {
  "$K" -n "$NS" get deploy,rs,pods -o wide >&2; "$K" -n "$NS" get events >&2; die "Deployment did not become available"; }
pods="$("$K" -n "$NS" get pods -l app=smoke -o jsonpath='{range .items[*]}{.metadata.name}{" "}{.status.phase}{" "}{.status.conditions[?(@.type=="Ready")].status}{" "}{.spec.nodeName}{" "}{.status.podIP}{" "}{.status.hostIP}{"\n"}{end}')"
echo "$pods" >&2
running="$(awk '$2 == "Running" && $3 == "True"' <<<"$pods" | wc -l)"
distinct="$(awk '$2 == "Running" && $3 == "True" { print $4 }' <<<"$pods" | sort -u | wc -l)"
((running == 2)) || die "expected 2 Running+Ready pods, got $running"
((distinct == 2)) || die "expected the 2 pods on 2 different nodes, got $distinct node(s)"
while read -r pod _ _ node podip hostip; do
  nodeip="$("$K" get node "$node" -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')"
  [[ "$podip" == "$nodeip" && "$hostip" == "$nodeip" ]] \
    || die "hostNetwork pod $pod: podIP $podip / hostIP $hostip, node $node InternalIP $nodeip"
done <<<"$pods"
log "2 pods Running+Ready on 2 different nodes, pod IP = node InternalIP"

# --- garbage collection ------------------------------------------------------------------------
"$K" -n "$NS" delete deployment smoke --wait=false >/dev/null
deadline=$((SECONDS + 60))
until [[ -z "$("$K" -n "$NS" get rs,pods -l app=smoke -o name 2>/dev/null)" ]]; do
  ((SECONDS < deadline)) || { "$K" -n "$NS" get rs,pods -o wide >&2; die "ReplicaSet/pods not garbage-collected within 60s"; }
  sleep 0.5
done
log "Deployment deleted: ReplicaSet and pods garbage-collected"
"$K" delete namespace "$NS" --timeout=60s >/dev/null || die "namespace $NS not deleted within 60s"
log "namespace $NS deleted"
trap - EXIT

# --- audit log ---------------------------------------------------------------------------------
# Expected writes by admin: create namespace, apply (patch) deployment, delete deployment, delete namespace.
deadline=$((SECONDS + 10))
until (($(admin_writes) - AUDIT_BEFORE >= 4)) || ((SECONDS >= deadline)); do sleep 0.2; done
delta=$(($(admin_writes) - AUDIT_BEFORE))
((delta >= 4)) || die "expected >= 4 write requests by admin in $AUDIT_LOG, found $delta"
log "audit log: $delta write requests by user admin during the smoke test; $(wc -l <"$AUDIT_LOG") write events in total"
python3 - "$AUDIT_LOG" "$NS" <<'PY' >&2 || true
import collections, json, sys
c = collections.Counter()
for line in open(sys.argv[1]):
    e = json.loads(line)
    if e.get("objectRef", {}).get("namespace") == sys.argv[2] or e.get("objectRef", {}).get("name") == sys.argv[2]:
        r = e["objectRef"]
        c[(e["user"]["username"], e["verb"], r.get("resource", "") + ("/" + r["subresource"] if r.get("subresource") else ""))] += 1
for (user, verb, res), n in sorted(c.items()):
    print(f"  {n:3d}  {user:55s} {verb:7s} {res}")
PY
log "OK"
