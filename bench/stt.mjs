// bench/stt: the STT pool's scaling decision (dist/scaling/stt.js, the code the operator will run).
//  1. Decision cost: one decision over 4, 40 and 400 pods, against the SFU autoscaler's decision over
//     the same number of pods in the same run (both go through scaling/core.js: the ratio shows what
//     the slot arithmetic adds).
//  2. Free slots kept vs streams refused: a scripted day of subtitled meetings (one stream per
//     participant, same seed) replayed against the decision with freeSlots 0 to 32, pods taking
//     POD_START_S to serve after they are asked for (model loading). A stream that finds every slot
//     taken is refused ("no free channels"): that participant gets no subtitles. Prints refused
//     streams and pod-minutes for each, and the ratios against the default (2, refusals read). Once
//     without reading refusals (slots in use only: with 0 free, a full pool never grows, since refused
//     streams hold no slot) and once with each pod's refusals since the last round counted as demand.
// Not measured here: how long a real moshi-server pod takes to load its model and serve (that needs
// the real program and weights: issue 16, the real-program tests).
// Usage: node bench/stt.mjs [--seed 7] [--start 90] [--slots 8]   (after make build)
import { fileURLToPath } from 'node:url';
import { arg, rng } from './lib.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { decideStt } = await import(`${root}dist/scaling/stt.js`);
const { decide } = await import(`${root}dist/scaling/decide.js`);

const SEED = Number(arg('seed', '7'));
const POD_START_S = Number(arg('start', '90'));
const SLOTS = Number(arg('slots', '8'));
const STEP = 15; // seconds between autoscaler rounds


// --- 1. decision cost ---------------------------------------------------------------------------
function timeIt(fn, rounds) {
  for (let i = 0; i < 200; i++) fn(); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) fn();
  return Number(process.hrtime.bigint() - t0) / rounds / 1000; // µs
}
console.log('decision cost (µs per decision; SFU decision over as many pods = baseline)');
console.log('pods    stt      sfu      ratio');
for (const n of [4, 40, 400]) {
  const sttPods = Array.from({ length: n }, (_, i) => ({ name: `stt-${i}`, used: i % SLOTS, total: SLOTS }));
  const sfuPods = Array.from({ length: n }, (_, i) => ({ name: `sfu-${i}`, participants: (i * 37) % 150, rooms: i % 5 }));
  const stt = timeIt(() => decideStt({ policy: { minPods: 1, maxPods: 1000, slotsPerPod: SLOTS, freeSlots: 2, scaleDownDelaySeconds: 300 }, current: n, pods: sttPods, now: 1e9 }), 20000);
  const sfu = timeIt(() => decide({ policy: { minReplicas: 1, maxReplicas: 1000, targetParticipantsPerNode: 150, scaleDownDelaySeconds: 300 }, current: n, pods: sfuPods, now: 1e9 }), 20000);
  console.log(`${String(n).padEnd(7)} ${stt.toFixed(2).padEnd(8)} ${sfu.toFixed(2).padEnd(8)} ${(stt / sfu).toFixed(2)}`);
}

// --- 2. free slots vs refused streams -----------------------------------------------------------
/** Subtitled meetings of one ministry's day: 2 to 30 people, 15 to 90 min, busier at 10:00 and 15:00. */
function day(rand) {
  const out = [];
  for (let t = 8 * 3600; t < 18 * 3600; t += 60) {
    const h = t / 3600;
    const rate = 0.15 + Math.exp(-(((h - 10) / 1.2) ** 2)) + 0.8 * Math.exp(-(((h - 15) / 1.3) ** 2));
    if (rand() < rate) {
      const people = 2 + Math.round(rand() ** 2 * 28);
      // People join over the first two minutes, one stream each.
      for (let p = 0; p < people; p++) out.push({ start: t + Math.floor(rand() * 120), end: t + 900 + Math.round(rand() * 75) * 60 });
    }
  }
  return out.sort((a, b) => a.start - b.start);
}

function replay(freeSlots, feedback) {
  const streams = day(rng(SEED));
  const policy = { minPods: 1, maxPods: 200, slotsPerPod: SLOTS, freeSlots, scaleDownDelaySeconds: 300 };
  /** Pods: ready at (s), open streams (end times). */
  let pods = [{ name: 'stt-0', readyAt: 0, open: [] }];
  let next = 1, state, refused = 0, podSeconds = 0, i = 0;
  const refusedBy = new Map(); // pod -> streams refused since the last round (what its metrics would say)
  for (let t = 8 * 3600; t <= 20 * 3600; t += 1) {
    for (const p of pods) p.open = p.open.filter((end) => end > t);
    // Streams arriving this second take a free slot on a ready pod (the agent tries the Service: any ready pod with room).
    while (i < streams.length && streams[i].start <= t) {
      const s = streams[i++];
      if (s.end <= t) continue;
      const pod = pods.filter((p) => p.readyAt <= t && p.open.length < SLOTS).sort((a, b) => b.open.length - a.open.length)[0];
      if (pod) pod.open.push(s.end);
      else {
        refused++;
        // The Service sent it to some ready pod, which refused it.
        const ready = pods.filter((p) => p.readyAt <= t);
        if (ready.length && feedback) refusedBy.set(ready[0].name, (refusedBy.get(ready[0].name) ?? 0) + 1);
      }
    }
    podSeconds += pods.length;
    if (t % STEP) continue;
    const ready = pods.filter((p) => p.readyAt <= t);
    const d = decideStt({ policy, current: pods.length, pods: ready.map((p) => ({ name: p.name, used: p.open.length, total: SLOTS, refused: refusedBy.get(p.name) ?? 0 })), state, now: t * 1000 });
    refusedBy.clear();
    state = d.state;
    if (d.replicas > pods.length) for (let k = pods.length; k < d.replicas; k++) pods.push({ name: `stt-${next++}`, readyAt: t + POD_START_S, open: [] });
    else if (d.replicas < pods.length) {
      // Deletion cost = open streams: the emptiest go first, never one with a stream (the decision's floor).
      const idle = pods.filter((p) => p.open.length === 0).sort((a, b) => a.readyAt - b.readyAt);
      const drop = new Set(idle.slice(0, pods.length - d.replicas));
      pods = pods.filter((p) => !drop.has(p));
    }
  }
  return { streams: streams.length, refused, podMinutes: podSeconds / 60 };
}

console.log(`\nfree slots kept vs streams refused (one day, seed ${SEED}, ${SLOTS} slots per pod, pods serve ${POD_START_S} s after asked for)`);
console.log('refusals read  freeSlots  streams  refused  pod-minutes  refused vs default   pod-minutes vs default');
const base = replay(2, true);
for (const feedback of [false, true]) {
  for (const f of [0, 2, 8, 16, 32]) {
    const r = feedback && f === 2 ? base : replay(f, feedback);
    console.log(`${(feedback ? 'yes' : 'no').padEnd(14)} ${String(f).padEnd(10)} ${String(r.streams).padEnd(8)} ${String(r.refused).padEnd(8)} ${r.podMinutes.toFixed(0).padEnd(12)} ${(base.refused ? r.refused / base.refused : 0).toFixed(2).padEnd(19)} ${(r.podMinutes / base.podMinutes).toFixed(2)}`);
  }
}
