// Talking to the SFU pods the loopback kubelet runs, from the test process (the sandbox shares the
// machine's network, so http://<podIP>:<port> is reachable from here as from the operator):
// their Prometheus gauges, the RoomService API, and real @livekit/rtc-node participants, each a
// child process (operator/test/media/probe.ts `participant`: one native WebRTC stack per person,
// inside the sandbox's mount namespace so the TURN/STUN names it is handed resolve as the SFU's do).
import { AccessToken, RoomServiceClient } from 'livekit-server-sdk';
import { LIVEKIT_METRICS } from '../../src/scaling/metric-names.js';
import { kubectlOk } from '../integration/kubectl.js';
import type { Sandbox } from '../media/sandbox.js';
import { LiveProbe, parsePrometheus } from '../media/stack.js';

export interface ApiKey {
  key: string;
  secret: string;
}

/** The API key and secret the operator generated, as stored in the cluster's Secret. */
export function generatedApiKey(namespace: string, secretName: string): ApiKey {
  const s = JSON.parse(kubectlOk(['get', 'secret', secretName, '-n', namespace, '-o', 'json']));
  const text = (k: string) => Buffer.from(s.data?.[k] ?? '', 'base64').toString('utf8');
  const key = text('api-key');
  const secret = text('api-secret');
  if (!key || !secret) throw new Error(`Secret ${namespace}/${secretName} has no api-key/api-secret`);
  return { key, secret };
}

export interface NodeLoad {
  /** LiveKit's node id (the node_id label of its series). */
  nodeId: string;
  participants: number;
  rooms: number;
}

/** One scrape of an SFU pod's metrics endpoint; throws when it does not answer. */
export async function scrape(ip: string, metricsPort: number): Promise<NodeLoad> {
  const res = await fetch(`http://${ip}:${metricsPort}/metrics`, { signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`metrics of ${ip}:${metricsPort}: HTTP ${res.status}`);
  const samples = parsePrometheus(await res.text());
  const of = (name: string) => samples.filter((s) => s.name === name);
  const participants = of(LIVEKIT_METRICS.participants);
  if (!participants.length) throw new Error(`metrics of ${ip}:${metricsPort}: no ${LIVEKIT_METRICS.participants}`);
  const sum = (xs: { value: number }[]) => xs.reduce((a, s) => a + s.value, 0);
  return { nodeId: participants[0]!.labels.node_id ?? '', participants: sum(participants), rooms: sum(of(LIVEKIT_METRICS.rooms)) };
}

export class Sfu {
  private readonly rooms: RoomServiceClient;

  constructor(
    readonly ip: string,
    readonly port: number,
    private readonly apiKey: ApiKey,
  ) {
    this.rooms = new RoomServiceClient(`http://${ip}:${port}`, apiKey.key, apiKey.secret);
  }

  get wsUrl(): string {
    return `ws://${this.ip}:${this.port}`;
  }

  /**
   * Creates a room on the LiveKit node `nodeId` (CreateRoomRequest.node_id): LiveKit's node selector
   * would otherwise place it on any node, and a participant whose signalling goes through another
   * node than its room's is counted by both nodes' participant gauges.
   */
  async createRoomOn(name: string, nodeId: string): Promise<void> {
    await this.rooms.createRoom({ name, nodeId, emptyTimeout: 120 });
  }

  async participants(room: string): Promise<string[]> {
    return (await this.rooms.listParticipants(room)).map((p) => p.identity);
  }

  async token(identity: string, room: string): Promise<string> {
    const at = new AccessToken(this.apiKey.key, this.apiKey.secret, { identity, ttl: '30m' });
    at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true });
    return at.toJwt();
  }
}

/**
 * A participant that joins `room` through this SFU's signalling and stays until leave() (or
 * `seconds`). Its events ("connected", "disconnected" with LiveKit's reason, "leaving") are in
 * probe.events.
 */
export async function joinParticipant(sb: Sandbox, sfu: Sfu, room: string, identity: string, seconds = 600): Promise<LiveProbe> {
  const p = new LiveProbe(sb, `participant-${identity}`, 'participant', { url: sfu.wsUrl, token: await sfu.token(identity, room), publish: false, relay: false, seconds });
  await p.waitFor((e) => e.event === 'connected', 45_000, `${identity} connected to ${room}`);
  return p;
}

/** Disconnected events a participant saw before it was asked to leave. */
export const unexpectedDisconnects = (p: LiveProbe): unknown[] => {
  const leaving = p.events.findIndex((e) => e.event === 'leaving');
  return p.events.slice(0, leaving < 0 ? undefined : leaving).filter((e) => e.event === 'disconnected');
};
