// `meet-operator token`: a join token for a MeetingCluster, minted from the cluster's own API keys
// (the Secret the SFU mounts as its key_file, generated or the ministry's), so a platform engineer can
// join a meeting on a fresh stack without copying a secret by hand. The key never leaves the process:
// only the signed token (short-lived) is printed.
import { secretRefs } from '../render/context.js';
import { validateMeetingCluster } from '../api/validate.js';
import type { KubeHttp } from '../kube/http.js';
import { MEETING_CLUSTER, resourcePath } from '../kube/resources.js';

export interface TokenRequest {
  namespace: string;
  name: string;
  identity: string;
  room: string;
  ttlSeconds: number;
  /** Signalling URL to print; default: the cluster's status.endpoints.signalling. */
  url?: string;
}

export interface Join {
  url: string;
  room: string;
  identity: string;
  token: string;
  expires: string;
}

/** The first "key: secret" pair of a LiveKit key_file (keys.yaml). */
export function firstKeyPair(keysYaml: string): { key: string; secret: string } | undefined {
  for (const line of keysYaml.split('\n')) {
    const m = /^\s*([^:#\s][^:]*?)\s*:\s*(\S+)\s*$/.exec(line);
    if (m) return { key: m[1]!, secret: m[2]! };
  }
  return undefined;
}

export async function mintJoin(http: KubeHttp, req: TokenRequest): Promise<Join> {
  const mc = await http.request('GET', resourcePath(MEETING_CLUSTER, req.namespace, req.name)).catch((e: Error) => {
    throw new Error(`MeetingCluster ${req.namespace}/${req.name}: ${e.message}`);
  });
  const { cluster, errors } = validateMeetingCluster(mc);
  if (!cluster) throw new Error(`MeetingCluster ${req.namespace}/${req.name} is invalid: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`);
  const ref = secretRefs(cluster).livekitKeys;
  const secret = await http.request('GET', `/api/v1/namespaces/${req.namespace}/secrets/${ref.name}`).catch((e: Error) => {
    throw new Error(`Secret ${req.namespace}/${ref.name} (the SFU's API keys): ${e.message}`);
  });
  const data = secret?.data?.[ref.key];
  const pair = data ? firstKeyPair(Buffer.from(data, 'base64').toString('utf8')) : undefined;
  if (!pair) throw new Error(`Secret ${req.namespace}/${ref.name} has no "key: secret" line under ${ref.key}`);
  // Loaded here only: the controller never needs the SDK.
  const { AccessToken } = await import('livekit-server-sdk');
  const at = new AccessToken(pair.key, pair.secret, { identity: req.identity, ttl: req.ttlSeconds });
  at.addGrant({ roomJoin: true, room: req.room, canPublish: true, canSubscribe: true });
  const url = req.url ?? mc.status?.endpoints?.signalling ?? `wss://${cluster.spec.domain}`;
  return { url, room: req.room, identity: req.identity, token: await at.toJwt(), expires: new Date(Date.now() + req.ttlSeconds * 1000).toISOString() };
}
