// ICE to the SFU itself, each transport forced on its own, as a participant's WebRTC stack does it:
// join through signalling, offer a publisher connection (a data channel only), take the SFU's ICE
// credentials and candidates from its answer and trickle, and send each candidate a real ICE
// connectivity check (RFC 8445 Binding request, short-term credentials). A success response proves
// that ICE over that transport reaches the SFU from here; no other path (TURN, the other transport)
// can stand in for it, as it can in a call.
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect as tcpConnect } from 'node:net';
import { crc32 } from 'node:zlib';
import { SessionDescription, SignalRequest, SignalResponse, SignalTarget } from '@livekit/protocol';
import { joinUrl } from './signal.js';
import { stunAttrs, stunMessage, xorAddress } from './stun.js';

export interface IceCandidate {
  transport: 'udp' | 'tcp';
  address: string;
  port: number;
  /** host, srflx, prflx or relay. */
  type: string;
  /** ICE-TCP (RFC 6544): the SFU's are passive. */
  tcpType?: string;
}

/** The SFU's side of one publisher connection: what an ICE check needs. */
export interface IceSession {
  ufrag: string;
  pwd: string;
  candidates: IceCandidate[];
  /** Our side (the offer's credentials). */
  local: { ufrag: string; pwd: string };
}

const ATTR_USERNAME = 0x0006;
const ATTR_PRIORITY = 0x0024;
const ATTR_ICE_CONTROLLING = 0x802a;
const ATTR_FINGERPRINT = 0x8028;
const ATTR_XOR_MAPPED = 0x0020;
const ATTR_ERROR_CODE = 0x0009;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const BINDING_ERROR = 0x0111;
const FINGERPRINT_XOR = 0x5354554e;

/** One a=candidate (or "candidate:..." of a trickle) parsed; undefined for what is not a candidate. */
export function parseCandidate(text: string): IceCandidate | undefined {
  const m = /candidate:\S+ \d+ (udp|tcp) \d+ (\S+) (\d+) typ (\S+)(.*)$/i.exec(text.trim());
  if (!m) return undefined;
  const tcpType = /tcptype (\S+)/.exec(m[5]!)?.[1];
  return { transport: m[1]!.toLowerCase() as 'udp' | 'tcp', address: m[2]!, port: Number(m[3]), type: m[4]!, ...(tcpType ? { tcpType } : {}) };
}

/** The ICE credentials and candidates of an SDP. */
export function sdpIce(sdp: string): { ufrag?: string; pwd?: string; candidates: IceCandidate[] } {
  const value = (key: string) => new RegExp(`^a=${key}:(\\S+)`, 'm').exec(sdp)?.[1];
  const candidates = sdp.split(/\r?\n/).filter((l) => l.startsWith('a=candidate:')).map((l) => parseCandidate(l.slice(2))).filter((c): c is IceCandidate => c !== undefined);
  const ufrag = value('ice-ufrag');
  const pwd = value('ice-pwd');
  return { ...(ufrag ? { ufrag } : {}), ...(pwd ? { pwd } : {}), candidates };
}

