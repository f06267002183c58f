# syntax=docker/dockerfile:1
# meet-operator container image.
#
#   docker build -t registry.interieur.example/mirror/meet-operator:0.1.0 .
#   docker build --build-arg NODE_IMAGE=registry.interieur.example/mirror/library/node:24-alpine ...
#
# Base image: the official Node.js 24 LTS Alpine image from Docker Hub (library/node), not gcr.io /
# distroless, so any OCI registry can mirror it: copy it into your EU registry (e.g. `crane copy
# node:24-alpine registry.interieur.example/mirror/library/node:24-alpine`, or `skopeo copy`) and pass
# NODE_IMAGE; pin it by digest there (node:24-alpine@sha256:...) for reproducible builds.
#
# Runtime: node + production dependencies + compiled dist/, uid/gid 65532 (non-root), nothing written
# to the root filesystem (works with readOnlyRootFilesystem: true; the chart mounts an emptyDir /tmp).
# The entrypoint is `node <V8 flags> dist/cli/bin.js`: exactly what the chart test runs against a real
# API server, with the chart's args (`run --leader-election-namespace=$(POD_NAMESPACE) ...`).
ARG NODE_IMAGE=node:24-alpine

# --- build: all dependencies, TypeScript -> dist/ ---------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY operator/src ./operator/src
RUN npx tsc -p tsconfig.json

# --- production dependencies only -------------------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

# --- runtime ----------------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="meet-operator" \
      org.opencontainers.image.description="Sovereign LiveKit stacks (SFU, TURN/STUN, Redis) from one MeetingCluster per ministry" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.licenses="Apache-2.0"
# The operator never runs npm, yarn or corepack: remove them (less to patch, less to exploit).
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
           /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
           /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
WORKDIR /app
# Memory (measured with bench/reconcile.mjs, 1000 MeetingClusters; figures in the issue notes):
#  - NODE_OPTIONS: a 1 MiB young generation instead of V8's default (up to 64 MiB per semi-space on
#    a large machine, never given back while the operator is busy). The chart sets the same value.
#  - the ENTRYPOINT's V8 flags (not allowed in NODE_OPTIONS): no optimizing compilers (TurboFan,
#    Maglev) and V8's memory-saving mode. The operator waits on the API server far more than it
#    computes: this costs CPU per reconcile and saves ~30 MiB of code and compiler memory.
#  - MALLOC_*: glibc malloc (a Debian-based NODE_IMAGE) keeps freed memory fragmented across
#    per-thread arenas; this keeps two arenas and returns large blocks to the system. musl (the
#    default Alpine image) ignores them.
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=1 \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=131072 \
    MALLOC_TRIM_THRESHOLD_=131072
# package.json carries "type": "module" (dist/ is ESM); files stay root-owned and read-only to uid 65532.
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
USER 65532:65532
# /healthz, /readyz, /metrics (--listen, default 0.0.0.0:8080: unprivileged port).
EXPOSE 8080
ENTRYPOINT ["node", "--no-opt", "--no-maglev", "--optimize-for-size", "dist/cli/bin.js"]
CMD ["run"]
