// What `meet-operator check` reaches, derived from the MeetingCluster (pure): the public names, the
// signalling URL, the ICE servers clients may be handed (ours only), and how to read an ICE URL.
import type { MeetingCluster } from '../api/types.js';

/** The names a participant's device resolves: signalling, TURN/TLS, and TURN/UDP when it differs. */
export function publicNames(mc: MeetingCluster): string[] {
  const { domain, turn } = mc.spec;
  const names = [domain];
  if (turn.mode !== 'external' && turn.domain) names.push(turn.domain);
  if (turn.mode === 'coturn' && turn.udpDomain) names.push(turn.udpDomain);
  return [...new Set(names)];
}

/** The signalling URL (ws/wss) and its HTTP twin (RoomService, /rtc/validate). */
export function signallingUrls(mc: MeetingCluster, statusUrl: string | undefined, override: string | undefined): { ws: string; http: string } {
  const ws = (override ?? statusUrl ?? `wss://${mc.spec.domain}`).replace(/^http/, 'ws').replace(/\/+$/, '');
  return { ws, http: ws.replace(/^ws/, 'http') };
}

export interface IceUrl {
  url: string;
  scheme: 'stun' | 'stuns' | 'turn' | 'turns';
  host: string;
  port: number;
  /** What carries the client's traffic to the server: UDP, TCP, or TLS (turns:). */
  transport: 'udp' | 'tcp' | 'tls';
}

/** An RFC 7064/7065 URL (turn:host:port?transport=udp) read; undefined when it is none. */
export function parseIceUrl(url: string): IceUrl | undefined {
  const m = /^(stuns?|turns?):(\[[^\]]+\]|[^:?]+)(?::(\d+))?(?:\?transport=(udp|tcp))?$/i.exec(url.trim());
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase() as IceUrl['scheme'];
  const secure = scheme.endsWith('s');
  const transport = secure ? 'tls' : ((m[4]?.toLowerCase() as 'udp' | 'tcp' | undefined) ?? 'udp');
  return { url, scheme, host: m[2]!.replace(/^\[|\]$/g, ''), port: m[3] ? Number(m[3]) : secure ? 5349 : 3478, transport };
}

/** Hosts an ICE server handed to clients may have: our TURN names and the ministry's own STUN servers. */
export function allowedIceHosts(mc: MeetingCluster): Set<string> {
  const { turn, sovereignty } = mc.spec;
  const hosts = [turn.domain, turn.mode === 'coturn' ? turn.udpDomain : undefined, turn.mode === 'external' ? turn.external?.host : undefined];
  // spec.sovereignty.stunServers are host:port (the schema admits no IPv6 literal).
  for (const s of sovereignty.stunServers) hosts.push(s.slice(0, s.lastIndexOf(':')));
  return new Set(hosts.filter((h): h is string => !!h).map((h) => h.toLowerCase()));
}

/** The ICE URLs that name a host outside the allowed set (or cannot be read). */
export function foreignIceUrls(urls: readonly string[], allowed: ReadonlySet<string>): string[] {
  return urls.filter((u) => {
    const parsed = parseIceUrl(u);
    return !parsed || !allowed.has(parsed.host.toLowerCase());
  });
}
