import { describe, expect, it } from 'vitest';
import { validateMeetingCluster } from '../api/validate.js';
import { baseManifest } from '../../test/specs.js';
import { computeStatus, mergeConditions, sameStatus, statusChanges, workloadAvailability } from './status.js';

const cluster = validateMeetingCluster(baseManifest()).cluster!;
const workload = (replicas: number, ready: number, extra: Record<string, number> = {}) => ({
  metadata: { name: 'w', generation: 2 },
  spec: { replicas },
  status: { observedGeneration: 2, replicas, readyReplicas: ready, updatedReplicas: replicas, ...extra },
});
const base = { generation: 3, applyErrors: [], sovereignty: { ok: true, message: 'compliant' }, now: '2026-11-27T10:00:00Z' };
const conditionOf = (s: any, type: string) => s.conditions.find((c: any) => c.type === type);

describe('workloadAvailability', () => {
  it('is available only when every wanted pod is ready and updated', () => {
    expect(workloadAvailability(workload(2, 2) as any, 'SFU')).toMatchObject({ ok: true, reason: 'Available', message: '2/2 SFU pods ready' });
    expect(workloadAvailability(workload(3, 1) as any, 'SFU')).toMatchObject({ ok: false, reason: 'PartiallyAvailable' });
    expect(workloadAvailability(workload(2, 2, { observedGeneration: 1 }) as any, 'SFU')).toMatchObject({ ok: false, progressing: true });
    expect(workloadAvailability(undefined, 'SFU')).toMatchObject({ ok: false, reason: 'NotCreated' });
  });
});

describe('computeStatus', () => {
  it('is Ready when SFU, TURN and Redis are available, with replicas, selector and endpoints', () => {
    const s = computeStatus({ ...base, cluster, sfu: workload(2, 2) as any, turn: workload(2, 2) as any, redis: workload(1, 1) as any });
    expect(conditionOf(s, 'Ready')).toMatchObject({ status: 'True', reason: 'Ready', observedGeneration: 3, lastTransitionTime: base.now });
    expect(s).toMatchObject({ observedGeneration: 3, replicas: 2, readyReplicas: 2, selector: 'app.kubernetes.io/instance=visio,app.kubernetes.io/component=sfu' });
    expect(s.endpoints).toEqual({ signalling: 'wss://visio.justice.example', turn: ['turns:turn.justice.example:443', 'turn:turn.justice.example:3478'] });
    expect(s.conditions!.map((c) => c.type)).toEqual(['Ready', 'SFUAvailable', 'TURNAvailable', 'RedisAvailable', 'Sovereign', 'Progressing', 'Degraded']);
  });

  it('names the components that are not ready, and apply failures', () => {
    const s = computeStatus({ ...base, cluster, sfu: workload(2, 1) as any, turn: workload(2, 2) as any });
    expect(conditionOf(s, 'Ready')).toMatchObject({ status: 'False', reason: 'ComponentsNotReady', message: 'SFU: 1/2 SFU pods ready; Redis: Redis not created yet' });
    const f = computeStatus({ ...base, cluster, applyErrors: ['Deployment/visio-sfu: forbidden'] });
    expect(conditionOf(f, 'Ready')).toMatchObject({ status: 'False', reason: 'ApplyFailed' });
    expect(conditionOf(f, 'Degraded')).toMatchObject({ status: 'True', message: 'Deployment/visio-sfu: forbidden' });
  });

  it('reports InvalidSpec with the fields, keeping the other conditions as they were', () => {
    const ready = computeStatus({ ...base, cluster, sfu: workload(2, 2) as any, turn: workload(2, 2) as any, redis: workload(1, 1) as any });
    const s = computeStatus({ ...base, generation: 4, previous: ready, invalid: [{ path: 'spec.cloud.region', message: 'outside the EU' }] });
    expect(conditionOf(s, 'Ready')).toMatchObject({ status: 'False', reason: 'InvalidSpec', message: 'spec.cloud.region: outside the EU', observedGeneration: 4 });
    expect(conditionOf(s, 'SFUAvailable')).toMatchObject({ status: 'True' });
    expect(s.observedGeneration).toBe(4);
    expect(s.replicas).toBe(2);
  });
});

