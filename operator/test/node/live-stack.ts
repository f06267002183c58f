// The sports example as the real node runs it, in a namespace of its own: the operator installed, the
// stack ready, its LiveKit keys read back, and a sandbox on the host network where participants run.
import { AccessToken } from 'livekit-server-sdk';
import { ensureNamespace, kubectl } from '../integration/kubectl.js';
import { getJson } from '../integration/meetingcluster.js';
import { Sandbox } from '../media/sandbox.js';
import { turnRestCredentials, type LiveProbe } from '../media/stack.js';
import { applyObject, deleteNamespace, installOperator, onRealNode, publicDns, readExample, realNode, tlsSecret, waitStackReady } from './cluster.js';

export class LiveStack {
  readonly m: any;
  sb!: Sandbox;
  apiKey!: string;
  apiSecret!: string;
  /** The self-signed certificate coturn serves TURN/TLS with (PEM): what a client must trust (none with an issuer). */
  turnCert!: string;

  /** `edit` changes the example before it is applied (e.g. an issuer instead of the TLS Secret). */
  constructor(readonly ns: string, private readonly sandbox: string, private readonly extraHosts: string[] = [], edit?: (m: any) => void) {
    this.m = onRealNode(readExample('sports-generic-minimal.yaml'));
    this.m.metadata.namespace = ns;
    edit?.(this.m);
  }

  async start(): Promise<void> {
    await installOperator();
    ensureNamespace(this.ns);
    await publicDns(Object.fromEntries([this.m.spec.turn.domain, ...this.extraHosts].map((h) => [h, realNode().ip])));
    this.turnCert = this.m.spec.turn.issuerRef ? '' : tlsSecret(this.ns, this.m.spec.turn.tlsSecretName, this.m.spec.turn.domain);
    applyObject(this.m);
    await waitStackReady(this.ns, 'visio');
    this.apiKey = this.secret('visio-livekit-keys', 'api-key');
    this.apiSecret = this.secret('visio-livekit-keys', 'api-secret');
    const hosts = Object.fromEntries([this.m.spec.turn.domain, ...this.extraHosts].map((h) => [h, realNode().ip]));
    this.sb = await Sandbox.create(this.sandbox, { hostNetwork: true, hosts });
  }

  async stop(): Promise<void> {
    await this.sb?.close();
    await deleteNamespace(this.ns);
  }

  secret(name: string, key: string): string {
    return Buffer.from(getJson('secret', name, '-n', this.ns).data[key], 'base64').toString();
  }

  /** One TURN transport of the cluster's coturn, forced (relay-only clients take only this), with REST credentials. */
  relayIce(identity: string, transport: 'udp' | 'tcp'): { urls: string[]; username: string; password: string }[] {
    return [{ urls: [`turn:${this.m.spec.turn.domain}:${this.m.spec.turn.udpPort ?? 3478}?transport=${transport}`], ...turnRestCredentials(this.secret('visio-turn-secret', 'secret'), identity) }];
  }

  /** A join token for `room`, publishing and subscribing, from the cluster's own keys. */
  token(identity: string, room: string): Promise<string> {
    const at = new AccessToken(this.apiKey, this.apiSecret, { identity, ttl: '10m' });
    at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true });
    return at.toJwt();
  }
}

/**
 * The remote ports of the candidate pairs the SFU selected for each participant of `room` (one list
 * per participant, from its "participant active" log line). LiveKit masks the address in its logs
 * ("192.0....:37065"), and its connectionType is racy (a relay's first packet can arrive before its
 * trickled candidate and be logged as prflx), so the port is what tells coturn's relay range.
 */
export function sfuSelectedRemotePorts(ns: string, room: string): { ports: number[]; line: string }[] {
  const log = kubectl(['logs', '-n', ns, '-l', 'app.kubernetes.io/component=sfu', '--tail=-1', '--max-log-requests=10']).stdout;
  return log
    .split('\n')
    .filter((l) => l.includes('"participant active"') && l.includes(`"room":"${room}"`))
    .map((l) => ({ ports: [...l.matchAll(/\[remote\]\[selected:\d+\][^"]*? (?:udp|tcp) \w+ [^ "]*:(\d+)/g)].map((x) => Number(x[1])), line: l.slice(0, 600) }));
}

/** A 250 ms window of the probe's audio that carries the tone. */
export const sound = (e: any): boolean => e.event === 'frames' && e.peak > 1000;

/** The longest stretch without sound (windows whose peak is the tone's) between from and to. */
export function longestSilence(probe: LiveProbe, from: number, to: number): number {
  const at = probe.events.filter((e) => sound(e) && e.at >= from && e.at <= to).map((e) => e.at as number);
  let longest = 0;
  let last = from;
  for (const t of [...at, to]) {
    longest = Math.max(longest, t - last);
    last = t;
  }
  return longest;
}
