// Records, as the watch delivers them, what the control plane did in a namespace: each change of a
// Deployment's spec.replicas and each step of every pod (scheduled, Running, terminating, gone,
// pod-deletion-cost annotation), with the local time and the etcd resourceVersion. The times give
// the figures a test prints; the resourceVersions (etcd revisions, one global sequence) order
// writes to different objects exactly, e.g. "the costs were written before the replicas".
import type { KubeHttp } from '../../src/kube/http.js';
import { Reflector, type EventType } from '../../src/kube/reflector.js';
import type { KubeObject } from '../../src/kube/object.js';
import { POD, typeOf } from '../../src/kube/resources.js';
import { silentLogger } from '../../src/log.js';

export const DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';

export interface Step {
  at: number;
  /** etcd revision of the write that produced the event (0 for a DELETED event without one). */
  rv: bigint;
  kind: 'Deployment' | 'Pod';
  name: string;
  what: 'replicas' | 'scheduled' | 'running' | 'terminating' | 'deleted' | 'deletion-cost';
  value?: string;
  node?: string;
}

const DEPLOYMENT = typeOf('Deployment');
const rvOf = (o: KubeObject) => (o.metadata.resourceVersion && /^\d+$/.test(o.metadata.resourceVersion) ? BigInt(o.metadata.resourceVersion) : 0n);

export class Recorder {
  readonly steps: Step[] = [];
  private readonly reflectors: Reflector[];

  constructor(http: KubeHttp, namespace: string) {
    this.reflectors = [
      new Reflector({ http, type: POD, namespace, log: silentLogger, onEvent: (t, o, old) => this.pod(t, o, old) }),
      new Reflector({ http, type: DEPLOYMENT, namespace, log: silentLogger, onEvent: (t, o, old) => this.deployment(t, o, old) }),
    ];
  }

  async start(): Promise<void> {
    for (const r of this.reflectors) r.start();
    await Promise.all(this.reflectors.map((r) => r.synced));
  }

  stop(): void {
    for (const r of this.reflectors) r.stop();
  }

  private add(o: KubeObject, s: Omit<Step, 'at' | 'rv' | 'name'>): void {
    this.steps.push({ at: Date.now(), rv: rvOf(o), name: o.metadata.name, ...s });
  }

  private deployment(type: EventType, o: KubeObject, old?: KubeObject): void {
    if (type !== 'DELETED' && o.spec?.replicas !== old?.spec?.replicas) this.add(o, { kind: 'Deployment', what: 'replicas', value: String(o.spec?.replicas) });
  }

  private pod(type: EventType, o: KubeObject, old?: KubeObject): void {
    const node = o.spec?.nodeName;
    const s = (what: Step['what'], value?: string) => this.add(o, { kind: 'Pod', what, ...(value === undefined ? {} : { value }), ...(node ? { node } : {}) });
    if (type === 'DELETED') return s('deleted');
    if (node && !old?.spec?.nodeName) s('scheduled');
    if (o.status?.phase === 'Running' && old?.status?.phase !== 'Running') s('running');
    if (o.metadata.deletionTimestamp && !old?.metadata.deletionTimestamp) s('terminating');
    const cost = o.metadata.annotations?.[DELETION_COST];
    if (cost !== undefined && cost !== old?.metadata.annotations?.[DELETION_COST]) s('deletion-cost', cost);
  }

  /** Steps matching, in the order they were seen. */
  find(pred: (s: Step) => boolean): Step[] {
    return this.steps.filter(pred);
  }

  /** The first step matching that happened at or after `since`. */
  first(pred: (s: Step) => boolean, since = 0): Step | undefined {
    return this.steps.find((s) => s.at >= since && pred(s));
  }
}
