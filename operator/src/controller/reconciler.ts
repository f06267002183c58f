// One reconcile of one MeetingCluster: spec -> defaults -> validation -> render -> apply what
// differs -> prune what is no longer wanted -> status. Level-triggered: it reads the cache and
// converges, whatever event brought the key here. Reads come from the reflectors' caches; the only
// requests are the writes that change something (and a GET for a Secret the cache lacks).
import { LRUCache } from 'lru-cache';
import pLimit, { type LimitFunction } from 'p-limit';
import type { FieldError } from '../api/errors.js';
import type { MeetingCluster, MeetingClusterStatus } from '../api/types.js';
import { validateMeetingCluster } from '../api/validate.js';
import { ApiError, isConflict, isNotFound, type Requester } from '../kube/http.js';
import type { Informer } from '../kube/informer.js';
import type { KubeObject } from '../kube/object.js';
import { MEETING_CLUSTER, POD, resourcePath, typeOf } from '../kube/resources.js';
import type { Logger } from '../log.js';
import type { GeneratedSecrets } from '../render/context.js';
import type { RenderedObject } from '../kube/object.js';
import { ANNOTATION_PAUSED, LABEL_CLUSTER, objectName } from '../api/names.js';
import type { ScalingOutcome } from '../scaling/autoscaler.js';
import { deletionCosts } from '../scaling/deletion-cost.js';
import { scalingReport } from '../scaling/report.js';
import { applyReason, digest, ownerReferenceTo, type OwnerReference } from './diff.js';
import type { EventSink, EventType } from './events.js';
import { ReconcileWrites, WriteBudget, isServerSideFailure, nodePortServicesFirst } from './writes.js';
import { renderChildren, type RenderedChildren } from './render-children.js';
import { readGeneratedSecrets } from './secrets.js';
import { computeStatus, sameStatus } from './status.js';

export const FIELD_MANAGER = 'meet-operator';

export interface Caches {
  clusters: Informer;
  /** Informer per child kind. */
  children: Map<string, Informer>;
  /** SFU pods (not children: the ReplicaSets own them), for the deletion costs. */
  sfuPods?: Informer;
}

/** The autoscaler as the reconciler sees it: the latest outcome per MeetingCluster key. */
export interface ScalingSource {
  outcome(key: string): ScalingOutcome | undefined;
  maxTotalSfuNodes?: number;
}

export interface ReconcilerDeps {
  http: Requester;
  caches: Caches;
  events: EventSink;
  log: Logger;
  scaling?: ScalingSource;
  /** Limit on write requests in flight, shared by every worker (see writes.ts); default: none. */
  writes?: LimitFunction;
  now?: () => Date;
}

const childKey = (o: { kind?: string; metadata: { name: string } }) => `${o.kind}/${o.metadata.name}`;

/**
 * Validation and rendering of one MeetingCluster, kept while what they are computed from stays the
 * same: a cluster is reconciled several times while its workloads report status, and rendering
 * (cdk8s synthesis) is most of a reconcile's CPU. Bounded, so memory does not grow with the fleet.
 */
interface Memo {
  /** uid, generation (spec), labels and annotations: what validation reads. */
  spec: string;
  errors: FieldError[];
  cluster?: MeetingCluster;
  rendered?: RenderedChildren & {
    /** Credentials and SFU replica count: what rendering reads besides the spec. */
    inputs: string;
  };
}
const MEMO_ENTRIES = 128;

/** Ours and still wanted? Only objects this very MeetingCluster owns are ever pruned. */
const ownedBy = (o: KubeObject, uid: string) => o.metadata.ownerReferences?.some((r) => r.uid === uid && r.controller) ?? false;

export class Reconciler {
  /** Secrets whose creation conflicted: they exist without being in our cache; read them from the API. */
  private readonly conflictedSecrets = new Set<string>();
  private readonly memo = new LRUCache<string, Memo>({ max: MEMO_ENTRIES });
  private readonly budget: WriteBudget;

  constructor(private readonly d: ReconcilerDeps) {
    this.budget = new WriteBudget(d.writes ?? pLimit(Number.POSITIVE_INFINITY));
  }

  private cacheOf(kind: string): Informer {
    const r = this.d.caches.children.get(kind);
    if (!r) throw new Error(`no cache for ${kind}`);
    return r;
  }

