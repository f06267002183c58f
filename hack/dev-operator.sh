#!/usr/bin/env bash
# Starts (or restarts) `meet-operator run` against the local control plane in STATE_DIR, detached in
# its own process group and recorded in STATE_DIR/pids, so `make controlplane-down` stops it too.
# Usage: hack/dev-operator.sh STATE_DIR     (logs: STATE_DIR/logs/meet-operator.log)
set -euo pipefail
S="$(cd "${1:?usage: $0 STATE_DIR}" && pwd)"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
LOG="$S/logs/meet-operator.log"

old="$(awk '$1 == "meet-operator" { p = $2 } END { print p }' "$S/pids" 2>/dev/null || true)"
if [[ -n "$old" ]] && kill -0 -- "-$old" 2>/dev/null; then
  kill -TERM -- "-$old" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 -- "-$old" 2>/dev/null || break; sleep 0.1; done
fi
sed -i '/^meet-operator /d' "$S/pids" 2>/dev/null || true

setsid node "$ROOT/dist/cli/bin.js" run --kubeconfig "$S/kubeconfig" --listen 127.0.0.1:18080 \
  --leader-election-namespace default >"$LOG" 2>&1 </dev/null &
pid=$!
echo "meet-operator $pid" >>"$S/pids"
for _ in $(seq 1 100); do
  if grep -q '"msg":"starting workers"' "$LOG" 2>/dev/null; then
    echo "[dev-operator] meet-operator running (pid $pid, metrics http://127.0.0.1:18080/metrics, log $LOG)" >&2
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || { echo "[dev-operator] meet-operator exited; see $LOG" >&2; tail -20 "$LOG" >&2; exit 1; }
  sleep 0.2
done
echo "[dev-operator] meet-operator did not start leading within 20 s; see $LOG" >&2
exit 1
