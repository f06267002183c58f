// The scaling rules every pool of this operator shares (the SFU on participants, the STT pool on
// slots): pure, one copy. Scale up at once (a participant who finds no room, or no subtitle slot, is
// the failure users see); scale down only when the load has stayed low for the delay (the highest
// count recommended during that window wins, as the HPA's stabilisation window does), never below
// the pods that carry work (removing one would cut a meeting or a subtitle stream), and never while a
// pod's load is unknown (an unreachable pod is not an empty pod). What the demand is, and how much of
// it one pod serves, is each pool's own (decide.ts, stt.ts).
import { withinBounds } from '../api/autoscaling.js';

/** What the decision remembers between rounds (per pool, in memory). */
export interface ScalingState {
  /** When the autoscaler first looked at this pool (ms): a window is only trusted once covered. */
  since: number;
  /** Recommendations of the last delay, kept as a monotonic queue (values decreasing). */
  window: { at: number; replicas: number }[];
}

/** The words of a pool's messages and the reason it gives while busy pods hold a scale-down. */
export interface PoolWords {
  /** "SFU pods", "STT pods". */
  pods: string;
  /** The spec fields of the bounds: "minReplicas", "minPods". */
  min: string;
  max: string;
  /** "3 pods host meetings", "1 pod holds open streams". */
  busy: (n: number) => string;
  busyReason: string;
}

export interface CoreInput {
  bounds: { min: number; max: number };
  /** The workload's replicas now. */
  current: number;
  /** Running, not terminating, pods: whether their load was read, and whether they carry work. */
  pods: readonly { known: boolean; busy: boolean }[];
  /** What the load asks for (participants, slots), and what one pod serves of it. */
  demand: number;
  perPod: number;
  delaySeconds: number;
  state?: ScalingState;
  now: number;
  words: PoolWords;
  /** The load in words ("120 participants in 3 rooms on 2 pods"). */
  load: string;
  /** Why `wanted` pods, for the scale-up message ("at 100 per pod (max 6)"). */
  wantedBecause: string;
  /** Why the current pods suffice, for the stable message ("target 100 per pod"). */
  fitBecause: string;
}

export interface CoreDecision {
  replicas: number;
  /** Pods the demand asks for now (within bounds), before stabilisation. */
  wanted: number;
  reason: string;
  message: string;
  unknownPods: number;
  busyPods: number;
  state: ScalingState;
}

/**
 * Scale-down needs the load to fit in fewer pods with this margin: a load hovering at a pod boundary
 * (300 participants, target 300) must not add and remove a pod every few minutes.
 */
export const SCALE_DOWN_TOLERANCE = 0.1;

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Adds a recommendation and drops those that left the window or can never be its maximum again. */
function remember(window: ScalingState['window'], at: number, replicas: number, windowMs: number): ScalingState['window'] {
  const kept = window.filter((r) => r.at > at - windowMs && r.replicas > replicas);
  return [...kept, { at, replicas }];
}

/** When a recommendation last asked for `current` replicas or more (0: not within the window). */
function lastNeeding(window: ScalingState['window'], current: number): number {
  return window.filter((r) => r.replicas >= current).pop()?.at ?? 0;
}

export function decideReplicas(i: CoreInput): CoreDecision {
  const { bounds, current, now, words, load } = i;
  const within = (n: number) => withinBounds({ minReplicas: bounds.min, maxReplicas: bounds.max }, n);
  const wanted = within(Math.ceil(i.demand / i.perPod));
  // What the scale-down side recommends: the demand must fit with the tolerance margin.
  const recommended = Math.max(wanted, within(Math.ceil(i.demand / (i.perPod * (1 - SCALE_DOWN_TOLERANCE)))));
  const windowMs = i.delaySeconds * 1000;
  const unknownPods = i.pods.filter((p) => !p.known).length;
  const busyPods = i.pods.filter((p) => p.known && p.busy).length;
  const previous = i.state ?? { since: now, window: [] };
  const state: ScalingState = { since: previous.since, window: remember(previous.window, now, recommended, windowMs) };
  const result = (replicas: number, reason: string, message: string): CoreDecision => ({ replicas, wanted, reason, message, unknownPods, busyPods, state });

  if (current < bounds.min) return result(Math.max(bounds.min, wanted), 'BelowMinimum', `${current} ${words.pods} is below ${words.min} ${bounds.min}; ${load}`);
  if (wanted > current) return result(wanted, 'ScaledUp', `${load} need ${wanted} ${words.pods} ${i.wantedBecause}`);
  if (current > bounds.max) {
    // The user lowered the maximum: honour it, but the emptiest pods go first (deletion cost).
    return result(bounds.max, 'AboveMaximum', `${current} ${words.pods} is above ${words.max} ${bounds.max}; ${load}`);
  }
  if (recommended >= current) return result(current, 'Stable', `${load}: ${current} ${words.pods} fit (${i.fitBecause})`);
  if (unknownPods) return result(current, 'MetricsUnknown', `${load}: not scaling down while the load of ${plural(unknownPods, 'pod')} is unknown`);
  const covered = now - state.since >= windowMs;
  const stabilised = Math.max(...state.window.map((r) => r.replicas));
  if (!covered || stabilised >= current) {
    // A fixed start time, not a running count: the message (and so the status) stays the same every round.
    const lowSince = new Date(Math.max(state.since, lastNeeding(state.window, current))).toISOString().replace(/\.\d{3}Z$/, 'Z');
    return result(current, 'ScaleDownPending', `${load} fit ${recommended} ${words.pods}; scaling down once that has held for ${i.delaySeconds}s (low since ${lowSince})`);
  }
  const floor = Math.max(stabilised, busyPods);
  if (floor >= current) return result(current, words.busyReason, `${load} fit ${stabilised} ${words.pods}, but ${words.busy(busyPods)}: waiting for them to end`);
  return result(floor, 'ScaledDown', `${load} fit ${stabilised} ${words.pods} for ${i.delaySeconds}s; ${words.busy(busyPods)}`);
}
