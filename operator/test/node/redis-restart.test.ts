// Issue 17, item 3 (a first part), measured on the real node with real clients: what a managed-Redis
// restart does to a running meeting and to new ones. The restart is the one a rollout makes (the pod
// deleted, its StatefulSet replaces it). A coturn restart under a relayed call is not measured here
// yet (see the README). The figures printed are the README's; the assertions hold what the meeting
// must get through.
import { RoomServiceClient } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, kubectlOk } from '../integration/kubectl.js';
import { LiveProbe } from '../media/stack.js';
import { podReady, podsOf, realNode } from './cluster.js';
import { LiveStack } from './live-stack.js';

const NS = 'sports-restart';

/** When each event of a probe arrived (LiveProbe keeps them in order, without a time). */
function timeline(probe: LiveProbe): { stop: () => void; times: number[] } {
  const times: number[] = [];
  const timer = setInterval(() => {
    while (times.length < probe.events.length) times.push(Date.now());
  }, 100);
  return { stop: () => clearInterval(timer), times };
}

/** The longest stretch without a "frames" event (one per 25 audio frames, 250 ms of sound) between from and to. */
function longestSilence(probe: LiveProbe, times: number[], from: number, to: number): number {
  const at = probe.events.map((e, i) => (e.event === 'frames' && e.peak > 1000 ? times[i] : undefined)).filter((t): t is number => t !== undefined && t >= from && t <= to);
  let longest = 0;
  let last = from;
  for (const t of [...at, to]) {
    longest = Math.max(longest, t - last);
    last = t;
  }
  return longest;
}

describe('a managed-Redis restart under a live meeting, on the real node', () => {
  const stack = new LiveStack(NS, 'node-restart');
  const url = () => `ws://${realNode().ip}:7880`;
  beforeAll(() => stack.start(), 300_000);
  afterAll(() => stack.stop(), 320_000);

  /** Alice publishes a tone, Bob hears it: a direct call (no TURN) to the SFU pod. */
  const call = async (room: string) => {
    const opts = (publish: boolean) => ({ url: url(), publish, relay: false, seconds: 600 });
    const publisher = new LiveProbe(stack.sb, `${room}-alice`, 'participant', { ...opts(true), token: await stack.token('alice', room) });
    const subscriber = new LiveProbe(stack.sb, `${room}-bob`, 'participant', { ...opts(false), token: await stack.token('bob', room) });
    await publisher.waitFor((e) => e.event === 'published', 30_000, 'the tone published');
    await subscriber.waitFor((e) => e.event === 'frames' && e.peak > 1000, 30_000, 'the tone heard');
    return { publisher, subscriber };
  };

  it('managed Redis restarted under a meeting: the meeting is not cut and its sound goes on; new meetings are accepted again once Redis is back', async () => {
    const { publisher, subscriber } = await call('direct');
    const rooms = new RoomServiceClient(`http://${realNode().ip}:7880`, stack.apiKey, stack.apiSecret);
    const t = timeline(subscriber);
    const probes: { at: number; ok: boolean }[] = [];
    let probing = true;
    let n = 0;
    const prober = (async () => {
      while (probing) {
        probes.push({ at: Date.now(), ok: await rooms.createRoom({ name: `redis-probe-${n++}`, emptyTimeout: 1 }).then(() => true, () => false) });
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    try {
      const old = podsOf(NS, 'visio', 'redis')[0];
      const t0 = Date.now();
      kubectlOk(['delete', 'pod', old.metadata.name, '-n', NS, '--wait=false']);
      await eventually('Redis replaced and ready', () => (podsOf(NS, 'visio', 'redis').some((p) => p.metadata.uid !== old.metadata.uid && podReady(p)) ? true : undefined), 180_000, 500);
      const readyAt = Date.now();
      await eventually('a new meeting accepted again', () => (probes.at(-1)?.ok && probes.at(-1)!.at > readyAt ? true : undefined), 90_000, 500);
      const end = Date.now();
      probing = false;
      await prober;
      const refused = probes.filter((p) => !p.ok && p.at >= t0);
      const silence = longestSilence(subscriber, t.times, t0, end);
      const reconnected = [publisher, subscriber].filter((p) => p.events.some((e) => e.event === 'reconnecting')).length;
      const disconnected = [publisher, subscriber].filter((p) => p.events.some((e) => e.event === 'disconnected')).length;
      console.log(
        `managed Redis restart under a meeting (issue 17): Redis back ${((readyAt - t0) / 1000).toFixed(1)} s after its delete; new meetings refused for ${refused.length ? ((refused.at(-1)!.at - refused[0]!.at) / 1000 + 1).toFixed(0) : 0} s ` +
          `(${refused.length} of ${probes.filter((p) => p.at >= t0).length} probes); the meeting's longest silence ${(silence / 1000).toFixed(1)} s; ` +
          `participants whose SDK reconnected its signalling: ${reconnected} of 2; disconnected: ${disconnected}`,
      );
      // The media path does not go through Redis: the meeting's sound goes on. (Its signalling may
      // resume: measured both ways, so reported, not asserted.)
      expect(disconnected).toBe(0);
      expect(silence).toBeLessThan(3000);
    } finally {
      probing = false;
      await prober.catch(() => {});
      t.stop();
      await Promise.all([publisher.leave(), subscriber.leave()]);
    }
  }, 400_000);
});
