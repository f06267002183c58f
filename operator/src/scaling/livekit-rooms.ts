// Which meetings a set of SFU pods still hosts, and since when. LiveKit publishes neither in its
// metrics (per-node gauges only) nor in its API (ListRooms does not say which node hosts a room);
// its own routing state in Redis says both (livekit-server pkg/routing and pkg/service/redisstore.go):
//   room_node_map  hash  room name -> id of the node that hosts it
//   rooms          hash  room name -> livekit.Room protobuf (creation_time in s, creation_time_ms)
// and each pod's metrics carry its node id (label node_id). The operator only reads these keys.
import { Room } from '@livekit/protocol';
import { Redis } from 'ioredis';
import type { MeetingCluster } from '../api/types.js';
import { objectName } from '../api/names.js';
import { REDIS_PORT } from '../render/config/paths.js';

export const ROOM_NODE_MAP = 'room_node_map';
export const ROOMS = 'rooms';

export interface OldestMeeting {
  room: string;
  /** The SFU pod hosting it. */
  pod: string;
  /** When LiveKit created the room (ms since the epoch). */
  since: number;
}

/** Creation time of an encoded livekit.Room in ms, or undefined when the bytes say nothing usable. */
export function roomCreatedAt(bytes: Uint8Array): number | undefined {
  let room: Room;
  try {
    room = Room.fromBinary(bytes);
  } catch {
    return undefined;
  }
  const ms = Number(room.creationTimeMs) || Number(room.creationTime) * 1000;
  return ms > 0 ? ms : undefined;
}

/**
 * The oldest room among those placed on the given nodes (pure). `placement` is room_node_map,
 * `created` the creation time of each room read, `podOfNode` node id -> pod name.
 */
export function oldestMeeting(placement: Record<string, string>, created: ReadonlyMap<string, number>, podOfNode: ReadonlyMap<string, string>): OldestMeeting | undefined {
  let oldest: OldestMeeting | undefined;
  for (const [room, node] of Object.entries(placement)) {
    const pod = podOfNode.get(node);
    const since = created.get(room);
    if (pod === undefined || since === undefined) continue;
    // Ties go to the smaller name, so two rounds over the same state report the same meeting.
    if (!oldest || since < oldest.since || (since === oldest.since && room < oldest.room)) oldest = { room, pod, since };
  }
  return oldest;
}

export interface RedisEndpoint {
  host: string;
  port: number;
  tls: boolean;
}

/** Where the cluster's LiveKit keeps its state: the managed Redis Service, or spec.redis.external. */
export function redisEndpoint(mc: MeetingCluster): RedisEndpoint {
  const { redis } = mc.spec;
  if (redis.mode === 'external' && redis.external) {
    const { address, tls } = redis.external;
    // host:port, as the schema admits it (a DNS name or IPv4 address, never a bracketed IPv6).
    const colon = address.lastIndexOf(':');
    return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)), tls };
  }
  return { host: `${objectName(mc, 'redis')}.${mc.metadata.namespace}.svc.cluster.local`, port: REDIS_PORT, tls: false };
}

/**
 * Reads LiveKit's room placement from Redis and returns the oldest meeting on the given nodes.
 * One short connection per call: it is only asked while old SFU pods drain.
 */
export async function readOldestMeeting(endpoint: RedisEndpoint, password: string | undefined, podOfNode: ReadonlyMap<string, string>, timeoutMs: number): Promise<OldestMeeting | undefined> {
  if (podOfNode.size === 0) return undefined;
  const client = new Redis({
    host: endpoint.host,
    port: endpoint.port,
    ...(password ? { password } : {}),
    ...(endpoint.tls ? { tls: { servername: endpoint.host } } : {}),
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    // Fail this read instead of reconnecting in the background: the next round asks again.
    retryStrategy: () => null,
  });
  // ioredis reports the cause (ENOTFOUND, ECONNREFUSED, WRONGPASS...) as an 'error' event and then
  // rejects the pending call with only "Connection is closed": keep the cause to say it.
  let cause: Error | undefined;
  client.on('error', (e: Error) => (cause ??= e));
  try {
    await client.connect();
    const placement = await client.hgetall(ROOM_NODE_MAP);
    const rooms = Object.keys(placement).filter((room) => podOfNode.has(placement[room]!));
    if (!rooms.length) return undefined;
    const encoded = await client.hmgetBuffer(ROOMS, ...rooms);
    const created = new Map<string, number>();
    rooms.forEach((room, i) => {
      const at = encoded[i] ? roomCreatedAt(encoded[i]!) : undefined;
      if (at !== undefined) created.set(room, at);
    });
    return oldestMeeting(placement, created, podOfNode);
  } catch (e) {
    throw new Error(`Redis ${endpoint.host}:${endpoint.port}: ${(cause ?? (e as Error)).message}`);
  } finally {
    client.disconnect();
  }
}
