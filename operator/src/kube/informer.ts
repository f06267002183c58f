// An informer: one reflector per watched namespace (or one for the whole cluster), seen as one
// cache. Restricting the operator to some namespaces then needs no cluster-wide list/watch right.
import type { Logger } from '../log.js';
import type { ListWatcher } from './http.js';
import { Reflector, type EventType, type KubeObject } from './reflector.js';
import type { ResourceType } from './resources.js';

export interface InformerOptions {
  http: ListWatcher;
  type: ResourceType;
  /** Namespaces to watch; empty: all namespaces. */
  namespaces: string[];
  labelSelector?: string;
  log: Logger;
  onEvent?: (type: EventType, obj: KubeObject, old?: KubeObject) => void;
  relistMs?: number;
  watchdogMs?: number;
  optional?: boolean;
}

export class Informer {
  private readonly reflectors: Map<string, Reflector>;

  constructor(readonly o: InformerOptions) {
    const scopes = o.type.namespaced && o.namespaces.length ? o.namespaces : [''];
    this.reflectors = new Map(
      scopes.map((ns) => [
        ns,
        new Reflector({
          http: o.http,
          type: o.type,
          ...(ns ? { namespace: ns } : {}),
          ...(o.labelSelector ? { labelSelector: o.labelSelector } : {}),
          log: o.log,
          ...(o.onEvent ? { onEvent: o.onEvent } : {}),
          ...(o.relistMs ? { relistMs: o.relistMs } : {}),
          ...(o.watchdogMs ? { watchdogMs: o.watchdogMs } : {}),
          ...(o.optional ? { optional: true } : {}),
        }),
      ]),
    );
  }

  get kind(): string {
    return this.o.type.kind;
  }

  private reflectorFor(namespace: string | undefined): Reflector | undefined {
    return this.reflectors.get(namespace ?? '') ?? this.reflectors.get('');
  }

  start(): void {
    for (const r of this.reflectors.values()) r.start();
  }

  stop(): void {
    for (const r of this.reflectors.values()) r.stop();
  }

  relist(): void {
    for (const r of this.reflectors.values()) r.relist();
  }

  get synced(): Promise<void> {
    return Promise.all([...this.reflectors.values()].map((r) => r.synced)).then(() => undefined);
  }

  get isSynced(): boolean {
    return [...this.reflectors.values()].every((r) => r.isSynced);
  }

  /** The last list/watch error of a reflector not synced yet, if any. */
  get lastError(): string | undefined {
    return [...this.reflectors.values()].find((r) => !r.isSynced && r.lastError)?.lastError;
  }

  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.reflectorFor(namespace)?.get(namespace, name);
  }

  list(filter?: (o: KubeObject) => boolean): KubeObject[] {
    return [...this.reflectors.values()].flatMap((r) => r.list(filter));
  }

  /** Objects in `namespace` whose label `label` is `value`, from an index (see Reflector.listByLabel). */
  listByLabel(namespace: string | undefined, label: string, value: string): KubeObject[] {
    return this.reflectorFor(namespace)?.listByLabel(namespace, label, value) ?? [];
  }

  upsert(obj: KubeObject): void {
    this.reflectorFor(obj.metadata.namespace)?.upsert(obj);
  }

  get size(): number {
    let n = 0;
    for (const r of this.reflectors.values()) n += r.cache.size;
    return n;
  }

  get stats(): Reflector['stats'] {
    const out = { lists: 0, watches: 0, relistsOnGone: 0, watchdogRestarts: 0, errors: 0, echoes: 0 };
    for (const r of this.reflectors.values()) for (const k of Object.keys(out) as (keyof typeof out)[]) out[k] += r.stats[k];
    return out;
  }
}
