// A minimal STUN/TURN client (RFC 8489 Binding, RFC 8656 Allocate with long-term credentials) over
// UDP, TCP or TLS: what `meet-operator check` asks our TURN/STUN servers, as a participant's browser
// would. Only node: imports, and only erasable TypeScript, so the media tests' probe (run by Node's
// type stripping, outside the build) loads this very file.
//
// Why not turnutils_uclient: its TLS client stalls after the handshake against a coturn that refuses
// TLS 1.0/1.1, while Node's (OpenSSL 3) does not; and a check needs structured answers, not logs.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, rootCertificates, type TLSSocket } from 'node:tls';

const MAGIC = 0x2112a442;
const BINDING = 0x0001;
const ALLOCATE = 0x0003;
const REFRESH = 0x0004;
const ATTR = { lifetime: 0x000d, username: 0x0006, integrity: 0x0008, errorCode: 0x0009, realm: 0x0014, nonce: 0x0015, relayed: 0x0016, transport: 0x0019, mapped: 0x0020 };
/** REQUESTED-TRANSPORT: UDP (the relay a browser asks for, whatever carries the control connection). */
const UDP_RELAY = Buffer.from([17, 0, 0, 0]);

export function stunMessage(type: number, txid: Buffer, attrs: [number, Buffer][], integrityKey?: Buffer): Buffer {
  const body = Buffer.concat(
    attrs.map(([t, v]) => {
      const h = Buffer.alloc(4);
      h.writeUInt16BE(t, 0);
      h.writeUInt16BE(v.length, 2);
      return Buffer.concat([h, v, Buffer.alloc((4 - (v.length % 4)) % 4)]);
    }),
  );
  const head = Buffer.alloc(20);
  head.writeUInt16BE(type, 0);
  head.writeUInt32BE(MAGIC, 4);
  txid.copy(head, 8);
  if (!integrityKey) {
    head.writeUInt16BE(body.length, 2);
    return Buffer.concat([head, body]);
  }
  head.writeUInt16BE(body.length + 24, 2); // the length covers MESSAGE-INTEGRITY
  const mac = createHmac('sha1', integrityKey).update(Buffer.concat([head, body])).digest();
  const mi = Buffer.alloc(4);
  mi.writeUInt16BE(ATTR.integrity, 0);
  mi.writeUInt16BE(20, 2);
  return Buffer.concat([head, body, mi, mac]);
}

export function stunAttrs(msg: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let i = 20;
  while (i + 4 <= msg.length) {
    const t = msg.readUInt16BE(i);
    const len = msg.readUInt16BE(i + 2);
    out.set(t, msg.subarray(i + 4, i + 4 + len));
    i += 4 + len + ((4 - (len % 4)) % 4);
  }
  return out;
}

/** An XOR-MAPPED/XOR-RELAYED address as host:port (IPv4; our servers hand out no IPv6 relays). */
export const xorAddress = (v: Buffer): string => `${[0, 1, 2, 3].map((k) => v[4 + k]! ^ ((MAGIC >>> (24 - 8 * k)) & 0xff)).join('.')}:${v.readUInt16BE(2) ^ (MAGIC >>> 16)}`;

const errorOf = (attrs: Map<number, Buffer>): { errorCode?: number; reason?: string } => {
  const ec = attrs.get(ATTR.errorCode);
  return ec ? { errorCode: ec[2]! * 100 + ec[3]!, reason: ec.subarray(4).toString() } : {};
};

/** Sends requests over one transport and hands back each response (matched in order: one at a time). */
interface Channel {
  request(m: Buffer): Promise<Buffer>;
  tls?: { protocol: string | null; cipher: string; subject?: string; serialNumber?: string };
  close(): void;
}

