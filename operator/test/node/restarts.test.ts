// Issue 17, item 3, measured on the real node with real clients: what a restart of the stack's
// stateful helpers does to running meetings. Each restart is the one a rollout makes (the pod
// deleted, its controller replaces it): managed Redis under a direct call, coturn under a call
// relayed through it. The figures printed are the README's; the assertions hold what the meeting
// must get through.
import { execFileSync } from 'node:child_process';
import { RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, kubectlOk } from '../integration/kubectl.js';
import { getJson } from '../integration/meetingcluster.js';
import { LiveProbe } from '../media/stack.js';
import { allPodsOf, containerPid, podReady, podsOf, realNode } from './cluster.js';
import { LiveStack, longestSilence, sfuSelectedRemotePorts, sound } from './live-stack.js';

const NS = 'sports-restart';

const seconds = (ms: number) => (ms / 1000).toFixed(1);

describe('restarts of managed Redis and coturn under live meetings, on the real node', () => {
  const stack = new LiveStack(NS, 'node-restart');
  const url = () => `ws://${realNode().ip}:7880`;
  beforeAll(() => stack.start(), 300_000);
  afterAll(() => stack.stop(), 320_000);

  /** Alice publishes a tone, Bob hears it: direct to the SFU pod, or relay-only through coturn (TURN/UDP). */
  const call = async (room: string, relay: boolean) => {
    const opts = async (identity: string, publish: boolean) => ({
      url: url(),
      publish,
      relay,
      ...(relay ? { iceServers: stack.relayIce(identity, 'udp') } : {}),
      seconds: 600,
      token: await stack.token(identity, room),
    });
    const publisher = new LiveProbe(stack.sb, `${room}-alice`, 'participant', await opts('alice', true));
    const subscriber = new LiveProbe(stack.sb, `${room}-bob`, 'participant', await opts('bob', false));
    await publisher.waitFor((e) => e.event === 'published', 30_000, 'the tone published');
    await subscriber.waitFor(sound, 30_000, 'the tone heard');
    return { publisher, subscriber, both: [publisher, subscriber] };
  };
  const count = (probes: LiveProbe[], event: string) => probes.filter((p) => p.events.some((e) => e.event === event)).length;

  it('managed Redis restarted under a meeting: the meeting is not cut and its sound goes on; new meetings are accepted again once Redis is back', async () => {
    const { publisher, subscriber, both } = await call('direct', false);
    const rooms = new RoomServiceClient(`http://${realNode().ip}:7880`, stack.apiKey, stack.apiSecret);
    const probes: { at: number; ok: boolean }[] = [];
    let probing = true;
    let n = 0;
    const prober = (async () => {
      while (probing) {
        probes.push({ at: Date.now(), ok: await rooms.createRoom({ name: `redis-probe-${n++}`, emptyTimeout: 1 }).then(() => true, () => false) });
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    // The SFU pod's readiness (LiveKit's GET / fails when its node stats in Redis go stale): while it
    // is not ready, the signalling Service sends nobody to it.
    const sfuUnready: number[] = [];
    const readiness = setInterval(() => {
      if (!podsOf(NS, 'visio', 'sfu').every(podReady)) sfuUnready.push(Date.now());
    }, 250);
    try {
      const old = podsOf(NS, 'visio', 'redis')[0];
      const t0 = Date.now();
      kubectlOk(['delete', 'pod', old.metadata.name, '-n', NS, '--wait=false']);
      await eventually('Redis replaced and ready', () => (podsOf(NS, 'visio', 'redis').some((p) => p.metadata.uid !== old.metadata.uid && podReady(p)) ? true : undefined), 180_000, 500);
      const readyAt = Date.now();
      await eventually('a new meeting accepted again', () => (probes.at(-1)?.ok && probes.at(-1)!.at > readyAt ? true : undefined), 90_000, 500);
      const end = Date.now();
      probing = false;
      clearInterval(readiness);
      await prober;
      const refused = probes.filter((p) => !p.ok && p.at >= t0);
      const silence = longestSilence(subscriber, t0, end);
      console.log(
        `managed Redis restart under a meeting (issue 17): Redis back ${seconds(readyAt - t0)} s after its delete; new meetings refused for ${refused.length ? ((refused.at(-1)!.at - refused[0]!.at) / 1000 + 1).toFixed(0) : 0} s ` +
          `(${refused.length} of ${probes.filter((p) => p.at >= t0).length} probes); the meeting's longest silence ${seconds(silence)} s; ` +
          `participants whose SDK reconnected its signalling: ${count(both, 'reconnecting')} of 2; disconnected: ${count(both, 'disconnected')}; ` +
          `the SFU pod seen not ready ${sfuUnready.length ? `from ${seconds(sfuUnready[0]! - t0)} s to ${seconds(sfuUnready.at(-1)! - t0)} s` : 'never'}`,
      );
      // The media path does not go through Redis: the meeting's sound goes on. (Its signalling may
      // resume: measured both ways, so reported, not asserted.)
      expect(count(both, 'disconnected')).toBe(0);
      expect(silence).toBeLessThan(3000);
    } finally {
      probing = false;
      clearInterval(readiness);
      await prober.catch(() => {});
      await Promise.all([publisher.leave(), subscriber.leave()]);
    }
  }, 400_000);

  it('Redis and coturn changed in one edit under a relayed call: Redis goes first, then coturn; the call is not cut, its SDKs restart ICE through the new coturn', async () => {
    const room = 'relayed';
    const { publisher, subscriber, both } = await call(room, true);
    try {
      // Both participants reach the SFU from coturn's relay range: the call hangs on coturn.
      const range = stack.m.spec.turn.relayPortRange ?? { start: 30000, end: 40000 };
      const inRange = (p: number) => p >= range.start && p <= range.end;
      const active = sfuSelectedRemotePorts(NS, room);
      expect(active.length).toBe(2);
      for (const { ports, line } of active) expect(ports.length > 0 && ports.every(inRange), line).toBe(true);

      const oldRedis = podsOf(NS, 'visio', 'redis')[0];
      const oldTurn = podsOf(NS, 'visio', 'turn')[0];
      const turnGeneration = getJson('deployment', 'visio-turn', '-n', NS).metadata.generation;
      const t0 = Date.now();
      // One edit that restarts both (their CPU requests are in their pod templates).
      kubectlOk(['patch', 'mc', 'visio', '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { redis: { resources: { requests: { cpu: '60m' } } }, turn: { resources: { requests: { cpu: '60m' } } } } })]);
      let turnChangedAt: number | undefined;
      const watchTurn = setInterval(() => {
        if (turnChangedAt === undefined && getJson('deployment', 'visio-turn', '-n', NS).metadata.generation !== turnGeneration) turnChangedAt = Date.now();
      }, 250);
      let redisReadyAt: number;
      let goneAt: number;
      let fresh: any;
      try {
        await eventually('Redis replaced and ready', () => (podsOf(NS, 'visio', 'redis').some((p) => p.metadata.uid !== oldRedis.metadata.uid && podReady(p)) ? true : undefined), 180_000, 250);
        redisReadyAt = Date.now();
        await eventually('the old coturn pod gone', () => (allPodsOf(NS, 'visio', 'turn').some((p) => p.metadata.uid === oldTurn.metadata.uid) ? undefined : true), 240_000, 250);
        goneAt = Date.now();
        fresh = await eventually('coturn replaced and ready', () => podsOf(NS, 'visio', 'turn').find((p) => p.metadata.uid !== oldTurn.metadata.uid && podReady(p)), 120_000, 250);
      } finally {
        clearInterval(watchTurn);
      }
      const readyAt = Date.now();
      // Sound again well after the old relay died (the jitter buffer conceals a short loss at first).
      await subscriber.waitFor((e) => sound(e) && e.at > Math.max(readyAt, goneAt + 3000), 120_000, 'the tone heard again after the restart');
      const end = Date.now();
      const silence = longestSilence(subscriber, t0, end);
      const cutAt = subscriber.events.find((e) => e.event === 'frames' && !sound(e) && e.at >= t0)?.at;
      // The relays the new coturn holds: UDP sockets of its process in the relay range.
      const pid = containerPid(getJson('pod', fresh.metadata.name, '-n', NS), 'coturn');
      const relays = execFileSync('ss', ['-Hnuap'], { encoding: 'utf8' }).split('\n').filter((l) => l.includes(`pid=${pid},`) && inRange(Number(/:(\d+)\s/.exec(l)?.[1])));
      console.log(
        `Redis and coturn changed in one edit under a relayed call (issue 17): Redis ready ${seconds(redisReadyAt - t0)} s after the edit, coturn's change applied ${turnChangedAt ? seconds(turnChangedAt - t0) : '?'} s after it; ` +
          `the old coturn relayed on until ${seconds(goneAt - t0)} s (it ignores SIGTERM as PID 1 and is killed at the grace period), first silent window at ${cutAt ? `${seconds(cutAt - t0)} s` : 'never'}; ` +
          `new coturn ready ${seconds(readyAt - goneAt)} s after the old one went; the call's longest silence ${seconds(silence)} s; ` +
          `SDKs that reconnected: ${count(both, 'reconnecting')} of 2 (back: ${count(both, 'reconnected')}); disconnected: ${count(both, 'disconnected')}; relays on the new coturn: ${relays.length}; ` +
          `events: ${JSON.stringify(both.map((p) => p.events.filter((e) => e.event !== 'frames' && e.at >= t0).map((e) => `${e.event}@${seconds(e.at - t0)}`)))}`,
      );
      // Paced: coturn's change waited for Redis (a cut relay resumes through signalling, which needs Redis).
      expect(turnChangedAt).toBeGreaterThanOrEqual(redisReadyAt);
      expect(count(both, 'disconnected')).toBe(0);
      // Sound back within an ICE failure timeout (about 15 s) of the cut: the SDKs restarted ICE.
      expect(silence).toBeLessThan(20_000);
      // The call moved to the new coturn: it holds relays for the participants (each has its own).
      expect(relays.length).toBeGreaterThanOrEqual(2);
    } finally {
      await Promise.all([publisher.leave(), subscriber.leave()]);
    }
  }, 600_000);
});
