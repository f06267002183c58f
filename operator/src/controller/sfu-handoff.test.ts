import { describe, expect, it } from 'vitest';
import { baseManifest } from '../../test/specs.js';
import { validateMeetingCluster } from '../api/validate.js';
import type { KubeObject } from '../kube/object.js';
import type { ScalingOutcome } from '../scaling/autoscaler.js';
import { decide } from '../scaling/decide.js';
import { ANNOTATION_DELETION_COST, deletionCosts, deletionCostsBeforeScaleDown, handedOverReplicas, scaleAnnouncement, UNKNOWN_LOAD_COST } from './sfu-handoff.js';

const withScaling = (autoscaling: object) => validateMeetingCluster({ ...baseManifest(), spec: { ...baseManifest().spec, autoscaling } }).cluster!;
const participants = withScaling({ enabled: true, minReplicas: 1, maxReplicas: 6, targetParticipantsPerNode: 100 });
const pods = [{ name: 'a', participants: 0, rooms: 0 }, { name: 'b', participants: 40, rooms: 1 }];
const outcome = (replicas: number): ScalingOutcome => ({ decision: decide({ policy: participants.spec.autoscaling, current: 2, pods, now: 0 }), replicas, shortfall: 0, pods });
const pod = (name: string, cost?: string): KubeObject => ({ metadata: { name, ...(cost === undefined ? {} : { annotations: { [ANNOTATION_DELETION_COST]: cost } }) } });

describe('handedOverReplicas', () => {
  it('participants mode: the outcome, else what runs; other modes hand nothing over', () => {
    expect(handedOverReplicas(participants, 3, outcome(2))).toBe(2);
    expect(handedOverReplicas(participants, 3, undefined)).toBe(3);
    expect(handedOverReplicas(withScaling({ enabled: true, metric: 'cpu' }), 3, outcome(2))).toBeUndefined();
    expect(handedOverReplicas(withScaling({ enabled: false }), 3, outcome(2))).toBeUndefined();
  });
});

describe('deletionCostsBeforeScaleDown', () => {
  it('asks for each pod whose cost is not in place yet, only when the count goes down', () => {
    const live = new Map([['a', pod('a')], ['b', pod('b', '40')]]);
    expect(deletionCostsBeforeScaleDown(1, 2, outcome(1), (n) => live.get(n))).toEqual([{ name: 'a', patch: { metadata: { annotations: { [ANNOTATION_DELETION_COST]: '0' } } } }]);
    expect(deletionCostsBeforeScaleDown(2, 2, outcome(2), (n) => live.get(n))).toEqual([]);
    expect(deletionCostsBeforeScaleDown(3, 2, outcome(3), (n) => live.get(n))).toEqual([]);
    live.set('a', pod('a', '0'));
    expect(deletionCostsBeforeScaleDown(1, 2, outcome(1), (n) => live.get(n))).toEqual([]);
  });
});

describe('scaleAnnouncement', () => {
  it("says the autoscaler's reason, or the spec's bounds when they moved first", () => {
    expect(scaleAnnouncement(participants, outcome(1), 2, 1)).toMatchObject({ reason: 'ScaledDown', message: expect.stringMatching(/^SFU 2 -> 1 pods: /) });
    expect(scaleAnnouncement(participants, outcome(1), 2, 3)).toMatchObject({ reason: 'ScaledUp', message: 'SFU 2 -> 3 pods: spec.autoscaling allows 1-6 SFU pods' });
    expect(scaleAnnouncement(participants, outcome(2), 2, 2)).toBeUndefined();
    expect(scaleAnnouncement(withScaling({ enabled: false }), undefined, 2, 3)).toBeUndefined();
  });
});

describe('deletionCosts', () => {
  const pod = (name: string, cost?: string, deleting = false): KubeObject => ({
    metadata: { name, annotations: cost === undefined ? {} : { [ANNOTATION_DELETION_COST]: cost }, ...(deleting ? { deletionTimestamp: 'x' } : {}) },
  });

  it('patches each pod whose cost is not its participant count; unknown load is priced as busy', () => {
    const patches = deletionCosts([{ name: 'a', participants: 12 }, { name: 'b', participants: 0 }, { name: 'c' }], [pod('a', '3'), pod('b', '0'), pod('c')]);
    expect(patches).toEqual([
      { name: 'a', patch: { metadata: { annotations: { [ANNOTATION_DELETION_COST]: '12' } } } },
      { name: 'c', patch: { metadata: { annotations: { [ANNOTATION_DELETION_COST]: String(UNKNOWN_LOAD_COST) } } } },
    ]);
  });

  it('nothing to do when every cost is in place; pods gone or terminating are skipped', () => {
    expect(deletionCosts([{ name: 'a', participants: 5 }, { name: 'gone', participants: 1 }, { name: 't', participants: 0 }], [pod('a', '5'), pod('t', undefined, true)])).toEqual([]);
  });
});
