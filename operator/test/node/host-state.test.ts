// hack/lib/host-state.sh, the record the real node's teardown restores the host from and checks it
// against: every kind of change a node makes (a sysctl, an iptables chain, a network link, a mount,
// a cgroup, a default path) must show in `diff` and be gone after `restore`. The node project's
// global teardown runs the same check after the real node stops (hack/node-down.sh, through
// controlplane-down.sh) and fails the run when the host differs.
//
// Here it runs in a network and mount namespace of its own: the real node's kube-proxy keeps its
// rules in this machine's namespace while the tests run, and this test must neither see nor disturb
// them (restore empties the rule set it recorded as empty, as node-down does on a fresh machine).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SCRIPT = join(process.cwd(), 'hack/lib/host-state.sh');

describe('host-state.sh: what a node changes is seen and undone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meet-host-state-'));
  const mnt = join(dir, 'mnt');
  const cgroup = '/sys/fs/cgroup/pids/meet-host-state-test';
  const netnsDir = '/run/netns/meet-host-state-test';
  let holder: ChildProcess;
  /** A shell command in the test's namespaces. */
  const inNs = (cmd: string) => {
    const r = spawnSync('nsenter', [`--net=/proc/${holder.pid}/ns/net`, `--mount=/proc/${holder.pid}/ns/mnt`, '--', 'bash', '-c', cmd], { encoding: 'utf8' });
    return { status: r.status, out: r.stdout + r.stderr, stdout: r.stdout };
  };
  const state = (verb: 'snapshot' | 'restore' | 'diff') => inNs(`bash ${SCRIPT} ${verb} ${dir}/snap`);

  beforeAll(async () => {
    holder = spawn('unshare', ['--net', '--mount', '--propagation', 'private', '--', 'sleep', 'infinity'], { stdio: 'ignore' });
    for (let i = 0; i < 50 && spawnSync('readlink', [`/proc/${holder.pid}/ns/net`]).stdout.toString() === spawnSync('readlink', ['/proc/self/ns/net']).stdout.toString(); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    mkdirSync(mnt);
  });
  afterAll(() => {
    holder?.kill('SIGKILL'); // its namespaces go with it: links, rules, the mount
    spawnSync('rmdir', [cgroup]);
    rmSync(netnsDir, { recursive: true, force: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('records, reports each change, restores, and reports nothing after', () => {
    const snap = state('snapshot');
    expect(snap.status, snap.out).toBe(0);
    const same = state('diff');
    expect(same.status, same.out).toBe(0);

    const runNetnsExisted = existsSync('/run/netns');
    const change = inNs([
      `mount -t tmpfs meet-test ${mnt}`,
      'ip link add meet-test0 type veth peer name meet-test1', // no dummy driver in these VMs' kernels
      'iptables -t nat -N MEET-TEST',
      'sysctl -qw net.ipv4.conf.all.route_localnet=1',
      `mkdir ${cgroup}`,
      `mkdir -p ${netnsDir}`,
    ].join(' && '));
    expect(change.status, change.out).toBe(0);

    const changed = state('diff');
    expect(changed.status, changed.out).toBe(1);
    for (const aspect of ['sysctls', 'iptables', 'nft', 'mounts', 'links', 'cgroups']) expect(changed.stdout).toContain(`--- ${aspect} changed`);
    expect(changed.stdout).toContain('> net.ipv4.conf.all.route_localnet = 1');
    expect(changed.stdout).toContain('> meet-test0');
    expect(changed.stdout).toContain('chain MEET-TEST');
    expect(changed.stdout).toContain(cgroup);
    if (!runNetnsExisted) expect(changed.stdout).toContain('--- paths changed');

    // Mounts are the caller's to undo (node-down unmounts before restoring): restore does the rest.
    expect(inNs(`umount ${mnt}`).status).toBe(0);
    const restored = state('restore');
    expect(restored.status, restored.out).toBe(0);
    const after = state('diff');
    expect(after.stdout).toBe('');
    expect(after.status).toBe(0);
    expect(existsSync(cgroup)).toBe(false);
  });
});
