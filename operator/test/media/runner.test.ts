// The runner itself (no process started): Kubernetes $(VAR) expansion, path rewriting, the pod
// filesystem it writes, and the guard that keeps the loopback edits to ports and addresses.
import { lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { changedPaths, coturnLoopback, livekitLoopback } from './loopback.js';
import { expandK8s, materialise, rewritePaths, type ImageResolver } from './pods.js';
import { configFile, renderExample, userSecret } from './stack.js';

describe('expandK8s (Kubernetes command/args expansion)', () => {
  const vars = { A: 'x', EMPTY: '' };
  it.each([
    ['$(A)', 'x'],
    ['pre-$(A)-post', 'pre-x-post'],
    ['$(EMPTY)', ''],
    ['$(MISSING)', '$(MISSING)'],
    ['$$(A)', '$(A)'],
    ['$$$(A)', '$x'],
    ['$A', '$A'],
    ['$(A', '$(A'],
    ['a$', 'a$'],
    ['`wget -qO- x`/$HOST_IP', '`wget -qO- x`/$HOST_IP'],
  ])('%s -> %s', (input, out) => expect(expandK8s(input, vars)).toBe(out));
});

describe('rewritePaths', () => {
  const mounts = ['/etc/livekit', '/etc/livekit/keys', '/data'];
  it('rewrites paths under mounts, the longest mount first, once', () => {
    expect(rewritePaths('key_file: /etc/livekit/keys/keys.yaml', mounts, '/r')).toBe('key_file: /r/etc/livekit/keys/keys.yaml');
    expect(rewritePaths('--config /etc/livekit/livekit.yaml', mounts, '/r')).toBe('--config /r/etc/livekit/livekit.yaml');
    expect(rewritePaths('dir /data', mounts, '/r')).toBe('dir /r/data');
    expect(rewritePaths(rewritePaths('dir /data', mounts, '/r'), mounts, '/r')).toBe('dir /r/data');
  });
  it('leaves look-alikes alone', () => {
    expect(rewritePaths('/etc/livekitx /var/data /data2 x/data', mounts, '/r')).toBe('/etc/livekitx /var/data /data2 x/data');
  });
});

describe('materialise (sports example)', () => {
  const r = renderExample('sports-generic-minimal.yaml');
  const dir = mkdtempSync(join(tmpdir(), 'meet-media-runner-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const images: ImageResolver = (image) => ({ binDir: `/images/${image.split('/').pop()}`, entrypoint: ['/livekit-server'] });

  it('lays out the SFU pod like the kubelet: ..data symlinks, secret modes, fsGroup ownership', () => {
    const pod = materialise({ objects: r.objects, workload: 'visio-sfu', podName: 'sfu-0', dir: join(dir, 'sfu'), images, hostIP: '127.0.0.1' });
    expect(pod.argv).toEqual(['/livekit-server', '--config', `${pod.root}/etc/livekit/livekit.yaml`]);
    expect(pod.user).toEqual({ uid: 1000, gid: 1000, groups: [1000, 1000] });
    expect(pod.env.LIVEKIT_REDIS_PASSWORD).toBe('test-redis-password-0123456789abcdefghijkl');
    expect(pod.readOnlyRoot).toEqual({ writable: [] });
    const keys = pod.files['/etc/livekit/keys/keys.yaml']!;
    expect(lstatSync(keys).isSymbolicLink()).toBe(true);
    expect(readlinkSync(keys)).toBe('..data/keys.yaml');
    expect(statSync(keys).mode & 0o777).toBe(0o440);
    expect(statSync(keys).gid).toBe(1000);
    expect(readFileSync(keys, 'utf8')).toBe('APItestkey00001: test-api-secret-0123456789abcdefghijklmnop\n');
    expect(statSync(pod.files['/etc/livekit/livekit.yaml']!).mode & 0o777).toBe(0o644);
    const conf = parse(readFileSync(pod.files['/etc/livekit/livekit.yaml']!, 'utf8'));
    expect(conf.key_file).toBe(`${pod.root}/etc/livekit/keys/keys.yaml`);
    expect(conf.rtc.turn_servers[0].secret_file).toBe(`${pod.root}/etc/livekit/turn/secret`);
  });

  it('mounts the Redis password as a 0440 file and gives the claim volume to the fsGroup', () => {
    const pod = materialise({ objects: r.objects, workload: 'visio-redis', podName: 'redis-0', dir: join(dir, 'redis'), images, hostIP: '127.0.0.1' });
    expect(pod.argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(pod.argv[2]).toContain(`exec redis-server ${pod.root}/var/run/redis/redis.conf`);
    expect(pod.argv.join(' ')).not.toContain('test-redis-password');
    expect(readFileSync(pod.files['/etc/redis/auth/password']!, 'utf8')).toBe('test-redis-password-0123456789abcdefghijkl');
    expect(statSync(pod.files['/etc/redis/auth/password']!).mode & 0o777).toBe(0o440);
    const data = statSync(`${pod.root}/data`);
    expect(data.gid).toBe(999);
    expect(data.mode & 0o2070).toBe(0o2070);
    expect(pod.readOnlyRoot).toEqual({ writable: [`${pod.root}/data`, `${pod.root}/var/run/redis`] });
  });

  it('resolves status.hostIP and mounts the TURN secret the coturn script reads', () => {
    const tls = userSecret('turn-sports-tls', 'sports', { 'tls.crt': 'CERT', 'tls.key': 'KEY' });
    const pod = materialise({ objects: [...r.objects, tls], workload: 'visio-turn', podName: 'turn-0', dir: join(dir, 'turn'), images, hostIP: '127.0.0.1' });
    expect(statSync(pod.files['/etc/coturn/tls/tls.key']!).mode & 0o777).toBe(0o440);
    expect(pod.readOnlyRoot).toEqual({ writable: [`${pod.root}/var/tmp/coturn`] });
    expect(pod.env.HOST_IP).toBe('127.0.0.1');
    // No secret in the environment: only what the kubelet always sets, and the node address.
    expect(Object.keys(pod.env).sort()).toEqual(['HOME', 'HOSTNAME', 'HOST_IP', 'PATH']);
    expect(readFileSync(pod.files['/etc/coturn/secret/secret']!, 'utf8')).toBe('test-turn-secret-0123456789abcdefghijklmno');
    expect(pod.argv[2]).toContain(`exec turnserver -c ${pod.root}/var/tmp/coturn/turnserver.conf`);
  });

  it('refuses a Secret the pod needs but nobody created', () => {
    expect(() => materialise({ objects: r.objects, workload: 'visio-turn', podName: 't', dir: join(dir, 't'), images, hostIP: '127.0.0.1' })).toThrow(
      /Secret turn-sports-tls is referenced by the pod but is neither rendered nor supplied by the test/,
    );
  });
});

describe('loopback edits touch only ports and addresses', () => {
  const r = renderExample('sports-generic-minimal.yaml');
  const livekit = configFile(r.objects, 'visio-sfu-config', 'livekit.yaml');
  const coturn = configFile(r.objects, 'visio-turn-config', 'turnserver.conf');

  it('livekit.yaml: ports, rtc.ips and the loopback candidate, nothing else', () => {
    const out = livekitLoopback({ port: 7980, tcpPort: 7981, metricsPort: 6889, udpRange: [55000, 59999] })(livekit);
    expect(changedPaths(parse(livekit), parse(out))).toEqual([
      'port',
      'prometheus.port',
      'rtc.enable_loopback_candidate',
      'rtc.ips.includes.0',
      'rtc.port_range_end',
      'rtc.port_range_start',
      'rtc.tcp_port',
    ]);
    expect(() => livekitLoopback({ port: 7880, tcpPort: 7881, metricsPort: 6789, udpRange: [50000, 60000] }, (doc) => doc.setIn(['room', 'max_participants'], 9))(livekit)).toThrow(
      /changes more than ports and addresses: room.max_participants/,
    );
  });

  it('turnserver.conf: listening/relay addresses and loopback peers added, every rendered line kept', () => {
    const out = coturnLoopback()(coturn);
    for (const line of coturn.split('\n').filter(Boolean)) expect(out.split('\n')).toContain(line);
    expect(out.split('\n').filter((l) => !coturn.split('\n').includes(l) && l && !l.startsWith('#'))).toEqual([
      'listening-ip=127.0.0.1',
      'relay-ip=127.0.0.1',
      'allow-loopback-peers',
      'allowed-peer-ip=127.0.0.1',
    ]);
  });
});
