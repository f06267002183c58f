// A Redis outage under a running LiveKit node, with real processes (livekit issue 4663): the Helm
// chart's liveness probe, GET /, measures node-stats staleness, which a Redis outage makes fail on
// every node at once; the kubelet restarts the fleet, each node hangs in a drain it cannot finish
// and re-registers SHUTTING_DOWN. Our rendering splits the probes (liveness TCP, readiness GET /);
// here the rendered probes are evaluated against the process exactly as the kubelet would while
// redis-server is stopped and started again, and the same SFU process must serve afterwards.
import { AccessToken } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeletProber, type ProbeSpec } from './kubelet-prober.js';
import { coturnLoopback, livekitLoopback } from './loopback.js';
import { Sandbox, sleep } from './sandbox.js';
import { LiveProbe, probe, renderExample, secretValue, startPod, tlsSecret, waitReady, type Rendered, type StartedPod } from './stack.js';

/** Longer than the rendered liveness budget (3 x 10 s): a liveness probe that failed with Redis would have restarted the node. */
const OUTAGE_MS = 45_000;

describe('Redis outage under a running SFU (examples/sports-generic-minimal.yaml)', () => {
  let sb: Sandbox;
  let r: Rendered;
  let redis: StartedPod;
  let sfu: StartedPod;
  let liveness: KubeletProber;
  let readiness: KubeletProber;
  /** Control: the rendered liveness timing aimed at GET / (the Helm chart's liveness). */
  let chartLiveness: KubeletProber;
  let apiKey: string;
  let apiSecret: string;
  const url = 'http://127.0.0.1:7880';
  const figures: Record<string, number> = {};
  let redisStoppedAt = 0;
  let redisBackAt = 0;

  const token = (identity: string, room: string) => {
    const at = new AccessToken(apiKey, apiSecret, { identity, ttl: '10m' });
    at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true });
    return at.toJwt();
  };

  beforeAll(async () => {
    r = renderExample('sports-generic-minimal.yaml');
    apiKey = secretValue(r.objects, 'visio-livekit-keys', 'api-key');
    apiSecret = secretValue(r.objects, 'visio-livekit-keys', 'api-secret');
    sb = await Sandbox.create('redis-outage', {
      hosts: { 'turn.sports.example': '127.0.0.1', 'visio-redis.sports.svc.cluster.local': '127.0.0.1' },
      clientInterface: '198.18.0.2/32',
      ephemeralPorts: [41000, 44999],
    });
    const objects = [...r.objects, tlsSecret(sb.dir, 'turn-sports-tls', 'sports', 'turn.sports.example')];
    redis = startPod(sb, { objects, workload: 'visio-redis', podName: 'visio-redis-0' });
    // coturn answers the STUN query LiveKit makes at start-up for its public IP.
    const turn = startPod(sb, { objects, workload: 'visio-turn', podName: 'visio-turn-a', edit: { '/etc/coturn/turnserver.conf': coturnLoopback() } });
    await Promise.all([waitReady(sb, redis, 15_000), waitReady(sb, turn, 15_000)]);
    sfu = startPod(sb, { objects, workload: 'visio-sfu', podName: 'visio-sfu-a', edit: { '/etc/livekit/livekit.yaml': livekitLoopback({ port: 7880, tcpPort: 7881, metricsPort: 6789, udpRange: [50000, 59999] }) } });
    await waitReady(sb, sfu, 45_000);

    const c = sfu.pod.container as any;
    liveness = new KubeletProber(sb, 'liveness', c.livenessProbe as ProbeSpec, c.ports).start();
    readiness = new KubeletProber(sb, 'readiness', c.readinessProbe as ProbeSpec, c.ports).start();
    const { tcpSocket, ...timing } = c.livenessProbe as ProbeSpec;
    chartLiveness = new KubeletProber(sb, 'liveness', { ...timing, httpGet: { path: '/', port: tcpSocket!.port } }, c.ports).start();
  }, 120_000);

  afterAll(async () => {
    await Promise.all([liveness?.stop(), readiness?.stop(), chartLiveness?.stop()]);
    if (Object.keys(figures).length) console.log(`Redis outage figures (ms): ${JSON.stringify(figures)}`);
    await sb?.close();
  });

  it('renders liveness = TCP connect to the signalling port and readiness = GET / on it', () => {
    const c = sfu.pod.container as any;
    expect(c.livenessProbe.tcpSocket).toEqual({ port: 7880 });
    expect(c.livenessProbe.httpGet).toBeUndefined();
    expect(c.readinessProbe.httpGet).toMatchObject({ path: '/', port: 7880 });
    expect(c.startupProbe.tcpSocket).toEqual({ port: 7880 });
  });

  it('serves before the outage: both probes pass, a room can be created', async () => {
    await readiness.waitFor('success', 0, 20_000);
    expect(liveness.current).toBe('success');
    const created = await probe(sb, 'rooms', { url, key: apiKey, secret: apiSecret, create: 'before-outage' });
    expect(created.created.name).toBe('before-outage');
  });

  it('while redis-server is down: readiness fails, liveness keeps passing, the SFU process is not restarted', async () => {
    const pid = sfu.proc.pid;
    redisStoppedAt = Date.now();
    await redis.proc.stop();
    const unreadyAt = await readiness.waitFor('failure', redisStoppedAt, 40_000);
    figures.readinessFailedAfterRedisStop = unreadyAt - redisStoppedAt;
    const during = readiness.attemptsBetween(redisStoppedAt, unreadyAt).filter((a) => !a.ok);
    console.log(`readiness failed ${figures.readinessFailedAfterRedisStop} ms after redis-server stopped; GET / said: ${during.map((a) => a.detail).join(' | ')}`);

    // What a client sees meanwhile (reported, not asserted: it is LiveKit's business).
    const rooms = await probe(sb, 'rooms', { url, key: apiKey, secret: apiSecret, create: 'during-outage' }, 30_000).then(
      (x) => `answered ${JSON.stringify(x)}`,
      (e: Error) => `failed: ${e.message.split('\n')[0]}`,
    );
    console.log(`RoomService CreateRoom during the outage ${rooms}`);

    await sleep(Math.max(0, redisStoppedAt + OUTAGE_MS - Date.now()));
    const window = liveness.attemptsBetween(redisStoppedAt, Date.now());
    console.log(`liveness during the ${OUTAGE_MS} ms outage: ${window.length} attempts, ${window.filter((a) => !a.ok).length} failed`);
    expect(window.length).toBeGreaterThanOrEqual(3);
    expect(window.filter((a) => !a.ok).map((a) => a.detail)).toEqual([]);
    expect(liveness.restartAt).toBeUndefined();
    expect(readiness.current).toBe('failure');
    expect(sfu.proc.running, sfu.proc.tail()).toBe(true);
    expect(sfu.proc.pid).toBe(pid);
    // Control: the same liveness timing on GET / (livekit-helm's probe) would have killed this node.
    expect(chartLiveness.restartAt, 'a GET / liveness would have restarted the SFU').toBeDefined();
    figures.chartLivenessWouldRestartAfter = chartLiveness.restartAt! - redisStoppedAt;
  }, OUTAGE_MS + 90_000);

  it('after redis-server returns, the same SFU process becomes ready and serves rooms and participants again', async () => {
    const pid = sfu.proc.pid;
    // The container restarts in place: same pod, same data volume, same command.
    const p = redis.pod;
    redisBackAt = Date.now();
    const again = sb.spawn({ name: 'visio-redis-0', argv: p.argv, env: p.env, cwd: p.cwd, user: p.user, ...(p.readOnlyRoot ? { readOnlyRoot: p.readOnlyRoot } : {}) });
    await waitReady(sb, { pod: p, proc: again }, 15_000);
    const readyAt = await readiness.waitFor('success', redisBackAt, 60_000);
    figures.readyAfterRedisBack = readyAt - redisBackAt;

    const created = await probe(sb, 'rooms', { url, key: apiKey, secret: apiSecret, create: 'after-outage' });
    figures.servingAfterRedisBack = Date.now() - redisBackAt;
    expect(created.created.name).toBe('after-outage');
    expect(created.rooms.map((x: any) => x.name)).toContain('after-outage');

    const joined = await probe(sb, 'join', { url, token: await token('carol', 'after-outage') });
    expect(joined.room.name).toBe('after-outage');
    expect(joined.participant.identity).toBe('carol');
    const participant = new LiveProbe(sb, 'participant-after-outage', 'participant', { url: url.replace('http', 'ws'), token: await token('dave', 'after-outage'), publish: false, relay: true, seconds: 30 });
    try {
      await participant.waitFor((e) => e.event === 'connected', 30_000, 'participant connected');
    } finally {
      await participant.leave();
    }
    console.log(`readiness back ${figures.readyAfterRedisBack} ms after redis-server restarted; RoomService served after ${figures.servingAfterRedisBack} ms`);

    expect(sfu.proc.running).toBe(true);
    expect(sfu.proc.pid).toBe(pid);
    expect(liveness.restartAt).toBeUndefined();
    // No drain was ever started: the 4663 dead end (SHUTTING_DOWN with no way back) begins with the
    // SIGTERM a failed liveness probe sends, which LiveKit logs as this line.
    expect(sfu.proc.log()).not.toContain('"msg":"exit requested, shutting down"');
  }, 120_000);
});
