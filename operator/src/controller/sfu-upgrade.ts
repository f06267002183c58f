// Side-by-side SFU upgrades (pure): what a reconcile does with the two SFU slots when the pod
// template the spec asks for (its revision) differs from what the SFU pods run.
//
// LiveKit drains only on SIGTERM, and a draining pod keeps its node's host ports for as long as its
// last meeting lasts. A Deployment's rolling update therefore either waits for a spare node per batch
// or stops taking new meetings on a node for a whole drain. Instead, the new pods start in the idle
// slot (render/sfu-slot.ts: the alternate ports, so beside the old pods on the same nodes), as many
// as the load needs (the autoscaler's count, headroom included). Only once they are all ready are
// the old pods signalled, all together: an upgrade costs one drain period, and ready capacity that
// takes new meetings never drops below the count the load asked for. One upgrade runs at a time: a
// change made meanwhile waits for it to finish, then starts its own.
import type { Condition, MeetingCluster } from '../api/types.js';
import type { KubeObject } from '../kube/object.js';
import { otherSlot, servingSlot, type SfuSlot } from '../render/sfu-slot.js';
import type { EventType } from './events.js';
import type { OldestMeeting } from '../scaling/livekit-rooms.js';

export interface SlotView {
  deployment?: KubeObject;
  /** The slot's pods, Terminating ones included. */
  pods: KubeObject[];
  /** The revision its pods run (its Deployment's annotation, or adopted; see the reconciler). */
  revision?: string;
}

export interface UpgradeInput {
  mc: MeetingCluster;
  /** The revision the spec asks for. */
  revision: string;
  slots: Record<SfuSlot, SlotView>;
  /** The SFU count the spec or the autoscaler wants (what the renderer sets). */
  wanted: number;
  /** Participants per pod name, where the autoscaler read them. */
  participants?: (pod: string) => number | undefined;
  /** The oldest meeting on a draining pod, where the autoscaler read LiveKit's room placement. */
  oldestMeeting?: OldestMeeting;
  /** The MeetingCluster asks to start now, window or not (meet.sovereign.io/upgrade-now). */
  upgradeNow: boolean;
  /** The Upgrading condition last reported (events go out when a step is first reached). */
  previous?: Pick<Condition, 'reason'>;
  now: number;
}

export interface UpgradeStep {
  /** Render and apply this slot from the spec (undefined: no slot may take the spec's template yet). */
  apply?: SfuSlot;
  /** Slots left running as they are: only their count is set (when it differs). */
  keep: { slot: SfuSlot; replicas: number }[];
  /**
   * Old pods to signal before their slot is scaled to 0, with the deadline as their grace period:
   * the kubelet then stops them at the deadline. (It would ignore a second, shorter delete of a pod
   * already stopping: its running kill keeps the first grace period, kubernetes#113606.)
   */
  signal?: { pods: string[]; gracePeriodSeconds: number };
  condition: { status: 'True' | 'False'; reason: string; message: string };
  events: { type: EventType; reason: string; message: string }[];
  requeueAfterMs?: number;
}

export const UPGRADE_CONDITION = 'Upgrading';

/** Ready: every wanted pod exists on the current template and passes readiness. */
export function slotReady(d: KubeObject | undefined): boolean {
  if (!d) return false;
  const want = d.spec?.replicas ?? 1;
  const st = d.status ?? {};
  return (st.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) && (st.readyReplicas ?? 0) >= want && (st.updatedReplicas ?? 0) >= want;
}

const terminating = (p: KubeObject) => !!p.metadata.deletionTimestamp;
const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** When the old pods were signalled: a deletion timestamp is the time of the delete plus the grace period. */
export function signalledAt(pods: KubeObject[]): number | undefined {
  const times = pods.filter(terminating).map((p) => Date.parse(p.metadata.deletionTimestamp!) - (p.metadata.deletionGracePeriodSeconds ?? 0) * 1000);
  return times.length ? Math.min(...times) : undefined;
}

/** Milliseconds until the maintenance window opens (0: open now). */
export function untilWindow(window: { start: string; durationMinutes: number } | undefined, now: number): number {
  if (!window) return 0;
  const [h, m] = window.start.split(':').map(Number) as [number, number];
  const day = 86_400_000;
  const startToday = Math.floor(now / day) * day + (h * 60 + m) * 60_000;
  // The window that opened most recently (today's, or yesterday's when today's is still ahead).
  const opened = startToday <= now ? startToday : startToday - day;
  if (now < opened + window.durationMinutes * 60_000) return 0;
  return opened + day - now;
}

