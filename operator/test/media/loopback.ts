// The only edits the runner makes to rendered configuration files: ports (two SFU nodes on one
// machine) and addresses (everything runs on a loopback interface). Each edit checks its own
// result: any other difference from the rendered file throws, so a renderer bug cannot be
// "fixed" here by accident.
import { parseDocument, parse } from 'yaml';

type Leaves = Map<string, unknown>;

function leaves(v: unknown, path = '', out: Leaves = new Map()): Leaves {
  if (v !== null && typeof v === 'object') {
    const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
    if (!entries.length) out.set(path, Array.isArray(v) ? [] : {});
    for (const [k, x] of entries) leaves(x, path ? `${path}.${k}` : k, out);
  } else out.set(path, v);
  return out;
}

/** Leaf paths that differ (changed, added or removed) between two parsed documents. */
export function changedPaths(before: unknown, after: unknown): string[] {
  const a = leaves(before);
  const b = leaves(after);
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((k) => JSON.stringify(a.get(k)) !== JSON.stringify(b.get(k))).sort();
}

/** livekit.yaml leaves that hold a port or an address, or restrict the addresses used. */
const LIVEKIT_PORT_OR_ADDRESS = [
  /^port$/,
  /^rtc\.tcp_port$/,
  /^rtc\.port_range_(start|end)$/,
  /^rtc\.udp_port$/,
  /^prometheus\.port$/,
  /^rtc\.stun_servers\.\d+$/,
  /^rtc\.turn_servers\.\d+\.(host|port)$/,
  /^rtc\.ips\.includes\.\d+$/,
  /^rtc\.node_ip$/,
  /^redis\.address$/,
  /^turn\.(udp_port|tls_port|relay_range_start|relay_range_end)$/,
  /^turn\.allow_restricted_peer_cidrs\.\d+$/,
  /^turn\.bind_addresses\.\d+$/,
  // Loopback: pion gathers no candidate on a loopback interface unless told to.
  /^rtc\.enable_loopback_candidate$/,
];

export interface LivekitPorts {
  port: number;
  tcpPort: number;
  metricsPort: number;
  udpRange: [number, number];
  /** Embedded TURN only. */
  turnUdpPort?: number;
  turnTlsPort?: number;
  /**
   * Embedded TURN only: bind it to 127.0.0.1 (bound to 0.0.0.0, its UDP replies to a client on
   * another local address leave from that address, not the one the client asked) and let relays
   * reach the SFU on 127.0.0.1 (LiveKit's TURN refuses loopback, private and link-local peers
   * unless listed; in production the SFU's candidates carry its public IP). The counterpart of
   * coturnLoopback's listening-ip and allowed-peer-ip.
   */
  embeddedTurnLoopback?: boolean;
}

/**
 * Edit for livekit.yaml: the given ports, and the node's ICE candidates on 127.0.0.1 only
 * (rtc.ips.includes + rtc.enable_loopback_candidate; without them pion gathers on no interface
 * in a namespace whose only interface is the loopback).
 */
export function livekitLoopback(ports: LivekitPorts, extra?: (doc: ReturnType<typeof parseDocument>) => void) {
  return (text: string): string => {
    const doc = parseDocument(text);
    doc.setIn(['port'], ports.port);
    doc.setIn(['rtc', 'tcp_port'], ports.tcpPort);
    doc.setIn(['rtc', 'port_range_start'], ports.udpRange[0]);
    doc.setIn(['rtc', 'port_range_end'], ports.udpRange[1]);
    doc.setIn(['prometheus', 'port'], ports.metricsPort);
    doc.setIn(['rtc', 'ips'], doc.createNode({ includes: ['127.0.0.1/32'] }));
    doc.setIn(['rtc', 'enable_loopback_candidate'], true);
    if (ports.turnUdpPort !== undefined) doc.setIn(['turn', 'udp_port'], ports.turnUdpPort);
    if (ports.turnTlsPort !== undefined) doc.setIn(['turn', 'tls_port'], ports.turnTlsPort);
    if (ports.embeddedTurnLoopback) {
      doc.setIn(['turn', 'bind_addresses'], doc.createNode(['127.0.0.1']));
      doc.setIn(['turn', 'allow_restricted_peer_cidrs'], doc.createNode(['127.0.0.1/32']));
    }
    extra?.(doc);
    const out = doc.toString({ lineWidth: 0 });
    const bad = changedPaths(parse(text), parse(out)).filter((p) => !LIVEKIT_PORT_OR_ADDRESS.some((re) => re.test(p)));
    if (bad.length) throw new Error(`livekit.yaml edit changes more than ports and addresses: ${bad.join(', ')}`);
    return out;
  };
}

/** turnserver.conf directives that hold a port or an address, or restrict the peers by address. */
const COTURN_PORT_OR_ADDRESS = /^(listening-port|tls-listening-port|alt-listening-port|min-port|max-port|listening-ip|relay-ip|external-ip|allowed-peer-ip|allow-loopback-peers)(=|$)/;

/**
 * Edit for turnserver.conf on a loopback-only network: listen and relay on 127.0.0.1 (coturn
 * never picks a loopback address by itself and refuses to start without a listener), and let
 * relays reach the SFU on 127.0.0.1 only: every rendered denied-peer-ip stays, so 127.0.0.2,
 * 10.0.0.1 or 169.254.169.254 are still refused.
 */
export function coturnLoopback(ports?: { listeningPort?: number; tlsListeningPort?: number }) {
  return (text: string): string => {
    let lines = text.split('\n');
    const setPort = (key: string, v: number | undefined) => {
      if (v !== undefined) lines = lines.map((l) => (l.startsWith(`${key}=`) ? `${key}=${v}` : l));
    };
    setPort('listening-port', ports?.listeningPort);
    setPort('tls-listening-port', ports?.tlsListeningPort);
    const body = lines.filter((l) => l !== '');
    const out = [...body, '# meet-operator media tests: loopback only', 'listening-ip=127.0.0.1', 'relay-ip=127.0.0.1', 'allow-loopback-peers', 'allowed-peer-ip=127.0.0.1', ''].join('\n');
    const before = new Set(text.split('\n').filter((l) => l && !l.startsWith('#')));
    const after = out.split('\n').filter((l) => l && !l.startsWith('#'));
    const bad = [...after.filter((l) => !before.has(l)), ...[...before].filter((l) => !after.includes(l))].filter((l) => !COTURN_PORT_OR_ADDRESS.test(l));
    if (bad.length) throw new Error(`turnserver.conf edit changes more than ports and addresses: ${bad.join(', ')}`);
    return out;
  };
}
