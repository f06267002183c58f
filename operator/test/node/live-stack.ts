// The sports example as the real node runs it, in a namespace of its own: the operator installed, the
// stack ready, its LiveKit keys read back, and a sandbox on the host network where participants run.
import { AccessToken } from 'livekit-server-sdk';
import { ensureNamespace } from '../integration/kubectl.js';
import { getJson } from '../integration/meetingcluster.js';
import { Sandbox } from '../media/sandbox.js';
import { applyObject, deleteNamespace, installOperator, onRealNode, publicDns, readExample, realNode, tlsSecret, waitStackReady } from './cluster.js';

export class LiveStack {
  readonly m: any;
  sb!: Sandbox;
  apiKey!: string;
  apiSecret!: string;

  constructor(readonly ns: string, private readonly sandbox: string) {
    this.m = onRealNode(readExample('sports-generic-minimal.yaml'));
    this.m.metadata.namespace = ns;
  }

  async start(): Promise<void> {
    await installOperator();
    ensureNamespace(this.ns);
    await publicDns({ [this.m.spec.turn.domain]: realNode().ip });
    tlsSecret(this.ns, this.m.spec.turn.tlsSecretName, this.m.spec.turn.domain);
    applyObject(this.m);
    await waitStackReady(this.ns, 'visio');
    this.apiKey = this.secret('visio-livekit-keys', 'api-key');
    this.apiSecret = this.secret('visio-livekit-keys', 'api-secret');
    this.sb = await Sandbox.create(this.sandbox, { hostNetwork: true, hosts: { [this.m.spec.turn.domain]: realNode().ip } });
  }

  async stop(): Promise<void> {
    await this.sb?.close();
    await deleteNamespace(this.ns);
  }

  secret(name: string, key: string): string {
    return Buffer.from(getJson('secret', name, '-n', this.ns).data[key], 'base64').toString();
  }

  /** A join token for `room`, publishing and subscribing, from the cluster's own keys. */
  token(identity: string, room: string): Promise<string> {
    const at = new AccessToken(this.apiKey, this.apiSecret, { identity, ttl: '10m' });
    at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true });
    return at.toJwt();
  }
}
