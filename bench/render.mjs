// bench/render: how long one MeetingCluster takes to validate + render, first render of a process
// and warm, for each example. Figures, not a pass/fail test: the target is a warm render under
// 5 ms per MeetingCluster. Baseline in the same run: structuredClone of the rendered objects (the
// floor of producing that many plain objects), so the ratio survives a busy machine.
// Usage: node bench/render.mjs [--runs N]   (after `make build`)
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const { validateMeetingCluster } = await import(`${root}dist/api/validate.js`);
const { renderCluster } = await import(`${root}dist/render/index.js`);

const SECRETS = { livekitApiKey: 'APIbench0000001', livekitApiSecret: 'b'.repeat(43), turnSharedSecret: 't'.repeat(43), redisPassword: 'r'.repeat(43) };
const runs = Number(process.argv[process.argv.indexOf('--runs') + 1]) || 2000;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const examples = readdirSync(`${root}examples`).filter((f) => f.endsWith('.yaml') && !f.includes('storageclass'));

function once(raw) {
  const { cluster, errors } = validateMeetingCluster(raw);
  if (!cluster) throw new Error(JSON.stringify(errors));
  return renderCluster(cluster, SECRETS);
}

// Child mode: time the very first validate+render of a fresh process.
if (process.argv[2] === '--first') {
  const raw = parse(readFileSync(process.argv[3], 'utf8'));
  const t = performance.now();
  once(raw);
  process.stdout.write(String(performance.now() - t));
  process.exit(0);
}

const rows = [];
for (const file of examples) {
  const path = `${root}examples/${file}`;
  const raw = parse(readFileSync(path, 'utf8'));
  const first = median(Array.from({ length: 5 }, () => Number(execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--first', path]))));
  for (let i = 0; i < 300; i++) once(raw); // warm-up: JIT, caches
  const warm = [], base = [];
  let objects;
  for (let i = 0; i < runs; i++) {
    let t = performance.now();
    objects = once(raw);
    warm.push(performance.now() - t);
    t = performance.now();
    structuredClone(objects);
    base.push(performance.now() - t);
  }
  rows.push({ file, objects: objects.length, first: first.toFixed(2), warm: median(warm).toFixed(3), baseline: median(base).toFixed(3), ratio: (median(warm) / median(base)).toFixed(1) });
}

console.log(`bench/render: validate + render one MeetingCluster (median of ${runs} warm runs; first = median of 5 fresh processes)`);
console.table(rows);
const worst = Math.max(...rows.map((r) => Number(r.warm)));
console.log(`warm render, slowest example: ${worst.toFixed(3)} ms per MeetingCluster (target < 5 ms): ${worst < 5 ? 'MET' : 'MISSED'}`);
const mem = process.memoryUsage();
console.log(`process RSS after ${runs * rows.length} renders: ${(mem.rss / 2 ** 20).toFixed(0)} MiB`);
