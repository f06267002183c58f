// One reconcile of one MeetingCluster, as a path to read top to bottom: spec (validated once, shared
// with the autoscaler) -> credentials -> the SFU count handed over by the autoscaler -> render and
// audit -> apply what differs -> prune what is no longer wanted -> status and events. Level-
// triggered: it reads the caches and converges, whatever event brought the key here. Each concern
// has its own part: cluster-writes.ts (every write), sfu-handoff.ts (scaling), status.ts (status),
// secrets.ts (credentials); this file decides the order and what each is given.
import { LRUCache } from 'lru-cache';
import pLimit, { type LimitFunction } from 'p-limit';
import { ANNOTATION_CONNECTIVITY, ANNOTATION_PAUSED, ANNOTATION_SFU_REVISION, ANNOTATION_UPGRADE_NOW, LABEL_CLUSTER, LABEL_COMPONENT, LABEL_INSTANCE, objectName, turnTlsSecretName } from '../api/names.js';
import { formatFieldError, type FieldError } from '../api/errors.js';
import type { MeetingCluster, MeetingClusterStatus, TurnCertificateStatus } from '../api/types.js';
import { ValidatedSpecs } from '../api/validated.js';
import type { Requester } from '../kube/http.js';
import type { KubeObject } from '../kube/object.js';
import type { Logger } from '../log.js';
import type { ScalingOutcome } from '../scaling/autoscaler.js';
import type { GeneratedSecrets, OperatorPeer, RenderOptions } from '../render/context.js';
import { otherSlot, servingSlot, SFU_SLOTS, slotDeploymentName, slotObjectIds, slotOfPod, type SfuSlot } from '../render/sfu-slot.js';
import { scalingReport } from './scaling-status.js';
import { childId, ClusterWrites, PartialApplyError, type ApplyOutcome, type Caches, type Change } from './cluster-writes.js';
import { desiredState, type DesiredState } from './desired.js';
import { paceHelpers, type HeldHelper } from './helper-pacing.js';
import { claimCause, claimsOf, componentCause, waitsForClaims, type Cause } from './diagnosis.js';
import { digest, ownerReferenceTo, type OwnerReference } from './diff.js';
import type { EventSink, EventType } from './events.js';
import { DONE, isTerminal, type ReconcileResult } from './result.js';
import { readGeneratedSecrets } from './secrets.js';
import { deletionCostsBeforeScaleDown, handedOverReplicas, scaleAnnouncement, type ScalingSource } from './sfu-handoff.js';
import { computeStatus, newCauses, type Causes } from './status.js';
import { planSfuUpgrade, UPGRADE_CONDITION, type SlotView, type UpgradeStep } from './sfu-upgrade.js';
import { CertificateError, readTurnCertificate, type TurnCertificate } from './turn-certificate.js';
import { isServerSideFailure, WriteBudget } from './writes.js';
import { parseConnectivity } from '../api/connectivity.js';
import type { OperatorMetrics } from './metrics.js';

export { FIELD_MANAGER, type Caches } from './cluster-writes.js';
export type { ScalingSource } from './sfu-handoff.js';

export interface ReconcilerDeps {
  http: Requester;
  caches: Caches;
  events: EventSink;
  log: Logger;
  /** Validated specs, shared with the autoscaler (default: the reconciler's own). */
  specs?: ValidatedSpecs;
  scaling?: ScalingSource;
  /** Limit on write requests in flight, shared by every worker (see writes.ts); default: none. */
  writes?: LimitFunction;
  now?: () => Date;
  /** Where each MeetingCluster's status goes as Prometheus series (metrics.ts). */
  metrics?: Pick<OperatorMetrics, 'observeCluster' | 'forgetCluster'>;
  /** The operator's pods, let through each managed Redis's NetworkPolicy (--operator-pod-labels). */
  operatorPeer?: OperatorPeer;
  /** The operator's own image: spec.checks runs `meet-operator check` in it (--operator-image). */
  operatorImage?: string;
}

/**
 * A held scale-down comes back this soon: by then the pod informer has seen the deletion costs just
 * set, and so, most likely, has the ReplicaSet controller that picks the pods to remove.
 */
export const DELETION_COST_RECHECK_MS = 2000;
/** A held Redis or coturn change is looked at again this soon (their workloads' events usually come first). */
const HELD_HELPER_RECHECK_MS = 10_000;