  async reconcile(key: string): Promise<void> {
    const [namespace, name] = key.split('/') as [string, string];
    const live = this.d.caches.clusters.get(namespace, name);
    // Deleted: owner references let the garbage collector remove every child.
    if (!live || live.metadata.deletionTimestamp) {
      this.memo.delete(key);
      return;
    }
    const log = this.d.log.child({ meetingcluster: key, generation: live.metadata.generation });
    if (live.metadata.annotations?.[ANNOTATION_PAUSED] === 'true') {
      log.debug('paused: not reconciling');
      return;
    }
    const owner = ownerReferenceTo(live);

    const memo = this.validated(key, live);
    const { errors, cluster } = memo;
    if (!cluster) {
      // Nothing running is touched: only the status and an event say what is wrong.
      log.warn('invalid spec; children left untouched', { errors });
      await this.writeStatus(live, computeStatus({ generation: live.metadata.generation ?? 0, previous: live.status, invalid: errors, applyErrors: [], sovereignty: { ok: false, message: '' }, now: this.now() }));
      this.d.events.record(live, 'Warning', 'InvalidSpec', errors.map((e) => `${e.path}: ${e.message}`).join('; '));
      return;
    }

    const { values, missing, used } = await readGeneratedSecrets(this.d.http, { cached: (ns, n) => this.cacheOf('Secret').get(ns, n) }, cluster, this.conflictedSecrets);
    const outcome = this.d.scaling?.outcome(key);
    const sfuName = objectName(cluster, 'sfu');
    const runningSfu = this.cacheOf('Deployment').get(namespace, sfuName)?.spec?.replicas as number | undefined;
    const sfuReplicas = this.sfuReplicas(cluster, runningSfu, outcome);
    const { desired, sovereignty } = this.rendered(memo, cluster, values, used, sfuReplicas, owner);
    const applyErrors: string[] = [];
    const changes: { verb: string; id: string }[] = [];
    // Before the ReplicaSet picks pods to remove, tell it which are emptiest: a scale-down must
    // take the pods without meetings. Costs first; replicas only once our cache shows every cost in
    // place (a later round), so the ReplicaSet controller's cache has them too.
    // (The rendered count, not the outcome's: the renderer also clamps to a just-lowered maxReplicas.)
    const renderedSfu = (desired.find((o) => o.kind === 'Deployment' && o.metadata.name === sfuName) as KubeObject | undefined)?.spec?.replicas;
    const scalingDown = sfuReplicas !== undefined && runningSfu !== undefined && renderedSfu < runningSfu;
    const holdSfu = scalingDown && !(await this.deletionCostsInPlace(namespace, outcome, applyErrors));
    // Indexed by rendered order, whatever order the answers come in: events, logs and the status
    // message must not change from one reconcile to the next when the same children fail.
    const applied: { verb: string; id: string }[] = [];
    const failed: string[] = [];
    // Generated Secrets go in the same parallel batch as the other children: no other child holds
    // a credential (they name the Secrets; render.test.ts checks), so a Secret that turns out to
    // exist already (409) leaves nothing else wrongly written.
    const batch = new ReconcileWrites(this.budget).run(
      nodePortServicesFirst(desired).flatMap((i) => {
        const obj = desired[i]!;
        if (obj.kind === 'Secret' && missing.includes(obj.metadata.name)) return [() => this.createSecret(obj, log)];
        if (holdSfu && obj.kind === 'Deployment' && obj.metadata.name === sfuName) return [];
        const cache = this.cacheOf(obj.kind);
        const reason = applyReason(obj as KubeObject, cache.get(namespace, obj.metadata.name));
        if (!reason) return [];
        return [async () => {
          try {
            const written = await this.apply(obj, reason === 'drift');
            cache.upsert(written);
            applied[i] = { verb: reason === 'create' ? 'Created' : reason === 'drift' ? 'Restored' : 'Updated', id: childKey(obj) };
          } catch (e) {
            // The server, not this object, is the problem (down, throttling): stop here and let the
            // queue's per-key backoff retry the whole cluster, instead of trying every child in turn.
            if (isServerSideFailure(e)) throw e;
            failed[i] = (isNotFound(e) && obj.kind === 'ServiceMonitor'
              // The kind itself is missing (404 on an apply): say which spec field asked for it.
              ? `spec.monitoring.serviceMonitor: ServiceMonitor (monitoring.coreos.com/v1) is not installed in this cluster; install the Prometheus Operator CRDs or set it to false`
              : `${childKey(obj)}: ${(e as Error).message}`);
          }
        }];
      }),
    );
    try {
      await batch;
    } catch (e) {
      // The server failed part-way: what was written before is announced all the same (the retry
      // finds it in place and would not); events go out now, as no status follows.
      this.announceChanges(log, applied.filter(Boolean), (...a) => this.d.events.record(live, ...a));
      throw e;
    }
    changes.push(...applied.filter(Boolean));
    applyErrors.push(...failed.filter(Boolean));

    const wanted = new Set(desired.map(childKey));
    for (const cache of this.d.caches.children.values()) {
      for (const o of cache.listByLabel(namespace, LABEL_CLUSTER, name).filter((o) => ownedBy(o, owner.uid))) {
        if (wanted.has(childKey(o)) || o.metadata.deletionTimestamp) continue;
        try {
          await this.write(() => this.d.http.request('DELETE', resourcePath(typeOf(o.kind!), namespace, o.metadata.name), { query: { propagationPolicy: 'Background' } }));
          changes.push({ verb: 'Pruned', id: childKey(o) });
        } catch (e) {
          if (!isNotFound(e)) applyErrors.push(`prune ${childKey(o)}: ${(e as Error).message}`);
        }
      }
    }

    // Events go out once the status is written: the status is what users and tools wait for, and
    // an Event sent first would queue in front of it at the API server.
    const announcements: [type: EventType, reason: string, message: string][] = [];
    const announce = (type: EventType, reason: string, message: string) => announcements.push([type, reason, message]);
    this.announceChanges(log, changes, announce);
    if (applyErrors.length) announce('Warning', 'ApplyFailed', applyErrors.join('; '));
    const scaledTo = this.cacheOf('Deployment').get(namespace, sfuName)?.spec?.replicas;
    if (sfuReplicas !== undefined && runningSfu !== undefined && scaledTo !== runningSfu) {
      const { minReplicas, maxReplicas } = cluster.spec.autoscaling;
      // The autoscaler's reason, unless the spec's bounds moved before its next round did.
      const why = outcome && outcome.replicas === scaledTo ? outcome.decision.message : `spec.autoscaling allows ${minReplicas}-${maxReplicas} SFU pods`;
      log.info('scaled SFU', { from: runningSfu, to: scaledTo, why });
      announce('Normal', scaledTo > runningSfu ? 'ScaledUp' : 'ScaledDown', `SFU ${runningSfu} -> ${scaledTo} pods: ${why}`);
    }

    const status = computeStatus({
      generation: live.metadata.generation ?? 0,
      previous: live.status,
      cluster,
      sfu: this.cacheOf('Deployment').get(namespace, objectName(cluster, 'sfu')),
      turn: this.cacheOf('Deployment').get(namespace, objectName(cluster, 'turn')),
      redis: this.cacheOf('StatefulSet').get(namespace, objectName(cluster, 'redis')),
      applyErrors,
      scaling: scalingReport(cluster, outcome, this.d.scaling?.maxTotalSfuNodes, live.status),
      sovereignty,
      now: this.now(),
    });
    try {
      await this.writeStatus(live, status);
    } finally {
      for (const [type, reason, message] of announcements) this.d.events.record(live, type, reason, message);
    }
    if (applyErrors.length) throw new Error(`apply failed: ${applyErrors.join('; ')}`);
  }

