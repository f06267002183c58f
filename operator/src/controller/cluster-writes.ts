// The apply part of a reconcile: every write the operator makes for one MeetingCluster (children
// applied or created, children pruned, SFU pod deletion costs, status), within the write budget all
// workers share. It decides nothing: the reconciler says what to write, this says how it went.
import type { MeetingClusterStatus } from '../api/types.js';
import { ApiError, isConflict, isNotFound, type Requester } from '../kube/http.js';
import type { Informer } from '../kube/informer.js';
import type { KubeObject, RenderedObject } from '../kube/object.js';
import { MEETING_CLUSTER, POD, missingKindMessage, resourcePath, typeOf } from '../kube/resources.js';
import type { Logger } from '../log.js';
import { applyReason } from './diff.js';
import { sameStatus, statusChanges } from './status.js';
import { ReconcileWrites, WriteBudget, isServerSideFailure, nodePortServicesFirst } from './writes.js';

export const FIELD_MANAGER = 'meet-operator';

export type ChangeVerb = 'Created' | 'Updated' | 'Restored' | 'Pruned';
export interface Change {
  verb: ChangeVerb;
  /** Kind/name of the child. */
  id: string;
}

export const childId = (o: { kind?: string; metadata: { name: string } }): string => `${o.kind}/${o.metadata.name}`;

export interface Caches {
  clusters: Informer;
  /** Informer per child kind. */
  children: Map<string, Informer>;
  /** Our pods (not children: their workloads own them), for the deletion costs and the diagnosis. */
  pods?: Informer;
}

export interface ApplyPlan {
  /** The children as they should be, in rendered order. */
  desired: RenderedObject[];
  /** Generated Secrets that do not exist yet: created with a POST, never applied. */
  createSecrets: readonly string[];
  /** Children left as they are this time (a held SFU scale-down). */
  skip: (o: RenderedObject) => boolean;
}

export interface ApplyOutcome {
  /** What was written, in rendered order. */
  changes: Change[];
  /** Children the server refused, each with why (the cluster's other children were written). */
  errors: string[];
}

/** Thrown when the server failed part-way: `changes` holds what was written before it. */
export class PartialApplyError extends Error {
  constructor(
    override readonly cause: unknown,
    readonly changes: Change[],
  ) {
    super((cause as Error).message);
  }
}

export class ClusterWrites {
  /** Secrets whose creation conflicted: they exist without being in our cache; read them from the API. */
  readonly conflictedSecrets = new Set<string>();

  constructor(
    private readonly http: Requester,
    private readonly caches: Caches,
    private readonly budget: WriteBudget,
  ) {}

  cacheOf(kind: string): Informer {
    const r = this.caches.children.get(kind);
    if (!r) throw new Error(`no cache for ${kind}`);
    return r;
  }

