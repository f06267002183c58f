// The managed Redis pod, run by the real redis-server exactly as rendered (no edit at all: the
// namespace's only interface is the loopback, so `bind * -::*` and port 6379 stay as they are).
import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaBinaries } from './binaries.js';
import { Sandbox } from './sandbox.js';
import { renderExample, secretValue, startPod, waitReady, type Rendered, type StartedPod } from './stack.js';

describe('managed Redis (examples/sports-generic-minimal.yaml)', () => {
  let sb: Sandbox;
  let r: Rendered;
  let redis: StartedPod;
  const cli = (args: string[], name = 'redis-cli') => sb.run({ name, argv: [mediaBinaries().redisCli, '-h', '127.0.0.1', '-p', '6379', '--no-auth-warning', ...args], timeoutMs: 5000 });

  beforeAll(async () => {
    r = renderExample('sports-generic-minimal.yaml');
    sb = await Sandbox.create('redis');
    redis = startPod(sb, { objects: r.objects, workload: 'visio-redis', podName: 'visio-redis-0' });
    await waitReady(sb, redis, 15_000);
  });
  afterAll(async () => {
    await sb?.close();
  });

  it('runs the rendered script as the pod user: the password reaches Redis in a 0400 file, never its command line or environment', () => {
    const password = secretValue(r.objects, 'visio-redis-auth', 'password');
    expect(redis.pod.argv.slice(0, 2)).toEqual(['sh', '-c']);
    const composed = `${redis.pod.root}/var/run/redis/redis.conf`;
    expect(readFileSync(`/proc/${redis.proc.pid}/cmdline`, 'utf8')).not.toContain(password);
    expect(readFileSync(`/proc/${redis.proc.pid}/environ`, 'utf8')).not.toContain(password);
    expect(readFileSync(composed, 'utf8').split('\n').filter((l) => l.startsWith('requirepass'))).toEqual([`requirepass "${password}"`]);
    expect(statSync(composed).mode & 0o777).toBe(0o400);
    expect(redis.pod.user).toEqual({ uid: 999, gid: 999, groups: [999, 999] });
    expect(redis.proc.log()).toContain('Ready to accept connections');
    expect(redis.proc.log()).not.toMatch(/FATAL|Bad directive|wrong number of arguments/i);
  });

  it('refuses a client without the password', async () => {
    const res = await cli(['PING']);
    expect(res.stdout + res.stderr).toMatch(/NOAUTH Authentication required/);
    const wrong = await cli(['-a', 'not-the-password', 'PING']);
    expect(wrong.stdout + wrong.stderr).toMatch(/WRONGPASS|invalid username-password/);
  });

  it('accepts the rendered password and applies the rendered settings', async () => {
    const password = secretValue(r.objects, 'visio-redis-auth', 'password');
    expect((await cli(['-a', password, 'PING'])).stdout.trim()).toBe('PONG');
    const config = async (key: string) => (await cli(['-a', password, 'CONFIG', 'GET', key])).stdout.trim().split('\n')[1];
    expect(await config('appendonly')).toBe('yes');
    expect(await config('maxmemory-policy')).toBe('noeviction');
    expect(await config('protected-mode')).toBe('no');
    expect(await config('dir')).toBe(`${redis.pod.root}/data`);
    // The append-only file lands on the claim's volume, written as uid 999 through the fsGroup.
    expect((await cli(['-a', password, 'SET', 'k', 'v'])).stdout.trim()).toBe('OK');
  });
});
