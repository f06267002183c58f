// The kubelet's own view of two moments a meeting service lives through, on the real node with the
// rendered probes and grace period as the kubelet applies them:
//  - a Redis outage (livekit issue 4663): the SFU's readiness (GET /) fails while Redis is away, its
//    liveness (TCP) does not, so the kubelet never restarts it; it serves again when Redis is back.
//    Control: the kubelet's GET / failed longer than a liveness budget, so the Helm chart's liveness on
//    GET / would have restarted it (this replaces the media suite's emulated prober);
//  - a drain: deleting the SFU pod that hosts a live room leaves it Terminating with its room going
//    on (LiveKit drains on SIGTERM, terminationGracePeriodSeconds = spec.sfu.drainSeconds) until the
//    last participant leaves; then it exits within seconds and its replacement starts;
//  - a config change rolled by the Deployment (strategy RollingUpdate: the control of issue 17's
//    side-by-side upgrades, upgrade.test.ts): on a node without
//    a spare, the new pod waits for the host ports and the change never goes live; deleting the old
//    pod refuses every new meeting for as long as its last meeting lasts.
// (The scale-down with pod-deletion-cost needs two SFU pods, so two nodes' host ports: it stays in
// the e2e suite, whose kwok nodes are backed by livekit-server processes; see the README.)
import { RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, kubectl, kubectlOk } from '../integration/kubectl.js';
import { getJson } from '../integration/meetingcluster.js';
import { LiveProbe } from '../media/stack.js';
import { allPodsOf, containerPid, podReady, podsOf, realNode } from './cluster.js';
import { LiveStack } from './live-stack.js';

const NS = 'sports-outage';
/** Longer than the rendered liveness budget (3 failures x 10 s): a liveness probe that failed with Redis would have restarted the SFU. */
const OUTAGE_MS = 45_000;
const sfuPod = (): any => podsOf(NS, 'visio', 'sfu')[0];
const container = (pod: any) => pod.status.containerStatuses[0];

