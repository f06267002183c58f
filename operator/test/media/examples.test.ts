// The other two examples' SFU, started by the real livekit-server in strict config mode from
// exactly what is rendered, with what each needs around it:
// - interieur (Outscale): managed Redis and coturn (external IP from the metadata service, served
//   inside the namespace on 169.254.169.254), TURN/TLS terminated by the load balancer;
// - culture (Outscale): LiveKit's embedded TURN, an external Redis whose password comes from a
//   Secret the ministry created, and the ministry's own STUN server (offered to clients; the SFU reads
//   its public IP from the metadata service). A relay-only call goes through
//   the embedded TURN.
import { AccessToken } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaBinaries } from './binaries.js';
import { coturnLoopback, livekitLoopback } from './loopback.js';
import { CLIENT_ADDRESS, Sandbox } from './sandbox.js';
import { LiveProbe, probe, renderExample, secretValue, startDnsRecorder, startPod, userSecret, waitReady, type Rendered, type StartedPod } from './stack.js';

const FOREIGN_HOSTS = /google|twilio/i;

async function tokenFor(r: Rendered, objects: { kind: string; metadata: { name: string } }[], identity: string, room: string): Promise<string> {
  const name = r.mc.spec.sfu.apiKeysSecretName ?? 'visio-livekit-keys';
  const key = secretValue(objects as any, name, 'api-key');
  const secret = secretValue(objects as any, name, 'api-secret');
  const at = new AccessToken(key, secret, { identity, ttl: '10m' });
  at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true });
  return at.toJwt();
}

describe('examples/interieur-outscale-cloudgouv.yaml: SFU with managed Redis and coturn', () => {
  let sb: Sandbox;
  let r: Rendered;
  let sfu: StartedPod;
  let dnsQueries: () => { name: string }[];

  beforeAll(async () => {
    r = renderExample('interieur-outscale-cloudgouv.yaml');
    sb = await Sandbox.create('example-interieur', {
      hosts: { 'turn.interieur.example': '127.0.0.1', 'turn-udp.interieur.example': '127.0.0.1', 'visio-redis.interieur.svc.cluster.local': '127.0.0.1' },
      loopbackAddresses: ['169.254.169.254/32'],
    });
    dnsQueries = await startDnsRecorder(sb);
    const metadata = new LiveProbe(sb, 'metadata', 'http-serve', { host: '169.254.169.254', port: 80, body: '127.0.0.1' });
    await metadata.waitFor((e) => e.event === 'ready', 10_000, 'metadata service ready');
    const redis = startPod(sb, { objects: r.objects, workload: 'visio-redis', podName: 'visio-redis-0' });
    const turn = startPod(sb, { objects: r.objects, workload: 'visio-turn', podName: 'visio-turn-a', edit: { '/etc/coturn/turnserver.conf': coturnLoopback() } });
    await Promise.all([waitReady(sb, redis, 15_000), waitReady(sb, turn, 15_000)]);
    sfu = startPod(sb, {
      objects: r.objects,
      workload: 'visio-sfu',
      podName: 'visio-sfu-a',
      edit: { '/etc/livekit/livekit.yaml': livekitLoopback({ port: 7880, tcpPort: 7881, metricsPort: 6789, udpRange: [50000, 60000] }) },
    });
    await waitReady(sb, sfu, 45_000);
  });
  afterAll(async () => {
    await sb?.close();
  });

  it('starts in strict mode and hands clients only the ministry TURN', async () => {
    // Outscale: sh reads the public IP from the metadata service, then execs LiveKit with the rendered config.
    expect(sfu.pod.argv.slice(0, 2)).toEqual(['sh', '-c']);
    expect(sfu.pod.argv[2]).toMatch(new RegExp(`exec \\S+/livekit-server --config ${sfu.pod.root}/etc/livekit/livekit.yaml$`));
    expect(sfu.proc.log()).toMatch(/"msg":"starting LiveKit server".*"nodeIP":"127.0.0.1"/);
    const join = await probe(sb, 'join', { url: 'http://127.0.0.1:7880', token: await tokenFor(r, r.objects, 'ice', 'ice') });
    expect(join.iceServers.flatMap((s: any) => s.urls)).toEqual([
      'turns:turn.interieur.example:443?transport=tcp',
      // UDP and STUN go to the nodes under their own name (Outscale load balancers carry no UDP).
      'turn:turn-udp.interieur.example:3478?transport=udp',
      'stun:turn-udp.interieur.example:3478',
    ]);
    expect(dnsQueries().filter((q) => FOREIGN_HOSTS.test(q.name))).toEqual([]);
  });
});

