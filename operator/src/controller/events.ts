// Kubernetes Events on the MeetingCluster, for what a person must see in `kubectl describe mc`.
// The same event for the same object is not repeated within a window, so a level-triggered loop
// that meets the same problem on every resync does not flood etcd (nor break "no-op writes nothing").
import { randomBytes } from 'node:crypto';
import type { KubeHttp } from '../kube/http.js';
import type { Logger } from '../log.js';
import { EVENT, MEETING_CLUSTER, resourcePath } from '../kube/resources.js';
import type { KubeObject } from '../kube/reflector.js';

export type EventType = 'Normal' | 'Warning';

export class EventRecorder {
  private readonly recent = new Map<string, number>();

  constructor(
    private readonly http: KubeHttp,
    private readonly log: Logger,
    private readonly component = 'meet-operator',
    private readonly windowMs = 10 * 60_000,
  ) {}

  async record(mc: KubeObject, type: EventType, reason: string, message: string): Promise<void> {
    const key = `${mc.metadata.uid}\0${reason}\0${message}`;
    const now = Date.now();
    const last = this.recent.get(key);
    if (last !== undefined && now - last < this.windowMs) return;
    this.recent.set(key, now);
    if (this.recent.size > 10_000) for (const [k, t] of this.recent) if (now - t >= this.windowMs) this.recent.delete(k);
    const ts = new Date(now).toISOString();
    const ns = mc.metadata.namespace!;
    const event = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${mc.metadata.name}.${randomBytes(8).toString('hex')}`, namespace: ns },
      involvedObject: {
        apiVersion: MEETING_CLUSTER.apiVersion,
        kind: MEETING_CLUSTER.kind,
        name: mc.metadata.name,
        namespace: ns,
        uid: mc.metadata.uid,
        resourceVersion: mc.metadata.resourceVersion,
      },
      type,
      reason,
      message: message.slice(0, 1024),
      source: { component: this.component },
      reportingComponent: this.component,
      reportingInstance: this.component,
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
    };
    try {
      await this.http.request('POST', resourcePath(EVENT, ns), { body: event });
    } catch (e) {
      // Events are best effort: never fail a reconcile for one.
      this.log.warn('could not record event', { reason, error: (e as Error).message });
    }
  }
}