  /** A log line per changed child and an Event per kind of change. */
  private announceChanges(log: Logger, changes: { verb: string; id: string }[], announce: (type: EventType, reason: string, message: string) => void): void {
    for (const c of changes) log.info(`${c.verb.toLowerCase()} child`, { child: c.id });
    for (const verb of ['Created', 'Updated', 'Restored', 'Pruned']) {
      const ids = changes.filter((c) => c.verb === verb).map((c) => c.id);
      if (ids.length) announce('Normal', verb, `${verb} ${ids.join(', ')}`);
    }
  }

  /** The validated spec, from the memo unless the MeetingCluster's spec or metadata changed. */
  private validated(key: string, live: KubeObject): Memo {
    const { uid, generation, labels, annotations } = live.metadata;
    const spec = digest({ uid, generation, labels, annotations });
    let memo = this.memo.get(key);
    if (memo?.spec !== spec) {
      const { errors, cluster } = validateMeetingCluster(live);
      memo = { spec, errors, ...(cluster ? { cluster } : {}) };
      this.memo.set(key, memo);
    }
    return memo;
  }

  /** The children as applied and the sovereignty audit of them, from the memo when the inputs held. */
  private rendered(memo: Memo, cluster: MeetingCluster, values: GeneratedSecrets, used: (keyof GeneratedSecrets)[], sfuReplicas: number | undefined, owner: OwnerReference): NonNullable<Memo['rendered']> {
    // Only the credentials in use: the others are fresh random placeholders on every call.
    const inputs = digest({ credentials: used.map((k) => values[k]), sfuReplicas: sfuReplicas ?? null });
    if (memo.rendered?.inputs === inputs) return memo.rendered;
    const { desired, sovereignty } = renderChildren(cluster, values, sfuReplicas, owner);
    memo.rendered = { inputs, desired, sovereignty };
    return memo.rendered;
  }