async function udpChannel(host: string, port: number, timeoutMs: number): Promise<Channel> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.connect(port, host, () => resolve());
  });
  return {
    request: (m) =>
      new Promise<Buffer>((resolve, reject) => {
        // Retransmitted as RFC 8489 says (500 ms, doubling): UDP may drop the first datagram.
        let wait = 500;
        let timer: NodeJS.Timeout;
        const resend = () => {
          sock.send(m);
          timer = setTimeout(resend, (wait *= 2));
        };
        const deadline = setTimeout(() => (clearTimeout(timer), sock.removeListener('message', onMessage), reject(new Error(`no STUN/TURN answer over UDP within ${timeoutMs / 1000} s`))), timeoutMs);
        const onMessage = (msg: Buffer) => {
          if (msg.length < 20 || !msg.subarray(8, 20).equals(m.subarray(8, 20))) return;
          clearTimeout(timer);
          clearTimeout(deadline);
          sock.removeListener('message', onMessage);
          resolve(msg);
        };
        sock.on('message', onMessage);
        sock.once('error', (e) => (clearTimeout(timer), clearTimeout(deadline), reject(e)));
        resend();
      }),
    close: () => sock.close(),
  };
}

async function streamChannel(host: string, port: number, tls: { servername: string; ca?: Buffer[] } | undefined, timeoutMs: number): Promise<Channel> {
  const sock: Socket | TLSSocket = tls ? tlsConnect({ host, port, servername: tls.servername, ...(tls.ca ? { ca: tls.ca } : {}), minVersion: 'TLSv1.2' }) : tcpConnect({ host, port });
  sock.setTimeout(timeoutMs);
  await new Promise<void>((resolve, reject) => {
    sock.once(tls ? 'secureConnect' : 'connect', () => resolve());
    sock.once('error', reject);
    sock.once('timeout', () => reject(new Error(`no ${tls ? 'TLS' : 'TCP'} connection within ${timeoutMs / 1000} s`)));
  });
  let buf = Buffer.alloc(0);
  const waiters: ((m: Buffer) => void)[] = [];
  sock.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 20 && buf.length >= 20 + buf.readUInt16BE(2)) {
      const m = buf.subarray(0, 20 + buf.readUInt16BE(2));
      buf = buf.subarray(m.length);
      waiters.shift()?.(m);
    }
  });
  const t = tls ? (sock as TLSSocket) : undefined;
  const peer = t?.getPeerCertificate();
  const subject = peer?.subject?.CN;
  return {
    request: (m) =>
      new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no TURN answer within ${timeoutMs / 1000} s`)), timeoutMs);
        waiters.push((r) => (clearTimeout(timer), resolve(r)));
        sock.once('error', (e) => (clearTimeout(timer), reject(e)));
        sock.write(m);
      }),
    ...(t ? { tls: { protocol: t.getProtocol(), cipher: t.getCipher().name, ...(typeof subject === 'string' ? { subject } : {}), ...(peer?.serialNumber ? { serialNumber: peer.serialNumber } : {}) } } : {}),
    close: () => sock.destroy(),
  };
}

/**
 * Whether host:port serves a certificate that Node's bundled public roots (Mozilla's) trust, without
 * NODE_EXTRA_CA_CERTS: a private CA is trusted by this command when told, but not by WebRTC stacks
 * that carry their own roots (libwebrtc's TURN/TLS client, browsers on devices without that CA).
 */
export async function publiclyTrusted(host: string, port: number, servername: string, timeoutMs: number): Promise<boolean> {
  const sock = tlsConnect({ host, port, servername, ca: [...rootCertificates], minVersion: 'TLSv1.2' });
  sock.setTimeout(timeoutMs);
  try {
    return await new Promise<boolean>((resolve, reject) => {
      sock.once('secureConnect', () => resolve(true));
      sock.once('error', (e: Error & { code?: string }) => (/CERT|SELF_SIGNED|UNABLE_TO/.test(e.code ?? '') ? resolve(false) : reject(e)));
      sock.once('timeout', () => reject(new Error(`no TLS handshake within ${timeoutMs / 1000} s`)));
    });
  } finally {
    sock.destroy();
  }
}

export interface StunTarget {
  host: string;
  port: number;
  transport: 'udp' | 'tcp' | 'tls';
  /** TLS: the name the certificate must carry (default: host). */
  servername?: string;
  /** TLS: trusted CAs instead of Node's bundle (tests with a private CA). */
  ca?: Buffer[];
  timeoutMs: number;
}

const open = (t: StunTarget): Promise<Channel> =>
  t.transport === 'udp' ? udpChannel(t.host, t.port, t.timeoutMs) : streamChannel(t.host, t.port, t.transport === 'tls' ? { servername: t.servername ?? t.host, ...(t.ca ? { ca: t.ca } : {}) } : undefined, t.timeoutMs);

/** STUN Binding: the address the server saw us from. */
export async function stunBinding(t: StunTarget): Promise<{ mapped: string }> {
  const ch = await open(t);
  try {
    const res = await ch.request(stunMessage(BINDING, randomBytes(12), []));
    const mapped = stunAttrs(res).get(ATTR.mapped);
    if (res.readUInt16BE(0) !== 0x0101 || !mapped) throw new Error(`STUN Binding refused (type 0x${res.readUInt16BE(0).toString(16)})`);
    return { mapped: xorAddress(mapped) };
  } finally {
    ch.close();
  }
}

export type AllocateResult =
  | { ok: true; relayed: string; mapped: string; realm: string; tls?: Channel['tls'] }
  | { ok: false; errorCode?: number; reason?: string; realm?: string };

/** An allocation kept open on its control connection: refreshed (or released) on that connection. */
export interface HeldAllocation {
  result: AllocateResult;
  /** A Refresh request (RFC 8656 section 7): answered with success while the server keeps the allocation. */
  refresh(lifetimeSeconds?: number): Promise<{ ok: boolean; errorCode?: number; reason?: string }>;
  close(): void;
}

/**
 * TURN Allocate of a UDP relay with long-term credentials (the 401 challenge, then the signed
 * request), the connection left open: a test holds an allocation across a certificate renewal.
 */
export async function holdAllocation(t: StunTarget & { username: string; password: string }): Promise<HeldAllocation> {
  const ch = await open(t);
  try {
    const first = await ch.request(stunMessage(ALLOCATE, randomBytes(12), [[ATTR.transport, UDP_RELAY]]));
    const challenge = stunAttrs(first);
    const realm = challenge.get(ATTR.realm);
    const nonce = challenge.get(ATTR.nonce);
    if (!realm || !nonce) return closed(ch, { ok: false, ...errorOf(challenge) });
    const key = createHash('md5').update(`${t.username}:${realm.toString()}:${t.password}`).digest();
    const signed = (type: number, attrs: [number, Buffer][]) => stunMessage(type, randomBytes(12), [...attrs, [ATTR.username, Buffer.from(t.username)], [ATTR.realm, realm], [ATTR.nonce, nonce]], key);
    const res = await ch.request(signed(ALLOCATE, [[ATTR.transport, UDP_RELAY]]));
    const attrs = stunAttrs(res);
    if (res.readUInt16BE(0) !== 0x0103) return closed(ch, { ok: false, realm: realm.toString(), ...errorOf(attrs) });
    const result: AllocateResult = { ok: true, relayed: xorAddress(attrs.get(ATTR.relayed)!), mapped: xorAddress(attrs.get(ATTR.mapped)!), realm: realm.toString(), ...(ch.tls ? { tls: ch.tls } : {}) };
    const lifetime = (s: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(s);
      return b;
    };
    return {
      result,
      refresh: async (seconds = 600) => {
        const r = await ch.request(signed(REFRESH, [[ATTR.lifetime, lifetime(seconds)]]));
        return r.readUInt16BE(0) === 0x0104 ? { ok: true } : { ok: false, ...errorOf(stunAttrs(r)) };
      },
      close: () => ch.close(),
    };
  } catch (e) {
    ch.close();
    throw e;
  }
}

function closed(ch: Channel, result: AllocateResult): HeldAllocation {
  ch.close();
  return { result, refresh: () => Promise.resolve({ ok: false, reason: 'no allocation' }), close: () => {} };
}

/** TURN Allocate of a UDP relay with long-term credentials, released at once (what a check asks). */
export async function turnAllocate(t: StunTarget & { username: string; password: string }): Promise<AllocateResult> {
  const held = await holdAllocation(t);
  held.close();
  return held.result;
}
