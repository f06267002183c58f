// The kinds the operator reads and writes, and their REST paths.
import { GROUP, KIND, PLURAL, VERSION } from '../api/types.js';

export interface ResourceType {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

const T = (apiVersion: string, kind: string, plural: string, namespaced = true): ResourceType => ({ apiVersion, kind, plural, namespaced });

export const MEETING_CLUSTER = T(`${GROUP}/${VERSION}`, KIND, PLURAL);
export const LEASE = T('coordination.k8s.io/v1', 'Lease', 'leases');
export const EVENT = T('v1', 'Event', 'events');
export const POD = T('v1', 'Pod', 'pods');
export const PVC = T('v1', 'PersistentVolumeClaim', 'persistentvolumeclaims');

/** Every kind the renderer produces: watched (by label), applied, and pruned when no longer wanted. */
export const CHILD_TYPES: readonly ResourceType[] = [
  T('v1', 'Secret', 'secrets'),
  T('v1', 'ConfigMap', 'configmaps'),
  T('v1', 'Service', 'services'),
  T('apps/v1', 'StatefulSet', 'statefulsets'),
  T('apps/v1', 'Deployment', 'deployments'),
  T('policy/v1', 'PodDisruptionBudget', 'poddisruptionbudgets'),
  T('autoscaling/v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers'),
  T('networking.k8s.io/v1', 'NetworkPolicy', 'networkpolicies'),
  T('monitoring.coreos.com/v1', 'ServiceMonitor', 'servicemonitors'),
  T('cert-manager.io/v1', 'Certificate', 'certificates'),
  // spec.checks: the check's CronJob and its least-privilege identity.
  T('v1', 'ServiceAccount', 'serviceaccounts'),
  T('rbac.authorization.k8s.io/v1', 'Role', 'roles'),
  T('rbac.authorization.k8s.io/v1', 'RoleBinding', 'rolebindings'),
  T('batch/v1', 'CronJob', 'cronjobs'),
];

/**
 * Kinds from other projects' CRDs, each with the spec field that asks for it and what to install:
 * watched only once served, and a missing one is named in the cluster's status.
 */
export const OPTIONAL_KIND_FIELDS: Readonly<Record<string, { field: string; install: string; unset: string }>> = {
  ServiceMonitor: { field: 'spec.monitoring.serviceMonitor', install: 'install the Prometheus Operator CRDs', unset: 'set it to false' },
  Certificate: { field: 'spec.turn.issuerRef', install: 'install cert-manager', unset: 'use spec.turn.tlsSecretName instead' },
};

/** Why applying an optional kind failed with 404: its CRD is not installed. */
export function missingKindMessage(t: ResourceType): string | undefined {
  const f = OPTIONAL_KIND_FIELDS[t.kind];
  return f && `${f.field}: ${t.kind} (${t.apiVersion}) is not installed in this cluster; ${f.install} or ${f.unset}`;
}

const byKind = new Map([...CHILD_TYPES, MEETING_CLUSTER, LEASE, EVENT, POD, PVC].map((t) => [t.kind, t]));

export function typeOf(kind: string): ResourceType {
  const t = byKind.get(kind);
  if (!t) throw new Error(`unknown kind ${kind}`);
  return t;
}

/** /api/v1/namespaces/ns/pods/name/status and friends; namespace undefined = all namespaces. */
export function resourcePath(t: ResourceType, namespace?: string, name?: string, subresource?: string): string {
  const prefix = t.apiVersion.includes('/') ? `/apis/${t.apiVersion}` : `/api/${t.apiVersion}`;
  const ns = t.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${prefix}${ns}/${t.plural}${name ? `/${encodeURIComponent(name)}` : ''}${subresource ? `/${subresource}` : ''}`;
}

export const objectKey = (namespace: string | undefined, name: string): string => (namespace ? `${namespace}/${name}` : name);
