// Deciding whether a child needs a write, so that a reconcile of an unchanged cluster makes no
// request at all. Two checks, both against the cached live object:
//   - the digest of what we last applied (an annotation) differs from the digest of what we want:
//     our intent changed, including fields we stopped setting (which an apply then removes);
//   - a field we set no longer holds our value in the live object: someone else changed it (drift).
// Fields the API server or other writers add (defaults, status, their own annotations) are ignored.
import { createHash } from 'node:crypto';
import { parseQuantity } from '../api/quantity.js';
import type { KubeObject } from '../kube/object.js';
import { MEETING_CLUSTER } from '../kube/resources.js';

export const ANNOTATION_APPLIED = 'meet.sovereign.io/applied-digest';

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: true;
  blockOwnerDeletion: true;
}

/** The controller reference every child carries to its MeetingCluster (garbage collection follows it). */
export const ownerReferenceTo = (mc: KubeObject): OwnerReference => ({
  apiVersion: MEETING_CLUSTER.apiVersion,
  kind: MEETING_CLUSTER.kind,
  name: mc.metadata.name,
  uid: mc.metadata.uid!,
  controller: true,
  blockOwnerDeletion: true,
});

/** Stable JSON (sorted keys) so the digest does not depend on property order. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

export const digest = (obj: unknown): string => createHash('sha256').update(canonical(obj)).digest('hex').slice(0, 20);

/** The object as applied: owned by the MeetingCluster and stamped with the digest of our intent. */
export function prepareChild<T extends { metadata: Record<string, any> }>(obj: T, owner: OwnerReference): T {
  const withOwner = { ...obj, metadata: { ...obj.metadata, ownerReferences: [owner] } };
  const d = digest(withOwner);
  return { ...withOwner, metadata: { ...withOwner.metadata, annotations: { ...(obj.metadata.annotations ?? {}), [ANNOTATION_APPLIED]: d } } };
}

const isEmpty = (v: unknown): boolean =>
  v === null || v === undefined || (Array.isArray(v) && v.length === 0) || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v as object).length === 0);

/** Whether every field of `want` holds the same value in `have` (API-server normalisation aside). */
export function isSubset(want: unknown, have: unknown): boolean {
  // An empty map or list we send is dropped by the server (or filled by defaulting): nothing to hold.
  if (isEmpty(want)) return true;
  if (Array.isArray(want)) {
    return Array.isArray(have) && have.length === want.length && want.every((w, i) => isSubset(w, have[i]));
  }
  if (typeof want === 'object') {
    if (have === null || typeof have !== 'object' || Array.isArray(have)) return false;
    return Object.entries(want as Record<string, unknown>).every(([k, w]) => isSubset(w, (have as Record<string, unknown>)[k]));
  }
  if (want === have) return true;
  // Go's omitempty: the server stores 0, false and "" as an absent field.
  if (have === undefined && (want === 0 || want === false || want === '')) return true;
  // The API server canonicalises quantities (0.5 -> "500m", "1024Mi" -> "1Gi") and IntOrString ports.
  if ((typeof want === 'string' || typeof want === 'number') && (typeof have === 'string' || typeof have === 'number')) {
    if (String(want) === String(have)) return true;
    const a = parseQuantity(want), b = parseQuantity(have);
    return a !== undefined && b !== undefined && Math.abs(a - b) <= Math.abs(a) * 1e-9;
  }
  return false;
}

export type ApplyReason = 'create' | 'changed' | 'drift';

/** Whether our intent for a live object changed since we applied it (its digest differs): no deep compare. */
export const intentChanged = (desired: KubeObject, live: KubeObject): boolean =>
  live.metadata.annotations?.[ANNOTATION_APPLIED] !== desired.metadata.annotations?.[ANNOTATION_APPLIED];

/** Why `desired` (prepared) must be applied over `live`, or undefined when it need not be. */
export function applyReason(desired: KubeObject, live: KubeObject | undefined): ApplyReason | undefined {
  if (!live) return 'create';
  if (intentChanged(desired, live)) return 'changed';
  return isSubset(desired, live) ? undefined : 'drift';
}
