// The autoscaler's round over in-memory caches (no server): here, what it reports about draining
// SFU pods, including the oldest meeting it asks LiveKit's Redis state for.
import { describe, expect, it } from 'vitest';
import { baseManifest } from '../../test/specs.js';
import type { Informer } from '../kube/informer.js';
import type { KubeObject } from '../kube/object.js';
import { createLogger } from '../log.js';
import { Autoscaler, type AutoscalerOptions } from './autoscaler.js';
import type { OldestMeeting } from './livekit-rooms.js';

const live: KubeObject = { ...baseManifest(), metadata: { ...baseManifest().metadata, uid: 'u1', generation: 1 }, spec: { ...baseManifest().spec, autoscaling: { enabled: true, minReplicas: 1, maxReplicas: 4 } } } as KubeObject;
const sfuPod = (name: string, ip: string, draining = false): KubeObject => ({
  metadata: { name, namespace: 'justice', uid: name, labels: { 'app.kubernetes.io/instance': 'visio', 'app.kubernetes.io/component': 'sfu' }, ...(draining ? { deletionTimestamp: '2026-12-07T10:00:00Z' } : {}) },
  spec: { containers: [{ ports: [{ name: 'metrics', containerPort: 6789 }] }] },
  status: { phase: 'Running', podIP: ip },
});
const pods = [sfuPod('visio-sfu-b-1', '10.0.0.1'), sfuPod('visio-sfu-a-1', '10.0.0.2', true), sfuPod('visio-sfu-a-2', '10.0.0.3', true)];
const nodeOf: Record<string, string> = { '10.0.0.1': 'ND_new', '10.0.0.2': 'ND_old1', '10.0.0.3': 'ND_old2' };

function autoscaler(oldestMeeting?: AutoscalerOptions['oldestMeeting']): Autoscaler {
  const deployment = { metadata: { name: 'visio-sfu', namespace: 'justice' }, spec: { replicas: 1 } };
  return new Autoscaler({
    clusters: { list: () => [live] } as unknown as Informer,
    pods: { listByLabel: () => pods } as unknown as Informer,
    deployments: { get: (_ns: string, name: string) => (name === 'visio-sfu' ? deployment : undefined) } as unknown as Informer,
    intervalMs: 1000,
    scrapeTimeoutMs: 1000,
    log: createLogger('silent'),
    onChange: () => {},
    scrape: async (url) => ({ participants: 3, rooms: 1, nodeId: nodeOf[new URL(url).hostname]! }),
    ...(oldestMeeting ? { oldestMeeting } : {}),
  });
}

describe('Autoscaler: draining SFU pods', () => {
  it('asks for the oldest meeting on the draining pods only (by LiveKit node id) and reports it', async () => {
    const asked: [string, string][][] = [];
    const meeting: OldestMeeting = { room: 'codir', pod: 'visio-sfu-a-2', since: 1_765_000_000_000 };
    const a = autoscaler(async (_mc, podOfNode) => (asked.push([...podOfNode]), meeting));
    await a.round();
    expect(asked).toEqual([[['ND_old1', 'visio-sfu-a-1'], ['ND_old2', 'visio-sfu-a-2']]]);
    const outcome = a.outcome('justice/visio')!;
    expect(outcome.oldestDraining).toEqual(meeting);
    expect(outcome.draining?.map((p) => [p.name, p.nodeId])).toEqual([['visio-sfu-a-1', 'ND_old1'], ['visio-sfu-a-2', 'ND_old2']]);
  });

  it('an unreadable Redis leaves the oldest meeting unknown; the round still decides', async () => {
    const a = autoscaler(async () => {
      throw new Error('connect ECONNREFUSED');
    });
    await a.round();
    const outcome = a.outcome('justice/visio')!;
    expect(outcome.oldestDraining).toBeUndefined();
    expect(outcome.decision.participants).toBe(3);
  });
});
