// bench/scaling: a scripted working day of meetings across several ministries, replayed against
// two scaling policies on the same load curves (same seed):
//   operator - meet-operator's participants autoscaler (dist/scaling/decide.js + share.js, the code
//              that runs): scale up at once, down after the delay, emptiest pods first
//              (pod-deletion-cost), never below the pods hosting meetings;
//   cpu-hpa  - what the official LiveKit chart does: an autoscaling/v2 HPA on CPU (ratio rule with
//              10% tolerance, 300 s scale-down stabilisation), the ReplicaSet removing a random
//              ready pod, which then sits Terminating until its last meeting ends (drain).
// Prints node-minutes, Terminating pod-minutes, peak pods and overload for each, and the ratios.
// The reaction time of the real operator (load change -> replicas change) is measured end to end
// by operator/test/e2e/scaling.test.ts, which prints it.
// Usage: node bench/scaling.mjs [--seed 7] [--ministries 6] [--interval 15] [--max-total N]   (after make build)
import { fileURLToPath } from 'node:url';
import { arg, rng } from './lib.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { decide } = await import(`${root}dist/scaling/decide.js`);
const { shareCapacity } = await import(`${root}dist/scaling/share.js`);

const SEED = Number(arg('seed', '7'));
const MINISTRIES = Number(arg('ministries', '6'));
const STEP = Number(arg('interval', '15')); // seconds between autoscaler rounds / HPA syncs
const MAX_TOTAL = arg('max-total') ? Number(arg('max-total')) : undefined;
const DAY = { start: 7 * 3600, end: 21 * 3600 };
const POD_START_S = 45; // scheduling + image present + LiveKit ready
const TARGET = 150; // participants per SFU node (operator) ~ the CPU the HPA aims at
const CPU_TARGET = 60; // %: at TARGET participants a node runs at 60% CPU
const POLICY = { minReplicas: 2, maxReplicas: 40, targetParticipantsPerNode: TARGET, scaleDownDelaySeconds: 300 };


/** A ministry's meetings: bursts at 9:00-12:00 and 14:00-17:30, sizes from 2 to 80, 15-120 min. */
function meetings(rand, size) {
  const out = [];
  const perHour = (t) => {
    const h = t / 3600;
    const bump = (c, w) => Math.exp(-(((h - c) / w) ** 2));
    return size * (0.08 + bump(10, 1.4) + 0.8 * bump(15.5, 1.5));
  };
  for (let t = DAY.start; t < DAY.end - 1800; t += 60) {
    const n = perHour(t) / 60;
    for (let k = 0; k < Math.floor(n) + (rand() < n % 1 ? 1 : 0); k++) {
      const people = Math.max(2, Math.round(2 + rand() ** 3 * 78));
      const duration = 15 * 60 + Math.round(rand() * 105) * 60;
      out.push({ start: t + Math.floor(rand() * 60), end: Math.min(DAY.end, t + duration), people });
    }
  }
  return out.sort((a, b) => a.start - b.start);
}

