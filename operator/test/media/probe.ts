// Client-side helpers the media tests run *inside* the test network namespace (the test process
// itself is outside it). Run with Node >= 23.6 (type stripping): node probe.ts <command> '<json>'.
// Results are printed as lines "@@probe <json>" (the SDKs may log to stdout too).
//
//   dns         {log}                         DNS recorder on 127.0.0.1:53 (UDP+TCP): logs each query, answers NXDOMAIN
//   http-serve  {host, port, body}            answers every GET with body (a cloud metadata service)
//   http-get    {url}                         prints {status, body}
//   rooms       {url, key, secret, create?}   RoomService: CreateRoom (when create is a name), then ListRooms
//   join        {url, token}                  signalling WebSocket: prints the JoinResponse (ICE servers, node)
//   turn-allocate {host, port, tls, transport?, servername, ca, username, password}
//               TURN Allocate over TCP, TLS (certificate verified against ca) or UDP (transport: 'udp'):
//               {relayed, mapped} or {errorCode}
//   stun-binding {host, port}                STUN Binding over UDP: {mapped}
//   participant {url, token, publish, relay, iceServers?, seconds}
//               joins with @livekit/rtc-node; publish: sends a 440 Hz tone; else counts received audio
//               frames and prints the peak of every 25 (250 ms). Prints events, each with its time
//               (`at`, ms); leaves when stdin closes or after `seconds`.
import { appendFileSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { createSocket } from 'node:dgram';

// Each line carries the time it was written here: the test process reads the pipe later and in bursts.
const emit = (o: object) => process.stdout.write(`@@probe ${JSON.stringify({ ...o, at: Date.now() })}\n`);
const [command, json] = process.argv.slice(2);
const a = JSON.parse(json ?? '{}');

function dnsQuestion(msg: Buffer): { name: string; type: number; end: number } {
  let i = 12;
  const labels: string[] = [];
  while (i < msg.length && msg[i] !== 0) {
    const len = msg[i]!;
    labels.push(msg.subarray(i + 1, i + 1 + len).toString('ascii'));
    i += len + 1;
  }
  const type = msg.readUInt16BE(i + 1);
  return { name: labels.join('.'), type, end: i + 5 };
}

function dnsAnswer(msg: Buffer, end: number): Buffer {
  const head = Buffer.from(msg.subarray(0, 12));
  const rd = msg[2]! & 0x01;
  head[2] = 0x80 | (msg[2]! & 0x78) | rd; // QR, opcode, RD
  head[3] = 0x80 | 3; // RA, NXDOMAIN
  head.writeUInt16BE(1, 4);
  head.writeUInt32BE(0, 6);
  head.writeUInt16BE(0, 10);
  return Buffer.concat([head, msg.subarray(12, end)]);
}

async function dns(): Promise<void> {
  const record = (msg: Buffer, via: string) => {
    const q = dnsQuestion(msg);
    appendFileSync(a.log, JSON.stringify({ name: q.name, type: q.type, via, at: new Date().toISOString() }) + '\n');
    return dnsAnswer(msg, q.end);
  };
  const udp = createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    try {
      udp.send(record(msg, 'udp'), rinfo.port, rinfo.address);
    } catch {
      /* malformed */
    }
  });
  await new Promise<void>((r) => udp.bind(53, '127.0.0.1', r));
  const tcp = createTcpServer((sock) => {
    let buf = Buffer.alloc(0);
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        const ans = record(msg, 'tcp');
        const len = Buffer.alloc(2);
        len.writeUInt16BE(ans.length);
        sock.write(Buffer.concat([len, ans]));
      }
    });
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => tcp.listen(53, '127.0.0.1', r));
  emit({ event: 'ready' });
}

async function httpServe(): Promise<void> {
  const server = createHttpServer((req, res) => {
    emit({ event: 'request', method: req.method, url: req.url });
    res.writeHead(200, { 'content-type': 'text/plain' }).end(a.body);
  });
  await new Promise<void>((r) => server.listen(a.port, a.host, r));
  emit({ event: 'ready' });
}

async function httpGet(): Promise<void> {
  const res = await fetch(a.url, { signal: AbortSignal.timeout(5000) });
  emit({ status: res.status, body: await res.text() });
}

async function rooms(): Promise<void> {
  const { RoomServiceClient } = await import('livekit-server-sdk');
  const svc = new RoomServiceClient(a.url, a.key, a.secret);
  let created;
  if (a.create) created = await svc.createRoom({ name: a.create, emptyTimeout: 120 });
  const list = await svc.listRooms();
  emit({ created: created ? { name: created.name, sid: created.sid } : undefined, rooms: list.map((r) => ({ name: r.name, sid: r.sid, numParticipants: r.numParticipants })) });
}

async function join(): Promise<void> {
  const { SignalResponse } = await import('@livekit/protocol');
  const url = `${a.url.replace(/^http/, 'ws')}/rtc?access_token=${encodeURIComponent(a.token)}&protocol=16&sdk=js&version=2.15.0&auto_subscribe=1`;
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const result = await new Promise<unknown>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no join response within 10 s')), 10_000);
    ws.onerror = (e) => reject(new Error(`websocket error: ${(e as Event & { message?: string }).message ?? e.type}`));
    ws.onmessage = (ev) => {
      const msg = SignalResponse.fromBinary(new Uint8Array(ev.data as ArrayBuffer));
      if (msg.message.case === 'join') {
        clearTimeout(timer);
        const j = msg.message.value;
        resolve({
          iceServers: j.iceServers.map((s) => ({ urls: s.urls, username: s.username, credential: s.credential })),
          serverInfo: { nodeId: j.serverInfo?.nodeId, version: j.serverInfo?.version, edition: j.serverInfo?.edition },
          room: { name: j.room?.name, sid: j.room?.sid },
          participant: { sid: j.participant?.sid, identity: j.participant?.identity },
        });
      }
    };
  });
  emit(result as object);
  ws.close();
}

