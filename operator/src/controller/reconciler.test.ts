// The reconciler's bookkeeping when the API server fails part-way through a batch. Everything else
// it does runs against the real control plane (test/integration/reconciler.test.ts); a failure at a
// chosen write cannot be arranged there, hence this in-process API stand-in.
import pLimit from 'p-limit';
import { describe, expect, it } from 'vitest';
import { baseManifest } from '../../test/specs.js';
import type { ListWatcher } from '../kube/http.js';
import { Informer } from '../kube/informer.js';
import type { KubeObject } from '../kube/object.js';
import { CHILD_TYPES, MEETING_CLUSTER } from '../kube/resources.js';
import { silentLogger } from '../log.js';
import type { EventSink, EventType } from './events.js';
import { OperatorMetrics } from './metrics.js';
import { Reconciler } from './reconciler.js';

/** Answers every write with the object written, until `failKind` is written: then no connection. */
function apiFailingAt(failKind: string) {
  const writes: string[] = [];
  let rv = 100;
  const http: ListWatcher = {
    async request(method: string, path: string, opts: { body?: KubeObject } = {}) {
      if (path.includes(`/${failKind}`)) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      writes.push(`${method} ${path}`);
      const body = opts.body ?? ({ metadata: {} } as KubeObject);
      return { ...body, metadata: { ...body.metadata, resourceVersion: String(++rv) } };
    },
    // The caches are filled by hand (upsert): nothing here watches.
    stream: () => Promise.reject(new Error('this test does not watch')),
  };
  return { http, writes };
}

function reconcilerWith(http: ListWatcher, metrics?: OperatorMetrics) {
  const informer = (type: (typeof CHILD_TYPES)[number]) => new Informer({ http, type, namespaces: [], log: silentLogger });
  const clusters = informer(MEETING_CLUSTER);
  const events: [type: EventType, reason: string, message: string][] = [];
  const recorder: EventSink = { record: (_mc, ...e) => void events.push(e) };
  const reconciler = new Reconciler({ http, caches: { clusters, children: new Map(CHILD_TYPES.map((t) => [t.kind, informer(t)])) }, events: recorder, log: silentLogger, writes: pLimit(1), ...(metrics ? { metrics } : {}) });
  const mc = { ...baseManifest(), metadata: { ...baseManifest().metadata, uid: 'uid-1', generation: 1, resourceVersion: '1' } } as KubeObject;
  clusters.upsert(mc);
  return { reconciler, events, clusters, mc, key: `${mc.metadata.namespace}/${mc.metadata.name}` };
}

describe('Reconciler, API server failing part-way through a batch', () => {
  it('announces the children written before the failure, and writes no status', async () => {
    // One write at a time: the node-port Services, then the rest in rendered order, the Deployments failing.
    const { http, writes } = apiFailingAt('deployments');
    const { reconciler, events, key } = reconcilerWith(http);
    await expect(reconciler.reconcile(key)).rejects.toThrow('ECONNREFUSED');
    expect(writes.some((w) => w.includes('/services/'))).toBe(true);
    expect(writes.some((w) => w.includes('/status'))).toBe(false);
    const created = events.find(([, reason]) => reason === 'Created');
    expect(created?.[0]).toBe('Normal');
    // Exactly what was written, no more: the Deployments and what came after them are not claimed.
    const written = writes.filter((w) => w.startsWith('PATCH')).map((w) => w.split('/').slice(-2).join('/'));
    expect(created?.[2]).toMatch(/^Created /);
    expect(created?.[2].split(', ').length).toBe(written.length);
    expect(created?.[2]).not.toContain('Deployment/');
  });

  it('announces nothing when the first write already fails', async () => {
    const { http, writes } = apiFailingAt('services');
    const { reconciler, events, key } = reconcilerWith(http);
    await expect(reconciler.reconcile(key)).rejects.toThrow('ECONNREFUSED');
    expect(writes).toEqual([]);
    expect(events).toEqual([]);
  });
});

describe('Reconciler, spec.checks', () => {
  it('writes the check\'s RoleBinding only once its Role is written (the API server refuses a binding to a missing Role)', async () => {
    const written = new Set<string>();
    const order: string[] = [];
    let rv = 100;
    const http: ListWatcher = {
      async request(method: string, _path: string, opts: { body?: KubeObject } = {}) {
        const body = opts.body ?? ({ metadata: {} } as KubeObject);
        if (method === 'PATCH' && body.kind === 'Role') await new Promise((r) => setTimeout(r, 30)); // a slow answer
        if (method === 'PATCH' && body.kind === 'RoleBinding' && !written.has(`Role/${body.roleRef.name}`)) {
          throw Object.assign(new Error(`rolebindings "${body.metadata.name}" not found`), { statusCode: 404 });
        }
        if (method === 'PATCH' && body.kind) (written.add(`${body.kind}/${body.metadata.name}`), order.push(body.kind));
        return { ...body, metadata: { ...body.metadata, resourceVersion: String(++rv) } };
      },
      stream: () => Promise.reject(new Error('this test does not watch')),
    };
    const informer = (type: (typeof CHILD_TYPES)[number]) => new Informer({ http, type, namespaces: [], log: silentLogger });
    const clusters = informer(MEETING_CLUSTER);
    const reconciler = new Reconciler({ http, caches: { clusters, children: new Map(CHILD_TYPES.map((t) => [t.kind, informer(t)])) }, events: { record: () => {} }, log: silentLogger, writes: pLimit(8), operatorImage: 'registry.example/meet-operator:1' });
    const m = baseManifest();
    m.spec.checks = { schedule: '@hourly' };
    clusters.upsert({ ...m, metadata: { ...m.metadata, uid: 'uid-1', generation: 1, resourceVersion: '1' } } as KubeObject);
    await reconciler.reconcile(`${m.metadata.namespace}/${m.metadata.name}`);
    expect(order).toContain('CronJob');
    expect(order.indexOf('RoleBinding')).toBeGreaterThan(order.indexOf('Role'));
  });
});

describe('Reconciler, status as metrics', () => {
  it('exports the status it wrote as series, and drops them when the MeetingCluster is gone', async () => {
    const metrics = new OperatorMetrics();
    const { http, writes } = apiFailingAt('nothing-fails');
    const { reconciler, clusters, mc, key } = reconcilerWith(http, metrics);
    await reconciler.reconcile(key);
    expect(writes.some((w) => w.endsWith('/status'))).toBe(true);
    const labels = `namespace="${mc.metadata.namespace}",name="${mc.metadata.name}"`;
    // Nothing runs yet (no workload in the caches): what `kubectl get mc` would say, as series.
    expect(await metrics.registry.metrics()).toMatch(new RegExp(`meet_meetingcluster_status_condition\\{${labels},type="Ready",status="False",reason="ComponentsNotReady"\\} 1`));
    expect(await metrics.registry.metrics()).toContain(`meet_meetingcluster_sfu_pods{${labels},state="ready"} 0`);
    // Being deleted: garbage collection takes the children; the series go at once.
    clusters.upsert({ ...mc, metadata: { ...mc.metadata, resourceVersion: '9999', deletionTimestamp: '2026-12-07T12:00:00Z' } });
    await reconciler.reconcile(key);
    const after = await metrics.registry.metrics();
    expect(after).not.toContain(labels);
  });
});