  /**
   * Participants autoscaling owns the count: the autoscaler's outcome, else what runs (the renderer
   * starts new clusters at minReplicas). Other modes: undefined, the renderer decides from the spec.
   */
  private sfuReplicas(mc: MeetingCluster, running: number | undefined, outcome: ScalingOutcome | undefined): number | undefined {
    if (!mc.spec.autoscaling.enabled || mc.spec.autoscaling.metric !== 'participants') return undefined;
    return outcome?.replicas ?? running;
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
      this.cacheOf('Secret').upsert(await this.d.http.request('POST', resourcePath(typeOf('Secret'), namespace), { body: secret, query: { fieldManager: FIELD_MANAGER } }));
    } catch (e) {
      if (isConflict(e)) this.conflictedSecrets.add(`${namespace}/${secret.metadata.name}`);
      throw e;
    }
    log.info('generated credentials', { secret: secret.metadata.name });
  }

  /**
   * True when every SFU pod already carries its controller.kubernetes.io/pod-deletion-cost; else
   * sets the missing ones (the autoscaler's next round brings the scale-down back) and says false.
   */
  private async deletionCostsInPlace(namespace: string, outcome: ScalingOutcome | undefined, errors: string[]): Promise<boolean> {
    const live = outcome?.pods.map((p) => this.d.caches.sfuPods?.get(namespace, p.name)).filter((p): p is KubeObject => !!p) ?? [];
    const patches = deletionCosts(outcome?.pods ?? [], live);
    for (const { name, patch } of patches) {
      try {
        await this.write(() => this.d.http.request('PATCH', resourcePath(POD, namespace, name), { contentType: 'application/merge-patch+json', body: patch, query: { fieldManager: FIELD_MANAGER } }));
      } catch (e) {
        if (!isNotFound(e)) errors.push(`pod ${name} deletion cost: ${(e as Error).message}`);
      }
    }
    return patches.length === 0;
  }

  /** One write request outside a ReconcileWrites batch, within the same shared budget. */
  private write<T>(request: () => Promise<T>): Promise<T> {
    return this.budget.send(request);
  }

  private now(): string {
    return (this.d.now?.() ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  private async apply(obj: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }, drifted = false): Promise<KubeObject> {
    const path = resourcePath(typeOf(obj.kind), obj.metadata.namespace, obj.metadata.name);
    const ssa = () => this.d.http.request('PATCH', path, { query: { fieldManager: FIELD_MANAGER, force: true }, contentType: 'application/apply-patch+yaml', body: obj });
    try {
      return await ssa();
    } catch (e) {
      // Someone changed a key of an associative list we own (e.g. a Service port number): apply
      // merges by key, keeps their entry beside ours and the result is invalid (422) forever.
      // Replace our lists with a merge patch, then apply again so ownership is ours as before.
      if (!drifted || !(e instanceof ApiError) || e.status !== 422) throw e;
      const { apiVersion: _a, kind: _k, metadata: _m, ...content } = obj as Record<string, unknown>;
      await this.d.http.request('PATCH', path, { query: { fieldManager: FIELD_MANAGER }, contentType: 'application/merge-patch+json', body: content });
      return ssa();
    }
  }

  private async writeStatus(live: KubeObject, status: MeetingClusterStatus): Promise<void> {
    if (sameStatus(status, live.status)) return;
    const written = await this.write(() =>
      this.d.http.request('PATCH', resourcePath(MEETING_CLUSTER, live.metadata.namespace, live.metadata.name, 'status'), {
        query: { fieldManager: FIELD_MANAGER, force: true },
        contentType: 'application/apply-patch+yaml',
        body: { apiVersion: MEETING_CLUSTER.apiVersion, kind: MEETING_CLUSTER.kind, metadata: { name: live.metadata.name, namespace: live.metadata.namespace }, status },
      }),
    );
    // Keep the cache current so the next reconcile compares against what was just written.
    this.d.caches.clusters.upsert(written);
  }
}
