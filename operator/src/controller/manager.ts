// The manager wires the operator together: informers (MeetingClusters and every owned kind) fill
// caches and feed a work queue; once this replica holds the leader Lease, workers reconcile keys
// from it. /healthz, /readyz and /metrics are served throughout; SIGTERM shuts down cleanly.
import { createServer, type Server } from 'node:http';
import pLimit from 'p-limit';
import { hostname } from 'node:os';
import { KubeHttp, userAgent } from '../kube/http.js';
import { Informer } from '../kube/informer.js';
import { LeaderElector } from '../kube/leader.js';
import type { EventType } from '../kube/reflector.js';
import type { KubeObject } from '../kube/object.js';
import { CHILD_TYPES, MEETING_CLUSTER, OPTIONAL_KIND_FIELDS, POD, objectKey } from '../kube/resources.js';
import type { Logger } from '../log.js';
import { LABEL_CLUSTER, LABEL_COMPONENT, LABEL_MANAGED_BY, MANAGED_BY } from '../api/names.js';
import { ValidatedSpecs } from '../api/validated.js';
import { Autoscaler } from '../scaling/autoscaler.js';
import { readOldestMeeting, redisEndpoint } from '../scaling/livekit-rooms.js';
import { readRedisPassword } from './secrets.js';
import type { OperatorPeer } from '../render/context.js';
import { EventRecorder } from './events.js';
import { podCause } from './diagnosis.js';
import { OperatorMetrics } from './metrics.js';
import { PRIORITY_HIGH, PRIORITY_LOW, WorkQueue } from './queue.js';
import { Reconciler, type Caches } from './reconciler.js';
import { isTerminal } from './result.js';
import { childEventPriority, clusterEventPriority } from './triggers.js';
import { warmUp } from './warmup.js';

export interface ManagerOptions {
  kubeconfig?: string;
  /** Namespaces to watch; empty: all. */
  namespaces: string[];
  concurrency: number;
  /** Every key is reconciled again this often, even without events. */
  resyncSeconds: number;
  /** Informers also relist this often (0: never; the resync replays the cache instead). */
  relistSeconds: number;
  /** Address of /healthz, /readyz, /metrics; port 0 picks a free one. */
  listenHost: string;
  listenPort: number;
  leaderElect: boolean;
  leaseNamespace: string;
  leaseName: string;
  identity?: string;
  /** Autoscaler (metric participants): how often it scrapes and decides, and its scrape timeout. */
  scalingIntervalSeconds?: number;
  scrapeTimeoutSeconds?: number;
  /** SFU pods all participants-autoscaled clusters may run together. */
  maxTotalSfuNodes?: number;
  /** The operator's own pods, let through each managed Redis's NetworkPolicy. */
  operatorPeer?: OperatorPeer;
  /** The operator's own image, which spec.checks runs the check in. */
  operatorImage?: string;
  log: Logger;
  /** Called when leadership is lost (default: the process exits so a fresh one starts clean). */
  onLostLeadership?: () => void;
  /** Start-up fails when a cache has not synced by then (a list refused, e.g. 403: RBAC); default 120 s. */
  cacheSyncTimeoutSeconds?: number;
}

/** Kinds from other projects' CRDs, only needed when a spec field asks for them. */
const OPTIONAL_KINDS = new Set(Object.keys(OPTIONAL_KIND_FIELDS));

export class Manager {
  readonly metrics = new OperatorMetrics();
  readonly http: KubeHttp;
  readonly queue = new WorkQueue();
  readonly identity: string;
  private readonly caches: Caches;
  private readonly reconciler: Reconciler;
  private readonly events: EventRecorder;
  readonly autoscaler: Autoscaler;
  private readonly elector?: LeaderElector;
  private server?: Server;
  private resyncTimer?: NodeJS.Timeout;
  private workers: Promise<void>[] = [];
  private ready = false;
  private stopping = false;
  private readonly log: Logger;

