// The autoscaler loop (leader only): every interval, scrape the SFU pods of every MeetingCluster
// in participants mode, decide (decide.ts), share the fleet budget (share.ts), and hand each
// cluster whose outcome changed to the work queue. It writes nothing itself: the reconciler applies
// the replicas (after the deletion costs) and reports the outcome in status, so every write to the
// cluster goes through one place.
import { scalingMode } from '../api/autoscaling.js';
import type { MeetingCluster } from '../api/types.js';
import { ValidatedSpecs } from '../api/validated.js';
import type { Informer } from '../kube/informer.js';
import type { KubeObject } from '../kube/object.js';
import { objectKey } from '../kube/resources.js';
import type { Logger } from '../log.js';
import { ANNOTATION_PAUSED, LABEL_COMPONENT, LABEL_INSTANCE } from '../api/names.js';
import { servingSlot, slotDeploymentName } from '../render/sfu-slot.js';
import { decide, type Decision, type PodLoad, type ScalingState } from './decide.js';
import { mapLimited, scrapePod, sfuMetricsPort, type PodMetrics } from './reader.js';
import type { OldestMeeting } from './livekit-rooms.js';
import { shareCapacity, type Claim } from './share.js';

export interface ScalingOutcome {
  decision: Decision;
  /** Replicas to run: the decision, within the fleet budget. */
  replicas: number;
  /** What the budget could not give (0 without --max-total-sfu-nodes). */
  shortfall: number;
  /** Load of each running pod, for the deletion costs. */
  pods: PodLoad[];
  /** Load of each draining pod (Terminating, still serving its meetings): reported, never decided on. */
  draining?: PodLoad[];
  /** The oldest meeting still on a draining pod, where LiveKit's Redis state could be read. */
  oldestDraining?: OldestMeeting;
}

export interface AutoscalerOptions {
  clusters: Informer;
  pods: Informer;
  deployments: Informer;
  intervalMs: number;
  scrapeTimeoutMs: number;
  /** --max-total-sfu-nodes: SFU pods all participants-mode clusters may run together. */
  maxTotalSfuNodes?: number;
  log: Logger;
  /** A cluster's outcome changed: reconcile it. */
  onChange: (key: string) => void;
  scrape?: (url: string, timeoutMs: number) => Promise<PodMetrics>;
  onScrapeError?: () => void;
  now?: () => number;
  /** Validated specs, shared with the reconciler (default: the autoscaler's own). */
  specs?: ValidatedSpecs;
  /**
   * The oldest meeting on the given LiveKit nodes (node id -> pod), read from the cluster's Redis
   * (livekit-rooms.ts); asked only while SFU pods drain. Without it, none is reported.
   */
  oldestMeeting?: (mc: MeetingCluster, podOfNode: ReadonlyMap<string, string>) => Promise<OldestMeeting | undefined>;
}

interface Candidate {
  key: string;
  mc: MeetingCluster;
  current: number;
  pods: KubeObject[];
  draining: KubeObject[];
}

const SCRAPE_CONCURRENCY = 32;

/** Running, not terminating, with an address: a pod whose metrics can be asked for. */
const scrapable = (p: KubeObject) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp && !!p.status?.podIP;
/** A signalled SFU pod that still runs: LiveKit serves its metrics while it drains. */
const drainingScrapable = (p: KubeObject) => p.status?.phase === 'Running' && !!p.metadata.deletionTimestamp && !!p.status?.podIP;

export const metricsUrl = (podIP: string, port: number) => `http://${podIP.includes(':') ? `[${podIP}]` : podIP}:${port}/metrics`;

export class Autoscaler {
  private readonly outcomes = new Map<string, ScalingOutcome>();
  private readonly states = new Map<string, ScalingState>();
  private readonly specs: ValidatedSpecs;
  /** Previous CPU reading per pod uid, to turn the counter into cores. */
  private readonly cpu = new Map<string, { at: number; seconds: number }>();
  /** Pods whose last scrape failed: warned once, not every round. */
  private readonly unreadable = new Set<string>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(private readonly o: AutoscalerOptions) {
    this.specs = o.specs ?? new ValidatedSpecs();
  }

  outcome(key: string): ScalingOutcome | undefined {
    return this.outcomes.get(key);
  }

