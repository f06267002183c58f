// Where clients connect, as LiveKit hands it to them: shown in status.endpoints and the audit.
import type { MeetingCluster } from '../api/types.js';

export interface Endpoints {
  signalling: string;
  turn: string[];
}

export function endpointsOf(mc: MeetingCluster): Endpoints {
  const { domain, turn } = mc.spec;
  const urls: string[] = [];
  if ((turn.mode === 'coturn' || turn.mode === 'embedded') && turn.domain) {
    const udp = turn.mode === 'coturn' ? turn.udpDomain : turn.domain;
    urls.push(`turns:${turn.domain}:${turn.tlsPort}`, `turn:${udp}:${turn.udpPort}`);
  }
  if (turn.mode === 'external' && turn.external) {
    const scheme = turn.external.protocol === 'tls' ? 'turns' : 'turn';
    urls.push(`${scheme}:${turn.external.host}:${turn.external.port}?transport=${turn.external.protocol === 'udp' ? 'udp' : 'tcp'}`);
  }
  return { signalling: `wss://${domain}`, turn: urls };
}