async function participant(): Promise<void> {
  const rtc = await import('@livekit/rtc-node');
  const { Room, RoomEvent, AudioSource, AudioFrame, AudioStream, LocalAudioTrack, TrackPublishOptions, TrackSource, TrackKind, IceTransportType, ContinualGatheringPolicy } = rtc;
  const room = new Room();
  let leaving = false;
  const leave = async (why: string) => {
    if (leaving) return;
    leaving = true;
    emit({ event: 'leaving', why });
    await room.disconnect().catch(() => {});
    await rtc.dispose().catch(() => {});
    process.exit(0);
  };
  process.stdin.on('end', () => void leave('stdin closed'));
  process.stdin.resume();
  setTimeout(() => void leave('time is up'), (a.seconds ?? 60) * 1000).unref();

  room.on(RoomEvent.Disconnected, (reason: unknown) => emit({ event: 'disconnected', reason }));
  // The SDK resumes by itself when its SFU goes away: a cut meeting shows here first.
  room.on(RoomEvent.Reconnecting, () => emit({ event: 'reconnecting' }));
  room.on(RoomEvent.Reconnected, () => emit({ event: 'reconnected' }));
  room.on(RoomEvent.TrackSubscribed, (track: any, _pub: unknown, from: any) => {
    if (track.kind !== TrackKind.KIND_AUDIO) return;
    emit({ event: 'subscribed', from: from.identity, track: track.sid });
    void (async () => {
      const stream = new AudioStream(track, 48000, 1);
      let frames = 0;
      let peak = 0;
      // The stream yields frames whether packets arrive or not (the jitter buffer conceals losses,
      // then plays silence): the peak of each 250 ms window tells sound from silence.
      for await (const frame of stream as AsyncIterable<any>) {
        frames++;
        const data: Int16Array = frame.data;
        for (let i = 0; i < data.length; i++) peak = Math.max(peak, Math.abs(data[i]!));
        if (frames % 25 === 0) {
          emit({ event: 'frames', frames, peak });
          peak = 0;
        }
      }
    })();
  });

  // iceServers: [] takes the server's (LiveKit's join response); a list replaces them (one TURN
  // transport forced: {urls: ['turns:host:port?transport=tcp'], username, password}).
  const rtcConfig = a.relay
    ? { iceTransportType: IceTransportType.TRANSPORT_RELAY, continualGatheringPolicy: ContinualGatheringPolicy.GATHER_ONCE, iceServers: a.iceServers ?? [] }
    : undefined;
  await room.connect(a.url, a.token, { autoSubscribe: true, dynacast: false, ...(rtcConfig ? { rtcConfig } : {}) });
  emit({ event: 'connected', room: room.name, sid: await room.getSid(), identity: room.localParticipant?.identity, participantSid: room.localParticipant?.sid });

  if (a.publish) {
    const rate = 48000;
    const samples = rate / 100; // 10 ms frames
    const source = new AudioSource(rate, 1);
    const track = LocalAudioTrack.createAudioTrack('tone', source);
    const opts = new TrackPublishOptions();
    opts.source = TrackSource.SOURCE_MICROPHONE;
    const pub = await room.localParticipant!.publishTrack(track, opts);
    emit({ event: 'published', track: pub.sid });
    let t = 0;
    while (!leaving) {
      const data = new Int16Array(samples);
      for (let i = 0; i < samples; i++, t++) data[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * t) / rate));
      await source.captureFrame(new AudioFrame(data, rate, 1, samples));
    }
  }
}

// TURN Allocate over TCP or TLS with the client `meet-operator check` uses (operator/src/check/stun.ts:
// node: imports only, so this type-stripped script loads the source itself).
async function turnAllocate(): Promise<void> {
  const stun = await import(new URL('../../src/check/stun.ts', import.meta.url).href);
  const r = await stun.turnAllocate({
    host: a.host, port: a.port, transport: a.transport ?? (a.tls ? 'tls' : 'tcp'), ...(a.tls ? { servername: a.servername, ca: [readFileSync(a.ca)] } : {}),
    username: a.username, password: a.password, timeoutMs: 5000,
  });
  emit(r.ok ? { relayed: r.relayed, mapped: r.mapped, realm: r.realm, tls: r.tls } : { errorCode: r.errorCode, reason: r.reason });
}

async function stunBinding(): Promise<void> {
  const stun = await import(new URL('../../src/check/stun.ts', import.meta.url).href);
  emit(await stun.stunBinding({ host: a.host, port: a.port, transport: 'udp', timeoutMs: 5000 }));
}

const commands: Record<string, () => Promise<void>> = {
  'turn-allocate': turnAllocate, 'stun-binding': stunBinding, dns, 'http-serve': httpServe, 'http-get': httpGet, rooms, join, participant };
const run = commands[command ?? ''];
if (!run) {
  console.error(`unknown probe command ${command}`);
  process.exit(2);
}
run().catch((e: unknown) => {
  emit({ event: 'error', error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) });
  process.exit(1);
});