  start(): void {
    const tick = async () => {
      if (this.stopped) return;
      this.running = this.round().catch((e) => this.o.log.error('autoscaler round failed', { error: (e as Error).message }));
      await this.running;
      if (!this.stopped) this.timer = setTimeout(tick, this.o.intervalMs);
    };
    void tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One round over every cluster; exposed for tests and benchmarks. */
  async round(): Promise<void> {
    const now = this.o.now?.() ?? Date.now();
    const candidates = this.candidates();
    const seen = new Set(candidates.map((c) => c.key));
    for (const key of [...this.outcomes.keys()]) if (!seen.has(key)) this.forget(key);

    const flat = candidates.flatMap((c) => [...c.pods, ...c.draining].map((pod) => ({ c, pod })));
    const loads = await mapLimited(flat, SCRAPE_CONCURRENCY, ({ c, pod }) => this.load(c.mc, pod, now));
    // flat holds each candidate's pods contiguously, in candidate order: slice them back out.
    let offset = 0;
    const decisions = candidates.map((c) => {
      const pods = loads.slice(offset, (offset += c.pods.length));
      const draining = loads.slice(offset, (offset += c.draining.length));
      const decision = decide({ policy: c.mc.spec.autoscaling, current: c.current, pods, state: this.states.get(c.key), now });
      this.states.set(c.key, decision.state);
      return { c, pods, draining, decision };
    });
    const claims: Claim[] = decisions.map(({ c, decision }) => ({
      key: c.key,
      wanted: decision.replicas,
      minReplicas: c.mc.spec.autoscaling.minReplicas,
      current: c.current,
      load: decision.participants,
    }));
    const grants = shareCapacity(claims, this.o.maxTotalSfuNodes);
    this.pruneCpu(new Set(flat.map(({ pod }) => pod.metadata.uid!)));

    const oldest = await mapLimited(decisions, SCRAPE_CONCURRENCY, ({ c, draining }) => this.oldestDraining(c, draining));
    for (const [i, { c, pods, draining, decision }] of decisions.entries()) {
      const grant = grants.get(c.key)!;
      const oldestDraining = oldest[i];
      const next: ScalingOutcome = { decision, replicas: grant.replicas, shortfall: grant.shortfall, pods, ...(draining.length ? { draining } : {}), ...(oldestDraining ? { oldestDraining } : {}) };
      const previous = this.outcomes.get(c.key);
      this.outcomes.set(c.key, next);
      if (!previous || changed(previous, next) || next.replicas !== c.current) this.o.onChange(c.key);
    }
  }

  /** Clusters in participants mode with an SFU Deployment, and their scrapable SFU pods. */
  private candidates(): Candidate[] {
    const out: Candidate[] = [];
    for (const live of this.o.clusters.list()) {
      if (live.metadata.deletionTimestamp || live.metadata.annotations?.[ANNOTATION_PAUSED] === 'true') continue;
      const mc = this.specs.of(live).cluster;
      if (!mc || scalingMode(mc.spec.autoscaling) !== 'participants') continue;
      // During a side-by-side upgrade the new slot takes the count; the old one only drains.
      const slots = { a: this.o.deployments.get(mc.metadata.namespace, slotDeploymentName(mc, 'a')), b: this.o.deployments.get(mc.metadata.namespace, slotDeploymentName(mc, 'b')) };
      const deployment = slots[servingSlot(slots)];
      if (!deployment) continue;
      const key = objectKey(mc.metadata.namespace, mc.metadata.name);
      // The label index finds this cluster's pods without scanning every SFU pod of the fleet.
      const sfu = this.o.pods.listByLabel(mc.metadata.namespace, LABEL_INSTANCE, mc.metadata.name).filter((p) => p.metadata.labels?.[LABEL_COMPONENT] === 'sfu');
      out.push({ key, mc, current: deployment.spec?.replicas ?? 1, pods: sfu.filter(scrapable), draining: sfu.filter(drainingScrapable) });
    }
    return out;
  }

  private async load(mc: MeetingCluster, pod: KubeObject, now: number): Promise<PodLoad> {
    const name = pod.metadata.name;
    const url = metricsUrl(pod.status.podIP, sfuMetricsPort(pod, mc.spec.sfu.metricsPort));
    try {
      const m = await (this.o.scrape ?? scrapePod)(url, this.o.scrapeTimeoutMs);
      const prev = this.cpu.get(pod.metadata.uid!);
      if (m.cpuSeconds !== undefined) this.cpu.set(pod.metadata.uid!, { at: now, seconds: m.cpuSeconds });
      if (this.unreadable.delete(pod.metadata.uid!)) this.o.log.info('SFU pod metrics readable again', { pod: `${pod.metadata.namespace}/${name}` });
      const cpuCores = prev && m.cpuSeconds !== undefined && now > prev.at ? (m.cpuSeconds - prev.seconds) / ((now - prev.at) / 1000) : undefined;
      return { name, participants: m.participants, rooms: m.rooms, ...(cpuCores === undefined ? {} : { cpuCores: Math.round(cpuCores * 100) / 100 }), ...(m.nodeId ? { nodeId: m.nodeId } : {}) };
    } catch (e) {
      this.o.onScrapeError?.();
      const first = !this.unreadable.has(pod.metadata.uid!);
      this.unreadable.add(pod.metadata.uid!);
      const fields = { pod: `${pod.metadata.namespace}/${name}`, url, error: (e as Error).message };
      if (first) this.o.log.warn('SFU pod metrics unreadable; its load counts as unknown until it answers', fields);
      else this.o.log.debug('SFU pod metrics still unreadable', fields);
      return { name };
    }
  }

  /** The oldest meeting on the draining pods whose node id is known; undefined when unreadable. */
  private async oldestDraining(c: Candidate, draining: PodLoad[]): Promise<OldestMeeting | undefined> {
    const podOfNode = new Map(draining.filter((p) => p.nodeId).map((p) => [p.nodeId!, p.name]));
    if (!this.o.oldestMeeting || podOfNode.size === 0) return undefined;
    try {
      return await this.o.oldestMeeting(c.mc, podOfNode);
    } catch (e) {
      // Reported as unknown (the status then says nothing about it), not as "no meeting".
      this.o.log.debug('LiveKit room placement unreadable', { cluster: c.key, error: (e as Error).message });
      return undefined;
    }
  }

  private forget(key: string): void {
    this.outcomes.delete(key);
    this.states.delete(key);
  }

  private pruneCpu(live: Set<string>): void {
    for (const uid of this.cpu.keys()) if (!live.has(uid)) this.cpu.delete(uid);
    for (const uid of this.unreadable) if (!live.has(uid)) this.unreadable.delete(uid);
  }
}

/** Whether what the status reports (or what runs) would change. */
function changed(a: ScalingOutcome, b: ScalingOutcome): boolean {
  const view = (o: ScalingOutcome) => [o.replicas, o.shortfall, o.decision.reason, o.decision.message, o.decision.participants, o.decision.rooms, o.decision.wanted, (o.draining ?? []).map((p) => `${p.name}:${p.participants}`).join(','), o.oldestDraining ? `${o.oldestDraining.room}@${o.oldestDraining.pod}` : ''].join('|');
  return view(a) !== view(b);
}