export function planSfuUpgrade(i: UpgradeInput): UpgradeStep {
  const { mc, slots } = i;
  const { upgrade } = mc.spec.sfu;
  const present = { a: slots.a.deployment, b: slots.b.deployment };
  const serving = servingSlot(present);
  const other = otherSlot(serving);
  const old = slots[other];
  const current = slots[serving];
  const events: UpgradeStep['events'] = [];
  const first = (reason: string) => i.previous?.reason !== reason;

  // The Deployment's own rolling update: the serving slot takes the template in place; a slot left
  // from an earlier side-by-side upgrade drains and goes.
  if (upgrade.strategy === 'RollingUpdate') {
    const keep = old.deployment && (old.pods.length || old.deployment.spec?.replicas) ? [{ slot: other, replicas: 0 }] : [];
    return { apply: serving, keep, events, condition: { status: 'False', reason: 'RollingUpdate', message: 'spec.sfu.upgrade.strategy is RollingUpdate: the SFU Deployment rolls its own pods' } };
  }

  if (old.deployment) {
    // An upgrade in flight: `serving` holds the new pods, `other` the old ones.
    const apply = current.revision === i.revision ? serving : undefined;
    const keep: UpgradeStep['keep'] = apply ? [] : [{ slot: serving, replicas: i.wanted }];
    const waiting = apply ? '' : '; a newer change waits for this upgrade to finish';
    const oldReplicas = old.deployment.spec?.replicas ?? 0;
    const live = old.pods.filter((p) => !terminating(p));
    if (oldReplicas > 0 && !slotReady(current.deployment)) {
      const st = current.deployment?.status ?? {};
      keep.push({ slot: other, replicas: oldReplicas });
      const message = `${st.readyReplicas ?? 0}/${current.deployment?.spec?.replicas ?? i.wanted} new SFU pods ready (slot ${serving}); the ${plural(oldReplicas, 'old pod')} keep serving until then${waiting}`;
      return { apply, keep, events, condition: { status: 'True', reason: 'StartingNewPods', message } };
    }
    if (oldReplicas > 0) {
      keep.push({ slot: other, replicas: 0 });
      const { deadlineSeconds } = mc.spec.sfu.upgrade;
      const bound = deadlineSeconds === undefined ? `at most ${mc.spec.sfu.drainSeconds} s` : `at most ${deadlineSeconds} s, spec.sfu.upgrade.deadlineSeconds`;
      const message = `${plural(current.deployment?.spec?.replicas ?? 0, 'new SFU pod')} ready: signalling the ${plural(live.length, 'old pod')} together; each drains until its last meeting ends (${bound})`;
      events.push({ type: 'Normal', reason: 'UpgradeDraining', message });
      const signal = deadlineSeconds === undefined ? {} : { signal: { pods: live.map((p) => p.metadata.name), gracePeriodSeconds: deadlineSeconds } };
      return { apply, keep, ...signal, events, condition: { status: 'True', reason: 'DrainingOldPods', message: message + waiting } };
    }
    if (old.pods.length === 0) {
      // The old slot is empty: its Deployment and config go (not kept, so pruned).
      if (first('UpgradeComplete')) events.push({ type: 'Normal', reason: 'UpgradeComplete', message: `every SFU pod runs the new template (slot ${serving}); the old slot is removed` });
      return { apply, keep, events, condition: { status: 'False', reason: 'UpgradeComplete', message: `SFU pods run the current spec (slot ${serving})${waiting}` } };
    }
    return { ...draining(i, old.pods, other, waiting), apply, keep: [...keep, { slot: other, replicas: 0 }] };
  }

  if (current.revision === i.revision || !current.deployment) {
    // The last upgrade stays on record (with its transition time) until the next change.
    const reason = i.previous?.reason === 'UpgradeComplete' ? 'UpgradeComplete' : 'UpToDate';
    return { apply: serving, keep: [], events, condition: { status: 'False', reason, message: `SFU pods run the current spec (slot ${serving})` } };
  }
  const wait = i.upgradeNow ? 0 : untilWindow(upgrade.maintenanceWindow, i.now);
  if (wait > 0) {
    const opens = new Date(i.now + wait).toISOString();
    const message = `an SFU change waits for the maintenance window (${upgrade.maintenanceWindow!.start} UTC for ${upgrade.maintenanceWindow!.durationMinutes} min, next at ${opens}); annotate meet.sovereign.io/upgrade-now=true to start it now`;
    if (first('WaitingForMaintenanceWindow')) events.push({ type: 'Normal', reason: 'UpgradeDeferred', message });
    return { keep: [{ slot: serving, replicas: i.wanted }], events, condition: { status: 'False', reason: 'WaitingForMaintenanceWindow', message }, requeueAfterMs: wait };
  }
  const message = `SFU change: starting ${plural(i.wanted, 'new pod')} in slot ${other} (alternate ports) beside the ${plural(current.deployment.spec?.replicas ?? 0, 'old pod')}; the old pods are signalled once the new ones are ready`;
  events.push({ type: 'Normal', reason: 'UpgradeStarted', message });
  return { apply: other, keep: [{ slot: serving, replicas: current.deployment.spec?.replicas ?? 0 }], events, condition: { status: 'True', reason: 'StartingNewPods', message } };
}

