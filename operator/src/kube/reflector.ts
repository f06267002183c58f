// A reflector: list, then watch from the list's resourceVersion, keeping an in-memory cache that
// serves every read of the reconciler. Built for the failure modes of long-lived watches:
//   - bookmarks are requested, so a quiet watch still advances its resourceVersion;
//   - a watch that ends (server timeout, dropped connection) resumes from the last resourceVersion,
//     with exponential backoff when it fails;
//   - 410 Gone (the resourceVersion was compacted away) triggers a fresh list;
//   - a watchdog restarts a watch that has gone silent (half-open TCP: client-node #596, #958);
//   - no periodic relist by default: as in client-go, the controller's resync replays the cache (every
//     key is reconciled again from what the cache holds), which costs the API server nothing; a
//     relist period (relistMs) can be set for a cluster whose watches are known to lose events.
import type { Logger } from '../log.js';
import { Backoff, sleep } from './backoff.js';
import { compactObject } from './compact.js';
import type { KubeObject } from './object.js';
import { ApiError, isGone, type ListWatcher } from './http.js';
import { objectKey, resourcePath, type ResourceType } from './resources.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export type { KubeObject } from './object.js';


export interface ReflectorOptions {
  http: ListWatcher;
  type: ResourceType;
  namespace?: string;
  labelSelector?: string;
  log: Logger;
  onEvent?: (type: EventType, obj: KubeObject, old?: KubeObject) => void;
  /** Restart a watch that delivered nothing (not even a bookmark) for this long. */
  watchdogMs?: number;
  /** Full relist period; default none (watches resume, 410 and silent watches relist). */
  relistMs?: number;
  /** The kind may not be served (an optional CRD): a 404 list counts as empty and is retried slowly. */
  optional?: boolean;
}

/** Failed lists and watches: 0.4-0.6 s, doubling to 30 s; a fresh start after 2 quiet minutes. */
const LIST_WATCH_BACKOFF = { initialMs: 400, maxMs: 30_000, jitter: 0.5, resetAfterMs: 120_000 };

/**
 * Server-side timeout of one watch request (the watch then resumes from its resourceVersion): 5 to 10
 * minutes at random, as client-go does, so that the watches of every reflector (and of every replica)
 * do not all end and reconnect to the API server in the same second.
 */
export const watchTimeoutSeconds = (random: () => number = Math.random): number => Math.floor(300 * (1 + random()));

/** Key of a label index entry: namespace and label value. */
const indexKey = (namespace: string | undefined, value: string) => `${namespace ?? ''}\0${value}`;

export class Reflector {
  readonly cache = new Map<string, KubeObject>();
  /**
   * label name -> (namespace, value) -> cache keys. Built on the first listByLabel for that label,
   * then kept current on every change, so finding one cluster's children costs what it returns,
   * not a scan of every cached object.
   */
  private readonly indexes = new Map<string, Map<string, Set<string>>>();
  private resourceVersion = '';
  private readonly stopped = new AbortController();
  private watchAbort?: AbortController;
  private needList = true;
  private syncedResolve!: () => void;
  /** Resolves once the first list has filled the cache. */
  readonly synced = new Promise<void>((r) => (this.syncedResolve = () => ((this.isSynced = true), r())));
  isSynced = false;
  /** Why the last list or watch failed (cleared by nothing: read it while isSynced is false). */
  lastError?: string;
  private relistTimer?: NodeJS.Timeout;
  /** Counters for tests and metrics. */
  readonly stats = { lists: 0, watches: 0, relistsOnGone: 0, watchdogRestarts: 0, errors: 0, echoes: 0 };

  constructor(private readonly o: ReflectorOptions) {}

  get kind(): string {
    return this.o.type.kind;
  }

  start(): void {
    if (this.o.relistMs) {
      this.relistTimer = setInterval(() => this.relist(), this.o.relistMs);
      this.relistTimer.unref();
    }
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
    this.put(key, this.normalise(obj));
  }

  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.cache.get(objectKey(namespace, name));
  }

  list(filter?: (o: KubeObject) => boolean): KubeObject[] {
    const all = [...this.cache.values()];
    return filter ? all.filter(filter) : all;
  }

  /** Objects in `namespace` (undefined: cluster-scoped) whose label `label` is `value`. */
  listByLabel(namespace: string | undefined, label: string, value: string): KubeObject[] {
    let index = this.indexes.get(label);
    if (!index) {
      index = new Map();
      this.indexes.set(label, index);
      for (const [key, o] of this.cache) this.indexAdd(index, label, key, o);
    }
    const out: KubeObject[] = [];
    for (const key of index.get(indexKey(namespace, value)) ?? []) {
      const o = this.cache.get(key);
      if (o) out.push(o);
    }
    return out;
  }

  private indexAdd(index: Map<string, Set<string>>, label: string, key: string, o: KubeObject): void {
    const value = o.metadata.labels?.[label];
    if (value === undefined) return;
    const k = indexKey(o.metadata.namespace, value);
    let keys = index.get(k);
    if (!keys) index.set(k, (keys = new Set()));
    keys.add(key);
  }

  private indexRemove(index: Map<string, Set<string>>, label: string, key: string, o: KubeObject): void {
    const value = o.metadata.labels?.[label];
    if (value === undefined) return;
    const k = indexKey(o.metadata.namespace, value);
    const keys = index.get(k);
    if (keys?.delete(key) && keys.size === 0) index.delete(k);
  }

  /** Every change of the cache goes through put and remove, which keep the indexes current. */
  private put(key: string, o: KubeObject): void {
    const prev = this.cache.get(key);
    this.cache.set(key, o);
    for (const [label, index] of this.indexes) {
      if (prev) this.indexRemove(index, label, key, prev);
      this.indexAdd(index, label, key, o);
    }
  }

  private remove(key: string): void {
    const prev = this.cache.get(key);
    if (!prev) return;
    this.cache.delete(key);
    for (const [label, index] of this.indexes) this.indexRemove(index, label, key, prev);
  }

  private path(): string {
    return resourcePath(this.o.type, this.o.namespace);
  }

  private normalise(o: KubeObject): KubeObject {
    return compactObject(o, this.o.type);
  }

  private async run(): Promise<void> {
    const backoff = new Backoff(LIST_WATCH_BACKOFF);
    while (!this.stopped.signal.aborted) {
      try {
        if (this.needList) await this.listAll();
        await this.watch();
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
        this.lastError = (e as Error).message;
        const retryInMs = backoff.next();
        this.o.log.warn('list/watch failed; retrying', { kind: this.kind, error: (e as Error).message, retryInMs });
        await sleep(retryInMs, this.stopped.signal);
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
    for (const k of old.keys()) if (!fresh.has(k)) this.remove(k);
    for (const [k, o] of fresh) this.put(k, o);
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
          timeoutSeconds: watchTimeoutSeconds(),
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
      this.remove(key);
      this.o.onEvent?.('DELETED', obj, prev);
      return;
    }
    // The echo of our own write: upsert() already put this very version in the cache and the writer
    // saw it. Passing it on would only reconcile the key again for nothing.
    if (prev && prev.metadata.resourceVersion === obj.metadata.resourceVersion) {
      this.stats.echoes++;
      return;
    }
    const cached = this.normalise(obj);
    this.put(key, cached);
    this.o.onEvent?.(prev ? 'MODIFIED' : 'ADDED', cached, prev);
  }
}
