// The V8 and malloc settings the image runs the operator with (images/meet-operator/image.yaml: env and
// the entrypoint's flags, chosen with bench/reconcile.mjs), and the chart's Deployment keeping them: node
// must accept them (V8 flags other than the heap sizes are refused in NODE_OPTIONS) and they must take effect.
import { spawnSync } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureHelm, findOne, imageEntrypoint, imageEnv, renderChart } from './chart-helpers.js';

// Allocates short-lived garbage and reports the largest young generation V8 used meanwhile.
const PROBE = `
const v8 = require('node:v8');
let maxNew = 0, keep = 0;
for (let i = 0; i < 400; i++) {
  const junk = Array.from({ length: 20000 }, (_, j) => ({ i, j, s: 'x' + j }));
  keep += junk.length;
  const n = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
  if (n > maxNew) maxNew = n;
}
console.log(JSON.stringify({ maxNewSpaceMiB: maxNew / 2 ** 20, keep }));
`;

function probe(nodeFlags: string[], env: Record<string, string>): { status: number | null; stderr: string; maxNewSpaceMiB?: number } {
  const r = spawnSync(process.execPath, [...nodeFlags, '-e', PROBE], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env }, timeout: 120_000 });
  return { status: r.status, stderr: r.stderr, ...(r.status === 0 ? JSON.parse(r.stdout) : {}) };
}

beforeAll(() => ensureHelm(), 1_800_000);

describe('the memory settings of the image and the chart', () => {
  it('the chart sets the NODE_OPTIONS the image sets', () => {
    const image = imageEnv();
    const d = findOne(renderChart(), 'Deployment');
    const env = d.spec.template.spec.containers[0].env as { name: string; value?: string }[];
    expect(image.NODE_OPTIONS).toBeTruthy();
    expect(env.find((e) => e.name === 'NODE_OPTIONS')?.value).toBe(image.NODE_OPTIONS);
  });

  it('node accepts the ENTRYPOINT flags and NODE_OPTIONS, and the young generation stays small', () => {
    const { entrypoint } = imageEntrypoint();
    expect(entrypoint[0]).toBe('node');
    expect(entrypoint.at(-1)).toBe('dist/cli/bin.js');
    const flags = entrypoint.slice(1, -1);
    const image = imageEnv();
    const withImage = probe(flags, image);
    expect(withImage.stderr).toBe('');
    expect(withImage.status).toBe(0);
    const without = probe([], {});
    console.log(`largest young generation: ${withImage.maxNewSpaceMiB} MiB with the image's settings, ${without.maxNewSpaceMiB} MiB without`);
    expect(withImage.maxNewSpaceMiB).toBeLessThanOrEqual(8);
    expect(without.maxNewSpaceMiB).toBeGreaterThan(withImage.maxNewSpaceMiB! * 4);
    // A V8 flag other than the heap sizes in NODE_OPTIONS stops node: they belong in the ENTRYPOINT.
    const refused = probe([], { NODE_OPTIONS: `${image.NODE_OPTIONS} ${flags.join(' ')}`.trim() });
    if (flags.length) expect(refused.stderr).toMatch(/not allowed in NODE_OPTIONS/);
  });
});
