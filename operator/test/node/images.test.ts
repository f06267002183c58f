// The images are built from source reproducibly, and the real node runs exactly them: every image of
// images/ built twice in fresh directories gives the same digests (images/build.mjs
// --verify-reproducible), and the node's containerd holds each image under the digest images.json
// records, the one a ministry mirrors.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { builtImages, realNode } from './cluster.js';

describe('images built from source', () => {
  it('build twice to the same digests, every one of them', () => {
    const names = Object.keys(builtImages());
    const r = spawnSync(process.execPath, ['images/build.mjs', '--verify-reproducible', ...names], { encoding: 'utf8', timeout: 900_000 });
    // The lines that say what went wrong first (CI keeps only part of a long failure), then the tails.
    const why = `${r.stdout}\n${r.stderr}`.split('\n').filter((l) => /NOT REPRODUCIBLE|ERROR|error|failed|die/.test(l)).slice(0, 20).join('\n');
    if (r.status !== 0) console.error(`images/build.mjs --verify-reproducible exited ${r.status} (signal ${r.signal}):\n${why}`);
    expect(r.status, `${why}\n--- stdout (tail)\n${r.stdout.slice(-3000)}\n--- stderr (tail)\n${r.stderr.slice(-3000)}`).toBe(0);
    for (const n of names) expect(r.stdout).toMatch(new RegExp(`^reproducible localhost/meet-operator/${n}:`, 'm'));
    expect(r.stdout).toContain(`all ${names.length} images reproducible`);
  }, 900_000);

  it('are what the node runs: containerd holds each under the digest images.json records', () => {
    const n = realNode();
    // ctr's own stderr warns about cgroup v1 on every call.
    const listing = execFileSync(join(n.nodeBinDir, 'ctr'), ['--address', n.containerdSock, '-n', 'k8s.io', 'images', 'ls'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const held = new Map(listing.split('\n').slice(1).filter(Boolean).map((l) => l.split(/\s+/)).map(([ref, , digest]) => [ref!, digest!]));
    for (const image of Object.values(builtImages())) expect(held.get(image.ref), image.ref).toBe(image.digest);
  });
});
