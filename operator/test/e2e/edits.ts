// The only edits the end-to-end harness makes to rendered configuration files, so that several
// "nodes" share one machine: each process binds its node's loopback address instead of every
// address, and the one port LiveKit binds on all addresses whatever it is told (rtc.tcp_port)
// differs per process. Like operator/test/media/loopback.ts, each edit checks its own result:
// anything else changed throws.
import { parse, parseDocument } from 'yaml';
import { changedPaths, coturnLoopback } from '../media/loopback.js';

const LIVEKIT_NODE_LEAVES = [/^bind_addresses\.\d+$/, /^rtc\.tcp_port$/];

/**
 * livekit.yaml of an SFU pod on a loopback node: `bind_addresses: [nodeIP]` (signalling and
 * Prometheus listen there: what the operator scrapes is http://<podIP>:<metricsPort>) and a
 * free rtc.tcp_port. Media (rtc.port_range_*) is untouched: pion binds each ICE socket to one
 * interface address and moves on to the next port of the range when one is taken.
 */
export function livekitOnNode(nodeIP: string, tcpPort: number) {
  return (text: string): string => {
    const doc = parseDocument(text);
    doc.setIn(['bind_addresses'], doc.createNode([nodeIP]));
    doc.setIn(['rtc', 'tcp_port'], tcpPort);
    const out = doc.toString({ lineWidth: 0 });
    const bad = changedPaths(parse(text), parse(out)).filter((p) => !LIVEKIT_NODE_LEAVES.some((re) => re.test(p)));
    if (bad.length) throw new Error(`livekit.yaml edit changes more than the bind address and the ICE/TCP port: ${bad.join(', ')}`);
    return out;
  };
}

/** redis.conf: listen on one address (the rendered `bind * -::*` would take 6379 on every address). */
export function redisAt(ip: string) {
  return (text: string): string => {
    const out = text.replace(/^bind .*$/m, `bind ${ip}`);
    const before = text.split('\n');
    const after = out.split('\n');
    const bad = after.filter((l, i) => l !== before[i] && !/^bind /.test(l));
    if (bad.length || after.length !== before.length) throw new Error(`redis.conf edit changes more than the bind address: ${bad.join(', ')}`);
    return out;
  };
}

/**
 * turnserver.conf: the media tests' loopback edit (listen and relay on a loopback address, every
 * rendered denied-peer-ip kept), on this harness's own address instead of 127.0.0.1.
 */
export function coturnAt(ip: string) {
  return (text: string): string =>
    coturnLoopback()(text)
      .replace(/^listening-ip=127\.0\.0\.1$/m, `listening-ip=${ip}`)
      .replace(/^relay-ip=127\.0\.0\.1$/m, `relay-ip=${ip}`)
      .replace(/^allowed-peer-ip=127\.0\.0\.1$/m, `allowed-peer-ip=${ip}`);
}
