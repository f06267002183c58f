// Values hack/controlplane-global-setup.mjs provides to integration tests.
import 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    auditLog: string;
    apiserverUrl: string;
  }
}
