// The SFU autoscaler's decision for one MeetingCluster (metric participants): the load is the
// participants LiveKit reports per pod, a pod hosting rooms or participants carries meetings. The rules
// themselves (scale up at once, down after the delay, never below busy pods or with unknown load) are
// the shared core's (core.ts). Pure, so every branch is a table row in decide.test.ts.
import type { AutoscalingSpec } from '../api/types.js';
import { decideReplicas, plural, type PoolWords, type ScalingState } from './core.js';

export type { ScalingState } from './core.js';

/** A running SFU pod and what its metrics said; participants undefined = could not be read. */
export interface PodLoad {
  name: string;
  participants?: number;
  rooms?: number;
  /** CPU cores the pod used since the previous scrape, when known. */
  cpuCores?: number;
  /** LiveKit's node id, when its metrics said it. */
  nodeId?: string;
}

export type ScalingPolicy = Pick<AutoscalingSpec, 'minReplicas' | 'maxReplicas' | 'targetParticipantsPerNode' | 'scaleDownDelaySeconds'>;

export interface DecisionInput {
  policy: ScalingPolicy;
  /** The SFU Deployment's spec.replicas now. */
  current: number;
  /** Running, not terminating, SFU pods. */
  pods: readonly PodLoad[];
  state?: ScalingState;
  now: number;
}

export type DecisionReason =
  | 'ScaledUp'
  | 'ScaledDown'
  | 'BelowMinimum'
  | 'AboveMaximum'
  | 'Stable'
  | 'ScaleDownPending'
  | 'MetricsUnknown'
  | 'PodsHostMeetings';

export interface Decision {
  /** Replicas the SFU Deployment should have now. */
  replicas: number;
  /** Replicas the current load asks for (within bounds), before stabilisation. */
  wanted: number;
  reason: DecisionReason;
  message: string;
  /** Sum over the pods that answered (see LIVEKIT_METRICS.participants: an upper bound of people). */
  participants: number;
  rooms: number;
  /** Pods whose metrics could not be read. */
  unknownPods: number;
  /** Pods hosting rooms or participants: the floor of any scale-down. */
  busyPods: number;
  state: ScalingState;
}

const SFU_WORDS: PoolWords = {
  pods: 'SFU pods',
  min: 'minReplicas',
  max: 'maxReplicas',
  busy: (n) => `${plural(n, 'pod')} ${n === 1 ? 'hosts' : 'host'} meetings`,
  busyReason: 'PodsHostMeetings',
};

export function decide(i: DecisionInput): Decision {
  const { policy, current, pods } = i;
  const { maxReplicas: max, targetParticipantsPerNode: target } = policy;
  const known = pods.filter((p) => p.participants !== undefined);
  const participants = known.reduce((a, p) => a + p.participants!, 0);
  const rooms = known.reduce((a, p) => a + (p.rooms ?? 0), 0);
  const unknown = pods.length - known.length;
  const core = decideReplicas({
    bounds: { min: policy.minReplicas, max },
    current,
    pods: pods.map((p) => ({ known: p.participants !== undefined, busy: (p.participants ?? 0) > 0 || (p.rooms ?? 0) > 0 })),
    demand: participants,
    perPod: target,
    delaySeconds: policy.scaleDownDelaySeconds,
    ...(i.state ? { state: i.state } : {}),
    now: i.now,
    words: SFU_WORDS,
    load: `${plural(participants, 'participant')} in ${plural(rooms, 'room')} on ${plural(known.length, 'pod')}${unknown ? ` (${unknown} unreadable)` : ''}`,
    wantedBecause: `at ${target} per pod (max ${max})`,
    fitBecause: `target ${target} per pod`,
  });
  return { replicas: core.replicas, wanted: core.wanted, reason: core.reason as DecisionReason, message: core.message, participants, rooms, unknownPods: core.unknownPods, busyPods: core.busyPods, state: core.state };
}
