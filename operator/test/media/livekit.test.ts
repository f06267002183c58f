// The whole stack of examples/sports-generic-minimal.yaml on one machine: managed Redis, a coturn
// node and two LiveKit SFU nodes, each run from exactly what the operator renders (livekit-server
// in strict config mode), then real clients: the RoomService API, the signalling WebSocket and two
// @livekit/rtc-node participants whose audio must go through coturn (relay-only ICE).
//
// Everything runs in a private network namespace whose /etc/hosts maps the rendered names
// (turn.sports.example, visio-redis.sports.svc.cluster.local) to 127.0.0.1 and whose DNS server
// records every other lookup. The only edits are ports (the second SFU node) and loopback
// addresses (loopback.ts).
import { createHmac } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { AccessToken } from 'livekit-server-sdk';
import { parseDocument } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIVEKIT_METRICS } from '../../src/scaling/metric-names.js';
import { scanProcesses } from '../process-scan.js';
import { mediaBinaries } from './binaries.js';
import { coturnLoopback, livekitLoopback, type LivekitPorts } from './loopback.js';
import { CLIENT_ADDRESS, Sandbox } from './sandbox.js';
import { LiveProbe, configFile, parsePrometheus, probe, renderExample, secretValue, startDnsRecorder, startPod, tlsSecret, waitReady, type Rendered, type StartedPod } from './stack.js';

const FOREIGN_HOSTS = /google|twilio|l\.google\.com|stun\.services\.mozilla|cloudflare/i;

interface Node {
  name: string;
  ports: LivekitPorts;
  started: StartedPod;
  nodeId: string;
  url: string;
}

