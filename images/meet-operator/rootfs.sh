#!/usr/bin/env bash
# meet-operator's root filesystem (see image.yaml): node, its libraries, /app = package.json, dist/ and
# the production node_modules. Run by images/build.mjs (helpers: images/lib.sh).
. "$IMAGES_LIB"
export PATH="$NODE_BIN:$PATH"

# Node.js: the binary only. The operator never runs npm, npx or corepack: they are not in the image.
install -D -m 0755 "$NODE_BIN/node" "$ROOTFS/usr/local/bin/node"
install -D -m 0644 "$NODE_BIN/../LICENSE" "$ROOTFS/usr/local/share/doc/node/LICENSE"
elf_libs /usr/local/bin/node
os_release
nsswitch_conf

# dist/: `tsc -p tsconfig.json` (make build) on a clean copy of the sources, so a stale file in the work
# tree's dist/ cannot get in; the copy keeps the repository's layout, so the source maps' relative paths
# are the same wherever the build runs.
[[ -f "$REPO/node_modules/typescript/bin/tsc" ]] || die "TypeScript is not installed: run npm ci (make deps) first"
mkdir -p "$WORK/src/operator"
cp -a "$REPO/package.json" "$REPO/tsconfig.json" "$WORK/src/"
cp -a "$REPO/operator/src" "$WORK/src/operator/src"
ln -s "$REPO/node_modules" "$WORK/src/node_modules"
node "$REPO/node_modules/typescript/bin/tsc" -p "$WORK/src/tsconfig.json"

# Production dependencies only, exactly package-lock.json's, no install scripts.
mkdir -p "$WORK/deps"
cp -a "$REPO/package.json" "$REPO/package-lock.json" "$WORK/deps/"
(cd "$WORK/deps" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)

# /app: package.json says "type": "module" (dist/ is ESM); files stay root-owned, read-only to uid 65532.
mkdir -p "$ROOTFS/app"
cp -a "$REPO/package.json" "$ROOTFS/app/package.json"
cp -a "$WORK/src/dist" "$ROOTFS/app/dist"
cp -a "$WORK/deps/node_modules" "$ROOTFS/app/node_modules"
