// Values hack/controlplane-global-setup.mjs provides to integration (and node) tests.
import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    auditLog: string;
    apiserverUrl: string;
    /** JSON of operator/test/node/cluster.ts RealNode; only in the `node` project. */
    realNode: string;
  }
}