describe('LiveKit stack from examples/sports-generic-minimal.yaml', () => {
  let sb: Sandbox;
  let r: Rendered;
  let dnsQueries: () => { name: string; type: number }[];
  let redis: StartedPod;
  let turn: StartedPod;
  const nodes: Node[] = [];
  let apiKey: string;
  let apiSecret: string;
  let turnSecret: string;
  let redisPassword: string;

  const redisCli = (args: string[]) => sb.run({ name: 'redis-cli', argv: [mediaBinaries().redisCli, '-h', '127.0.0.1', '-p', '6379', '--no-auth-warning', '-a', redisPassword, ...args], timeoutMs: 5000 });
  const token = async (identity: string, room: string) => {
    const at = new AccessToken(apiKey, apiSecret, { identity, ttl: '10m' });
    at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true });
    return at.toJwt();
  };
  const metrics = async (n: Node) => {
    const res = await probe(sb, 'http-get', { url: `http://127.0.0.1:${n.ports.metricsPort}/metrics` });
    expect(res.status).toBe(200);
    return parsePrometheus(res.body);
  };
  const gauge = (samples: ReturnType<typeof parsePrometheus>, name: string) => samples.filter((s) => s.name === name).reduce((sum, s) => sum + s.value, 0);

  beforeAll(async () => {
    r = renderExample('sports-generic-minimal.yaml');
    apiKey = secretValue(r.objects, 'visio-livekit-keys', 'api-key');
    apiSecret = secretValue(r.objects, 'visio-livekit-keys', 'api-secret');
    turnSecret = secretValue(r.objects, 'visio-turn-secret', 'secret');
    redisPassword = secretValue(r.objects, 'visio-redis-auth', 'password');
    sb = await Sandbox.create('livekit', {
      hosts: { 'turn.sports.example': '127.0.0.1', 'visio-redis.sports.svc.cluster.local': '127.0.0.1', 'visio.sports.example': '127.0.0.1' },
      clientInterface: `${CLIENT_ADDRESS}/32`,
      // Clear of coturn's relay range (30000-40000) and the SFU's (50000-59999): see the TURN test.
      ephemeralPorts: [41000, 44999],
    });
    dnsQueries = await startDnsRecorder(sb);
    const objects = [...r.objects, tlsSecret(sb.dir, 'turn-sports-tls', 'sports', 'turn.sports.example')];

    redis = startPod(sb, { objects, workload: 'visio-redis', podName: 'visio-redis-0' });
    turn = startPod(sb, { objects, workload: 'visio-turn', podName: 'visio-turn-a', edit: { '/etc/coturn/turnserver.conf': coturnLoopback() } });
    await Promise.all([waitReady(sb, redis, 15_000), waitReady(sb, turn, 15_000)]);

    const plans: { name: string; ports: LivekitPorts }[] = [
      { name: 'visio-sfu-a', ports: { port: 7880, tcpPort: 7881, metricsPort: 6789, udpRange: [50000, 54999] } },
      { name: 'visio-sfu-b', ports: { port: 7980, tcpPort: 7981, metricsPort: 6889, udpRange: [55000, 59999] } },
    ];
    for (const p of plans) {
      const started = startPod(sb, { objects, workload: 'visio-sfu', podName: p.name, edit: { '/etc/livekit/livekit.yaml': livekitLoopback(p.ports) } });
      nodes.push({ name: p.name, ports: p.ports, started, nodeId: '', url: `http://127.0.0.1:${p.ports.port}` });
    }
    await Promise.all(nodes.map((n) => waitReady(sb, n.started, 45_000, { 7880: n.ports.port })));
    for (const n of nodes) n.nodeId = (await n.started.proc.waitForLog(/"msg":"starting LiveKit server".*?"nodeID":"(ND_\w+)"/, 5000, 'start-up line'))[1]!;
  });
  afterAll(async () => {
    await sb?.close();
  });

  it('starts both nodes in strict config mode from the rendered config (no --disable-strict-config)', () => {
    for (const n of nodes) {
      expect(n.started.pod.argv).toEqual([`${sb.dir}/images/livekit-server/bin/livekit-server`, '--config', `${n.started.pod.root}/etc/livekit/livekit.yaml`]);
      expect(n.started.pod.user.uid).toBe(1000);
      const log = n.started.proc.log();
      expect(log).toContain('"version":"1.13.5"');
      expect(log).not.toMatch(/"level":"(error|fatal)"/);
    }
  });

  it('control: strict mode is really on (an unknown key stops the same binary at once)', async () => {
    const pod = nodes[0]!.started.pod;
    const withUnknownKey = (text: string) => `${text}chart_only_key: true\n`; // what the Helm chart needs --disable-strict-config for
    const res = await sb.run({
      name: 'livekit-strict-control',
      argv: [pod.argv[0]!], // the config body in LIVEKIT_CONFIG, LiveKit's other way in
      env: { ...pod.env, LIVEKIT_CONFIG: withUnknownKey(readFileSync(pod.files['/etc/livekit/livekit.yaml']!, 'utf8')) },
      user: pod.user,
      timeoutMs: 10_000,
    });
    expect(res.stdout + res.stderr).toMatch(/could not parse config:[\s\S]*field chart_only_key not found in type config.Config/);
  });

  it('both nodes register in Redis (distributed mode)', async () => {
    const res = await redisCli(['HKEYS', 'nodes']);
    expect(res.stdout.trim().split('\n').sort()).toEqual(nodes.map((n) => n.nodeId).sort());
  });

  it('reads the API keys from key_file mounted 0440 (group = fsGroup) and the Redis password from LIVEKIT_REDIS_PASSWORD', () => {
    const pod = nodes[0]!.started.pod;
    const keys = statSync(pod.files['/etc/livekit/keys/keys.yaml']!);
    expect((keys.mode & 0o777).toString(8)).toBe('440');
    expect(keys.gid).toBe(1000);
    expect(pod.env.LIVEKIT_REDIS_PASSWORD).toBe(redisPassword);
    expect(pod.env).not.toHaveProperty('LIVEKIT_KEYS');
  });

  it('no generated secret on any command line of the stack, nor in an environment that does not need it', () => {
    const secrets = { 'livekit api secret': apiSecret, 'turn shared secret': turnSecret, 'redis password': redisPassword };
    const pods = [redis, turn, ...nodes.map((n) => n.started)];
    // livekit-server takes the Redis password from LIVEKIT_REDIS_PASSWORD only (it has no file for it).
    const sfuPids = new Set(nodes.map((n) => n.started.proc.pid));
    const found = scanProcesses(secrets, (e) => e.secret === 'redis password' && sfuPids.has(e.pid), pods.map((p) => p.proc.pid));
    expect(found).toEqual([]);
    // Control: the scan does see the one the SFU needs.
    expect(scanProcesses(secrets, () => false, [...sfuPids]).map((e) => `${e.where} ${e.secret}`)).toContain('environ redis password');
  });

  it('control: without LIVEKIT_REDIS_PASSWORD the same pod cannot start (Redis refuses it)', async () => {
    const ports: LivekitPorts = { port: 8080, tcpPort: 8081, metricsPort: 6989, udpRange: [45000, 45999] };
    const { proc } = startPod(sb, {
      objects: [...r.objects, tlsSecret(sb.dir, 'turn-sports-tls', 'sports', 'turn.sports.example')],
      workload: 'visio-sfu',
      podName: 'visio-sfu-nopassword',
      edit: { '/etc/livekit/livekit.yaml': livekitLoopback(ports) },
      envOverride: { LIVEKIT_REDIS_PASSWORD: undefined },
    });
    await proc.waitForLog(/unable to connect to redis: NOAUTH Authentication required/, 20_000, 'the NOAUTH refusal');
    const deadline = Date.now() + 5000;
    while (proc.running && Date.now() < deadline) await new Promise((res) => setTimeout(res, 100));
    // livekit-server v1.13.5 gives up at once (exit status 0: the kubelet restarts it all the same).
    expect(proc.running, proc.tail()).toBe(false);
  });

  it('a room created through the RoomService API on one node is visible from the other', async () => {
    const created = await probe(sb, 'rooms', { url: nodes[0]!.url, key: apiKey, secret: apiSecret, create: 'standup' });
    expect(created.created.name).toBe('standup');
    const fromB = await probe(sb, 'rooms', { url: nodes[1]!.url, key: apiKey, secret: apiSecret });
    expect(fromB.rooms.map((x: any) => x.name)).toContain('standup');
    expect(fromB.rooms.find((x: any) => x.name === 'standup').sid).toBe(created.created.sid);
  });

  it('hands clients only our TURN/STUN, with credentials from the mounted TURN secret (secret_file)', async () => {
    for (const n of nodes) {
      const join = await probe(sb, 'join', { url: n.url, token: await token(`ice-${n.name}`, 'ice-check') });
      const urls: string[] = join.iceServers.flatMap((s: any) => s.urls);
      expect(urls).toEqual(['turns:turn.sports.example:443?transport=tcp', 'turn:turn.sports.example:3478?transport=udp', 'stun:turn.sports.example:3478']);
      for (const s of join.iceServers.filter((x: any) => x.username)) {
        expect(s.username).toMatch(new RegExp(`^\\d+:${join.participant.sid}$`));
        expect(s.credential).toBe(createHmac('sha1', turnSecret).update(s.username).digest('base64'));
      }
      expect(JSON.stringify(join)).not.toMatch(FOREIGN_HOSTS);
    }
  });

  describe('a real call through coturn', () => {
    let publisher: LiveProbe;
    let subscriber: LiveProbe;

    beforeAll(async () => {
      // Publisher signals through node a, subscriber through node b: one room, wherever it lives.
      publisher = new LiveProbe(sb, 'publisher', 'participant', { url: nodes[0]!.url.replace('http', 'ws'), token: await token('alice', 'call'), publish: true, relay: true, seconds: 90 });
      await publisher.waitFor((e) => e.event === 'published', 30_000, 'track published');
      subscriber = new LiveProbe(sb, 'subscriber', 'participant', { url: nodes[1]!.url.replace('http', 'ws'), token: await token('bob', 'call'), publish: false, relay: true, seconds: 90 });
      await subscriber.waitFor((e) => e.event === 'connected', 30_000, 'subscriber connected');
    });
    afterAll(async () => {
      await Promise.all([publisher?.leave(), subscriber?.leave()]);
    });

    it('one participant publishes audio, the other receives it, with relay-only ICE', async () => {
      const frames = await subscriber.waitFor((e) => e.event === 'frames' && e.frames >= 100, 30_000, '100 audio frames');
      expect(frames.peak).toBeGreaterThan(1000); // the 440 Hz tone, not silence
    });

    it('both peer connections went through coturn: the selected remote candidate of the SFU is a coturn relay port', () => {
      // LiveKit's connectionType is racy here (the relay's first packet can arrive before its
      // trickled candidate, making it prflx "udp"), so check the address itself: 127.0.0.1 and a
      // port in coturn's rendered relay range, which the namespace's ephemeral ports avoid.
      const conf = configFile(r.objects, 'visio-turn-config', 'turnserver.conf');
      const min = Number(conf.match(/^min-port=(\d+)$/m)![1]);
      const max = Number(conf.match(/^max-port=(\d+)$/m)![1]);
      const logs = nodes.map((n) => n.started.proc.log()).join('\n');
      for (const who of ['alice', 'bob']) {
        const active = logs.split('\n').find((l) => l.includes('"msg":"participant active"') && l.includes(`"participant":"${who}"`));
        expect(active, `no "participant active" line for ${who}`).toBeDefined();
        const selected = [...active!.matchAll(/\[remote\]\[selected:\d+\][^"]*? (udp|tcp) (\w+) 127\.0\.[.\d]*:(\d+)/g)].map((m) => Number(m[3]));
        expect(selected.length, active).toBeGreaterThan(0);
        for (const port of selected) expect(port >= min && port <= max, `${who}: remote port ${port} not in coturn's relay range ${min}-${max}\n${active}`).toBe(true);
      }
    });

    it(`each node's Prometheus endpoint reports the participants and rooms it hosts`, async () => {
      const roomNode = nodes.findIndex((n) => /"msg":"starting RTC session","room":"call"/.test(n.started.proc.log()));
      expect(roomNode, 'no node started the RTC sessions of room "call"').toBeGreaterThanOrEqual(0);
      const samples = await Promise.all(nodes.map(metrics));
      const participants = samples.map((s) => gauge(s, LIVEKIT_METRICS.participants));
      const rooms = samples.map((s) => gauge(s, LIVEKIT_METRICS.rooms));
      const detail = `participants per node ${participants}, rooms per node ${rooms}, room "call" on ${nodes[roomNode]!.name}`;
      // The node hosting the room counts both participants; the other node counts the one whose
      // signalling WebSocket it terminates (alice -> node a, bob -> node b): LiveKit counts a
      // participant on its signalling node too, so summing the gauge over nodes over-counts.
      expect(participants[roomNode], detail).toBe(2);
      expect(participants[1 - roomNode], detail).toBe(1);
      // Rooms: each is counted once, on its node: the sum is what RoomService lists.
      const listed = await probe(sb, 'rooms', { url: nodes[0]!.url, key: apiKey, secret: apiSecret });
      expect(rooms.reduce((a, b) => a + b, 0), `${detail}; listed ${JSON.stringify(listed.rooms)}`).toBe(listed.rooms.length);
      expect(listed.rooms.map((x: any) => x.name)).toContain('call');
      for (const [i, s] of samples.entries()) {
        const p = s.find((x) => x.name === LIVEKIT_METRICS.participants)!;
        expect(p.labels).toEqual({ node_id: nodes[i]!.nodeId, node_type: 'SERVER' });
        expect(s.find((x) => x.name === LIVEKIT_METRICS.rooms)!.labels).toEqual({ node_id: nodes[i]!.nodeId, node_type: 'SERVER' });
      }
      const published = samples[roomNode]!.filter((x) => x.name === LIVEKIT_METRICS.publishedTracks);
      expect(published.find((x) => x.labels.kind === 'AUDIO')?.value, JSON.stringify(published)).toBe(1);
      const subscribed = samples[roomNode]!.filter((x) => x.name === LIVEKIT_METRICS.subscribedTracks);
      expect(subscribed.find((x) => x.labels.kind === 'AUDIO')?.value, JSON.stringify(subscribed)).toBe(1);
    });

    it('the participant gauges go back to zero once both participants leave', async () => {
      await Promise.all([publisher.leave(), subscriber.leave()]);
      const deadline = Date.now() + 15_000;
      let participants: number[] = [];
      while (Date.now() < deadline) {
        participants = (await Promise.all(nodes.map(metrics))).map((s) => gauge(s, LIVEKIT_METRICS.participants));
        if (participants.every((p) => p === 0)) break;
        await new Promise((res) => setTimeout(res, 500));
      }
      expect(participants).toEqual([0, 0]);
    });
  });

  it('looked up no Google or Twilio host: no such DNS query, no such name in any log', () => {
    const queries = dnsQueries();
    expect(queries.filter((q) => FOREIGN_HOSTS.test(q.name))).toEqual([]);
    for (const p of sb.procs) expect(p.log(), p.name).not.toMatch(FOREIGN_HOSTS);
  });

  it('control: the DNS recorder does see the Google/Twilio lookups LiveKit makes when rtc.stun_servers is missing', async () => {
    const ports: LivekitPorts = { port: 8180, tcpPort: 8181, metricsPort: 7089, udpRange: [46000, 46999] };
    const withoutStun = (text: string) => {
      const doc = parseDocument(livekitLoopback(ports)(text));
      // What the renderer must never produce: LiveKit asking STUN for its own address, with no STUN server of ours.
      doc.deleteIn(['rtc', 'stun_servers']);
      doc.setIn(['rtc', 'use_external_ip'], true);
      return doc.toString();
    };
    const { proc } = startPod(sb, {
      objects: [...r.objects, tlsSecret(sb.dir, 'turn-sports-tls', 'sports', 'turn.sports.example')],
      workload: 'visio-sfu',
      podName: 'visio-sfu-control-nostun',
      edit: { '/etc/livekit/livekit.yaml': withoutStun },
    });
    const deadline = Date.now() + 20_000;
    let names: string[] = [];
    while (Date.now() < deadline) {
      names = [...new Set(dnsQueries().map((q) => q.name))];
      if (names.includes('stun.l.google.com')) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    await proc.stop();
    expect(names).toEqual(expect.arrayContaining(['global.stun.twilio.com', 'stun.l.google.com', 'stun1.l.google.com']));
  });
});