describe('examples/culture-outscale-embedded-turn.yaml: SFU with embedded TURN and an external Redis', () => {
  let sb: Sandbox;
  let r: Rendered;
  let objects: Rendered['objects'];
  let sfu: StartedPod;
  let dnsQueries: () => { name: string }[];
  // The embedded TURN's UDP port moves off 3478: the ministry's STUN server (127.0.0.2:3478 here,
  // another host in production) holds it on this single machine.
  const TURN_UDP = 3479;

  beforeAll(async () => {
    r = renderExample('culture-outscale-embedded-turn.yaml');
    const redisPassword = 'culture-redis-password-0123456789abcdef';
    objects = [...r.objects, userSecret('culture-redis', 'culture', { password: redisPassword })];
    sb = await Sandbox.create('example-culture', {
      hosts: { 'redis.culture-data.svc.cluster.local': '127.0.0.1', 'stun.culture.example': '127.0.0.2', 'turn.culture.example': '127.0.0.1' },
      clientInterface: `${CLIENT_ADDRESS}/32`,
      loopbackAddresses: ['169.254.169.254/32'],
    });
    dnsQueries = await startDnsRecorder(sb);
    // Outscale: the SFU reads its public IP from the metadata service (here: the loopback the node has).
    const metadata = new LiveProbe(sb, 'metadata', 'http-serve', { host: '169.254.169.254', port: 80, body: '127.0.0.1' });
    await metadata.waitFor((e) => e.event === 'ready', 10_000, 'metadata service ready');
    const bins = mediaBinaries();
    // The ministry's existing Redis and STUN server (not rendered by the operator).
    const redis = sb.spawn({ name: 'culture-redis', argv: [bins.redisServer, '--port', '6379', '--bind', '127.0.0.1', '--requirepass', redisPassword, '--save', '', '--appendonly', 'no'] });
    const stun = sb.spawn({ name: 'culture-stun', argv: [bins.turnserver, '-c', '/dev/null', '--stun-only', '--listening-ip=127.0.0.2', '--listening-port=3478', '--no-cli', '--log-file=stdout', '--simple-log', '--no-tls', '--no-dtls'] });
    await Promise.all([redis.waitForLog(/Ready to accept connections/, 10_000), stun.waitForLog(/Total General servers/, 10_000)]);
    sfu = startPod(sb, {
      objects,
      workload: 'visio-sfu',
      podName: 'visio-sfu-a',
      edit: { '/etc/livekit/livekit.yaml': livekitLoopback({ port: 7880, tcpPort: 7881, metricsPort: 6789, udpRange: [50000, 60000], turnUdpPort: TURN_UDP, embeddedTurnLoopback: true }) },
    });
    await waitReady(sb, sfu, 45_000);
  });
  afterAll(async () => {
    await sb?.close();
  });

  it('starts in strict mode with the embedded TURN and the Redis password from the ministry Secret', () => {
    expect(sfu.pod.env.LIVEKIT_REDIS_PASSWORD).toBe(secretValue(objects, 'culture-redis', 'password'));
    const log = sfu.proc.log();
    expect(log).toMatch(/"msg":"starting LiveKit server"/);
    // Its public IP from the metadata service, not from STUN: the ministry's STUN server is for clients.
    expect(log).toMatch(/"msg":"starting LiveKit server".*"nodeIP":"127.0.0.1"/);
    expect(log).not.toMatch(/found external IP via STUN/);
    expect(log).toMatch(/"msg":"Starting TURN server"/);
  });

  it('hands clients the embedded TURN (UDP on the node, TLS through the 443 load balancer) and our STUN only', async () => {
    const join = await probe(sb, 'join', { url: 'http://127.0.0.1:7880', token: await tokenFor(r, objects, 'ice', 'ice') });
    const urls: string[] = join.iceServers.flatMap((s: any) => s.urls);
    expect(urls).toEqual([`turn:127.0.0.1:${TURN_UDP}?transport=udp`, 'turns:turn.culture.example:443?transport=tcp', 'stun:stun.culture.example:3478']);
    expect(JSON.stringify(join)).not.toMatch(FOREIGN_HOSTS);
  });

  it('relays a relay-only call through the embedded TURN', async () => {
    const url = 'ws://127.0.0.1:7880';
    const publisher = new LiveProbe(sb, 'publisher', 'participant', { url, token: await tokenFor(r, objects, 'alice', 'call'), publish: true, relay: true, seconds: 60 });
    try {
      await publisher.waitFor((e) => e.event === 'published', 30_000, 'track published');
      const subscriber = new LiveProbe(sb, 'subscriber', 'participant', { url, token: await tokenFor(r, objects, 'bob', 'call'), relay: true, seconds: 60 });
      try {
        const frames = await subscriber.waitFor((e) => e.event === 'frames' && e.frames >= 50, 30_000, '50 audio frames');
        expect(frames.peak).toBeGreaterThan(1000);
      } finally {
        await subscriber.leave();
      }
    } finally {
      await publisher.leave();
    }
    expect(dnsQueries().filter((q) => FOREIGN_HOSTS.test(q.name))).toEqual([]);
  });
});
