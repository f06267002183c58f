// A MeetingCluster as a client reaches it: the object, validated, and the API keys its SFU mounts,
// with which a join token is signed. Shared by `meet-operator token` and `meet-operator check`.
import { secretRefs } from '../render/context.js';
import { validateMeetingCluster } from '../api/validate.js';
import type { MeetingCluster } from '../api/types.js';
import type { KubeHttp } from '../kube/http.js';
import { MEETING_CLUSTER, resourcePath } from '../kube/resources.js';

/** The first "key: secret" pair of a LiveKit key_file (keys.yaml). */
export function firstKeyPair(keysYaml: string): { key: string; secret: string } | undefined {
  for (const line of keysYaml.split('\n')) {
    const m = /^\s*([^:#\s][^:]*?)\s*:\s*(\S+)\s*$/.exec(line);
    if (m) return { key: m[1]!, secret: m[2]! };
  }
  return undefined;
}

/** A MeetingCluster as the API server holds it, validated (the live object is kept for its status). */
export async function loadCluster(http: KubeHttp, namespace: string, name: string): Promise<{ live: any; cluster: MeetingCluster }> {
  const live = await http.request('GET', resourcePath(MEETING_CLUSTER, namespace, name)).catch((e: Error) => {
    throw new Error(`MeetingCluster ${namespace}/${name}: ${e.message}`);
  });
  const { cluster, errors } = validateMeetingCluster(live);
  if (!cluster) throw new Error(`MeetingCluster ${namespace}/${name} is invalid: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  return { live, cluster };
}

/** The cluster's LiveKit API key pair, from the Secret its SFU mounts as key_file. */
export async function apiKeyPair(http: KubeHttp, cluster: MeetingCluster): Promise<{ key: string; secret: string }> {
  const ns = cluster.metadata.namespace;
  const ref = secretRefs(cluster).livekitKeys;
  const secret = await http.request('GET', `/api/v1/namespaces/${ns}/secrets/${ref.name}`).catch((e: Error) => {
    throw new Error(`Secret ${ns}/${ref.name} (the SFU's API keys): ${e.message}`);
  });
  const data = secret?.data?.[ref.key];
  const pair = data ? firstKeyPair(Buffer.from(data, 'base64').toString('utf8')) : undefined;
  if (!pair) throw new Error(`Secret ${ns}/${ref.name} has no "key: secret" line under ${ref.key}`);
  return pair;
}

/** A join token for `room` (publish and subscribe), signed with the pair. */
export async function joinToken(pair: { key: string; secret: string }, identity: string, room: string, ttlSeconds: number): Promise<string> {
  // Loaded here only: the controller never needs the SDK.
  const { AccessToken } = await import('livekit-server-sdk');
  const at = new AccessToken(pair.key, pair.secret, { identity, ttl: ttlSeconds });
  at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true });
  return at.toJwt();
}

