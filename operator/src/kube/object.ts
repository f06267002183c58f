// The one shape of a Kubernetes object in this code base: what the reflectors cache, what the
// reconciler compares and writes, and (as RenderedObject, kind and apiVersion always set) what the
// renderer produces.
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    deletionTimestamp?: string;
    deletionGracePeriodSeconds?: number;
    creationTimestamp?: string;
    finalizers?: string[];
    managedFields?: unknown[];
  };
  [key: string]: any;
}

/** An object as rendered: the renderer always sets apiVersion and kind. */
export type RenderedObject = KubeObject & { apiVersion: string; kind: string };
