// Issue 17 on the real node: SFU changes rolled side by side (spec.sfu.upgrade, the default), with
// real livekit-server pods under the real kubelet and a real participant:
//  - a change outside the maintenance window waits; the upgrade-now annotation starts it;
//  - a change while a meeting runs: the new pod starts beside the old one (alternate ports, same
//    node), the old one is signalled only once the new one is ready, and drains its meeting to the
//    end; new meetings are accepted throughout, nobody is cut, one drain period in all; status names
//    the oldest meeting still on the old pod;
//  - a deadline: a Warning event noticeSeconds before, then the meeting still on the old pod is cut.
// The control (the Deployment's own rolling update on the same node) is in outage-drain.test.ts.
import { RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, kubectl, kubectlOk } from '../integration/kubectl.js';
import { getJson } from '../integration/meetingcluster.js';
import { LiveProbe } from '../media/stack.js';
import { allPodsOf, operatorLog, podReady, realNode } from './cluster.js';
import { LiveStack } from './live-stack.js';

const NS = 'sports-upgrade';
const sfuPods = (): any[] => allPodsOf(NS, 'visio', 'sfu');
const slotOf = (p: any): string => p.metadata.labels['meet.sovereign.io/sfu-slot'] ?? 'a';
const httpPort = (p: any): number => p.spec.containers[0].ports.find((x: any) => x.name === 'http').containerPort;
const accepting = (pods: any[]) => pods.filter((p) => podReady(p) && !p.metadata.deletionTimestamp);
const upgrading = () => getJson('mc', 'visio', '-n', NS).status?.conditions?.find((c: any) => c.type === 'Upgrading');
const eventsOf = (reason: string): any[] =>
  getJson('events', '-n', NS, '--field-selector', `involvedObject.kind=MeetingCluster,involvedObject.name=visio,reason=${reason}`).items;