function simulate(policyName, load, rand) {
  const clusters = load.map((ms, i) => ({ key: `ministry-${i}`, meetings: ms, next: 0, pods: [], replicas: POLICY.minReplicas, state: undefined, hpaWindow: [] }));
  let podSeq = 0;
  const addPod = (c, t) => c.pods.push({ id: podSeq++, readyAt: t + POD_START_S, rooms: [], terminating: false });
  for (const c of clusters) for (let i = 0; i < c.replicas; i++) addPod(c, DAY.start - POD_START_S);
  const totals = { nodeSeconds: 0, terminatingSeconds: 0, peak: 0, overloadedPodSeconds: 0, refusedPlacements: 0, shortfallSeconds: 0 };

  for (let t = DAY.start; t <= DAY.end; t += STEP) {
    for (const c of clusters) {
      // Meetings end; a Terminating pod whose last meeting ended exits (drained).
      for (const p of c.pods) p.rooms = p.rooms.filter((r) => r.end > t);
      c.pods = c.pods.filter((p) => !(p.terminating && p.rooms.length === 0));
      // Meetings start on the least loaded ready pod (what LiveKit's load-based selection aims at).
      while (c.next < c.meetings.length && c.meetings[c.next].start <= t) {
        const m = c.meetings[c.next++];
        const ready = c.pods.filter((p) => !p.terminating && p.readyAt <= t);
        if (!ready.length) { totals.refusedPlacements++; continue; }
        ready.sort((a, b) => people(a) - people(b))[0].rooms.push(m);
      }
    }
    // Decide.
    const wants = clusters.map((c) => {
      const live = c.pods.filter((p) => !p.terminating);
      if (policyName === 'operator') {
        const pods = live.filter((p) => p.readyAt <= t).map((p) => ({ name: String(p.id), participants: people(p), rooms: p.rooms.length }));
        const d = decide({ policy: POLICY, current: c.replicas, pods, state: c.state, now: t * 1000 });
        c.state = d.state;
        return { c, wanted: d.replicas, load: d.participants };
      }
      // HPA: utilisation = mean CPU of ready pods; desired = ceil(current * util / target) outside a 10% tolerance.
      const ready = live.filter((p) => p.readyAt <= t);
      const util = ready.length ? ready.reduce((a, p) => a + cpuOf(p), 0) / ready.length : 0;
      const ratio = util / CPU_TARGET;
      let desired = Math.abs(ratio - 1) <= 0.1 ? c.replicas : Math.ceil(ready.length * ratio);
      desired = Math.min(POLICY.maxReplicas, Math.max(POLICY.minReplicas, desired));
      c.hpaWindow = [...c.hpaWindow.filter((r) => r.at > t - POLICY.scaleDownDelaySeconds), { at: t, replicas: desired }];
      const stabilised = Math.max(...c.hpaWindow.map((r) => r.replicas));
      return { c, wanted: desired > c.replicas ? desired : Math.min(c.replicas, stabilised), load: ready.reduce((a, p) => a + people(p), 0) };
    });
    const grants = shareCapacity(wants.map(({ c, wanted, load }) => ({ key: c.key, wanted, minReplicas: POLICY.minReplicas, current: c.replicas, load })), MAX_TOTAL);
    // Act.
    for (const { c } of wants) {
      const { replicas, shortfall } = grants.get(c.key);
      totals.shortfallSeconds += shortfall * STEP;
      const live = c.pods.filter((p) => !p.terminating);
      if (replicas > live.length) for (let i = live.length; i < replicas; i++) addPod(c, t);
      if (replicas < live.length) {
        const order = policyName === 'operator'
          ? [...live].sort((a, b) => people(a) - people(b)) // pod-deletion-cost = participants
          : [...live].sort(() => rand() - 0.5); // ReplicaSet among equally ranked ready pods
        for (const p of order.slice(0, live.length - replicas)) p.terminating = true;
      }
      c.replicas = replicas;
      c.pods = c.pods.filter((p) => !(p.terminating && p.rooms.length === 0));
    }
    // Account.
    let now = 0;
    for (const c of clusters) {
      for (const p of c.pods) {
        now++;
        totals.nodeSeconds += STEP;
        if (p.terminating) totals.terminatingSeconds += STEP;
        if (people(p) > TARGET * 1.5) totals.overloadedPodSeconds += STEP;
      }
    }
    totals.peak = Math.max(totals.peak, now);
  }
  return totals;
}

const people = (p) => p.rooms.reduce((a, r) => a + r.people, 0);
const cpuOf = (p) => Math.min(100, (people(p) / TARGET) * CPU_TARGET);

const rand = rng(SEED);
const sizes = Array.from({ length: MINISTRIES }, (_, i) => [40, 25, 12, 8, 5, 3][i % 6]); // meetings per peak hour
const load = sizes.map((s) => meetings(rand, s));
const count = load.reduce((a, m) => a + m.length, 0);
const peakPeople = Math.max(...Array.from({ length: (DAY.end - DAY.start) / 60 }, (_, i) => DAY.start + i * 60).map((t) => load.flat().filter((m) => m.start <= t && m.end > t).reduce((a, m) => a + m.people, 0)));
console.log(`scripted day: ${MINISTRIES} ministries, ${count} meetings, peak ${peakPeople} participants at once; rounds every ${STEP}s; target ${TARGET}/node${MAX_TOTAL ? `; --max-total-sfu-nodes ${MAX_TOTAL}` : ''}`);

const results = {};
for (const name of ['operator', 'cpu-hpa']) {
  const t0 = performance.now();
  results[name] = simulate(name, load, rng(SEED + 1));
  results[name].ms = performance.now() - t0;
}
const row = (k, r) => `${k.padEnd(9)} ${(r.nodeSeconds / 60).toFixed(0).padStart(12)} ${(r.terminatingSeconds / 60).toFixed(0).padStart(17)} ${String(r.peak).padStart(9)} ${(r.overloadedPodSeconds / 60).toFixed(0).padStart(20)} ${String(r.refusedPlacements).padStart(8)}${MAX_TOTAL ? ` ${(r.shortfallSeconds / 60).toFixed(0).padStart(16)}` : ''}`;
console.log(`policy    node-minutes  terminating-pod-min  peak-pods  overloaded-pod-min(>1.5x)  refused${MAX_TOTAL ? '  shortfall-pod-min' : ''}`);
for (const [k, r] of Object.entries(results)) console.log(row(k, r));
const o = results.operator;
const h = results['cpu-hpa'];
console.log(`ratios operator/cpu-hpa: node-minutes ${(o.nodeSeconds / h.nodeSeconds).toFixed(2)}x, terminating pod-minutes ${h.terminatingSeconds ? (o.terminatingSeconds / h.terminatingSeconds).toFixed(3) : 'n/a'}x (${(o.terminatingSeconds / 60).toFixed(0)} vs ${(h.terminatingSeconds / 60).toFixed(0)})`);
console.log(`decision cost: ${(o.ms / (((DAY.end - DAY.start) / STEP) * MINISTRIES)).toFixed(3)} ms per cluster per round (baseline cpu-hpa rule: ${(h.ms / (((DAY.end - DAY.start) / STEP) * MINISTRIES)).toFixed(3)} ms)`);