  constructor(private readonly o: ManagerOptions) {
    this.log = o.log;
    this.identity = o.identity ?? `${hostname()}_${process.pid}`;
    this.http = KubeHttp.fromKubeconfig(o.kubeconfig, userAgent(this.identity));
    this.http.onWrite((verb, _path, code) => this.metrics.apiWrites.inc({ verb, code: String(code) }));
    const common = { http: this.http, namespaces: o.namespaces, log: o.log, relistMs: o.relistSeconds * 1000 };
    const clusters = new Informer({ ...common, type: MEETING_CLUSTER, onEvent: (t, obj, old) => this.onCluster(t, obj, old) });
    const children = new Map(
      CHILD_TYPES.map((type) => [
        type.kind,
        new Informer({
          ...common,
          type,
          labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}`,
          optional: OPTIONAL_KINDS.has(type.kind),
          onEvent: (t, obj, old) => this.onChild(t, obj, old),
        }),
      ]),
    );
    // Our pods: the autoscaler reads the SFU's (addresses), the reconciler their deletion costs and why
    // a component is not ready. A pod event wakes its cluster only when that cause changes (pods
    // change often; the workloads' status and the autoscaler's rounds notice the rest).
    const pods = new Informer({ ...common, type: POD, labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}`, onEvent: (t, obj, old) => this.onPod(t, obj, old) });
    this.caches = { clusters, children, pods };
    // One validation per spec change, for the autoscaler and the reconciler alike.
    const specs = new ValidatedSpecs();
    // Reading an SFU pod's metrics and its Redis room placement are bounded alike.
    const scrapeTimeoutMs = (o.scrapeTimeoutSeconds ?? 3) * 1000;
    this.autoscaler = new Autoscaler({
      specs,
      clusters,
      pods,
      deployments: children.get('Deployment')!,
      intervalMs: (o.scalingIntervalSeconds ?? 15) * 1000,
      scrapeTimeoutMs,
      ...(o.maxTotalSfuNodes ? { maxTotalSfuNodes: o.maxTotalSfuNodes } : {}),
      log: o.log.child({ component: 'autoscaler' }),
      onChange: (key) => this.queue.add(key, PRIORITY_HIGH),
      onScrapeError: () => this.metrics.scrapeErrors.inc(),
      oldestMeeting: async (mc, podOfNode) => {
        const password = await readRedisPassword(this.http, { cached: (ns, n) => children.get('Secret')!.get(ns, n) }, mc);
        return readOldestMeeting(redisEndpoint(mc), password, podOfNode, scrapeTimeoutMs);
      },
    });
    this.events = new EventRecorder(this.http, o.log);
    this.reconciler = new Reconciler({
      specs,
      http: this.http,
      caches: this.caches,
      events: this.events,
      log: o.log,
      writes: pLimit(o.concurrency),
      metrics: this.metrics,
      ...(o.operatorPeer ? { operatorPeer: o.operatorPeer } : {}),
      ...(o.operatorImage ? { operatorImage: o.operatorImage } : {}),
      scaling: { outcome: (key) => this.autoscaler.outcome(key), ...(o.maxTotalSfuNodes ? { maxTotalSfuNodes: o.maxTotalSfuNodes } : {}) },
    });
    if (o.leaderElect) {
      this.elector = new LeaderElector({
        http: this.http,
        namespace: o.leaseNamespace,
        name: o.leaseName,
        identity: this.identity,
        log: o.log,
        onStartedLeading: () => this.startWorkers(),
        onStoppedLeading: () => this.lostLeadership(),
      });
    }
  }

  private onCluster(t: EventType, obj: KubeObject, old?: KubeObject): void {
    this.queue.add(objectKey(obj.metadata.namespace, obj.metadata.name), clusterEventPriority(t, obj, old));
    this.metrics.managedClusters.set(this.caches.clusters.size);
  }

  private onChild(t: EventType, obj: KubeObject, old?: KubeObject): void {
    const owner = obj.metadata.labels?.[LABEL_CLUSTER];
    if (!owner || !obj.metadata.namespace) return;
    const priority = childEventPriority(t, obj, old);
    if (priority !== undefined) this.queue.add(objectKey(obj.metadata.namespace, owner), priority);
  }

  private onPod(type: EventType, obj: KubeObject, old?: KubeObject): void {
    const owner = obj.metadata.labels?.[LABEL_CLUSTER];
    if (!owner || !obj.metadata.namespace) return;
    const key = objectKey(obj.metadata.namespace, owner);
    // The last old SFU pod of an upgrade gone: its slot can be removed (no Deployment event says so:
    // a Terminating pod no longer counts in its Deployment's status).
    if (type === 'DELETED' && obj.metadata.labels?.[LABEL_COMPONENT] === 'sfu') return void this.queue.add(key, PRIORITY_HIGH);
    if (podCause(obj)?.message !== (old && podCause(old)?.message)) this.queue.add(key, PRIORITY_LOW);
  }

  /** Address the health/metrics server listens on (after start). */
  get address(): { host: string; port: number } | undefined {
    const a = this.server?.address();
    return a && typeof a === 'object' ? { host: a.address, port: a.port } : undefined;
  }

  get isLeader(): boolean {
    return this.elector ? this.elector.isLeader : true;
  }

  async start(): Promise<void> {
    await this.listen();
    const informers = [this.caches.clusters, ...this.caches.children.values(), ...(this.caches.pods ? [this.caches.pods] : [])];
    for (const i of informers) i.start();
    const t0 = Date.now();
    // While the informers' lists are in flight: the first cluster's reconcile should not be the one
    // that compiles the renderers (see warmup.ts).
    try {
      const w = warmUp();
      this.log.debug('warmed up', { ms: Math.round(w.ms), children: w.children });
    } catch (e) {
      this.log.warn('warm-up failed; the first reconcile will be slower', { error: (e as Error).message });
    }
    await this.cachesSynced(informers);
    this.ready = true;
    this.log.info('caches synced', { ms: Date.now() - t0, meetingclusters: this.caches.clusters.size, namespaces: this.o.namespaces.length ? this.o.namespaces : 'all' });
    this.resyncTimer = setInterval(() => {
      for (const o of this.caches.clusters.list()) this.queue.add(objectKey(o.metadata.namespace, o.metadata.name), PRIORITY_LOW);
    }, this.o.resyncSeconds * 1000);
    this.resyncTimer.unref();
    if (this.elector) void this.elector.run();
    else this.startWorkers();
  }

  /**
   * Waits for every informer's first list, or fails start-up after the timeout (as controller-runtime
   * does): a list that keeps failing (403: RBAC; a CRD not installed) would otherwise leave the
   * operator up, unready and silent forever. The error names each kind and what its list got.
   */
  private async cachesSynced(informers: Informer[]): Promise<void> {
    const timeoutMs = (this.o.cacheSyncTimeoutSeconds ?? 120) * 1000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), timeoutMs)));
    try {
      if ((await Promise.race([Promise.all(informers.map((i) => i.synced)), timedOut])) !== 'timeout') return;
    } finally {
      clearTimeout(timer);
    }
    const stuck = informers.filter((i) => !i.isSynced).map((i) => `${i.kind}${i.lastError ? ` (${i.lastError})` : ''}`);
    throw new Error(`caches not synced after ${timeoutMs / 1000}s: ${stuck.join('; ')}; check the operator's RBAC (the chart's ClusterRole) and that the CRDs are installed`);
  }

  private startWorkers(): void {
    this.metrics.leader.set(1);
    this.log.info('starting workers', { concurrency: this.o.concurrency, identity: this.identity });
    for (let i = 0; i < this.o.concurrency; i++) this.workers.push(this.work());
    this.autoscaler.start();
  }

  private lostLeadership(): void {
    this.metrics.leader.set(0);
    void this.autoscaler.stop();
    this.queue.shutdown();
    if (this.o.onLostLeadership) this.o.onLostLeadership();
    else process.exit(1);
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      this.metrics.queueDepth.set(this.queue.depth);
      const end = this.metrics.reconcileDuration.startTimer();
      try {
        const result = await this.reconciler.reconcile(key);
        this.queue.forget(key);
        if (result.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
        this.metrics.reconcileTotal.inc({ result: 'success' });
      } catch (e) {
        if (isTerminal(e)) {
          // Said in status and an event; retrying changes nothing until the cluster or a child does.
          this.queue.forget(key);
          this.metrics.reconcileTotal.inc({ result: 'terminal' });
          this.log.error('reconcile failed; not retried until the cluster or its children change', { meetingcluster: key, error: e.message });
          continue;
        }
        const retryInMs = this.queue.addRateLimited(key);
        this.metrics.reconcileTotal.inc({ result: 'error' });
        this.metrics.reconcileErrors.inc();
        this.log.error('reconcile failed', { meetingcluster: key, error: (e as Error).message, retryInMs });
      } finally {
        end();
        this.queue.done(key);
        this.metrics.queueDepth.set(this.queue.depth);
      }
    }
  }

  private listen(): Promise<void> {
    this.server = createServer(async (req, res) => {
      const path = (req.url ?? '').split('?')[0];
      if (path === '/healthz') return void res.writeHead(200).end('ok\n');
      if (path === '/readyz') return void res.writeHead(this.ready && !this.stopping ? 200 : 503).end(this.ready ? 'ok\n' : 'caches not synced\n');
      if (path === '/metrics') {
        res.writeHead(200, { 'Content-Type': this.metrics.registry.contentType });
        return void res.end(await this.metrics.registry.metrics());
      }
      res.writeHead(404).end();
    });
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.o.listenPort, this.o.listenHost, () => resolve());
    });
  }

  /** Stops taking work, lets in-flight reconciles finish (bounded), releases the Lease. */
  async stop(timeoutMs = 25_000): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.log.info('shutting down');
    clearInterval(this.resyncTimer);
    this.queue.shutdown();
    await this.autoscaler.stop();
    await Promise.race([Promise.all(this.workers).then(() => this.events.flush()), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    await this.elector?.release();
    this.caches.clusters.stop();
    for (const i of this.caches.children.values()) i.stop();
    this.caches.pods?.stop();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.http.close();
    this.log.info('stopped');
  }
}