  /**
   * Writes every child that differs from its cached live object, in parallel (node-port Services
   * first: the slowest writes). A child the server refuses is reported and the others still go; a
   * failing server stops the batch (PartialApplyError) and the queue's backoff retries the cluster.
   */
  async apply(plan: ApplyPlan, log: Logger): Promise<ApplyOutcome> {
    const { desired } = plan;
    // Indexed by rendered order, whatever order the answers come in: events, logs and the status
    // message must not change from one reconcile to the next when the same children fail.
    const applied: Change[] = [];
    const failed: string[] = [];
    const tasksOf = (indexes: number[]) => indexes.flatMap((i) => {
      const obj = desired[i]!;
      // Generated Secrets go in the same parallel batch as the other children: no other child holds
      // a credential (they name the Secrets; render.test.ts checks), so a Secret that turns out to
      // exist already (409) leaves nothing else wrongly written.
      if (obj.kind === 'Secret' && plan.createSecrets.includes(obj.metadata.name)) return [() => this.createSecret(obj, log)];
      if (plan.skip(obj)) return [];
      const cache = this.cacheOf(obj.kind);
      const reason = applyReason(obj, cache.get(obj.metadata.namespace, obj.metadata.name));
      if (!reason) return [];
      return [async () => {
        try {
          cache.upsert(await this.serverSideApply(obj, reason === 'drift'));
          applied[i] = { verb: reason === 'create' ? 'Created' : reason === 'drift' ? 'Restored' : 'Updated', id: childId(obj) };
        } catch (e) {
          // The server, not this object, is the problem (down, throttling): stop here and let the
          // queue's per-key backoff retry the whole cluster, instead of trying every child in turn.
          if (isServerSideFailure(e)) throw e;
          // An optional kind itself missing (404 on an apply): say which spec field asked for it.
          const missing = isNotFound(e) ? missingKindMessage(typeOf(obj.kind)) : undefined;
          failed[i] = missing ?? `${childId(obj)}: ${(e as Error).message}`;
        }
      }];
    });
    // A RoleBinding goes once its Role is written: the API server checks a binding against the rules
    // of the Role it names (RBAC escalation prevention), and refuses it (404) while that Role is missing.
    const order = nodePortServicesFirst(desired);
    const isBinding = (i: number) => desired[i]!.kind === 'RoleBinding';
    try {
      const writes = new ReconcileWrites(this.budget);
      await writes.run(tasksOf(order.filter((i) => !isBinding(i))));
      await writes.run(tasksOf(order.filter(isBinding)));
    } catch (e) {
      throw new PartialApplyError(e, applied.filter(Boolean));
    }
    return { changes: applied.filter(Boolean), errors: failed.filter(Boolean) };
  }

  /** Deletes the children this very MeetingCluster owns that are no longer wanted. */
  async prune(namespace: string, owned: KubeObject[], wanted: ReadonlySet<string>): Promise<ApplyOutcome> {
    const out: ApplyOutcome = { changes: [], errors: [] };
    for (const o of owned) {
      if (wanted.has(childId(o)) || o.metadata.deletionTimestamp) continue;
      try {
        await this.write(() => this.http.request('DELETE', resourcePath(typeOf(o.kind!), namespace, o.metadata.name), { query: { propagationPolicy: 'Background' } }));
        out.changes.push({ verb: 'Pruned', id: childId(o) });
      } catch (e) {
        if (!isNotFound(e)) out.errors.push(`prune ${childId(o)}: ${(e as Error).message}`);
      }
    }
    return out;
  }

  /** Sets the count of Deployments left as they run (an SFU slot an upgrade keeps or drains). */
  async scaleKept(namespace: string, counts: { name: string; replicas: number }[]): Promise<ApplyOutcome> {
    const out: ApplyOutcome = { changes: [], errors: [] };
    const cache = this.cacheOf('Deployment');
    for (const { name, replicas } of counts) {
      if (cache.get(namespace, name)?.spec?.replicas === replicas) continue;
      try {
        cache.upsert(await this.write(() => this.http.request('PATCH', resourcePath(typeOf('Deployment'), namespace, name), { contentType: 'application/merge-patch+json', body: { spec: { replicas } }, query: { fieldManager: FIELD_MANAGER } })));
        out.changes.push({ verb: 'Updated', id: `Deployment/${name}` });
      } catch (e) {
        if (!isNotFound(e)) out.errors.push(`scale Deployment/${name} to ${replicas}: ${(e as Error).message}`);
      }
    }
    return out;
  }

  /** Deletes pods with this grace period (the kubelet stops each at its end at the latest). */
  async deletePods(namespace: string, names: readonly string[], gracePeriodSeconds: number): Promise<string[]> {
    const errors: string[] = [];
    for (const name of names) {
      try {
        await this.write(() => this.http.request('DELETE', resourcePath(POD, namespace, name), { body: { kind: 'DeleteOptions', apiVersion: 'v1', gracePeriodSeconds } }));
      } catch (e) {
        if (!isNotFound(e)) errors.push(`delete pod ${name}: ${(e as Error).message}`);
      }
    }
    return errors;
  }

