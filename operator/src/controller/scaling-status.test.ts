import { describe, expect, it } from 'vitest';
import { validateMeetingCluster } from '../api/validate.js';
import { baseManifest } from '../../test/specs.js';
import { computeStatus } from './status.js';
import type { ScalingOutcome } from '../scaling/autoscaler.js';
import { decide } from '../scaling/decide.js';
import { scalingReport } from './scaling-status.js';

const withScaling = (autoscaling: object) => validateMeetingCluster({ ...baseManifest(), spec: { ...baseManifest().spec, autoscaling } }).cluster!;
const participants = withScaling({ enabled: true, minReplicas: 2, maxReplicas: 6, targetParticipantsPerNode: 100 });
const outcome = (replicas: number, shortfall = 0): ScalingOutcome => {
  const pods = [{ name: 'a', participants: 150, rooms: 3 }, { name: 'b', participants: 160, rooms: 2 }];
  const decision = decide({ policy: participants.spec.autoscaling, current: 2, pods, now: 0 });
  return { decision, replicas, shortfall, pods };
};

describe('scalingReport', () => {
  it('autoscaling off: ScalingActive False, and how to scale by hand', () => {
    const r = scalingReport(withScaling({ enabled: false }), undefined);
    expect(r.condition).toMatchObject({ status: 'False', reason: 'Disabled' });
    expect(r.condition.message).toMatch(/kubectl scale meetingcluster\/visio --replicas=N/);
    expect(r.participants).toBeUndefined();
  });

  it('cpu mode: the HPA owns the count', () => {
    expect(scalingReport(withScaling({ enabled: true, metric: 'cpu' }), undefined).condition).toMatchObject({ status: 'True', reason: 'HorizontalPodAutoscaler' });
  });

  it('participants mode before the first round: Unknown', () => {
    expect(scalingReport(participants, undefined).condition).toMatchObject({ status: 'Unknown', reason: 'AwaitingMetrics' });
  });

  it('after a restart, before the first round: what the last operator reported stays', () => {
    const previous = { participants: 7, rooms: 2, desiredReplicas: 3, conditions: [{ type: 'ScalingActive', status: 'True' as const, reason: 'Stable', message: 'm', lastTransitionTime: 't' }] };
    expect(scalingReport(participants, undefined, undefined, previous)).toEqual({ participants: 7, rooms: 2, desiredReplicas: 3, condition: { status: 'True', reason: 'Stable', message: 'm' } });
    // ...but not a report of another mode.
    const fromCpu = { conditions: [{ ...previous.conditions[0]!, reason: 'HorizontalPodAutoscaler' }] };
    expect(scalingReport(participants, undefined, undefined, fromCpu).condition.reason).toBe('AwaitingMetrics');
  });

  it('participants mode: the decision, its load and desired replicas', () => {
    const r = scalingReport(participants, outcome(4));
    expect(r).toMatchObject({ participants: 310, rooms: 5, desiredReplicas: 4, condition: { status: 'True', reason: 'ScaledUp' } });
  });

  it('a fleet budget short of the wish: CapacityLimited, with the shortfall', () => {
    const r = scalingReport(participants, outcome(3, 1), 20);
    expect(r.condition.reason).toBe('CapacityLimited');
    expect(r.condition.message).toMatch(/wants 4 SFU pods, 3 granted: --max-total-sfu-nodes=20 .*\(1 short\)/);
    expect(r.desiredReplicas).toBe(4);
  });

  it('goes into status: ScalingActive condition and the load fields', () => {
    const s = computeStatus({ generation: 1, cluster: participants, applyErrors: [], sovereignty: { ok: true, message: 'compliant' }, now: '2026-11-27T10:00:00Z', scaling: scalingReport(participants, outcome(4)) });
    expect(s.conditions!.find((c) => c.type === 'ScalingActive')).toMatchObject({ status: 'True', reason: 'ScaledUp' });
    expect(s).toMatchObject({ participants: 310, rooms: 5, desiredReplicas: 4 });
  });
});
