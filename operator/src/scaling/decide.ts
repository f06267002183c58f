// The autoscaler's decision for one MeetingCluster: pure, so every branch is a table row in
// decide.test.ts. Scale up at once (a meeting that cannot find room is the failure users see);
// scale down only when the load has stayed low for scaleDownDelaySeconds (the highest replica count
// recommended during that window wins, as the HPA's stabilisation window does), never below the
// pods that host meetings (removing one would cut a meeting), and never while a pod's load is
// unknown (an unreachable pod is not an empty pod).
import { withinBounds } from '../api/autoscaling.js';
import type { AutoscalingSpec } from '../api/types.js';

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

/** What the decision remembers between rounds (per MeetingCluster, in memory). */
export interface ScalingState {
  /** When the autoscaler first looked at this cluster (ms): a window is only trusted once covered. */
  since: number;
  /** Recommendations of the last scaleDownDelaySeconds, kept as a monotonic queue (values decreasing). */
  window: { at: number; replicas: number }[];
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

/**
 * Scale-down needs the load to fit in fewer nodes with this margin: a load hovering at a node
 * boundary (300 participants, target 300) must not add and remove a node every few minutes.
 */
export const SCALE_DOWN_TOLERANCE = 0.1;

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const hostMeetings = (n: number) => `${plural(n, 'pod')} ${n === 1 ? 'hosts' : 'host'} meetings`;

/** Adds a recommendation and drops those that left the window or can never be its maximum again. */
function remember(window: ScalingState['window'], at: number, replicas: number, windowMs: number): ScalingState['window'] {
  const kept = window.filter((r) => r.at > at - windowMs && r.replicas > replicas);
  return [...kept, { at, replicas }];
}

export function decide(i: DecisionInput): Decision {
  const { policy, current, pods, now } = i;
  const { minReplicas: min, maxReplicas: max, targetParticipantsPerNode: target } = policy;
  const windowMs = policy.scaleDownDelaySeconds * 1000;
  const known = pods.filter((p) => p.participants !== undefined);
  const participants = known.reduce((a, p) => a + p.participants!, 0);
  const rooms = known.reduce((a, p) => a + (p.rooms ?? 0), 0);
  const unknownPods = pods.length - known.length;
  const busyPods = known.filter((p) => p.participants! > 0 || (p.rooms ?? 0) > 0).length;
  const wanted = withinBounds(policy, Math.ceil(participants / target));
  // What the scale-down side recommends: the load must fit with the tolerance margin.
  const recommended = Math.max(wanted, withinBounds(policy, Math.ceil(participants / (target * (1 - SCALE_DOWN_TOLERANCE)))));
  const previous = i.state ?? { since: now, window: [] };
  const state: ScalingState = { since: previous.since, window: remember(previous.window, now, recommended, windowMs) };
  const load = `${plural(participants, 'participant')} in ${plural(rooms, 'room')} on ${plural(known.length, 'pod')}${unknownPods ? ` (${unknownPods} unreadable)` : ''}`;
  const result = (replicas: number, reason: DecisionReason, message: string): Decision => ({ replicas, wanted, reason, message, participants, rooms, unknownPods, busyPods, state });

  if (current < min) return result(Math.max(min, wanted), 'BelowMinimum', `${current} SFU pods is below minReplicas ${min}; ${load}`);
  if (wanted > current) return result(wanted, 'ScaledUp', `${load} need ${wanted} SFU pods at ${target} per pod (max ${max})`);
  if (current > max) {
    // The user lowered maxReplicas: honour it, but the emptiest pods go first (deletion cost).
    return result(max, 'AboveMaximum', `${current} SFU pods is above maxReplicas ${max}; ${load}`);
  }
  if (recommended >= current) return result(current, 'Stable', `${load}: ${current} SFU pods fit (target ${target} per pod)`);
  if (unknownPods) return result(current, 'MetricsUnknown', `${load}: not scaling down while the load of ${plural(unknownPods, 'pod')} is unknown`);
  const covered = now - state.since >= windowMs;
  const stabilised = Math.max(...state.window.map((r) => r.replicas));
  if (!covered || stabilised >= current) {
    // A fixed start time, not a running count: the message (and so the status) stays the same every round.
    const lowSince = new Date(Math.max(state.since, lastNeeding(state.window, current))).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return result(current, 'ScaleDownPending', `${load} fit ${recommended} SFU pods; scaling down once that has held for ${policy.scaleDownDelaySeconds}s (low since ${lowSince})`);
  }
  const floor = Math.max(stabilised, busyPods);
  if (floor >= current) return result(current, 'PodsHostMeetings', `${load} fit ${stabilised} SFU pods, but ${hostMeetings(busyPods)}: waiting for them to end`);
  return result(floor, 'ScaledDown', `${load} fit ${stabilised} SFU pods for ${policy.scaleDownDelaySeconds}s; ${hostMeetings(busyPods)}`);
}

/** When a recommendation last asked for `current` replicas or more (0: not within the window). */
function lastNeeding(window: ScalingState['window'], current: number): number {
  return window.filter((r) => r.replicas >= current).pop()?.at ?? 0;
}