  /** Merge patches on SFU pods (their deletion costs); a pod gone meanwhile needs none. */
  async patchPods(namespace: string, patches: { name: string; patch: object }[]): Promise<string[]> {
    const errors: string[] = [];
    for (const { name, patch } of patches) {
      try {
        await this.write(() => this.http.request('PATCH', resourcePath(POD, namespace, name), { contentType: 'application/merge-patch+json', body: patch, query: { fieldManager: FIELD_MANAGER } }));
      } catch (e) {
        if (!isNotFound(e)) errors.push(`pod ${name} deletion cost: ${(e as Error).message}`);
      }
    }
    return errors;
  }

  /** Writes the status unless it is what the cache already holds. */
  async writeStatus(live: KubeObject, status: MeetingClusterStatus, log: Logger): Promise<void> {
    if (sameStatus(status, live.status)) return;
    // Which fields a write changes: a status that keeps changing on its own shows here first.
    log.debug('status changed', { meetingcluster: `${live.metadata.namespace}/${live.metadata.name}`, fields: statusChanges(status, live.status) });
    const written = await this.write(() =>
      this.http.request('PATCH', resourcePath(MEETING_CLUSTER, live.metadata.namespace, live.metadata.name, 'status'), {
        query: { fieldManager: FIELD_MANAGER, force: true },
        contentType: 'application/apply-patch+yaml',
        body: { apiVersion: MEETING_CLUSTER.apiVersion, kind: MEETING_CLUSTER.kind, metadata: { name: live.metadata.name, namespace: live.metadata.namespace }, status },
      }),
    );
    // Keep the cache current so the next reconcile compares against what was just written.
    this.caches.clusters.upsert(written);
  }

  /**
   * A generated Secret is POSTed, never applied: if it exists after all (another replica, a stale
   * cache), this fails (409) instead of overwriting credentials in use, and the retry reads the
   * existing values.
   */
  private async createSecret(secret: RenderedObject, log: Logger): Promise<void> {
    const namespace = secret.metadata.namespace!;
    try {
      // Runs as a task of a ReconcileWrites batch, already within the write limit.
      this.cacheOf('Secret').upsert(await this.http.request('POST', resourcePath(typeOf('Secret'), namespace), { body: secret, query: { fieldManager: FIELD_MANAGER } }));
    } catch (e) {
      if (isConflict(e)) this.conflictedSecrets.add(`${namespace}/${secret.metadata.name}`);
      throw e;
    }
    log.info('generated credentials', { secret: secret.metadata.name });
  }

  private async serverSideApply(obj: RenderedObject, drifted: boolean): Promise<KubeObject> {
    const path = resourcePath(typeOf(obj.kind), obj.metadata.namespace, obj.metadata.name);
    const ssa = () => this.http.request('PATCH', path, { query: { fieldManager: FIELD_MANAGER, force: true }, contentType: 'application/apply-patch+yaml', body: obj });
    try {
      return await ssa();
    } catch (e) {
      // Someone changed a key of an associative list we own (e.g. a Service port number): apply
      // merges by key, keeps their entry beside ours and the result is invalid (422) forever.
      // Replace our lists with a merge patch, then apply again so ownership is ours as before.
      if (!drifted || !(e instanceof ApiError) || e.status !== 422) throw e;
      const { apiVersion: _a, kind: _k, metadata: _m, ...content } = obj;
      await this.http.request('PATCH', path, { query: { fieldManager: FIELD_MANAGER }, contentType: 'application/merge-patch+json', body: content });
      return ssa();
    }
  }

  /** One write request outside a ReconcileWrites batch, within the same shared budget. */
  private write<T>(request: () => Promise<T>): Promise<T> {
    return this.budget.send(request);
  }
}
