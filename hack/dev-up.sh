#!/usr/bin/env bash
# The second half of `make dev`: on a control plane started with REAL_NODE=1 in STATE_DIR, brings up
# the real node (hack/node-up.sh) unless it is up, installs the operator with its Helm chart from the
# image built here, applies EXAMPLE fitted to one node (operator/test/node/fit.ts: the images built
# here, one SFU and one coturn pod, small CPU requests), makes the ministry's names resolve in the
# cluster DNS, waits until every pod is Ready, serves the browser join page and prints how to join.
#
# Usage: hack/dev-up.sh STATE_DIR EXAMPLE
set -euo pipefail

HACK="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HACK/.." && pwd)"
S="$(cd "${1:?usage: $0 STATE_DIR EXAMPLE}" && pwd)"
EXAMPLE="${2:?usage: $0 STATE_DIR EXAMPLE}"
T0=$SECONDS
log() { printf '[dev %3ss] %s\n' "$((SECONDS - T0))" "$*" >&2; }
die() { printf '[dev] ERROR: %s\n' "$*" >&2; exit 1; }
# shellcheck disable=SC1091
. "$S/env"
K() { "$K8S_BIN_DIR/kubectl" "$@"; }
HELM="$(bash "$HACK/build-helm.sh" --print-dir)/helm"
HELM_HOME="${XDG_CACHE_HOME:-$HOME/.cache}/meet-operator/helm-home"
export HELM_CACHE_HOME="$HELM_HOME/cache" HELM_CONFIG_HOME="$HELM_HOME/config" HELM_DATA_HOME="$HELM_HOME/data"
IMAGES_JSON="${XDG_CACHE_HOME:-$HOME/.cache}/meet-operator/images/images.json"
image() { node -e 'const i=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).find(i=>i.name===process.argv[2]);if(!i)process.exit(1);console.log(i.ref)' "$IMAGES_JSON" "$1"; }

bash "$HACK/node-down.sh" --check "$S" || bash "$HACK/node-up.sh" "$S"
# shellcheck disable=SC1091
. "$S/node/env"

# --- the operator: its chart, its image --------------------------------------------------------
ref="$(image meet-operator)" || die "no meet-operator image in $IMAGES_JSON (make images)"
repo="${ref%:*}" tag="${ref##*:}"
K create namespace meet-operator-system --dry-run=client -o yaml | K apply --server-side -f - >/dev/null
K label namespace meet-operator-system --overwrite pod-security.kubernetes.io/enforce=restricted >/dev/null
log "helm upgrade --install meet-operator (image $ref)"
"$HELM" upgrade --install meet-operator "$ROOT/charts/meet-operator" -n meet-operator-system \
  --set image.registry="${repo%%/*}" --set image.repository="${repo#*/}" --set image.tag="$tag" \
  --set image.pullPolicy=Never --set replicaCount=1 --wait --timeout 180s >"$S/logs/helm.log" 2>&1 \
  || { tail -20 "$S/logs/helm.log" >&2; K -n meet-operator-system get pods -o wide >&2 || true; die "helm install failed, see $S/logs/helm.log"; }

# --- the example ---------------------------------------------------------------------------------
FITTED="$S/dev-example.yaml"
node "$ROOT/operator/test/node/fit.ts" "$EXAMPLE" "$IMAGES_JSON" >"$FITTED"
read -r ns name domain turn_domain udp_domain tls_secret profile < <(node -e '
  const m = require("yaml").parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const t = m.spec.turn ?? {};
  console.log([m.metadata.namespace ?? "default", m.metadata.name, m.spec.domain, t.domain ?? "-", t.udpDomain ?? "-", t.tlsSecretName ?? "-", m.spec.cloud?.profile ?? "generic"].join(" "))' "$FITTED")
[[ "$profile" == generic ]] || log "WARNING: $EXAMPLE uses the $profile profile: its pods read the node's public IP from the cloud's metadata service, which this machine does not have (the node tests serve a stand-in); prefer a generic example here"
K create namespace "$ns" --dry-run=client -o yaml | K apply --server-side -f - >/dev/null
if [[ "$tls_secret" != - ]] && ! K -n "$ns" get secret "$tls_secret" >/dev/null 2>&1; then
  tmp="$(mktemp -d)"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tmp/tls.key" -out "$tmp/tls.crt" \
    -subj "/CN=$turn_domain" -addext "subjectAltName=DNS:$turn_domain" -days 30 2>/dev/null
  K -n "$ns" create secret tls "$tls_secret" --cert="$tmp/tls.crt" --key="$tmp/tls.key" >/dev/null
  rm -rf "$tmp"
  log "created Secret $ns/$tls_secret (self-signed for $turn_domain)"
fi
# The ministry's public DNS: every name of the example -> this node.
hosts="$NODE_IP $domain"
for n in "$turn_domain" "$udp_domain"; do [[ "$n" == - ]] || hosts+=" $n"; done
K -n kube-system patch configmap coredns --type merge -p "{\"data\":{\"hosts\":\"$hosts\\n\"}}" >/dev/null
log "cluster DNS: $hosts"

K apply --server-side -f "$FITTED" >/dev/null
log "applied $EXAMPLE (fitted to one node: $FITTED); waiting for $ns/$name to become Ready..."
K wait --for=condition=Ready "mc/$name" -n "$ns" --timeout=240s >/dev/null \
  || { K -n "$ns" get pods -o wide >&2; K -n "$ns" describe mc "$name" | tail -20 >&2; die "$ns/$name did not become Ready"; }
K wait --for=condition=Ready pods --all -n "$ns" --timeout=120s >/dev/null || die "pods of $ns are not all Ready"

# --- how to join ---------------------------------------------------------------------------------
old="$(awk '$1 == "join-server" { p = $2 } END { print p }' "$S/pids" 2>/dev/null || true)"
[[ -z "$old" ]] || kill -- "-$old" 2>/dev/null || true
sed -i '/^join-server /d' "$S/pids"
port="${DEV_JOIN_PORT:-18090}"
setsid node "$HACK/join-server.mjs" 127.0.0.1 "$port" >"$S/logs/join-server.log" 2>&1 </dev/null &
echo "join-server $!" >>"$S/pids"
for _ in $(seq 50); do grep -q listening "$S/logs/join-server.log" && break; sleep 0.1; done
page="$(sed -n 's/^listening //p' "$S/logs/join-server.log")"

echo
K get mc -A
echo
K -n "$ns" get deploy,sts,pods -o wide
echo
sfu_port="$(K -n "$ns" get mc "$name" -o jsonpath='{.spec.sfu.port}')"
signalling="ws://$NODE_IP:${sfu_port:-7880}"
token="$(node "$ROOT/dist/cli/bin.js" token "$name" -n "$ns" --kubeconfig "$KUBECONFIG" --identity dev-user --room dev --ttl 8h --url "$signalling" -o json)"
jwt="$(node -e 'console.log(JSON.parse(process.argv[1]).token)' "$token")"
cat <<EOF
Join a meeting on it (room "dev", token valid 8 h, minted from the cluster's own keys):
  signalling: $signalling   (in production: wss://$domain through the load balancer)
  token:      $jwt
  browser:    ${page}?role=publisher&url=$signalling&token=$jwt
              (from another machine: ssh -L $port:127.0.0.1:$port first; TURN and the SFU answer at $NODE_IP)
  another token: node dist/cli/bin.js token $name -n $ns --kubeconfig $KUBECONFIG --url $signalling --identity someone
dev stack ready in $((SECONDS - T0))s
EOF
