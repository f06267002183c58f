import { describe, expect, it } from 'vitest';
import { baseManifest, TEST_SECRETS } from '../../test/specs.js';
import { validateMeetingCluster } from '../api/validate.js';
import type { KubeObject } from '../kube/object.js';
import { childId } from './cluster-writes.js';
import { desiredState } from './desired.js';
import type { OwnerReference } from './diff.js';
import { paceHelpers } from './helper-pacing.js';

const owner: OwnerReference = { apiVersion: 'meet.sovereign.io/v1alpha1', kind: 'MeetingCluster', name: 'visio', uid: 'u1', controller: true, blockOwnerDeletion: true };

/** The children as the reconciler applies them, for the base manifest with CPU requests of Redis and coturn set. */
function children(cpu: { redis?: string; turn?: string } = {}): KubeObject[] {
  const m: any = baseManifest();
  if (cpu.redis) m.spec.redis = { ...m.spec.redis, resources: { requests: { cpu: cpu.redis } } };
  if (cpu.turn) m.spec.turn = { ...m.spec.turn, resources: { requests: { cpu: cpu.turn } } };
  const { cluster, errors } = validateMeetingCluster(m);
  if (!cluster) throw new Error(JSON.stringify(errors));
  return desiredState(cluster, TEST_SECRETS, owner).children;
}

/** What runs: the children applied, their workloads rolled out (or still rolling). */
function running(applied: KubeObject[], rolling: string[] = []): (o: KubeObject) => KubeObject | undefined {
  const byId = new Map(
    applied.map((o) => {
      const workload = o.kind === 'Deployment' || o.kind === 'StatefulSet';
      const replicas = (o as any).spec?.replicas ?? 1;
      const done = !rolling.includes(childId(o));
      const live = workload ? { ...o, metadata: { ...o.metadata, generation: 3 }, status: { observedGeneration: 3, replicas, updatedReplicas: done ? replicas : 0, readyReplicas: done ? replicas : 0 } } : o;
      return [childId(o), live as KubeObject];
    }),
  );
  return (o) => byId.get(childId(o));
}

const heldOf = (h: ReturnType<typeof paceHelpers>) => h.map((x) => `${x.helper} behind ${x.behind}`);

describe('paceHelpers', () => {
  it('nothing changed: nothing waits', () => {
    expect(paceHelpers(children(), running(children()))).toEqual([]);
  });

  it('a first install waits for nothing (no workload runs yet)', () => {
    expect(paceHelpers(children(), () => undefined)).toEqual([]);
  });

  it('Redis and coturn changed in one edit: Redis goes, coturn waits for it, with both its workload and its configuration', () => {
    const held = paceHelpers(children({ redis: '60m', turn: '60m' }), running(children()));
    expect(heldOf(held)).toEqual(['turn behind redis']);
    expect(held[0]!.ids).toEqual(expect.arrayContaining(['Deployment/visio-turn', 'ConfigMap/visio-turn-config']));
    expect(held[0]!.ids.some((id) => id.includes('redis') || id.includes('sfu'))).toBe(false);
    expect(held[0]!.message).toMatch(/^coturn's change waits until Redis has restarted/);
  });

  it('coturn waits while Redis rolls out, and goes once Redis is updated and ready', () => {
    const wanted = children({ redis: '60m', turn: '60m' });
    // Redis applied, its pod not back yet; coturn as it was.
    const redisApplied = wanted.map((o) => (o.metadata.labels?.['app.kubernetes.io/component'] === 'turn' ? children().find((c) => childId(c) === childId(o))! : o));
    const rolling = paceHelpers(wanted, running(redisApplied, ['StatefulSet/visio-redis']));
    expect(heldOf(rolling)).toEqual(['turn behind redis']);
    expect(rolling[0]!.message).toContain('finished restarting (0/1 Redis pods ready)');
    expect(paceHelpers(wanted, running(redisApplied))).toEqual([]);
  });

  it('a Redis change waits while coturn rolls out (one restart at a time, whichever started first)', () => {
    const held = paceHelpers(children({ redis: '60m' }), running(children(), ['Deployment/visio-turn']));
    expect(heldOf(held)).toEqual(['redis behind turn']);
  });

  it('a second change to the helper that is rolling out goes at once', () => {
    expect(paceHelpers(children({ turn: '70m' }), running(children({ turn: '60m' }), ['Deployment/visio-turn']))).toEqual([]);
  });

  it('a drift (someone edited what runs) is restored at once: it is not our change', () => {
    const applied = children();
    const live = running(applied);
    const edited = (o: KubeObject) => {
      const l = live(o);
      return l && childId(o) === 'Deployment/visio-turn' ? ({ ...l, spec: { ...(l as any).spec, minReadySeconds: 30 } } as KubeObject) : l;
    };
    // Redis changed and goes; coturn's drift is not a change of ours, so it does not wait behind it.
    expect(paceHelpers(children({ redis: '60m' }), edited)).toEqual([]);
  });
});