/** The old pods drain; with a deadline, a Warning noticeSeconds before it, then the kubelet's cut. */
function draining(i: UpgradeInput, pods: KubeObject[], slot: SfuSlot, waiting: string): Omit<UpgradeStep, 'apply' | 'keep'> {
  const { deadlineSeconds, noticeSeconds } = i.mc.spec.sfu.upgrade;
  const since = signalledAt(pods) ?? i.now;
  const known = pods.map((p) => i.participants?.(p.metadata.name)).filter((n): n is number => n !== undefined);
  const people = known.reduce((a, b) => a + b, 0);
  // Their load is read by the participants autoscaler; in the other modes nobody reads it.
  const load = known.length ? `, ${plural(people, 'participant')} still on them` : '';
  // Only a meeting on one of these pods counts (a scale-down may drain others meanwhile).
  const o = i.oldestMeeting && pods.some((p) => p.metadata.name === i.oldestMeeting!.pod) ? i.oldestMeeting : undefined;
  const oldest = o ? `; oldest meeting: room ${o.room} on ${o.pod}, since ${new Date(o.since).toISOString()}` : '';
  const base = `${plural(pods.length, 'old SFU pod')} (slot ${slot}) draining since ${new Date(since).toISOString()}${load}${oldest}`;
  const events: UpgradeStep['events'] = [];
  if (deadlineSeconds === undefined) return { events, condition: { status: 'True', reason: 'DrainingOldPods', message: base + waiting } };
  const cutAt = since + deadlineSeconds * 1000;
  const noticeAt = cutAt - noticeSeconds * 1000;
  const names = pods.map((p) => p.metadata.name);
  if (i.now >= cutAt) {
    // The kubelet stops them: their grace period was the deadline (see UpgradeStep.signal).
    if (i.previous?.reason !== 'DeadlinePassed') events.push({ type: 'Warning', reason: 'UpgradeCut', message: `deadline of ${deadlineSeconds} s passed: the meetings still on ${names.join(', ')}${known.length ? ` (${plural(people, 'participant')})` : ''} are cut; clients reconnect to the new pods` });
    return { events, condition: { status: 'True', reason: 'DeadlinePassed', message: `${base}; deadline passed, meetings cut${waiting}` } };
  }
  if (i.now >= noticeAt) {
    const message = `${base}; meetings still on ${names.join(', ')} will be cut at ${new Date(cutAt).toISOString()} (spec.sfu.upgrade.deadlineSeconds ${deadlineSeconds})`;
    if (i.previous?.reason !== 'DeadlineNotice') events.push({ type: 'Warning', reason: 'UpgradeDeadline', message });
    return { events, condition: { status: 'True', reason: 'DeadlineNotice', message: message + waiting }, requeueAfterMs: cutAt - i.now };
  }
  return { events, condition: { status: 'True', reason: 'DrainingOldPods', message: `${base}; deadline at ${new Date(cutAt).toISOString()}${waiting}` }, requeueAfterMs: noticeAt - i.now };
}
