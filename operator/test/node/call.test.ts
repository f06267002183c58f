// A first install whose DNS is not there yet: the SFU still starts (it needs no lookup of our own
// STUN name), then a call through the real pods the operator deployed on the real node: two @livekit/rtc-node
// participants joining the SFU pod, relay-only, through the coturn pod (TURN/UDP, then TURN/TCP);
// the subscriber must receive the publisher's audio. The clients run on this machine in a private
// mount namespace whose /etc/hosts stands for the ministry's public DNS (the TURN names -> the node).
//
// TURN/TLS is the browser test's (browser.test.ts): libwebrtc inside @livekit/rtc-node verifies a
// TURN server's certificate against root CAs compiled into it, so a test CA cannot be trusted there;
// Chromium takes the test CA from its own certificate database.
import { AccessToken } from 'livekit-server-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureNamespace, kubectl } from '../integration/kubectl.js';
import { getJson } from '../integration/meetingcluster.js';
import { LiveProbe, turnRestCredentials } from '../media/stack.js';
import { Sandbox } from '../media/sandbox.js';
import { sfuSelectedRemotePorts } from './live-stack.js';
import { applyObject, deleteNamespace, installOperator, onRealNode, publicDns, readExample, realNode, resolve, tlsSecret, waitStackReady } from './cluster.js';

const NS = 'sports';
const secretOf = (name: string, key: string): string => Buffer.from(getJson('secret', name, '-n', NS).data[key], 'base64').toString();

describe('a relay-only call through the rendered SFU and coturn pods', () => {
  let sb: Sandbox;
  let apiKey: string;
  let apiSecret: string;
  let turnSecret: string;
  const m = onRealNode(readExample('sports-generic-minimal.yaml'));

  beforeAll(async () => {
    await installOperator();
    ensureNamespace(NS);
    const ip = realNode().ip;
    // A first install: the ministry's DNS does not know the TURN name yet.
    await publicDns({});
    tlsSecret(NS, m.spec.turn.tlsSecretName, m.spec.turn.domain);
    applyObject(m);
    await waitStackReady(NS, 'visio');
    apiKey = secretOf('visio-livekit-keys', 'api-key');
    apiSecret = secretOf('visio-livekit-keys', 'api-secret');
    turnSecret = secretOf('visio-turn-secret', 'secret');
    sb = await Sandbox.create('node-call', { hostNetwork: true, hosts: { [m.spec.turn.domain]: ip, [m.spec.domain]: ip } });
  }, 300_000);

  afterAll(async () => {
    await sb?.close();
    await deleteNamespace(NS);
  });

  const token = async (identity: string, room: string) => {
    const at = new AccessToken(apiKey, apiSecret, { identity, ttl: '10m' });
    at.addGrant({ roomJoin: true, room, canPublish: true, canSubscribe: true });
    return at.toJwt();
  };

  it('the SFU became ready while its own STUN/TURN name did not resolve, advertising the node address', () => {
    expect(resolve(m.spec.turn.domain)).toEqual([]);
    const log = kubectl(['logs', '-n', NS, 'deploy/visio-sfu', '--tail=-1']).stdout;
    const started = log.split('\n').filter((l) => l.includes('starting LiveKit server')).map((l) => JSON.parse(l));
    expect(started.map((s) => s.nodeIP)).toEqual([realNode().ip]);
    expect(log).not.toMatch(/could not resolve external IP|no such host/);
    // The clients below resolve it (their /etc/hosts): "once the name resolves", the call works.
  });

  it.each([
    ['TURN/UDP', 'udp'],
    ['TURN/TCP', 'tcp'],
  ])('%s: the subscriber receives the publisher\'s audio, relayed by coturn', async (_what, transport) => {
    const room = `call-${transport}`;
    const url = `ws://${realNode().ip}:${m.spec.sfu.port ?? 7880}`;
    const ice = (id: string) => [{ urls: [`turn:${m.spec.turn.domain}:${m.spec.turn.udpPort ?? 3478}?transport=${transport}`], ...turnRestCredentials(turnSecret, id) }];
    const publisher = new LiveProbe(sb, `publisher-${transport}`, 'participant', { url, token: await token('alice', room), publish: true, relay: true, iceServers: ice('alice'), seconds: 60 });
    const subscriber = new LiveProbe(sb, `subscriber-${transport}`, 'participant', { url, token: await token('bob', room), publish: false, relay: true, iceServers: ice('bob'), seconds: 60 });
    try {
      await publisher.waitFor((e) => e.event === 'published', 30_000, 'the tone published');
      await subscriber.waitFor((e) => e.event === 'subscribed' && e.from === 'alice', 30_000, 'a subscription to alice');
      const heard = await subscriber.waitFor((e) => e.event === 'frames' && e.frames >= 100 && e.peak > 1000, 30_000, '100 audio frames with the tone in them');
      expect(heard.peak).toBeGreaterThan(1000);
      // The SFU saw both participants come from coturn's relay range on the node, nothing else.
      const active = sfuSelectedRemotePorts(NS, room);
      expect(active.length).toBe(2);
      const { start, end } = m.spec.turn.relayPortRange ?? { start: 30000, end: 40000 };
      for (const { ports, line } of active) {
        expect(ports.length, line).toBeGreaterThan(0);
        for (const p of ports) expect(p >= start && p <= end, `remote port ${p} outside coturn's relay range ${start}-${end}: ${line}`).toBe(true);
      }
    } finally {
      await Promise.all([publisher.leave(), subscriber.leave()]);
    }
  });
});