/** A publisher offer with one data channel and nothing else: all an ICE agent needs to start. */
export function dataChannelOffer(local: { ufrag: string; pwd: string }, fingerprint: Buffer): string {
  const hex = [...fingerprint].map((b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
  return [
    'v=0',
    `o=- ${BigInt(`0x${randomBytes(6).toString('hex')}`)} 2 IN IP4 127.0.0.1`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    'a=msid-semantic: WMS',
    'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
    'c=IN IP4 0.0.0.0',
    `a=ice-ufrag:${local.ufrag}`,
    `a=ice-pwd:${local.pwd}`,
    'a=ice-options:trickle',
    `a=fingerprint:sha-256 ${hex}`,
    'a=setup:actpass',
    'a=mid:0',
    'a=sctp-port:5000',
    'a=max-message-size:262144',
    '',
  ].join('\r\n');
}

/** Appends FINGERPRINT (RFC 8489 14.7) to a STUN message. */
export function withFingerprint(msg: Buffer): Buffer {
  const head = Buffer.from(msg);
  head.writeUInt16BE(msg.length - 20 + 8, 2);
  const attr = Buffer.alloc(8);
  attr.writeUInt16BE(ATTR_FINGERPRINT, 0);
  attr.writeUInt16BE(4, 2);
  attr.writeUInt32BE((crc32(head) ^ FINGERPRINT_XOR) >>> 0, 4);
  return Buffer.concat([head, attr]);
}

/** The connectivity check the controlling agent (the offerer) sends to one of the SFU's candidates. */
export function iceBindingRequest(txid: Buffer, session: Pick<IceSession, 'ufrag' | 'pwd' | 'local'>, tieBreaker: Buffer): Buffer {
  const priority = Buffer.alloc(4);
  // A peer-reflexive candidate's priority (RFC 8445 5.1.2.1), as a browser sends.
  priority.writeUInt32BE(((110 << 24) | (65535 << 8) | 255) >>> 0, 0);
  return withFingerprint(
    stunMessage(
      BINDING_REQUEST,
      txid,
      [
        [ATTR_USERNAME, Buffer.from(`${session.ufrag}:${session.local.ufrag}`)],
        [ATTR_PRIORITY, priority],
        [ATTR_ICE_CONTROLLING, tieBreaker],
      ],
      Buffer.from(session.pwd),
    ),
  );
}

/** The SFU's answer to a check: where it saw us from, or its error. */
function bindingOutcome(msg: Buffer, txid: Buffer): { mapped: string } | Error | undefined {
  if (msg.length < 20 || !msg.subarray(8, 20).equals(txid)) return undefined;
  const type = msg.readUInt16BE(0);
  const attrs = stunAttrs(msg);
  if (type === BINDING_SUCCESS) return { mapped: attrs.has(ATTR_XOR_MAPPED) ? xorAddress(attrs.get(ATTR_XOR_MAPPED)!) : '?' };
  if (type === BINDING_ERROR) {
    const e = attrs.get(ATTR_ERROR_CODE);
    return new Error(`the SFU refused the ICE check: ${e ? `${e[2]! * 100 + e[3]!} ${e.subarray(4).toString()}` : 'error response'}`);
  }
  return undefined;
}

/** Sends one ICE connectivity check to `c` over its own transport; resolves with our address as the SFU saw it. */
export async function iceCheck(c: IceCandidate, session: IceSession, timeoutMs: number): Promise<{ mapped: string; ms: number }> {
  const txid = randomBytes(12);
  const request = iceBindingRequest(txid, session, randomBytes(8));
  const t0 = Date.now();
  const within = `no answer within ${timeoutMs / 1000} s`;
  if (c.transport === 'udp') {
    const socket = createSocket(c.address.includes(':') ? 'udp6' : 'udp4');
    try {
      return await new Promise((resolve, reject) => {
        // Retransmitted as ICE does (RFC 8445 14.3): a lost datagram is not a failure.
        const send = () => socket.send(request, c.port, c.address);
        const again = setInterval(send, 500);
        const finish = (f: () => void) => (clearInterval(again), clearTimeout(timer), f());
        const timer = setTimeout(() => finish(() => reject(Object.assign(new Error(within), { code: 'ETIMEDOUT' }))), timeoutMs);
        socket.on('error', (e) => finish(() => reject(e)));
        socket.on('message', (msg) => {
          const out = bindingOutcome(msg, txid);
          if (out) finish(() => (out instanceof Error ? reject(out) : resolve({ ...out, ms: Date.now() - t0 })));
        });
        send();
      });
    } finally {
      socket.close();
    }
  }
  // ICE-TCP: each STUN message framed by its 16-bit length (RFC 4571), on a connection we open.
  const socket = tcpConnect({ host: c.address, port: c.port });
  try {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(Object.assign(new Error(within), { code: 'ETIMEDOUT' })), timeoutMs);
      let buffered = Buffer.alloc(0);
      socket.on('error', (e) => (clearTimeout(timer), reject(e)));
      socket.on('close', () => (clearTimeout(timer), reject(Object.assign(new Error(`${c.address}:${c.port}/tcp closed the connection without answering`), { code: 'ECONNRESET' }))));
      socket.on('connect', () => {
        const frame = Buffer.alloc(2);
        frame.writeUInt16BE(request.length, 0);
        socket.write(Buffer.concat([frame, request]));
      });
      socket.on('data', (chunk) => {
        buffered = Buffer.concat([buffered, chunk]);
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          const msg = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
          buffered = buffered.subarray(2 + msg.length);
          const out = bindingOutcome(msg, txid);
          if (out) return clearTimeout(timer), out instanceof Error ? reject(out) : resolve({ ...out, ms: Date.now() - t0 });
        }
      });
    });
  } finally {
    socket.destroy();
  }
}