const changeSpec = (sfu: object) => kubectlOk(['patch', 'mc', 'visio', '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { sfu } })]);

describe('SFU changes rolled side by side on the real node', () => {
  const stack = new LiveStack(NS, 'node-upgrade');
  // The participants autoscaler (one pod here) reads each SFU pod's load, the draining ones' too.
  stack.m.spec.autoscaling = { enabled: true, minReplicas: 1, maxReplicas: 1 };
  const url = (port: number) => `http://${realNode().ip}:${port}`;
  /** Joins through the pod that serves now, as the signalling Service would send a new participant. */
  const join = async (identity: string, room: string): Promise<LiveProbe> => {
    const pod = accepting(sfuPods())[0];
    const p = new LiveProbe(stack.sb, identity, 'participant', { url: url(httpPort(pod)).replace('http', 'ws'), token: await stack.token(identity, room), publish: true, relay: false, seconds: 600 });
    await p.waitFor((e) => e.event === 'published', 30_000, `${identity} publishing`);
    return p;
  };

  beforeAll(() => stack.start(), 300_000);
  afterAll(() => stack.stop(), 320_000);

  it('outside the maintenance window a change waits, the SFU untouched; meet.sovereign.io/upgrade-now starts it', async () => {
    const before = sfuPods();
    expect(before.map(slotOf)).toEqual(['a']);
    // A window that opened an hour ago and closed: the next one is 23 h away.
    const start = new Date(Date.now() - 3600_000).toISOString().slice(11, 16);
    changeSpec({ maxParticipantsPerRoom: 120, upgrade: { maintenanceWindow: { start, durationMinutes: 30 } } });
    const waiting = await eventually('Upgrading: WaitingForMaintenanceWindow', () => (upgrading()?.reason === 'WaitingForMaintenanceWindow' ? upgrading() : undefined), 30_000, 500);
    expect(waiting.message).toContain(`${start} UTC for 30 min`);
    expect(eventsOf('UpgradeDeferred').length).toBe(1);
    await new Promise((r) => setTimeout(r, 10_000));
    expect(sfuPods().map((p) => p.metadata.uid)).toEqual(before.map((p) => p.metadata.uid));
    expect(kubectl(['get', 'deployment', 'visio-sfu-b', '-n', NS]).code).not.toBe(0);

    kubectlOk(['annotate', 'mc', 'visio', '-n', NS, 'meet.sovereign.io/upgrade-now=true']);
    await eventually('the upgrade done: slot b serves alone', () => {
      const pods = sfuPods();
      const done = pods.length === 1 && slotOf(pods[0]) === 'b' && podReady(pods[0]) && upgrading()?.reason === 'UpgradeComplete';
      return done && kubectl(['get', 'deployment', 'visio-sfu', '-n', NS]).code !== 0 ? true : undefined;
    }, 120_000, 500);
    expect(kubectl(['get', 'deployment', 'visio-sfu', '-n', NS]).code).not.toBe(0);
    expect(kubectl(['get', 'configmap', 'visio-sfu-config', '-n', NS]).code).not.toBe(0);
    kubectlOk(['annotate', 'mc', 'visio', '-n', NS, 'meet.sovereign.io/upgrade-now-']);
    changeSpec({ upgrade: { maintenanceWindow: null } });
  }, 240_000);

  it('a change while a meeting runs: the new pod is ready before the old one is signalled, new meetings are accepted throughout, nobody is cut, one drain period', async () => {
    const joinedFrom = Date.now();
    const participant = await join('grace', 'upgrade-meeting');
    const joinedBy = Date.now();
    type Sample = { t: number; accepting: number; starting: number; draining: number; newRoom: boolean };
    const samples: Sample[] = [];
    let sampling = true;
    let probes = 0;
    const t0 = Date.now();
    const sampler = (async () => {
      while (sampling) {
        const pods = sfuPods();
        const ready = accepting(pods);
        // A new meeting, created through a pod that takes new work (as the Service would pick one).
        const newRoom = ready.length > 0 && (await new RoomServiceClient(url(httpPort(ready[0])), stack.apiKey, stack.apiSecret).createRoom({ name: `probe-${probes++}`, emptyTimeout: 1 }).then(() => true, () => false));
        samples.push({ t: Date.now() - t0, accepting: ready.length, starting: pods.filter((p) => !p.metadata.deletionTimestamp && !podReady(p)).length, draining: pods.filter((p) => p.metadata.deletionTimestamp).length, newRoom });
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    try {
      const old = sfuPods()[0];
      expect(slotOf(old)).toBe('b');
      const changedAt = Date.now() - t0;
      changeSpec({ maxParticipantsPerRoom: 99 });
      const fresh = await eventually('the new pod (slot a) ready beside the old one', () => sfuPods().find((p) => slotOf(p) === 'a' && podReady(p)), 120_000, 500);
      const readyAt = Date.now() - t0;
      expect(httpPort(fresh)).toBe(7880);
      expect(fresh.spec.nodeName).toBe(old.spec.nodeName);
      const signalled = await eventually('the old pod signalled', () => getJson('pod', old.metadata.name, '-n', NS).metadata.deletionTimestamp ? true : undefined, 60_000, 500);
      expect(signalled).toBe(true);
      const signalledAt = Date.now() - t0;
      // It drains with its meeting: LiveKit still runs, the participant is still there.
      await new Promise((r) => setTimeout(r, 20_000));
      const cond = upgrading();
      expect(cond).toMatchObject({ status: 'True', reason: 'DrainingOldPods' });
      expect(cond.message).toMatch(/1 old SFU pod \(slot b\) draining since .*, 1 participant still on them/);
      // Read by the operator (in its pod) from LiveKit's state in the managed Redis: which room the
      // old pod still hosts, since when (creation_time_ms; only whole seconds where a LiveKit lacks it).
      const oldest = /; oldest meeting: room (\S+) on (\S+), since (\S+)/.exec(cond.message);
      expect(oldest, cond.message).not.toBeNull();
      expect(oldest!.slice(1, 3)).toEqual(['upgrade-meeting', old.metadata.name]);
      const since = Date.parse(oldest![3]!);
      expect(since).toBeGreaterThanOrEqual(Math.floor(joinedFrom / 1000) * 1000);
      expect(since).toBeLessThanOrEqual(joinedBy);
      expect(getJson('pod', old.metadata.name, '-n', NS).status.phase).toBe('Running');
      expect(participant.events.find((e) => e.event === 'disconnected')).toBeUndefined();

      const endedAt = Date.now() - t0;
      // Not cut, not even moved: the SDK never had to reconnect.
      const cutBeforeEnd = participant.events.some((e) => e.event === 'disconnected' || e.event === 'reconnecting');
      await participant.leave();
      await eventually('the upgrade complete', () => (upgrading()?.reason === 'UpgradeComplete' && sfuPods().length === 1 ? true : undefined), 90_000, 500);
      const doneAt = Date.now() - t0;
      sampling = false;
      await sampler;
      const during = samples.filter((x) => x.t > changedAt && x.t < doneAt);
      console.log(
        `side-by-side upgrade on one node (issue 17): change at ${(changedAt / 1000).toFixed(1)} s, new pod ready at ${(readyAt / 1000).toFixed(1)} s, old pod signalled at ${(signalledAt / 1000).toFixed(1)} s, ` +
          `its meeting ended at ${(endedAt / 1000).toFixed(1)} s, upgrade complete at ${(doneAt / 1000).toFixed(1)} s (${((doneAt - endedAt) / 1000).toFixed(1)} s after the meeting ended); ` +
          `new meetings refused: ${during.filter((x) => !x.newRoom).length} of ${during.length} probes; participant cut: ${cutBeforeEnd ? 'yes' : 'no'}\n` +
          `  Upgrading condition while draining: ${cond.message}\n` +
          '  t(s)   accepting-pods  starting  draining  new-room\n' +
          samples.filter((_, i) => i % 3 === 0).map((x) => `  ${(x.t / 1000).toFixed(1).padStart(5)}  ${String(x.accepting).padStart(14)}  ${String(x.starting).padStart(8)}  ${String(x.draining).padStart(8)}  ${x.newRoom ? 'yes' : 'NO'}`).join('\n'),
      );
      expect(cutBeforeEnd).toBe(false);
      expect(during.length).toBeGreaterThan(20);
      // Capacity that takes new meetings never fell below the one pod the load asks for.
      expect(during.every((x) => x.accepting >= 1 && x.newRoom)).toBe(true);
      // The old pod was signalled only after the new one was ready, then drained with its meeting.
      expect(signalledAt).toBeGreaterThanOrEqual(readyAt);
      expect(during.some((x) => x.draining === 1 && x.accepting === 1)).toBe(true);
      expect(doneAt - endedAt).toBeLessThan(30_000);
      expect(eventsOf('UpgradeStarted').length).toBeGreaterThanOrEqual(1);
      expect(eventsOf('UpgradeDraining').length).toBeGreaterThanOrEqual(1);
    } finally {
      sampling = false;
      await sampler.catch(() => {});
      await participant.leave().catch(() => {});
    }
  }, 300_000);

  it('a deadline: the meeting still on the old pod gets a Warning event, then is cut, and not before', async () => {
    const participant = await join('heidi', 'deadline-meeting');
    try {
      changeSpec({ maxParticipantsPerRoom: 98, upgrade: { deadlineSeconds: 40, noticeSeconds: 20 } });
      await eventually('the old pod signalled', () => (sfuPods().some((p) => p.metadata.deletionTimestamp) ? true : undefined), 120_000, 500);
      const notice = await eventually('the deadline notice', () => eventsOf('UpgradeDeadline')[0], 60_000, 500);
      // Warned, not yet cut.
      expect(participant.events.find((e) => e.event === 'disconnected' || e.event === 'reconnecting')).toBeUndefined();
      expect(notice.type).toBe('Warning');
      expect(notice.message).toMatch(/will be cut at/);
      const old = sfuPods().find((p) => p.metadata.deletionTimestamp)!;
      const cut = await eventually('the cut', () => eventsOf('UpgradeCut')[0], 60_000, 500);
      await eventually('the old pod gone', () => (kubectl(['get', 'pod', old.metadata.name, '-n', NS]).code !== 0 ? true : undefined), 30_000, 500).catch((e: Error) => {
        const pod = kubectl(['get', 'pod', old.metadata.name, '-n', NS, '-o', 'json']).stdout;
        const mc = getJson('mc', 'visio', '-n', NS);
        throw new Error(`${e.message}\npod metadata: ${JSON.stringify(JSON.parse(pod || '{}').metadata ?? {})}\nconditions: ${JSON.stringify(mc.status?.conditions)}\noperator log: ${operatorLog().split('\n').filter((l) => /cut|Upgrade|error|warn/i.test(l)).slice(-15).join('\n')}`);
      });
      // The SDK notices its SFU is gone and starts over (LiveKit sends nothing on a kill).
      await participant.waitFor((e) => e.event === 'reconnecting' || e.event === 'disconnected', 30_000, 'the participant cut');
      const warnedAt = Date.parse(notice.lastTimestamp ?? notice.eventTime);
      const cutAt = Date.parse(cut.lastTimestamp ?? cut.eventTime);
      console.log(`deadline 40 s, notice 20 s: the Warning event came ${((cutAt - warnedAt) / 1000).toFixed(0)} s before the cut; the participant stayed connected until the cut`);
      expect(cutAt - warnedAt).toBeGreaterThanOrEqual(15_000);
      await eventually('the upgrade complete', () => (upgrading()?.reason === 'UpgradeComplete' && sfuPods().length === 1 ? true : undefined), 90_000, 500);
    } finally {
      await participant.leave().catch(() => {});
    }
  }, 300_000);
});