describe('the SFU under the real kubelet: a Redis outage, then a drain', () => {
  const stack = new LiveStack(NS, 'node-drain');
  const m = stack.m;
  let rooms: RoomServiceClient;
  const url = () => `http://${realNode().ip}:7880`;
  const token = (identity: string, room: string) => stack.token(identity, room);

  beforeAll(async () => {
    await stack.start();
    rooms = new RoomServiceClient(url(), stack.apiKey, stack.apiSecret);
  }, 300_000);

  afterAll(() => stack.stop(), 320_000);

  it('Redis away for 45 s: the SFU goes unready, is never restarted, and serves again when Redis is back', async () => {
    // The operator would put Redis back at once: pause it for the outage.
    kubectlOk(['annotate', 'mc', 'visio', '-n', NS, 'meet.sovereign.io/paused=true', '--overwrite']);
    expect((await rooms.createRoom({ name: 'before-outage' })).name).toBe('before-outage');
    const before = sfuPod();
    const id = container(before).containerID;
    const restarts = container(before).restartCount;

    const stoppedAt = Date.now();
    kubectlOk(['scale', 'statefulset', 'visio-redis', '-n', NS, '--replicas=0']);
    await eventually('the Redis pod gone', () => (podsOf(NS, 'visio', 'redis').length === 0 ? true : undefined), 60_000, 500);
    await eventually('the SFU unready (readiness GET / fails without Redis)', () => (podReady(sfuPod()) ? undefined : true), 60_000, 500);
    const unreadyAfter = Date.now() - stoppedAt;
    await new Promise((r) => setTimeout(r, Math.max(0, stoppedAt + OUTAGE_MS - Date.now())));
    const during = sfuPod();
    expect(container(during).containerID).toBe(id);
    expect(container(during).restartCount).toBe(restarts);
    expect(podReady(during)).toBe(false);
    const unhealthy = kubectl(['get', 'events', '-n', NS, '--field-selector', `involvedObject.name=${during.metadata.name},reason=Unhealthy`, '-o', 'jsonpath={range .items[*]}{.message}{"\\n"}{end}']).stdout;
    expect(unhealthy).toMatch(/Readiness probe failed/);
    expect(unhealthy).not.toMatch(/Liveness probe failed/);
    // Control, from the kubelet's own record: its GET / (the readiness probe) failed without a break
    // for longer than a liveness budget of 3 x 10 s, so livekit-helm's liveness on GET / (livekit#4663)
    // would have restarted this SFU, where ours (TCP) let it be.
    const readinessFailures = getJson('events', '-n', NS, '--field-selector', `involvedObject.name=${during.metadata.name},reason=Unhealthy`).items
      .filter((e: any) => /Readiness probe failed/.test(e.message) && Date.parse(e.lastTimestamp) >= stoppedAt - 1000);
    const failingFor = Math.max(...readinessFailures.map((e: any) => Date.parse(e.lastTimestamp))) - Math.max(stoppedAt, Math.min(...readinessFailures.map((e: any) => Date.parse(e.firstTimestamp))));
    expect(failingFor, JSON.stringify(readinessFailures.map((e: any) => [e.firstTimestamp, e.lastTimestamp, e.count, e.message]))).toBeGreaterThanOrEqual(30_000);

    const backAt = Date.now();
    kubectlOk(['scale', 'statefulset', 'visio-redis', '-n', NS, '--replicas=1']);
    await eventually('the SFU ready again', () => (podReady(sfuPod()) ? true : undefined), 120_000, 500);
    const readyAfter = Date.now() - backAt;
    const after = sfuPod();
    expect(container(after).containerID).toBe(id);
    expect(container(after).restartCount).toBe(restarts);
    expect((await rooms.createRoom({ name: 'after-outage' })).name).toBe('after-outage');
    kubectlOk(['annotate', 'mc', 'visio', '-n', NS, 'meet.sovereign.io/paused-']);
    console.log(`Redis outage on the real node: SFU unready ${unreadyAfter} ms after Redis stopped, ready ${readyAfter} ms after it was back; same container, ${restarts} restarts before and after`);
  }, OUTAGE_MS + 240_000);

  it('deleting the SFU pod that hosts a live room: it drains until the meeting ends, then exits and is replaced', async () => {
    await eventually('the stack ready again', () => (podReady(sfuPod()) ? true : undefined), 120_000, 500);
    const participant = new LiveProbe(stack.sb, 'drain-participant', 'participant', { url: url().replace('http', 'ws'), token: await token('erin', 'drain'), publish: true, relay: false, seconds: 600 });
    try {
      await participant.waitFor((e) => e.event === 'published', 30_000, 'the participant publishing');
      const pod = sfuPod();
      const pid = containerPid(pod, 'livekit-server');
      expect(pod.spec.terminationGracePeriodSeconds).toBe(m.spec.sfu.drainSeconds ?? 18000);

      const deletedAt = Date.now();
      kubectlOk(['delete', 'pod', pod.metadata.name, '-n', NS, '--wait=false']);
      // 20 s later: Terminating, LiveKit still running and draining, the room and its participant still there.
      await new Promise((r) => setTimeout(r, 20_000));
      const terminating = getJson('pod', pod.metadata.name, '-n', NS);
      expect(terminating.metadata.deletionTimestamp).toBeDefined();
      expect(process.kill(pid, 0)).toBe(true);
      expect((await rooms.listRooms(['drain'])).map((r) => r.name)).toEqual(['drain']);
      expect(participant.events.find((e) => e.event === 'disconnected')).toBeUndefined();
      const log = kubectl(['logs', '-n', NS, pod.metadata.name, '--tail=50']).stdout;
      expect(log).toContain('exit requested, shutting down');
      // Its replacement waits for the host ports (one node): the drain holds them.
      const replacement = podsOf(NS, 'visio', 'sfu').find((p) => p.metadata.name !== pod.metadata.name);
      expect(replacement?.status?.phase ?? 'Pending').toBe('Pending');

      // The meeting ends: LiveKit exits within seconds (it polls its rooms every 5 s), long before the grace period.
      const endedAt = Date.now();
      await participant.leave();
      await eventually('the drained pod gone', () => (kubectl(['get', 'pod', pod.metadata.name, '-n', NS]).code !== 0 ? true : undefined), 60_000, 500);
      const exitedAfter = Date.now() - endedAt;
      await eventually('the replacement SFU ready', () => (podsOf(NS, 'visio', 'sfu').some((p) => p.metadata.name !== pod.metadata.name && podReady(p)) ? true : undefined), 120_000, 500);
      console.log(`drain on the real node: the pod stayed Terminating with its meeting for ${endedAt - deletedAt} ms, exited ${exitedAfter} ms after the last participant left (grace period ${pod.spec.terminationGracePeriodSeconds} s)`);
      expect(exitedAfter).toBeLessThan(30_000);
    } finally {
      await participant.leave().catch(() => {});
    }
  }, 300_000);
  // The control of issue 17: what a spec change does today on a fleet without a spare node. The SFU
  // Deployment rolls with the default strategy (25% surge, 25% unavailable: on one pod, surge 1 and
  // unavailable 0): the new pod needs the host ports the old one holds, so it waits Pending and the
  // old pod is never signalled: the change never goes live. An administrator who deletes the old pod
  // gets a drain during which no new meeting can start, and the old ReplicaSet replaces the pod it
  // lost (with the old template), so after the drain two pods race for the ports.
  it('a config change while a meeting runs, rolled the default way: it never goes live without a spare node; deleting the old pod refuses new meetings for the whole drain (control)', async () => {
    const sfuPods = (): any[] => allPodsOf(NS, 'visio', 'sfu');
    const hashOf = (o: any): string | undefined => o?.metadata?.annotations?.['meet.sovereign.io/config-hash'];
    await eventually('the stack ready again', () => (sfuPods().some((p) => podReady(p) && !p.metadata.deletionTimestamp) ? true : undefined), 120_000, 500);
    const participant = new LiveProbe(stack.sb, 'upgrade-participant', 'participant', { url: url().replace('http', 'ws'), token: await token('frank', 'upgrade'), publish: true, relay: false, seconds: 600 });
    type Sample = { t: number; accepting: number; pending: number; terminating: number; newRoom: boolean; cut: boolean };
    const samples: Sample[] = [];
    let sampling = true;
    let left = false;
    let probes = 0;
    const t0 = Date.now();
    const sampler = (async () => {
      while (sampling) {
        const pods = sfuPods();
        const live = pods.filter((p) => !p.metadata.deletionTimestamp);
        const newRoom = await rooms.createRoom({ name: `upgrade-probe-${probes++}`, emptyTimeout: 1 }).then(() => true, () => false);
        samples.push({
          t: Date.now() - t0,
          accepting: live.filter((p) => podReady(p)).length,
          pending: live.filter((p) => (p.status?.phase ?? 'Pending') === 'Pending').length,
          terminating: pods.length - live.length,
          newRoom,
          cut: !left && participant.events.some((e) => e.event === 'disconnected'),
        });
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    const between = (from: number, to: number) => samples.filter((x) => x.t > from && x.t < to);
    const WAIT_MS = 30_000;
    try {
      await participant.waitFor((e) => e.event === 'published', 30_000, 'the participant publishing');
      await eventually('a new room accepted before the change', () => (samples.at(-1)?.newRoom ? true : undefined), 30_000, 500);
      const old = sfuPods().find((p) => podReady(p))!;
      const changedAt = Date.now() - t0;
      // The Deployment's own rolling update (what every cluster had before spec.sfu.upgrade).
      kubectlOk(['patch', 'mc', 'visio', '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { sfu: { maxParticipantsPerRoom: 99, upgrade: { strategy: 'RollingUpdate' } } } })]);
      const newHash = await eventually('the new pod template', () => {
        const h = hashOf(getJson('deployment', 'visio-sfu', '-n', NS).spec.template);
        return h && h !== hashOf(old) ? h : undefined;
      }, 30_000, 500);
      await new Promise((r) => setTimeout(r, WAIT_MS));
      // Stuck: the new pod waits for the ports, the old one is never signalled and still runs the old config.
      const stuck = between(changedAt + 5000, changedAt + WAIT_MS);
      expect(getJson('pod', old.metadata.name, '-n', NS).metadata.deletionTimestamp).toBeUndefined();
      const waiting = sfuPods().find((p) => hashOf(p) === newHash);
      expect(waiting?.status?.conditions?.find((c: any) => c.type === 'PodScheduled')?.message ?? '').toMatch(/free ports/);

      const deletedAt = Date.now() - t0;
      kubectlOk(['delete', 'pod', old.metadata.name, '-n', NS, '--wait=false']);
      await new Promise((r) => setTimeout(r, WAIT_MS));
      const meetingEndsAt = Date.now() - t0;
      left = true;
      await participant.leave();
      const winner = await eventually('an SFU pod ready after the drain', () => sfuPods().find((p) => p.metadata.name !== old.metadata.name && podReady(p) && !p.metadata.deletionTimestamp), 120_000, 500);
      await eventually('a new room accepted after the drain', () => (samples.at(-1)?.newRoom && samples.at(-1)!.t > meetingEndsAt ? true : undefined), 30_000, 500);
      sampling = false;
      await sampler;
      const draining = between(deletedAt + 5000, meetingEndsAt);
      const refused = samples.filter((x) => x.t > deletedAt && !x.newRoom);
      const refusedMs = refused.length ? refused.at(-1)!.t - refused[0]!.t : 0;
      console.log(
        `default rolling update on one node (control, issue 17): change at ${(changedAt / 1000).toFixed(1)} s: new pod Pending (host ports), old pod not signalled in ${(WAIT_MS / 1000).toFixed(0)} s; ` +
          `old pod deleted at ${(deletedAt / 1000).toFixed(1)} s, its meeting ended at ${(meetingEndsAt / 1000).toFixed(1)} s; new meetings refused for ${(refusedMs / 1000).toFixed(1)} s; ` +
          `after the drain the ports went to ${hashOf(winner) === newHash ? 'the new template (change live)' : 'the old ReplicaSet\'s replacement (change still not live)'}; participant cut: ${samples.some((x) => x.cut) ? 'yes' : 'no'}\n` +
          '  t(s)   accepting-pods  pending  terminating  new-room\n' +
          samples.filter((_, i) => i % 3 === 0).map((x) => `  ${(x.t / 1000).toFixed(1).padStart(5)}  ${String(x.accepting).padStart(14)}  ${String(x.pending).padStart(7)}  ${String(x.terminating).padStart(11)}  ${x.newRoom ? 'yes' : 'NO'}`).join('\n'),
      );
      expect(samples.some((x) => x.cut)).toBe(false);
      expect(stuck.length).toBeGreaterThan(10);
      expect(stuck.every((x) => x.accepting === 1 && x.pending === 1 && x.terminating === 0 && x.newRoom)).toBe(true);
      // While the old pod drained, no pod could take its ports and no new meeting could start.
      expect(draining.length).toBeGreaterThan(10);
      expect(draining.every((x) => x.accepting === 0 && x.terminating === 1 && !x.newRoom)).toBe(true);
      expect(refusedMs).toBeGreaterThanOrEqual(WAIT_MS - 5000);
    } finally {
      sampling = false;
      await sampler.catch(() => {});
      await participant.leave().catch(() => {});
    }
  }, 300_000);
});