/**
 * Joins as a participant and negotiates a publisher connection up to the SFU's ICE candidates. The
 * signalling connection stays open (the SFU's ICE agent lives as long as the participant): close it
 * once the checks are done.
 */
export async function openIceSession(wsUrl: string, token: string, timeoutMs: number): Promise<{ session: IceSession; close: () => void }> {
  const ws = new WebSocket(joinUrl(wsUrl, token));
  ws.binaryType = 'arraybuffer';
  const local = { ufrag: randomBytes(6).toString('hex'), pwd: randomBytes(16).toString('hex') };
  const close = () => {
    ws.onclose = null;
    ws.close();
  };
  try {
    const session = await new Promise<IceSession>((resolve, reject) => {
      let answer: ReturnType<typeof sdpIce> | undefined;
      const trickled: IceCandidate[] = [];
      let settle: NodeJS.Timeout | undefined;
      const timer = setTimeout(() => reject(new Error(`no ICE answer from the SFU within ${timeoutMs / 1000} s`)), timeoutMs);
      const candidates = () => [...(answer?.candidates ?? []), ...trickled];
      const done = () => {
        if (!answer?.ufrag || !answer.pwd) return;
        clearTimeout(timer);
        clearTimeout(settle);
        resolve({ ufrag: answer.ufrag, pwd: answer.pwd, candidates: candidates(), local });
      };
      const haveBoth = () => (['udp', 'tcp'] as const).every((t) => candidates().some((c) => c.transport === t));
      ws.onerror = () => reject(new Error(`WebSocket ${wsUrl} refused the join`));
      ws.onclose = (e) => reject(new Error(`WebSocket ${wsUrl} closed during the ICE negotiation (code ${e.code})`));
      ws.onmessage = (ev) => {
        const msg = SignalResponse.fromBinary(new Uint8Array(ev.data as ArrayBuffer));
        const m = msg.message;
        if (m.case === 'join') {
          const offer = new SessionDescription({ type: 'offer', sdp: dataChannelOffer(local, randomBytes(32)) });
          ws.send(new SignalRequest({ message: { case: 'offer', value: offer } }).toBinary());
        } else if (m.case === 'answer') {
          answer = sdpIce(m.value.sdp);
          // Candidates trickle in after the answer: wait for both transports, or a moment.
          settle = setTimeout(done, 2000);
          if (haveBoth()) done();
        } else if (m.case === 'trickle' && m.value.target === SignalTarget.PUBLISHER) {
          const init = JSON.parse(m.value.candidateInit || '{}') as { candidate?: string };
          const c = init.candidate ? parseCandidate(init.candidate) : undefined;
          if (c) trickled.push(c);
          if (answer && (haveBoth() || m.value.final)) done();
        }
      };
    });
    return { session, close };
  } catch (e) {
    close();
    throw e;
  }
}
