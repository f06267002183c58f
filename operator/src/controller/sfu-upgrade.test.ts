import { describe, expect, it } from 'vitest';
import { baseManifest } from '../../test/specs.js';
import { validateMeetingCluster } from '../api/validate.js';
import type { KubeObject } from '../kube/object.js';
import { planSfuUpgrade, signalledAt, slotReady, untilWindow, type SlotView, type UpgradeInput } from './sfu-upgrade.js';

const withUpgrade = (upgrade: object, autoscaling: object = {}) => validateMeetingCluster({ ...baseManifest(), spec: { ...baseManifest().spec, sfu: { upgrade }, autoscaling } }).cluster!;
const mc = withUpgrade({});
const T0 = Date.parse('2026-12-07T10:00:00Z');

const deployment = (created: string, replicas: number, ready = replicas, revision?: string): KubeObject => ({
  metadata: { name: 'd', creationTimestamp: created, generation: 2, ...(revision ? { annotations: { 'meet.sovereign.io/sfu-revision': revision } } : {}) },
  spec: { replicas },
  status: { observedGeneration: 2, readyReplicas: ready, updatedReplicas: replicas, replicas },
});
const pod = (name: string, signalled?: number, grace = 18000): KubeObject => ({
  metadata: { name, ...(signalled === undefined ? {} : { deletionTimestamp: new Date(signalled + grace * 1000).toISOString(), deletionGracePeriodSeconds: grace }) },
});
const slot = (d: KubeObject | undefined, revision: string | undefined, pods: KubeObject[] = []): SlotView => ({ ...(d ? { deployment: d } : {}), ...(revision ? { revision } : {}), pods });
const input = (a: SlotView, b: SlotView, over: Partial<UpgradeInput> = {}): UpgradeInput => ({ mc, revision: 'r2', slots: { a, b }, wanted: 2, upgradeNow: false, now: T0, ...over });

