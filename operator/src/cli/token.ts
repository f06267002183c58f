// `meet-operator token`: a join token for a MeetingCluster, minted from the cluster's own API keys
// (the Secret the SFU mounts as its key_file, generated or the ministry's), so a platform engineer can
// join a meeting on a fresh stack without copying a secret by hand. The key never leaves the process:
// only the signed token (short-lived) is printed.
import type { KubeHttp } from '../kube/http.js';
import { apiKeyPair, joinToken, loadCluster } from '../check/access.js';

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

export async function mintJoin(http: KubeHttp, req: TokenRequest): Promise<Join> {
  const { live, cluster } = await loadCluster(http, req.namespace, req.name);
  const token = await joinToken(await apiKeyPair(http, cluster), req.identity, req.room, req.ttlSeconds);
  const url = req.url ?? live.status?.endpoints?.signalling ?? `wss://${cluster.spec.domain}`;
  return { url, room: req.room, identity: req.identity, token, expires: new Date(Date.now() + req.ttlSeconds * 1000).toISOString() };
}