/**
 * The children and their audit, kept while what they are computed from stays the same: a cluster is
 * reconciled several times while its workloads report status, and rendering (cdk8s synthesis) is
 * most of a reconcile's CPU. Bounded, so memory does not grow with the fleet.
 */
interface Rendered extends DesiredState {
  cluster: MeetingCluster;
  /** Credentials in use and the handed-over SFU count: what rendering reads besides the spec. */
  inputs: string;
}
const RENDERED_ENTRIES = 128;
/** A cluster converging reconciles several times within seconds: one read of its TURN certificate serves them. */
const CERTIFICATE_READ_TTL_MS = 10_000;

type Announce = (type: EventType, reason: string, message: string) => void;

/** What one reconcile will write, decided before any write. */
interface Plan extends DesiredState {
  cluster: MeetingCluster;
  /** Generated Secrets to create (the others exist and were read). */
  createSecrets: string[];
  outcome: ScalingOutcome | undefined;
  /** spec.replicas of the serving SFU Deployment in the cache, before this reconcile. */
  runningSfu: number | undefined;
  /** What this reconcile does with the two SFU slots (sfu-upgrade.ts). */
  upgrade: UpgradeStep;
  /** The SFU Deployment applied from the spec (none while an upgrade keeps every slot as it runs). */
  sfuName: string | undefined;
  /** Deployments and ConfigMaps of the slots kept as they run: not applied, not pruned. */
  keptIds: string[];
  /** The TURN server's TLS certificate, when it terminates TLS and its Secret exists. */
  turnCertificate?: TurnCertificateStatus;
  /** Deletion costs still to set before the SFU count may go down. */
  deletionCosts: { name: string; patch: object }[];
  /** Leave the SFU Deployment's count as it is this time: its pods' costs are not in place yet. */
  holdSfu: boolean;
  /** Redis or coturn changes that wait for the other's restart (helper-pacing.ts): left as they run. */
  held: HeldHelper[];
}

/** Ours and still wanted? Only objects this very MeetingCluster owns are ever pruned. */
const ownedBy = (o: KubeObject, uid: string) => o.metadata.ownerReferences?.some((r) => r.uid === uid && r.controller) ?? false;

export class Reconciler {
  private readonly rendered = new LRUCache<string, Rendered>({ max: RENDERED_ENTRIES });
  /** The TURN certificate last read per cluster and Secret name. */
  private readonly certificates = new LRUCache<string, { cert?: TurnCertificate }>({ max: RENDERED_ENTRIES, ttl: CERTIFICATE_READ_TTL_MS });
  private readonly specs: ValidatedSpecs;
  private readonly writes: ClusterWrites;