describe('planSfuUpgrade (SideBySide)', () => {
  it('a new cluster: slot a from the spec, nothing kept', () => {
    const step = planSfuUpgrade(input(slot(undefined, undefined), slot(undefined, undefined)));
    expect(step).toMatchObject({ apply: 'a', keep: [], condition: { status: 'False', reason: 'UpToDate' } });
  });

  it('up to date: the serving slot takes the spec (its count included), no event', () => {
    const step = planSfuUpgrade(input(slot(deployment('2026-12-01T00:00:00Z', 2), 'r2'), slot(undefined, undefined)));
    expect(step).toMatchObject({ apply: 'a', keep: [], events: [] });
  });

  it('a change: the new pods start in the idle slot, as many as wanted; the old slot keeps its pods and template', () => {
    const step = planSfuUpgrade(input(slot(deployment('2026-12-01T00:00:00Z', 3), 'r1'), slot(undefined, undefined), { wanted: 4 }));
    expect(step.apply).toBe('b');
    expect(step.keep).toEqual([{ slot: 'a', replicas: 3 }]);
    expect(step.condition).toMatchObject({ status: 'True', reason: 'StartingNewPods' });
    expect(step.events.map((e) => e.reason)).toEqual(['UpgradeStarted']);
    expect(step.events[0]!.message).toContain('4 new pods in slot b');
  });

  it('no old pod is signalled before every new pod is ready', () => {
    const starting = planSfuUpgrade(input(slot(deployment('2026-12-01T00:00:00Z', 3), 'r1', [pod('a1')]), slot(deployment('2026-12-07T09:59:00Z', 3, 2), 'r2')));
    expect(starting).toMatchObject({ apply: 'b', keep: [{ slot: 'a', replicas: 3 }], condition: { reason: 'StartingNewPods' } });
    expect(starting.condition.message).toMatch(/^2\/3 new SFU pods ready/);
    // Ready, but the controller has not seen the latest generation yet: still waiting.
    const stale = deployment('2026-12-07T09:59:00Z', 3);
    stale.status.observedGeneration = 1;
    expect(planSfuUpgrade(input(slot(deployment('2026-12-01T00:00:00Z', 3), 'r1'), slot(stale, 'r2'))).keep).toEqual([{ slot: 'a', replicas: 3 }]);
  });

  it('once the new pods are ready, every old pod is signalled at once (scaled to 0 together)', () => {
    const step = planSfuUpgrade(input(slot(deployment('2026-12-01T00:00:00Z', 3), 'r1', [pod('a1'), pod('a2'), pod('a3')]), slot(deployment('2026-12-07T09:59:00Z', 3), 'r2')));
    expect(step).toMatchObject({ apply: 'b', keep: [{ slot: 'a', replicas: 0 }], condition: { status: 'True', reason: 'DrainingOldPods' } });
    expect(step.events.map((e) => e.reason)).toEqual(['UpgradeDraining']);
  });

  it('while the old pods drain: progress with the participants still on them; then the old slot goes', () => {
    const old = slot(deployment('2026-12-01T00:00:00Z', 0), 'r1', [pod('a1', T0 - 60_000)]);
    const draining = planSfuUpgrade(input(old, slot(deployment('2026-12-07T09:59:00Z', 2), 'r2'), { participants: (p) => (p === 'a1' ? 7 : undefined) }));
    expect(draining).toMatchObject({ apply: 'b', keep: [{ slot: 'a', replicas: 0 }], condition: { reason: 'DrainingOldPods' } });
    expect(draining.condition.message).toBe('1 old SFU pod (slot a) draining since 2026-12-07T09:59:00.000Z, 7 participants still on them');
    const done = planSfuUpgrade(input(slot(deployment('2026-12-01T00:00:00Z', 0), 'r1'), slot(deployment('2026-12-07T09:59:00Z', 2), 'r2')));
    expect(done).toMatchObject({ apply: 'b', keep: [], condition: { status: 'False', reason: 'UpgradeComplete' } });
    expect(done.events.map((e) => e.reason)).toEqual(['UpgradeComplete']);
    // Once the old slot is gone, the last upgrade stays on record; without load figures none are claimed.
    const after = planSfuUpgrade({ ...input(slot(undefined, undefined), slot(deployment('2026-12-07T09:59:00Z', 2), 'r2')), previous: { reason: 'UpgradeComplete' } });
    expect(after).toMatchObject({ apply: 'b', events: [], condition: { status: 'False', reason: 'UpgradeComplete', message: 'SFU pods run the current spec (slot b)' } });
    expect(planSfuUpgrade(input(old, slot(deployment('2026-12-07T09:59:00Z', 2), 'r2'))).condition.message).toBe('1 old SFU pod (slot a) draining since 2026-12-07T09:59:00.000Z');
    // Reported once.
    expect(planSfuUpgrade({ ...input(slot(deployment('2026-12-01T00:00:00Z', 0), 'r1'), slot(deployment('2026-12-07T09:59:00Z', 2), 'r2')), previous: { reason: 'UpgradeComplete' } }).events).toEqual([]);
  });

  it('the oldest meeting still on an old pod is named with its start; one on another pod is not', () => {
    const old = slot(deployment('2026-12-01T00:00:00Z', 0), 'r1', [pod('a1', T0 - 60_000)]);
    const since = Date.parse('2026-12-07T08:30:00Z');
    const step = planSfuUpgrade(input(old, slot(deployment('2026-12-07T09:59:00Z', 2), 'r2'), { oldestMeeting: { room: 'codir', pod: 'a1', since } }));
    expect(step.condition.message).toBe('1 old SFU pod (slot a) draining since 2026-12-07T09:59:00.000Z; oldest meeting: room codir on a1, since 2026-12-07T08:30:00.000Z');
    const elsewhere = planSfuUpgrade(input(old, slot(deployment('2026-12-07T09:59:00Z', 2), 'r2'), { oldestMeeting: { room: 'codir', pod: 'b7', since } }));
    expect(elsewhere.condition.message).not.toContain('oldest meeting');
  });

  it('one upgrade at a time: a change made meanwhile leaves the new slot as it runs (count only) until the old slot is gone', () => {
    const step = planSfuUpgrade(input(slot(deployment('2026-12-01T00:00:00Z', 0), 'r1', [pod('a1', T0 - 1000)]), slot(deployment('2026-12-07T09:59:00Z', 2), 'r2'), { revision: 'r3', wanted: 3 }));
    expect(step.apply).toBeUndefined();
    expect(step.keep).toEqual([{ slot: 'b', replicas: 3 }, { slot: 'a', replicas: 0 }]);
    expect(step.condition.message).toContain('a newer change waits for this upgrade to finish');
    // Slot b serves alone now: the next change goes to slot a.
    expect(planSfuUpgrade(input(slot(undefined, undefined), slot(deployment('2026-12-07T09:59:00Z', 2), 'r2'), { revision: 'r3' }))).toMatchObject({ apply: 'a', keep: [{ slot: 'b', replicas: 2 }] });
  });

  it('outside the maintenance window a change waits (the count still follows the load); the annotation starts it at once', () => {
    const windowed = withUpgrade({ maintenanceWindow: { start: '02:00', durationMinutes: 120 } });
    const running = slot(deployment('2026-12-01T00:00:00Z', 2), 'r1');
    const waiting = planSfuUpgrade({ ...input(running, slot(undefined, undefined), { wanted: 3 }), mc: windowed });
    expect(waiting).toMatchObject({ keep: [{ slot: 'a', replicas: 3 }], condition: { status: 'False', reason: 'WaitingForMaintenanceWindow' } });
    expect(waiting.apply).toBeUndefined();
    expect(waiting.condition.message).toContain('next at 2026-12-08T02:00:00.000Z');
    expect(waiting.requeueAfterMs).toBe(16 * 3600_000);
    expect(waiting.events.map((e) => e.reason)).toEqual(['UpgradeDeferred']);
    expect(planSfuUpgrade({ ...input(running, slot(undefined, undefined)), mc: windowed, previous: { reason: 'WaitingForMaintenanceWindow' } }).events).toEqual([]);
    expect(planSfuUpgrade({ ...input(running, slot(undefined, undefined)), mc: windowed, upgradeNow: true }).apply).toBe('b');
    expect(planSfuUpgrade({ ...input(running, slot(undefined, undefined)), mc: windowed, now: Date.parse('2026-12-08T03:59:00Z') }).apply).toBe('b');
  });

  it('a deadline: the old pods signalled with it as grace period, a Warning noticeSeconds before it, then the cut reported', () => {
    const timed = withUpgrade({ deadlineSeconds: 600, noticeSeconds: 120 });
    const signalStep = planSfuUpgrade({ ...input(slot(deployment('2026-12-01T00:00:00Z', 2), 'r1', [pod('a1'), pod('a2'), pod('a0', T0 - 1000)]), slot(deployment('2026-12-07T09:59:00Z', 2), 'r2')), mc: timed });
    expect(signalStep.signal).toEqual({ pods: ['a1', 'a2'], gracePeriodSeconds: 600 });
    expect(signalStep.keep).toEqual([{ slot: 'a', replicas: 0 }]);
    expect(planSfuUpgrade(input(slot(deployment('2026-12-01T00:00:00Z', 2), 'r1', [pod('a1')]), slot(deployment('2026-12-07T09:59:00Z', 2), 'r2'))).signal).toBeUndefined();
    const signalled = T0 - 400_000;
    const at = (now: number, previous?: string) =>
      planSfuUpgrade({ ...input(slot(deployment('2026-12-01T00:00:00Z', 0), 'r1', [pod('a1', signalled, 600)]), slot(deployment('2026-12-07T09:00:00Z', 2), 'r2')), mc: timed, now, ...(previous ? { previous: { reason: previous } } : {}) });
    const before = at(T0);
    expect(before).toMatchObject({ events: [], condition: { reason: 'DrainingOldPods' }, requeueAfterMs: 80_000 });
    expect(before.signal).toBeUndefined();
    const notice = at(signalled + 480_000);
    expect(notice).toMatchObject({ condition: { reason: 'DeadlineNotice' }, requeueAfterMs: 120_000 });
    expect(notice.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'UpgradeDeadline' })]);
    expect(notice.events[0]!.message).toContain('a1 will be cut at 2026-12-07T10:03:20.000Z');
    expect(at(signalled + 500_000, 'DeadlineNotice').events).toEqual([]);
    const cut = at(signalled + 600_000, 'DeadlineNotice');
    expect(cut.condition.reason).toBe('DeadlinePassed');
    expect(cut.events.map((e) => [e.type, e.reason])).toEqual([['Warning', 'UpgradeCut']]);
    expect(at(signalled + 601_000, 'DeadlinePassed').events).toEqual([]);
  });
});

