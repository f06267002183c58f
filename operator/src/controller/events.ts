// Kubernetes Events on the MeetingCluster, for what a person must see in `kubectl describe mc`.
// The same event for the same object is not repeated within a window, so a level-triggered loop
// that meets the same problem on every resync does not flood etcd (nor break "no-op writes nothing").
// Like client-go's broadcaster, recording does not wait for the API server: events are sent in the
// background, in order, one at a time, so a reconcile never waits on its own announcement. A backlog
// beyond `maxBacklog` (an API server too slow for a storm of events) drops the newest, with a warning.
import { randomBytes } from 'node:crypto';
import type { Requester } from '../kube/http.js';
import type { Logger } from '../log.js';
import { EVENT, MEETING_CLUSTER, resourcePath } from '../kube/resources.js';
import type { KubeObject } from '../kube/object.js';

export type EventType = 'Normal' | 'Warning';

/** Where the reconciler sends its Events (an EventRecorder; in tests, a list). */
export interface EventSink {
  record(mc: KubeObject, type: EventType, reason: string, message: string): void;
}

export class EventRecorder implements EventSink {
  private readonly recent = new Map<string, number>();
  private readonly backlog: { namespace: string; reason: string; body: object }[] = [];
  private sending?: Promise<void>;
  private dropped = 0;

  constructor(
    private readonly http: Requester,
    private readonly log: Logger,
    private readonly component = 'meet-operator',
    private readonly windowMs = 10 * 60_000,
    private readonly maxBacklog = 1000,
  ) {}

  /** Queues the event (unless the same one was recorded within the window); returns at once. */
  record(mc: KubeObject, type: EventType, reason: string, message: string): void {
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
    if (this.backlog.length >= this.maxBacklog) {
      if (this.dropped++ === 0) this.log.warn('event backlog full; dropping events', { backlog: this.backlog.length });
      return;
    }
    this.backlog.push({ namespace: ns, reason, body: event });
    this.sending ??= this.send().finally(() => (this.sending = undefined));
  }

  /** Resolves once every queued event has been sent (or failed). */
  async flush(): Promise<void> {
    while (this.sending) await this.sending;
  }

  private async send(): Promise<void> {
    for (let next; (next = this.backlog.shift()); ) {
      try {
        await this.http.request('POST', resourcePath(EVENT, next.namespace), { body: next.body });
      } catch (e) {
        // Events are best effort: never fail a reconcile for one.
        this.log.warn('could not record event', { reason: next.reason, error: (e as Error).message });
      }
    }
    if (this.dropped) this.log.warn('events dropped while the backlog was full', { dropped: this.dropped });
    this.dropped = 0;
  }
}
