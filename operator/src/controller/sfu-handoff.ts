// The scaling hand-off (pure): in participants mode the autoscaler (scaling/) decides the SFU count
// and the reconciler applies it. This part says which count the renderer sets, which deletion costs
// a scale-down waits for, and what to announce once the count moved. Other modes hand nothing over:
// the spec or the HPA sets the count.
import { scalingMode } from '../api/autoscaling.js';
import type { MeetingCluster } from '../api/types.js';
import type { KubeObject } from '../kube/object.js';
import type { ScalingOutcome } from '../scaling/autoscaler.js';
import type { PodLoad } from '../scaling/decide.js';

/** The autoscaler as the reconciler sees it: the latest outcome per MeetingCluster key. */
export interface ScalingSource {
  outcome(key: string): ScalingOutcome | undefined;
  maxTotalSfuNodes?: number;
}

/**
 * Participants mode: the count the renderer sets, the autoscaler's outcome, else what runs (the
 * renderer starts a new cluster at minReplicas). Other modes: undefined.
 */
export function handedOverReplicas(mc: MeetingCluster, running: number | undefined, outcome: ScalingOutcome | undefined): number | undefined {
  if (scalingMode(mc.spec.autoscaling) !== 'participants') return undefined;
  return outcome?.replicas ?? running;
}

/**
 * Before the ReplicaSet picks pods to remove, each must carry its deletion cost (its participants),
 * so the emptiest go. The patches still to send for a scale-down from `running` to `rendered` (the
 * rendered count, not the outcome's: the renderer also keeps to a just-lowered maxReplicas); none
 * when the count does not go down or every pod already carries its cost.
 */
export function deletionCostsBeforeScaleDown(
  rendered: number | undefined,
  running: number | undefined,
  outcome: ScalingOutcome | undefined,
  pod: (name: string) => KubeObject | undefined,
): { name: string; patch: object }[] {
  if (rendered === undefined || running === undefined || rendered >= running) return [];
  const live = outcome?.pods.map((p) => pod(p.name)).filter((p): p is KubeObject => !!p) ?? [];
  return deletionCosts(outcome?.pods ?? [], live);
}

/** The event for an SFU count that moved in participants mode; undefined when it did not move. */
export function scaleAnnouncement(
  mc: MeetingCluster,
  outcome: ScalingOutcome | undefined,
  from: number | undefined,
  to: number | undefined,
): { reason: 'ScaledUp' | 'ScaledDown'; message: string; why: string } | undefined {
  if (scalingMode(mc.spec.autoscaling) !== 'participants' || from === undefined || to === undefined || to === from) return undefined;
  const { minReplicas, maxReplicas } = mc.spec.autoscaling;
  // The autoscaler's reason, unless the spec's bounds moved before its next round did.
  const why = outcome && outcome.replicas === to ? outcome.decision.message : `spec.autoscaling allows ${minReplicas}-${maxReplicas} SFU pods`;
  return { reason: to > from ? 'ScaledUp' : 'ScaledDown', message: `SFU ${from} -> ${to} pods: ${why}`, why };
}

// controller.kubernetes.io/pod-deletion-cost: the ReplicaSet controller removes pods with the lowest
// cost first (after unscheduled, pending and unready ones). Set to each pod's participant count
// before a scale-down, the emptiest pods go and no meeting is cut while an empty pod exists.
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