describe('planSfuUpgrade (RollingUpdate)', () => {
  it('the serving slot takes the template in place; a slot left from a side-by-side upgrade drains', () => {
    const rolling = withUpgrade({ strategy: 'RollingUpdate' });
    expect(planSfuUpgrade({ ...input(slot(deployment('2026-12-01T00:00:00Z', 2), 'r1'), slot(undefined, undefined)), mc: rolling })).toMatchObject({ apply: 'a', keep: [], condition: { reason: 'RollingUpdate' } });
    expect(planSfuUpgrade({ ...input(slot(deployment('2026-12-01T00:00:00Z', 2), 'r1', [pod('a1')]), slot(deployment('2026-12-07T00:00:00Z', 2), 'r2')), mc: rolling })).toMatchObject({ apply: 'b', keep: [{ slot: 'a', replicas: 0 }] });
  });

  it('is the default with CPU autoscaling (the HPA owns one Deployment); SideBySide is refused there', () => {
    expect(withUpgrade({}, { enabled: true, metric: 'cpu' }).spec.sfu.upgrade.strategy).toBe('RollingUpdate');
    expect(mc.spec.sfu.upgrade.strategy).toBe('SideBySide');
    const refused = validateMeetingCluster({ ...baseManifest(), spec: { ...baseManifest().spec, sfu: { upgrade: { strategy: 'SideBySide' } }, autoscaling: { enabled: true, metric: 'cpu' } } });
    expect(refused.errors.map((e) => e.path)).toEqual(['spec.sfu.upgrade.strategy']);
  });
});

