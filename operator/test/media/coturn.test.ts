// coturn pods run by Debian's turnserver from the rendered ConfigMap, command (sh -c script) and
// env, and a real TURN client (turnutils_uclient) against them: REST credentials minted the way
// LiveKit mints them, a wrong secret, and relays to denied peers. Everything runs in a private
// network namespace, so even a wrongly allowed relay to 10.0.0.1 could not leave the machine.
import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaBinaries } from './binaries.js';
import { coturnLoopback } from './loopback.js';
import { Sandbox } from './sandbox.js';
import { LiveProbe, configFile, probe, renderExample, secretValue, startPod, tlsSecret, turnRestCredentials, waitReady, type Rendered, type StartedPod } from './stack.js';

const PEER_PORT = 3480;

interface Case {
  example: string;
  label: string;
  /** Outscale: the node's public IP comes from the metadata service (served inside the namespace). */
  metadata: boolean;
  tls: boolean;
}

const CASES: Case[] = [
  { example: 'sports-generic-minimal.yaml', label: 'coturn-generic', metadata: false, tls: true },
  { example: 'interieur-outscale-cloudgouv.yaml', label: 'coturn-outscale', metadata: true, tls: false },
];

describe.each(CASES)('coturn from examples/$example', (c) => {
  let sb: Sandbox;
  let r: Rendered;
  let turn: StartedPod;
  let secret: string;
  let metadataServer: LiveProbe | undefined;

  const uclient = (name: string, args: string[], port = 3478) =>
    sb.run({ name, argv: [mediaBinaries().turnutilsUclient, '-p', String(port), '-c', '-n', '5', '-z', '5', '-m', '1', ...args, '127.0.0.1'], timeoutMs: 20_000 });

  beforeAll(async () => {
    r = renderExample(c.example);
    secret = secretValue(r.objects, 'visio-turn-secret', 'secret');
    sb = await Sandbox.create(c.label, { loopbackAddresses: c.metadata ? ['169.254.169.254/32'] : [] });
    if (c.metadata) {
      // The Outscale metadata service, on its own link-local address inside the namespace.
      metadataServer = new LiveProbe(sb, 'metadata', 'http-serve', { host: '169.254.169.254', port: 80, body: '127.0.0.1' });
      await metadataServer.waitFor((e) => e.event === 'ready', 10_000, 'metadata service ready');
    }
    const extra = c.tls ? [tlsSecret(sb.dir, 'turn-sports-tls', r.mc.metadata.namespace, r.mc.spec.turn.domain!)] : [];
    turn = startPod(sb, { objects: [...r.objects, ...extra], workload: 'visio-turn', podName: 'visio-turn-a', edit: { '/etc/coturn/turnserver.conf': coturnLoopback() } });
    await waitReady(sb, turn, 15_000);
    sb.spawn({ name: 'peer', argv: [mediaBinaries().turnutilsPeer, '-L', '127.0.0.1', '-p', String(PEER_PORT)] });
  });
  afterAll(async () => {
    await sb?.close();
  });

  it('runs the rendered sh -c script as nobody: the secret and external IP reach coturn in a 0400 file, never a command line', () => {
    expect(turn.pod.argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(turn.pod.user.uid).toBe(65534);
    expect(configFile(r.objects, 'visio-turn-config', 'turnserver.conf')).not.toContain(secret);
    // sh exec'd turnserver: same pid, its real command line and environment.
    const cmdline = readFileSync(`/proc/${turn.proc.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const composed = `${turn.pod.root}/var/tmp/coturn/turnserver.conf`;
    expect(cmdline).toEqual(['turnserver', '-c', composed]);
    expect(readFileSync(`/proc/${turn.proc.pid}/environ`, 'utf8')).not.toContain(secret);
    const externalIP = c.metadata ? '127.0.0.1/127.0.0.1' : '127.0.0.1';
    const lines = readFileSync(composed, 'utf8').split('\n');
    expect(lines.filter((l) => /^(external-ip|static-auth-secret)=/.test(l))).toEqual([`external-ip=${externalIP}`, `static-auth-secret=${secret}`]);
    expect(statSync(composed).mode & 0o777).toBe(0o400);
    expect(statSync(composed).uid).toBe(65534);
    if (c.metadata) expect(metadataServer!.events).toContainEqual(expect.objectContaining({ event: 'request', method: 'GET', url: '/latest/meta-data/public-ipv4' }));
  });

  it('accepts every line of the rendered turnserver.conf', () => {
    const log = turn.proc.log();
    expect(log).toContain('Version Coturn-4.6');
    expect(log).not.toMatch(/Bad configuration format|CONFIG ERROR|Unknown argument/);
    expect(log).toContain(`pid file created: ${turn.pod.root}/var/tmp/coturn/turnserver.pid`);
    for (const range of ['10.0.0.0-10.255.255.255', '169.254.0.0-169.254.255.255', '127.0.0.0-127.255.255.255']) expect(log).toContain(`Black listing: ${range}`);
    if (c.tls) {
      expect(log).toContain(`Certificate file found: ${turn.pod.root}/etc/coturn/tls/tls.crt`);
      expect(log).toContain(`Private key file found: ${turn.pod.root}/etc/coturn/tls/tls.key`);
    } else {
      expect(log).not.toMatch(/Certificate file found/);
    }
  });

  it('allocates a relay with credentials computed from the shared secret the LiveKit way', async () => {
    const { username, password } = turnRestCredentials(secret, 'PA_alice');
    const res = await uclient('uclient-good', ['-u', username, '-w', password, '-e', '127.0.0.1', '-r', String(PEER_PORT)]);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout + res.stderr).toMatch(/tot_recv_msgs=[1-9]/);
    expect(res.stdout + res.stderr).toMatch(/Total lost packets 0 /);
  });

  it(c.tls ? 'serves TURN over TLS on 5349 (behind the 443 load balancer) with the mounted certificate' : 'serves TURN over TCP on 3478 (where the load balancer forwards the TLS it terminated)', async () => {
    const { username, password } = turnRestCredentials(secret, 'PA_carol');
    const res = c.tls
      ? await probe(sb, 'turn-allocate', { host: '127.0.0.1', port: 5349, tls: true, servername: r.mc.spec.turn.domain, ca: `${sb.dir}/turn-sports-tls.crt`, username, password })
      : await probe(sb, 'turn-allocate', { host: '127.0.0.1', port: 3478, tls: false, username, password });
    expect(res.relayed, JSON.stringify(res)).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(res.realm).toBe(r.mc.spec.turn.domain);
    if (c.tls) expect(res.tls).toMatchObject({ protocol: 'TLSv1.2', subject: r.mc.spec.turn.domain });
    const wrong = await probe(sb, 'turn-allocate', { host: '127.0.0.1', port: c.tls ? 5349 : 3478, tls: c.tls, servername: r.mc.spec.turn.domain, ca: `${sb.dir}/turn-sports-tls.crt`, username, password: 'wrong' });
    expect(wrong.errorCode).toBe(401);
  });

  it('answers STUN Binding and TURN Allocate over UDP with the client meet-operator check uses', async () => {
    const binding = await probe(sb, 'stun-binding', { host: '127.0.0.1', port: 3478 });
    expect(binding.mapped).toMatch(/^127\.0\.0\.1:\d+$/);
    const { username, password } = turnRestCredentials(secret, 'PA_dave');
    const res = await probe(sb, 'turn-allocate', { host: '127.0.0.1', port: 3478, transport: 'udp', username, password });
    expect(res.relayed, JSON.stringify(res)).toMatch(/^127\.0\.0\.1:\d+$/);
    expect((await probe(sb, 'turn-allocate', { host: '127.0.0.1', port: 3478, transport: 'udp', username, password: 'wrong' })).errorCode).toBe(401);
  });

  it('refuses credentials minted with a wrong secret', async () => {
    const { username, password } = turnRestCredentials('not-the-shared-secret-0123456789abcdef', 'PA_mallory');
    const res = await uclient('uclient-wrong-secret', ['-u', username, '-w', password, '-e', '127.0.0.1', '-r', String(PEER_PORT)]);
    expect(res.code).not.toBe(0);
    expect(res.stdout + res.stderr).toContain('Cannot complete Allocation');
    expect(turn.proc.log()).toContain('check_stun_auth');
  });

  it.each(['10.0.0.1', '169.254.169.254', '127.0.0.2'])('refuses a relay to the denied peer %s', async (peer) => {
    const { username, password } = turnRestCredentials(secret, 'PA_alice');
    const res = await uclient(`uclient-peer-${peer}`, ['-u', username, '-w', password, '-e', peer, '-r', String(PEER_PORT)]);
    expect(res.code).not.toBe(0);
    expect(res.stdout + res.stderr).toContain('403 (Forbidden IP)');
    expect(turn.proc.log()).toContain(`A peer IP ${peer} denied in the range`);
  });
});
