// A reflector: list, then watch from the list's resourceVersion, keeping an in-memory cache that
// serves every read of the reconciler. Built for the failure modes of long-lived watches:
//   - bookmarks are requested, so a quiet watch still advances its resourceVersion;
//   - a watch that ends (server timeout, dropped connection) resumes from the last resourceVersion,
//     with exponential backoff when it fails;
//   - 410 Gone (the resourceVersion was compacted away) triggers a fresh list;
//   - a watchdog restarts a watch that has gone silent (half-open TCP: client-node #596, #958);
//   - a periodic relist catches anything missed, and the controller resyncs every key then.
import type { Logger } from '../log.js';
import { ApiError, isGone, type KubeHttp } from './http.js';
import { objectKey, resourcePath, type ResourceType } from './resources.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
    deletionTimestamp?: string;
    creationTimestamp?: string;
    finalizers?: string[];
    managedFields?: unknown[];
  };
  [key: string]: any;
}

export interface ReflectorOptions {
  http: KubeHttp;
  type: ResourceType;
  namespace?: string;
  labelSelector?: string;
  log: Logger;
  onEvent?: (type: EventType, obj: KubeObject, old?: KubeObject) => void;
  /** Server-side timeout of one watch request; the watch then resumes from its resourceVersion. */
  watchTimeoutSeconds?: number;
  /** Restart a watch that delivered nothing (not even a bookmark) for this long. */
  watchdogMs?: number;
  /** Full relist period. */
  relistMs?: number;
  /** Drop managedFields from cached objects (memory) unless the reconciler needs them. */
  keepManagedFields?: boolean;
  /** The kind may not be served (an optional CRD): a 404 list counts as empty and is retried slowly. */
  optional?: boolean;
}

/** Waits ms, or less if the signal aborts; leaves no listener behind either way. */
export const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });

export class Reflector {
  readonly cache = new Map<string, KubeObject>();
  private resourceVersion = '';
  private readonly stopped = new AbortController();
  private watchAbort?: AbortController;
  private needList = true;
  private syncedResolve!: () => void;
  /** Resolves once the first list has filled the cache. */
  readonly synced = new Promise<void>((r) => (this.syncedResolve = r));
  private relistTimer?: NodeJS.Timeout;
  /** Counters for tests and metrics. */
  readonly stats = { lists: 0, watches: 0, relistsOnGone: 0, watchdogRestarts: 0, errors: 0 };

  constructor(private readonly o: ReflectorOptions) {}

  get kind(): string {
    return this.o.type.kind;
  }

  start(): void {
    const relistMs = this.o.relistMs ?? 10 * 60_000;
    this.relistTimer = setInterval(() => this.relist(), relistMs);
    this.relistTimer.unref();
    void this.run();
  }

  stop(): void {
    this.stopped.abort();
    this.watchAbort?.abort();
    clearInterval(this.relistTimer);
  }

  /** Forces a fresh list (as after 410 Gone), e.g. for the periodic resync. */
  relist(): void {
    this.needList = true;
    this.watchAbort?.abort();
  }

