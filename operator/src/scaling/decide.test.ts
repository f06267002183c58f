import { describe, expect, it } from 'vitest';
import { decide, type DecisionInput, type DecisionReason, type PodLoad, type ScalingState } from './decide.js';

const policy = { minReplicas: 2, maxReplicas: 6, targetParticipantsPerNode: 100, scaleDownDelaySeconds: 300 };
const T0 = 1_000_000_000;
const s = (n: number) => n * 1000;
/** Pods carrying these participants (rooms: 1 per 10 participants, at least 1 when busy). */
const pods = (...participants: (number | undefined)[]): PodLoad[] =>
  participants.map((p, i) => ({ name: `sfu-${i}`, ...(p === undefined ? {} : { participants: p, rooms: p === 0 ? 0 : Math.max(1, Math.floor(p / 10)) }) }));
/** A state whose window has been low (recommending `replicas`) since `ago` seconds. */
/** The status timestamp of `ago` seconds before T0. */
const iso = (ago: number) => new Date(T0 - s(ago)).toISOString().replace(/\.\d{3}Z$/, 'Z');
const lowFor = (ago: number, replicas: number): ScalingState => ({ since: T0 - s(ago), window: [{ at: T0 - s(ago), replicas }] });

interface Row {
  name: string;
  input: Omit<DecisionInput, 'policy' | 'now'> & { policy?: Partial<DecisionInput['policy']> };
  replicas: number;
  reason: DecisionReason;
  message?: RegExp;
}

const rows: Row[] = [
  { name: 'below minReplicas: raised to the minimum', input: { current: 1, pods: pods(10) }, replicas: 2, reason: 'BelowMinimum' },
  { name: 'below minReplicas with load: raised to what the load needs', input: { current: 1, pods: pods(450) }, replicas: 5, reason: 'BelowMinimum' },
  { name: 'load above capacity: scale up at once, no delay', input: { current: 2, pods: pods(150, 160) }, replicas: 4, reason: 'ScaledUp', message: /310 participants .* need 4 SFU pods/ },
  { name: 'scale-up clamped to maxReplicas', input: { current: 2, pods: pods(900, 900) }, replicas: 6, reason: 'ScaledUp' },
  { name: 'scale-up counts only readable pods (a lower bound), unreadable ones do not block it', input: { current: 3, pods: pods(250, 200, undefined) }, replicas: 5, reason: 'ScaledUp', message: /1 unreadable/ },
  { name: 'maxReplicas lowered under the current count: honoured', input: { current: 8, pods: pods(10, 10, 10, 10, 10, 10, 10, 10) }, replicas: 6, reason: 'AboveMaximum' },
  { name: 'load fits the current count: stable', input: { current: 3, pods: pods(100, 100, 50) }, replicas: 3, reason: 'Stable' },
  { name: 'within the tolerance band (load 200 = 2 x target, needs 3 with the 10% margin): stable, no flapping', input: { current: 3, pods: pods(100, 100, 0), state: lowFor(600, 3) }, replicas: 3, reason: 'Stable' },
  { name: 'low load, first seen now: pending, not scaled down', input: { current: 4, pods: pods(10, 10, 0, 0) }, replicas: 4, reason: 'ScaleDownPending', message: new RegExp(`held for 300s \\(low since ${iso(0)}\\)`) },
  { name: 'low load for less than the delay: pending', input: { current: 4, pods: pods(10, 10, 0, 0), state: lowFor(120, 2) }, replicas: 4, reason: 'ScaleDownPending', message: new RegExp(`low since ${iso(120)}`) },
  { name: 'low load for the whole delay: scaled down to what the window recommended', input: { current: 4, pods: pods(10, 10, 0, 0), state: lowFor(301, 2) }, replicas: 2, reason: 'ScaledDown' },
  { name: 'a peak inside the window wins (stabilisation)', input: { current: 5, pods: pods(10, 10, 0, 0, 0), state: { since: T0 - s(900), window: [{ at: T0 - s(200), replicas: 4 }, { at: T0 - s(100), replicas: 2 }] } }, replicas: 4, reason: 'ScaledDown' },
  { name: 'a recommendation of the current count inside the window: still pending', input: { current: 4, pods: pods(10, 10, 0, 0), state: { since: T0 - s(900), window: [{ at: T0 - s(60), replicas: 4 }] } }, replicas: 4, reason: 'ScaleDownPending', message: new RegExp(`low since ${iso(60)}`) },
  { name: 'operator restarted (window not covered yet): pending even if the window is low', input: { current: 4, pods: pods(0, 0, 0, 0), state: { since: T0 - s(30), window: [{ at: T0 - s(30), replicas: 2 }] } }, replicas: 4, reason: 'ScaleDownPending' },
  { name: 'never below the pods hosting meetings', input: { current: 4, pods: pods(5, 5, 5, 0), state: lowFor(400, 2) }, replicas: 3, reason: 'ScaledDown', message: /3 pods host meetings/ },
  { name: 'every pod hosts a meeting: wait for them to end', input: { current: 4, pods: pods(5, 5, 5, 5), state: lowFor(400, 2) }, replicas: 4, reason: 'PodsHostMeetings' },
  { name: 'a room without participants still counts as a meeting', input: { current: 3, pods: [{ name: 'a', participants: 0, rooms: 1 }, { name: 'b', participants: 0, rooms: 0 }, { name: 'c', participants: 0, rooms: 0 }], state: lowFor(400, 2) }, replicas: 2, reason: 'ScaledDown' },
  { name: 'an unreadable pod blocks scale-down (unknown is not zero)', input: { current: 4, pods: pods(10, undefined, 0, 0), state: lowFor(400, 2) }, replicas: 4, reason: 'MetricsUnknown' },
  { name: 'never below minReplicas on scale-down', input: { current: 4, pods: pods(0, 0, 0, 0), state: lowFor(400, 2) }, replicas: 2, reason: 'ScaledDown' },
  { name: 'scaleDownDelaySeconds 0: scale down at once', input: { policy: { scaleDownDelaySeconds: 0 }, current: 4, pods: pods(0, 0, 0, 0) }, replicas: 2, reason: 'ScaledDown' },
];