describe('spec.sfu.upgrade validation', () => {
  const errors = (upgrade: object, sfu: object = {}, turn?: object) => validateMeetingCluster({ ...baseManifest(), spec: { ...baseManifest().spec, sfu: { ...sfu, upgrade }, ...(turn ? { turn: { ...baseManifest().spec.turn, ...turn }, sovereignty: { stunServers: ['stun.justice.example:3478'] } } : {}) } }).errors;
  it('alternate ports must not meet the primary ones', () => {
    expect(errors({ alternatePorts: { port: 7881 } }).map((e) => [e.path, e.message])).toEqual([['spec.sfu.upgrade.alternatePorts', expect.stringContaining('must differ')]]);
    expect(errors({ alternatePorts: { port: 7000, metricsPort: 7000 } }).map((e) => e.path)).toEqual(['spec.sfu.upgrade.alternatePorts']);
    expect(errors({ alternatePorts: { turnUdpPort: 3478 } }, {}, { mode: 'embedded' }).map((e) => e.path)).toEqual(['spec.sfu.upgrade.alternatePorts']);
    expect(errors({})).toEqual([]);
  });
  it('a deadline below drainSeconds and above noticeSeconds; a window as HH:MM', () => {
    expect(errors({ deadlineSeconds: 7200 }, { drainSeconds: 3600 }).map((e) => e.path)).toEqual(['spec.sfu.upgrade.deadlineSeconds']);
    expect(errors({ deadlineSeconds: 100 }).map((e) => e.path)).toEqual(['spec.sfu.upgrade.deadlineSeconds']);
    expect(errors({ deadlineSeconds: 600, noticeSeconds: 60 })).toEqual([]);
    expect(errors({ maintenanceWindow: { start: '25:00', durationMinutes: 60 } }).map((e) => e.path)).toEqual(['spec.sfu.upgrade.maintenanceWindow.start']);
  });
});

describe('helpers', () => {
  it('untilWindow: 0 inside, the time to the next start outside (windows over midnight too)', () => {
    const w = { start: '23:00', durationMinutes: 120 };
    expect(untilWindow(undefined, T0)).toBe(0);
    expect(untilWindow(w, Date.parse('2026-12-07T23:30:00Z'))).toBe(0);
    expect(untilWindow(w, Date.parse('2026-12-08T00:30:00Z'))).toBe(0);
    expect(untilWindow(w, Date.parse('2026-12-08T01:00:00Z'))).toBe(22 * 3600_000);
  });
  it('signalledAt: deletion timestamp minus grace; slotReady needs the generation observed and every pod ready', () => {
    expect(signalledAt([pod('x', T0), pod('y', T0 - 5000)])).toBe(T0 - 5000);
    expect(signalledAt([pod('x')])).toBeUndefined();
    expect(slotReady(deployment('2026-12-01T00:00:00Z', 2, 1))).toBe(false);
    expect(slotReady(deployment('2026-12-01T00:00:00Z', 2))).toBe(true);
    expect(slotReady(undefined)).toBe(false);
  });
});
