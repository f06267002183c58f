import { defineConfig } from 'vitest/config';

// Two projects: unit tests of pure code (no server), and integration tests that run against the
// real local control plane started by hack/ (see hack/README.md).
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
    ],
  },
});