  constructor(private readonly d: ReconcilerDeps) {
    this.specs = d.specs ?? new ValidatedSpecs();
    this.writes = new ClusterWrites(d.http, d.caches, new WriteBudget(d.writes ?? pLimit(Number.POSITIVE_INFINITY)));
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace, name] = key.split('/') as [string, string];
    const live = this.d.caches.clusters.get(namespace, name);
    // Deleted: owner references let the garbage collector remove every child.
    if (!live || live.metadata.deletionTimestamp) {
      for (const slot of SFU_SLOTS) this.rendered.delete(`${key}#${slot}`);
      for (const k of [...this.certificates.keys()]) if (k.startsWith(`${key}#`)) this.certificates.delete(k);
      this.specs.forget(key);
      this.d.metrics?.forgetCluster(namespace, name);
      return DONE;
    }
    const log = this.d.log.child({ meetingcluster: key, generation: live.metadata.generation });
    if (live.metadata.annotations?.[ANNOTATION_PAUSED] === 'true') {
      log.debug('paused: not reconciling');
      return DONE;
    }
    const { errors, cluster } = this.specs.of(live);
    if (!cluster) return this.reportInvalid(live, errors, log);
    const plan = await this.plan(key, live, cluster, log);
    const written = await this.converge(live, plan, log);
    await this.report(live, plan, written, log);
    if (written.errors.length) throw new Error(`apply failed: ${written.errors.join('; ')}`);
    const after = [plan.holdSfu ? DELETION_COST_RECHECK_MS : undefined, plan.held.length ? HELD_HELPER_RECHECK_MS : undefined, plan.upgrade.requeueAfterMs].filter((n): n is number => n !== undefined);
    return after.length ? { requeueAfterMs: Math.min(...after) } : DONE;
  }

  /** What this reconcile will write: the credentials, the SFU count handed over, the children and their audit. */
  private async plan(key: string, live: KubeObject, cluster: MeetingCluster, log: Logger): Promise<Plan> {
    let credentials: Awaited<ReturnType<typeof readGeneratedSecrets>>;
    try {
      credentials = await readGeneratedSecrets(this.d.http, { cached: (ns, n) => this.writes.cacheOf('Secret').get(ns, n) }, cluster, this.writes.conflictedSecrets);
    } catch (e) {
      if (isTerminal(e)) await this.reportTerminal(live, cluster, e.message);
      throw e;
    }
    const outcome = this.d.scaling?.outcome(key);
    const slots = this.slotsOf(cluster);
    const runningSfu = slots[servingSlot({ a: slots.a.deployment, b: slots.b.deployment })].deployment?.spec?.replicas as number | undefined;
    const handedOver = handedOverReplicas(cluster, runningSfu, outcome);
    const turnCertificate = await this.turnCertificateOf(key, cluster, log);
    const render = (slot: SfuSlot) => this.desired(key, cluster, credentials.values, credentials.used, handedOver, turnCertificate?.digest, ownerReferenceTo(live), slot);
    const base = render('a');
    const replicasIn = (d: DesiredState, slot: SfuSlot) => d.children.find((o) => o.kind === 'Deployment' && o.metadata.name === slotDeploymentName(cluster, slot))?.spec?.replicas as number | undefined;
    const upgrade = planSfuUpgrade({
      mc: cluster,
      revision: base.sfuRevision,
      slots,
      wanted: replicasIn(base, 'a') ?? runningSfu ?? 1,
      participants: (pod) => [...(outcome?.pods ?? []), ...(outcome?.draining ?? [])].find((p) => p.name === pod)?.participants,
      ...(outcome?.oldestDraining ? { oldestMeeting: outcome.oldestDraining } : {}),
      upgradeNow: live.metadata.annotations?.[ANNOTATION_UPGRADE_NOW] === 'true',
      previous: live.status?.conditions?.find((c: { type: string }) => c.type === UPGRADE_CONDITION),
      now: Date.parse(this.now()),
    });
    const desired = upgrade.apply === 'b' ? render('b') : base;
    // Only the applied slot's Deployment and config come from the spec; a kept slot stays as it runs.
    const foreignSlotIds = new Set(SFU_SLOTS.filter((s) => s !== upgrade.apply).flatMap((s) => slotObjectIds(cluster, s)));
    const children = desired.children.filter((o) => !foreignSlotIds.has(childId(o)));
    const sfuName = upgrade.apply && slotDeploymentName(cluster, upgrade.apply);
    // Costs first; replicas only once our cache shows every cost in place (a requeue shortly), so
    // the ReplicaSet controller's cache has them too.
    const deletionCosts = upgrade.apply
      ? deletionCostsBeforeScaleDown(replicasIn(desired, upgrade.apply), slots[upgrade.apply].deployment?.spec?.replicas, outcome, (pod) => this.d.caches.pods?.get(cluster.metadata.namespace, pod))
      : [];
    return {
      cluster,
      children,
      sovereignty: desired.sovereignty,
      sfuRevision: desired.sfuRevision,
      createSecrets: credentials.missing,
      outcome,
      runningSfu,
      deletionCosts,
      holdSfu: deletionCosts.length > 0,
      upgrade,
      sfuName,
      ...(turnCertificate ? { turnCertificate: turnCertificate.status } : {}),
      keptIds: upgrade.keep.flatMap((k) => slotObjectIds(cluster, k.slot)),
      held: paceHelpers(children, (o) => this.writes.cacheOf(o.kind!).get(cluster.metadata.namespace, o.metadata.name)),
    };
  }

  /** Writes the plan: deletion costs, then every child that differs, then prunes what is no longer wanted. */
  private async converge(live: KubeObject, plan: Plan, log: Logger): Promise<ApplyOutcome> {
    const { namespace, name, uid } = { ...live.metadata, uid: live.metadata.uid! };
    const { sfuName } = plan;
    const errors = await this.writes.patchPods(namespace!, plan.deletionCosts);
    let applied: ApplyOutcome;
    try {
      const heldIds = new Set(plan.held.flatMap((h) => h.ids));
      applied = await this.writes.apply({ desired: plan.children, createSecrets: plan.createSecrets, skip: (o) => (plan.holdSfu && o.kind === 'Deployment' && o.metadata.name === sfuName) || heldIds.has(childId(o)) }, log);
    } catch (e) {
      if (!(e instanceof PartialApplyError)) throw e;
      // The server failed part-way: what was written before is announced all the same (the retry
      // finds it in place and would not); events go out now, as no status follows.
      this.announceChanges(log, e.changes, (...a) => this.d.events.record(live, ...a));
      throw e.cause;
    }
    // Old pods signalled with the deadline as grace period before their slot goes to 0 (whose
    // ReplicaSet would otherwise delete them with drainSeconds first).
    const { signal } = plan.upgrade;
    const signalled = signal ? await this.writes.deletePods(namespace!, signal.pods, signal.gracePeriodSeconds) : [];
    const kept = await this.writes.scaleKept(namespace!, plan.upgrade.keep.map((k) => ({ name: slotDeploymentName(plan.cluster, k.slot), replicas: k.replicas })));
    const owned = [...this.d.caches.children.values()].flatMap((c) => c.listByLabel(namespace, LABEL_CLUSTER, name).filter((o) => ownedBy(o, uid)));
    const pruned = await this.writes.prune(namespace!, owned, new Set([...plan.children.map(childId), ...plan.keptIds]));
    return { changes: [...applied.changes, ...kept.changes, ...pruned.changes], errors: [...errors, ...applied.errors, ...signalled, ...kept.errors, ...pruned.errors] };
  }

  /** Status, then the events of what changed (an Event sent first would queue in front of the status users wait for). */
  private async report(live: KubeObject, plan: Plan, written: ApplyOutcome, log: Logger): Promise<void> {
    const { cluster, outcome } = plan;
    const announcements: Parameters<Announce>[] = [];
    const announce: Announce = (...a) => void announcements.push(a);
    this.announceChanges(log, written.changes, announce);
    if (written.errors.length) announce('Warning', 'ApplyFailed', written.errors.join('; '));
    // A count moved on the Deployment that was already serving (an upgrade's new slot starts from nothing).
    const sfu = plan.sfuName ? this.writes.cacheOf('Deployment').get(cluster.metadata.namespace, plan.sfuName) : undefined;
    const scaled = plan.upgrade.condition.status === 'False' ? scaleAnnouncement(cluster, outcome, plan.runningSfu, sfu?.spec?.replicas) : undefined;
    if (scaled) {
      log.info('scaled SFU', { from: plan.runningSfu, to: sfu?.spec?.replicas, why: scaled.why });
      announce('Normal', scaled.reason, scaled.message);
    }
    for (const h of plan.held) {
      log.info('helper change waits', { helper: h.helper, behind: h.behind });
      announce('Normal', 'ChangeQueued', h.message);
    }
    for (const e of plan.upgrade.events) {
      log.info('SFU upgrade', { reason: e.reason, message: e.message });
      announce(e.type, e.reason, e.message);
    }
    const causes = await this.causesOf(cluster, log);
    // describe shows why a component waits: an Event when a cause appears (status carries it after).
    for (const cause of newCauses(live.status, causes)) announce('Warning', cause.reason, cause.message);
    const status = computeStatus({
      ...this.workloadsOf(cluster),
      causes,
      generation: live.metadata.generation ?? 0,
      previous: live.status,
      cluster,
      applyErrors: written.errors,
      scaling: scalingReport(cluster, outcome, this.d.scaling?.maxTotalSfuNodes, live.status),
      ...connectivityOf(live),
      ...(cluster.spec.checks ? { checks: { scheduled: Boolean(this.d.operatorImage) } } : {}),
      ...(plan.turnCertificate ? { turnCertificate: plan.turnCertificate } : {}),
      sovereignty: plan.sovereignty,
      // New pods that do not start (a bad image, say) hold the upgrade, not the SFU: say why there.
      upgrade: plan.upgrade.condition.reason === 'StartingNewPods' && causes.sfu ? { ...plan.upgrade.condition, message: `${plan.upgrade.condition.message}: ${causes.sfu.message}` } : plan.upgrade.condition,
      now: this.now(),
    });
    try {
      await this.publish(live, status, cluster);
    } finally {
      for (const a of announcements) this.d.events.record(live, ...a);
    }
  }

  /** Nothing running is touched: only the status and an event say what is wrong. */
  private async reportInvalid(live: KubeObject, errors: FieldError[], log: Logger): Promise<ReconcileResult> {
    log.warn('invalid spec; children left untouched', { errors });
    await this.publish(live, computeStatus({ generation: live.metadata.generation ?? 0, previous: live.status, invalid: errors, applyErrors: [], sovereignty: { ok: false, message: '' }, now: this.now() }));
    this.d.events.record(live, 'Warning', 'InvalidSpec', errors.map(formatFieldError).join('; '));
    return DONE;
  }

  /** A problem only a person can fix: status and a Warning event say what to do; nothing is written. */
  private async reportTerminal(live: KubeObject, cluster: MeetingCluster, message: string): Promise<void> {
    const sovereign = live.status?.conditions?.find((c: { type: string }) => c.type === 'Sovereign');
    await this.publish(live, computeStatus({
      ...this.workloadsOf(cluster),
      generation: live.metadata.generation ?? 0,
      previous: live.status,
      cluster,
      applyErrors: [message],
      sovereignty: { ok: sovereign?.status === 'True', message: sovereign?.message ?? '' },
      now: this.now(),
    }), cluster);
    this.d.events.record(live, 'Warning', 'ApplyFailed', message);
  }

  /** Writes the status, and exports it as series once written (what alerts read is what kubectl shows). */
  private async publish(live: KubeObject, status: MeetingClusterStatus, cluster?: MeetingCluster): Promise<void> {
    await this.writes.writeStatus(live, status, this.d.log);
    // The participants autoscaler's bounds (an HPA's are its own).
    const a = cluster?.spec.autoscaling;
    const bounds = a?.enabled && a.metric === 'participants' ? { maxSfuPods: a.maxReplicas, targetParticipantsPerPod: a.targetParticipantsPerNode } : undefined;
    this.d.metrics?.observeCluster(live.metadata.namespace!, live.metadata.name, status, bounds, connectivityOf(live).connectivity);
  }

  /**
   * The TURN certificate, read again once its last read is CERTIFICATE_READ_TTL_MS old (a renewal is
   * noticed within --resync-seconds). One that cannot be read is logged and left out: the pods that
   * mount it say the rest.
   */
  private async turnCertificateOf(clusterKey: string, cluster: MeetingCluster, log: Logger): Promise<TurnCertificate | undefined> {
    const key = `${clusterKey}#${turnTlsSecretName(cluster) ?? ''}`;
    const hit = this.certificates.get(key);
    if (hit) return hit.cert;
    try {
      const cert = await readTurnCertificate(this.d.http, cluster);
      this.certificates.set(key, cert ? { cert } : {});
      return cert;
    } catch (e) {
      if (isServerSideFailure(e) && !(e instanceof CertificateError)) throw e;
      log.warn('cannot read the TURN certificate', { error: e instanceof Error ? e.message : String(e) });
      this.certificates.set(key, {});
      return undefined;
    }
  }

  /** Why each component's pods are not ready (diagnosis.ts); a claim's Events are read only while a pod waits for it. */
  private async causesOf(cluster: MeetingCluster, log: Logger): Promise<Causes> {
    const ns = cluster.metadata.namespace;
    const pods = this.d.caches.pods?.listByLabel(ns, LABEL_INSTANCE, cluster.metadata.name) ?? [];
    const claims = new Map<string, Cause>();
    for (const claim of new Set(pods.filter(waitsForClaims).flatMap(claimsOf))) {
      const selector = encodeURIComponent(`involvedObject.kind=PersistentVolumeClaim,involvedObject.name=${claim}`);
      try {
        const events = await this.d.http.request('GET', `/api/v1/namespaces/${ns}/events?fieldSelector=${selector}`);
        claims.set(claim, claimCause(claim, events.items ?? [], 'spec.redis.storage.storageClassName'));
      } catch (e) {
        // The scheduler's own message still stands; only the claim's detail is missing.
        log.debug('cannot read the events of a claim', { claim, error: e instanceof Error ? e.message : String(e) });
      }
    }
    const causes: Causes = {};
    for (const component of ['sfu', 'turn', 'redis'] as const) {
      const cause = componentCause(pods.filter((p) => p.metadata.labels?.[LABEL_COMPONENT] === component), (c) => claims.get(c));
      if (cause) causes[component] = cause;
    }
    return causes;
  }

  /** Each SFU slot's Deployment in the cache. */
  private slotDeployments(cluster: MeetingCluster): Record<SfuSlot, KubeObject | undefined> {
    const get = (slot: SfuSlot) => this.writes.cacheOf('Deployment').get(cluster.metadata.namespace, slotDeploymentName(cluster, slot));
    return { a: get('a'), b: get('b') };
  }

  /** Both SFU slots as they run: Deployment, pods (Terminating ones too) and the revision they run. */
  private slotsOf(cluster: MeetingCluster): Record<SfuSlot, SlotView> {
    const ns = cluster.metadata.namespace;
    const pods = (this.d.caches.pods?.listByLabel(ns, LABEL_INSTANCE, cluster.metadata.name) ?? []).filter((p) => p.metadata.labels?.[LABEL_COMPONENT] === 'sfu');
    const deployments = this.slotDeployments(cluster);
    const view = (slot: SfuSlot): SlotView => {
      const deployment = deployments[slot];
      const revision = deployment?.metadata.annotations?.[ANNOTATION_SFU_REVISION];
      return { ...(deployment ? { deployment } : {}), ...(revision ? { revision } : {}), pods: pods.filter((p) => slotOfPod(p) === slot) };
    };
    return { a: view('a'), b: view('b') };
  }

  /** The live workloads status reads, from the caches. */
  private workloadsOf(cluster: MeetingCluster): { sfu?: KubeObject; sfuPods?: { replicas: number; readyReplicas: number }; turn?: KubeObject; redis?: KubeObject } {
    const ns = cluster.metadata.namespace;
    const deployments = this.slotDeployments(cluster);
    const serving = servingSlot(deployments);
    const old = deployments[otherSlot(serving)];
    // The old slot answers for the SFU until its pods are signalled; the new one after.
    const sfu = old && (old.spec?.replicas ?? 0) > 0 ? old : deployments[serving];
    const sum = (field: string) => SFU_SLOTS.reduce((n, s) => n + ((deployments[s]?.status?.[field] as number | undefined) ?? 0), 0);
    return {
      ...(sfu ? { sfu } : {}),
      sfuPods: { replicas: sum('replicas'), readyReplicas: sum('readyReplicas') },
      turn: this.writes.cacheOf('Deployment').get(ns, objectName(cluster, 'turn')),
      redis: this.writes.cacheOf('StatefulSet').get(ns, objectName(cluster, 'redis')),
    };
  }

  /** A log line per changed child and an Event per kind of change. */
  private announceChanges(log: Logger, changes: Change[], announce: Announce): void {
    for (const c of changes) log.info(`${c.verb.toLowerCase()} child`, { child: c.id });
    for (const verb of ['Created', 'Updated', 'Restored', 'Pruned'] as const) {
      const ids = changes.filter((c) => c.verb === verb).map((c) => c.id);
      if (ids.length) announce('Normal', verb, `${verb} ${ids.join(', ')}`);
    }
  }

  /** The children as applied (rendered, owned, stamped with their digest) and the audit of exactly those. */
  private desired(key: string, cluster: MeetingCluster, values: GeneratedSecrets, used: (keyof GeneratedSecrets)[], autoscaledReplicas: number | undefined, turnTlsRevision: string | undefined, owner: OwnerReference, slot: SfuSlot): Rendered {
    // Only the credentials in use: the others are fresh random placeholders on every call.
    const inputs = digest({ credentials: used.map((k) => values[k]), autoscaledReplicas: autoscaledReplicas ?? null, turnTlsRevision: turnTlsRevision ?? null });
    // One entry per slot: an upgrade renders both on every reconcile until it ends.
    const hit = this.rendered.get(`${key}#${slot}`);
    if (hit?.cluster === cluster && hit.inputs === inputs) return hit;
    const options: RenderOptions = {
      sfuSlot: slot,
      ...(autoscaledReplicas === undefined ? {} : { autoscaledReplicas }),
      ...(this.d.operatorPeer ? { operatorPeer: this.d.operatorPeer } : {}),
      ...(this.d.operatorImage ? { operatorImage: this.d.operatorImage } : {}),
      ...(turnTlsRevision ? { turnTlsRevision } : {}),
    };
    const entry = { cluster, inputs, ...desiredState(cluster, values, owner, options) };
    this.rendered.set(`${key}#${slot}`, entry);
    return entry;
  }

  private now(): string {
    return (this.d.now?.() ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }
}

/** The last `meet-operator check --report` of this cluster, when its annotation reads as one. */
function connectivityOf(live: KubeObject): { connectivity?: NonNullable<ReturnType<typeof parseConnectivity>> } {
  const c = parseConnectivity(live.metadata.annotations?.[ANNOTATION_CONNECTIVITY]);
  return c ? { connectivity: c } : {};
}
