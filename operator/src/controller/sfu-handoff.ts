// The scaling hand-off (pure): in participants mode the autoscaler (scaling/) decides the SFU count
// and the reconciler applies it. This part says which count the renderer sets, which deletion costs
// a scale-down waits for, and what to announce once the count moved. Other modes hand nothing over:
// the spec or the HPA sets the count.
import { scalingMode } from '../api/autoscaling.js';
import type { MeetingCluster } from '../api/types.js';
import type { KubeObject } from '../kube/object.js';
import type { ScalingOutcome } from '../scaling/autoscaler.js';
import { deletionCosts } from '../scaling/deletion-cost.js';

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
