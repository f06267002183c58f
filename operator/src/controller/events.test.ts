import { describe, expect, it } from 'vitest';
import type { Requester } from '../kube/http.js';
import type { KubeObject } from '../kube/object.js';
import { silentLogger, type Logger } from '../log.js';
import { EventRecorder } from './events.js';

const mc = { apiVersion: 'meet.sovereign.io/v1alpha1', kind: 'MeetingCluster', metadata: { name: 'visio', namespace: 'interieur', uid: 'u1', resourceVersion: '5' } } as KubeObject;

/** Records what would be POSTed; each POST completes when the test releases it. */
function slowApi(fail = false) {
  const posted: any[] = [];
  const pending: (() => void)[] = [];
  const http: Requester = {
    request: (_verb: string, path: string, o: { body: any }) =>
      new Promise((resolve, reject) => pending.push(() => (posted.push({ path, ...o.body }), fail ? reject(new Error('boom')) : resolve(o.body)))),
  };
  const release = async () => {
    while (pending.length) {
      pending.shift()!();
      await new Promise((r) => setTimeout(r, 0));
    }
  };
  return { http, posted, pending, release };
}

describe('EventRecorder', () => {
  it('returns before the API server answers, then sends events one at a time, in order', async () => {
    const api = slowApi();
    const r = new EventRecorder(api.http, silentLogger);
    r.record(mc, 'Normal', 'Created', 'Created Secret/a');
    r.record(mc, 'Warning', 'ApplyFailed', 'boom');
    await new Promise((res) => setTimeout(res, 0));
    expect(api.pending).toHaveLength(1);
    const flushed = r.flush();
    await api.release();
    await flushed;
    expect(api.posted.map((e) => [e.path, e.type, e.reason, e.involvedObject.uid])).toEqual([
      ['/api/v1/namespaces/interieur/events', 'Normal', 'Created', 'u1'],
      ['/api/v1/namespaces/interieur/events', 'Warning', 'ApplyFailed', 'u1'],
    ]);
  });

  it('does not repeat the same event within the window', async () => {
    const api = slowApi();
    const r = new EventRecorder(api.http, silentLogger);
    for (let i = 0; i < 3; i++) r.record(mc, 'Warning', 'InvalidSpec', 'spec.sfu.replicas: must be >= 0');
    r.record(mc, 'Warning', 'InvalidSpec', 'another message');
    const flushed = r.flush();
    await api.release();
    await flushed;
    expect(api.posted.map((e) => e.message)).toEqual(['spec.sfu.replicas: must be >= 0', 'another message']);
  });

  it('drops what exceeds the backlog, says so, and never throws on a failed POST', async () => {
    const api = slowApi(true);
    const warnings: string[] = [];
    const log: Logger = { ...silentLogger, warn: (m: string) => void warnings.push(m), child: () => log };
    const r = new EventRecorder(api.http, log, 'meet-operator', 60_000, 2);
    for (let i = 0; i < 5; i++) r.record(mc, 'Normal', 'Updated', `change ${i}`);
    const flushed = r.flush();
    await api.release();
    await flushed;
    // The first is in flight when the others arrive: two more fit the backlog, two are dropped.
    expect(api.posted.map((e) => e.message)).toEqual(['change 0', 'change 1', 'change 2']);
    expect(warnings).toContain('event backlog full; dropping events');
    expect(warnings).toContain('events dropped while the backlog was full');
    expect(warnings.filter((w) => w === 'could not record event')).toHaveLength(3);
  });
});
