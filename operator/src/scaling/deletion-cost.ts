// controller.kubernetes.io/pod-deletion-cost: the ReplicaSet controller removes pods with the lowest
// cost first (after unscheduled, pending and unready ones). Set to each pod's participant count
// before a scale-down, the emptiest pods go and no meeting is cut while an empty pod exists.
import type { KubeObject } from '../kube/object.js';
import type { PodLoad } from './decide.js';

export const ANNOTATION_DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';

/** Cost of a pod whose load is unknown: as if busy (int32 max), so a known-empty pod goes first. */
export const UNKNOWN_LOAD_COST = 2147483647;

const costOf = (p: PodLoad): number => (p.participants === undefined ? UNKNOWN_LOAD_COST : Math.min(p.participants, UNKNOWN_LOAD_COST - 1));

/** Merge patches for the pods whose annotation differs from their load (none when all match). */
export function deletionCosts(loads: readonly PodLoad[], pods: readonly KubeObject[]): { name: string; patch: object }[] {
  const out: { name: string; patch: object }[] = [];
  for (const load of loads) {
    const pod = pods.find((p) => p.metadata.name === load.name);
    if (!pod || pod.metadata.deletionTimestamp) continue;
    const cost = String(costOf(load));
    if (pod.metadata.annotations?.[ANNOTATION_DELETION_COST] === cost) continue;
    out.push({ name: load.name, patch: { metadata: { annotations: { [ANNOTATION_DELETION_COST]: cost } } } });
  }
  return out;
}
