import { defineConfig } from 'vitest/config';

// Four projects: unit tests of pure code (no server), integration tests against the real local
// control plane started by hack/ (see hack/README.md), media tests running the real media programs,
// and end-to-end tests that need both.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['operator/src/**/*.test.ts', 'operator/test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['operator/test/integration/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['hack/controlplane-global-setup.mjs'],
          // One control plane for the whole run; files share it, so they run one at a time.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          // Real livekit-server, coturn and redis-server processes run what the renderer produces,
          // inside a private network namespace (hack/media/README.md). Needs root.
          name: 'media',
          include: ['operator/test/media/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['hack/media/media-global-setup.mjs'],
          // Pods die with their worker (parent-death signal): workers must be processes.
          pool: 'forks',
          testTimeout: 60_000,
          hookTimeout: 90_000,
        },
      },
      {
        test: {
          // The operator on the local control plane, with the SFU pods kwok runs on loopback nodes
          // backed by real livekit-server processes (operator/test/e2e/kubelet.ts) and real
          // participants. Needs root, like the media tests.
          name: 'e2e',
          include: ['operator/test/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['hack/controlplane-global-setup.mjs', 'hack/media/media-global-setup.mjs'],
          // Each file adds nodes and runs an operator of its own on the shared control plane: one at a time.
          fileParallelism: false,
          pool: 'forks',
          testTimeout: 240_000,
          hookTimeout: 300_000,
        },
      },
      {
        test: {
          // A real node: kubelet + containerd on this machine (hack/node-up.sh) beside tainted kwok
          // nodes; the operator from its image under its chart, the rendered stacks as real
          // containers, real clients and a real browser. Needs root.
          name: 'node',
          include: ['operator/test/node/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['hack/controlplane-global-setup.mjs'],
          env: { REAL_NODE: '1' },
          // One node, host ports: files run one at a time.
          fileParallelism: false,
          pool: 'forks',
          testTimeout: 240_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