  /** Puts an object the reconciler just wrote, unless the cache already holds a newer version. */
  upsert(obj: KubeObject): void {
    const key = objectKey(obj.metadata.namespace, obj.metadata.name);
    const held = this.cache.get(key)?.metadata.resourceVersion;
    const rv = obj.metadata.resourceVersion;
    // resourceVersions are opaque, but etcd-backed ones are revisions: never go back in time.
    if (held && rv && /^\d+$/.test(held) && /^\d+$/.test(rv) && BigInt(held) > BigInt(rv)) return;
    this.cache.set(key, this.normalise({ ...obj, metadata: { ...obj.metadata } }));
  }

  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.cache.get(objectKey(namespace, name));
  }

  list(filter?: (o: KubeObject) => boolean): KubeObject[] {
    const all = [...this.cache.values()];
    return filter ? all.filter(filter) : all;
  }

  private path(): string {
    return resourcePath(this.o.type, this.o.namespace);
  }

  private normalise(o: KubeObject): KubeObject {
    if (!this.o.keepManagedFields) delete o.metadata.managedFields;
    o.apiVersion ??= this.o.type.apiVersion;
    o.kind ??= this.o.type.kind;
    return o;
  }

  private async run(): Promise<void> {
    let backoffMs = 500;
    while (!this.stopped.signal.aborted) {
      try {
        if (this.needList) await this.listAll();
        await this.watch();
        backoffMs = 500;
      } catch (e) {
        if (this.stopped.signal.aborted) return;
        if (isGone(e)) {
          this.stats.relistsOnGone++;
          this.o.log.info('watch resourceVersion expired (410 Gone); relisting', { kind: this.kind });
          this.needList = true;
          continue;
        }
        // Our own abort (watchdog, relist): Node reports it as AbortError or as a bare "aborted".
        if ((e as Error).name === 'AbortError' || this.watchAbort?.signal.aborted) continue;
        if (this.o.optional && e instanceof ApiError && e.status === 404) {
          if (this.stats.errors++ === 0) this.o.log.info('kind not served; will look again later', { kind: this.kind });
          this.syncedResolve();
          this.needList = true;
          await sleep(60_000, this.stopped.signal);
          continue;
        }
        this.stats.errors++;
        this.o.log.warn('list/watch failed; retrying', { kind: this.kind, error: (e as Error).message, retryInMs: backoffMs });
        await sleep(backoffMs * (0.8 + Math.random() * 0.4), this.stopped.signal);
        backoffMs = Math.min(backoffMs * 2, 30_000);
      }
    }
  }

  private async listAll(): Promise<void> {
    this.stats.lists++;
    const fresh = new Map<string, KubeObject>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await this.o.http.request('GET', this.path(), {
        query: { labelSelector: this.o.labelSelector, limit: 500, continue: cont },
      });
      for (const item of page.items as KubeObject[]) fresh.set(objectKey(item.metadata.namespace, item.metadata.name), this.normalise(item));
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion ?? rv;
    } while (cont);
    const old = new Map(this.cache);
    this.cache.clear();
    for (const [k, o] of fresh) this.cache.set(k, o);
    this.resourceVersion = rv;
    this.needList = false;
    for (const [k, o] of fresh) {
      const prev = old.get(k);
      if (!prev) this.o.onEvent?.('ADDED', o);
      else if (prev.metadata.resourceVersion !== o.metadata.resourceVersion) this.o.onEvent?.('MODIFIED', o, prev);
    }
    for (const [k, o] of old) if (!fresh.has(k)) this.o.onEvent?.('DELETED', o);
    this.syncedResolve();
  }

  private async watch(): Promise<void> {
    this.stats.watches++;
    const abort = new AbortController();
    this.watchAbort = abort;
    const watchdogMs = this.o.watchdogMs ?? 90_000;
    let watchdog = setTimeout(() => fire(), watchdogMs);
    const fire = () => {
      this.stats.watchdogRestarts++;
      this.o.log.warn('watch silent; restarting it', { kind: this.kind, silentMs: watchdogMs });
      abort.abort();
    };
    const onAbort = () => abort.abort();
    this.stopped.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await this.o.http.stream(
        this.path(),
        {
          watch: 1,
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: this.o.watchTimeoutSeconds ?? 300,
          labelSelector: this.o.labelSelector,
        },
        (ev) => {
          clearTimeout(watchdog);
          watchdog = setTimeout(() => fire(), watchdogMs);
          this.handle(ev);
        },
        abort.signal,
      );
    } finally {
      clearTimeout(watchdog);
      this.stopped.signal.removeEventListener('abort', onAbort);
    }
  }

  private handle(ev: { type: string; object: any }): void {
    const obj = ev.object as KubeObject;
    if (ev.type === 'ERROR') {
      const status = ev.object as { code?: number; reason?: string; message?: string };
      throw new ApiError(status.code ?? 500, status.reason ?? '', `watch ${this.kind}: ${status.message ?? 'error event'}`);
    }
    if (obj?.metadata?.resourceVersion) this.resourceVersion = obj.metadata.resourceVersion;
    if (ev.type === 'BOOKMARK') return;
    const key = objectKey(obj.metadata.namespace, obj.metadata.name);
    const prev = this.cache.get(key);
    if (ev.type === 'DELETED') {
      this.cache.delete(key);
      this.o.onEvent?.('DELETED', obj, prev);
      return;
    }
    this.cache.set(key, this.normalise(obj));
    this.o.onEvent?.(prev ? 'MODIFIED' : 'ADDED', obj, prev);
  }
}
