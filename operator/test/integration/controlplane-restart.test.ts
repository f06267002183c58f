// hack/controlplane-up.sh on a state dir an earlier run left with more kwok nodes (e.g. `make dev`
// then `make controlplane-up` with another NODES): the reused etcd still holds the old nodes, and the
// start-up must converge on the count asked for now instead of waiting for a count that can never be.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KUBECTL } from './kubectl.js';

const dir = mkdtempSync(join(process.env.CONTROLPLANE_TMPDIR ?? tmpdir(), 'meet-operator-restart-'));
const up = (nodes: number) =>
  execFileSync('bash', ['hack/controlplane-up.sh', '--watch-pid', String(process.pid), dir], { encoding: 'utf8', env: { ...process.env, NODES: String(nodes) }, stdio: ['ignore', 'pipe', 'pipe'] });
const down = (clean = false) => execFileSync('bash', ['hack/controlplane-down.sh', ...(clean ? ['--clean'] : []), dir], { stdio: 'ignore', env: { ...process.env, DOWN_GRACE: '2' } });
const kwokNodes = () =>
  execFileSync(KUBECTL, ['get', 'nodes', '-l', 'type=kwok', '-o', 'name'], { encoding: 'utf8', env: { ...process.env, KUBECONFIG: join(dir, 'kubeconfig') } }).split('\n').filter(Boolean).sort();

afterAll(() => {
  try {
    down(true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('controlplane-up.sh on a reused state dir', () => {
  it('NODES=3, then NODES=1 on the same etcd: starts with exactly one kwok node', () => {
    up(3);
    expect(kwokNodes()).toEqual(['node/kwok-node-1', 'node/kwok-node-2', 'node/kwok-node-3']);
    down();
    up(1);
    expect(kwokNodes()).toEqual(['node/kwok-node-1']);
  }, 240_000);
});