describe('decide', () => {
  it.each(rows)('$name', ({ input, replicas, reason, message }) => {
    const d = decide({ ...input, policy: { ...policy, ...input.policy }, now: T0 });
    expect({ replicas: d.replicas, reason: d.reason }).toEqual({ replicas, reason });
    if (message) expect(d.message).toMatch(message);
    expect(d.replicas).toBeGreaterThanOrEqual(policy.minReplicas);
  });

  it('reports the load it decided on', () => {
    const d = decide({ policy, current: 3, pods: pods(100, 40, undefined), now: T0 });
    expect(d).toMatchObject({ participants: 140, rooms: 14, unknownPods: 1, busyPods: 2, wanted: 2 });
  });

  it('a day in fast-forward: up at once, down only after the delay, no flapping around a boundary', () => {
    // Load oscillating between 190 and 210 participants (around the 2-pod boundary) every interval.
    let state: ScalingState | undefined;
    let current = 2;
    const changes: number[] = [];
    for (let t = 0; t < 3600; t += 15) {
      const load = t < 1800 ? (t / 15) % 2 ? 190 : 210 : 20;
      const d = decide({ policy, current, pods: [{ name: 'a', participants: load - 20, rooms: 1 }, { name: 'b', participants: 20, rooms: 1 }, ...Array.from({ length: Math.max(0, current - 2) }, (_, i) => ({ name: `x${i}`, participants: 0, rooms: 0 }))], state, now: T0 + s(t) });
      state = d.state;
      if (d.replicas !== current) changes.push(t);
      current = d.replicas;
    }
    // One scale-up at the first 210, then nothing until the load has been low for the whole delay:
    // the last round that still needed 3 pods was t=1785 (190 > 2 x 90% of the target).
    expect(changes, JSON.stringify(changes)).toHaveLength(2);
    expect(changes[0]).toBe(0);
    expect(changes[1]).toBe(1785 + 300);
    expect(current).toBe(2);
  });

  it('the window keeps only what can still be its maximum', () => {
    let state: ScalingState | undefined;
    for (const [t, load] of [[0, 350], [15, 250], [30, 150], [45, 260]] as const) state = decide({ policy, current: 4, pods: pods(load, 0, 0, 0), state, now: T0 + s(t) }).state;
    // 350 -> 4, 250 -> 3, 150 -> 2 (dropped: 260 -> 3 came after it and is larger), 260 -> 3.
    expect(state!.window.map((r) => r.replicas)).toEqual([4, 3]);
  });
});