describe('conditions', () => {
  it('keep lastTransitionTime until their status changes', () => {
    const prev = [{ type: 'Ready', status: 'True' as const, reason: 'Ready', message: 'm', lastTransitionTime: 'T0' }];
    expect(mergeConditions(prev, [{ type: 'Ready', status: 'True', reason: 'Ready', message: 'other' }], 'T1')[0]!.lastTransitionTime).toBe('T0');
    expect(mergeConditions(prev, [{ type: 'Ready', status: 'False', reason: 'X', message: 'm' }], 'T1')[0]!.lastTransitionTime).toBe('T1');
  });
  it('compare statuses regardless of key order', () => {
    expect(sameStatus({ a: 1, b: { c: 2 } }, { b: { c: 2 }, a: 1 })).toBe(true);
    expect(sameStatus({ a: 1 }, { a: 2 })).toBe(false);
  });
});

describe('statusChanges', () => {
  it('names the top-level fields and the condition types that differ', () => {
    const a = { replicas: 2, conditions: [{ type: 'Ready', status: 'True' as const, reason: 'Ready', message: 'm', lastTransitionTime: 'T0' }] };
    expect(statusChanges(a, a)).toEqual([]);
    expect(statusChanges({ ...a, replicas: 3, conditions: [{ ...a.conditions[0]!, message: 'n' }] }, a)).toEqual(['replicas', 'conditions[Ready]']);
    expect(statusChanges({ rooms: 1 }, undefined)).toEqual(['rooms']);
  });
});

describe('ConnectivityVerified (the last meet-operator check --report)', () => {
  const summary = { at: '2026-12-07T22:00:00Z', passed: 13, warnings: 1 };
  it('absent until a check reported; True when it passed (warnings included); False naming what failed and the first hint', () => {
    expect(conditionOf(computeStatus({ ...base, cluster }), 'ConnectivityVerified')).toBeUndefined();
    const ok = conditionOf(computeStatus({ ...base, cluster, connectivity: { ...summary, status: 'warn', failed: [] } }), 'ConnectivityVerified');
    expect(ok).toMatchObject({ status: 'True', reason: 'ChecksPassed', message: 'meet-operator check at 2026-12-07T22:00:00Z: 13 passed, 1 warnings' });
    const bad = conditionOf(computeStatus({ ...base, cluster, connectivity: { ...summary, status: 'fail', failed: ['stun/STUN Binding', 'turn/TURN/UDP allocate'], hint: 'UDP is blocked' } }), 'ConnectivityVerified');
    expect(bad).toMatchObject({ status: 'False', reason: 'ChecksFailed' });
    expect(bad.message).toBe('meet-operator check at 2026-12-07T22:00:00Z: failed stun/STUN Binding, turn/TURN/UDP allocate; 13 passed, 1 warnings; hint: UDP is blocked');
    // Ready is about the components, not the check.
    expect(conditionOf(computeStatus({ ...base, cluster, connectivity: { ...summary, status: 'fail', failed: ['x'] } }), 'Ready').reason).not.toBe('ChecksFailed');
  });
  it('spec.subtitles: says that nothing runs yet (issue 16 in progress), and nothing without it', () => {
    expect(conditionOf(computeStatus({ ...base, cluster }), 'SubtitlesReady')).toBeUndefined();
    const asked = { ...cluster, spec: { ...cluster.spec, subtitles: {} as NonNullable<typeof cluster.spec.subtitles> } };
    expect(conditionOf(computeStatus({ ...base, cluster: asked }), 'SubtitlesReady')).toMatchObject({ status: 'False', reason: 'NotImplemented' });
  });
  it('spec.checks: Unknown until the first scheduled run reports, and says why when the operator cannot schedule it', () => {
    const checked = { ...cluster, spec: { ...cluster.spec, checks: { schedule: '@hourly', timeoutSeconds: 10 } } };
    expect(conditionOf(computeStatus({ ...base, cluster: checked, checks: { scheduled: true } }), 'ConnectivityVerified')).toMatchObject({ status: 'Unknown', reason: 'CheckPending' });
    const unscheduled = conditionOf(computeStatus({ ...base, cluster: checked, checks: { scheduled: false } }), 'ConnectivityVerified');
    expect(unscheduled).toMatchObject({ status: 'Unknown', reason: 'CheckNotScheduled' });
    expect(unscheduled.message).toMatch(/^spec\.checks: .*--operator-image/);
    // A report wins once there is one.
    expect(conditionOf(computeStatus({ ...base, cluster: checked, checks: { scheduled: true }, connectivity: { ...summary, status: 'pass', failed: [] } }), 'ConnectivityVerified')).toMatchObject({ status: 'True', reason: 'ChecksPassed' });
  });
});
