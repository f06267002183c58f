// Issue 19, item 3, on the real node: a TURN/TLS certificate kept by cert-manager (its real controller,
// built from the Go module proxy, against this control plane) from spec.turn.issuerRef, and a forced
// renewal while a relayed call runs and a TURN/TLS allocation is held open. coturn must serve the new
// certificate on new TLS connections without a restart, keep the allocation and the call, and the
// MeetingCluster's status must follow the new certificate.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { holdAllocation, type HeldAllocation } from '../../src/check/stun.js';
import { eventually, eventuallyAsync, kubectl, kubectlOk } from '../integration/kubectl.js';
import { getJson } from '../integration/meetingcluster.js';
import { LiveProbe, turnRestCredentials } from '../media/stack.js';
import { applyObject, containerPid, installOperator, operatorLog, podsOf, realNode } from './cluster.js';
import { LiveStack, longestSilence, sound } from './live-stack.js';

const NS = 'sports-certs';
const CM_NS = 'cert-manager';
const CERT = 'visio-turn-tls';
const TURN_TLS_PORT = 5349;
const CERT_MANAGER_DIR = spawnSync('bash', ['hack/build-cert-manager.sh', '--print-dir'], { encoding: 'utf8' }).stdout.trim();

/** The serial number of the certificate a new TLS connection to coturn is served (uppercase hex). */
function servedSerial(host: string, servername: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host, port: TURN_TLS_PORT, servername, ca: [ca], minVersion: 'TLSv1.2' }, () => {
      resolve(s.getPeerCertificate().serialNumber.toUpperCase());
      s.destroy();
    });
    s.setTimeout(5000, () => (s.destroy(), reject(new Error('no TLS handshake within 5 s'))));
    s.once('error', reject);
  });
}

const secretData = (name: string, key: string): string => Buffer.from(getJson('secret', name, '-n', NS).data[key], 'base64').toString();
const serialOf = (pem: string): string => {
  const r = spawnSync('openssl', ['x509', '-noout', '-serial'], { input: pem, encoding: 'utf8' });
  return r.stdout.trim().replace(/^serial=/, '').toUpperCase();
};
/** Serial numbers compared as numbers: tools differ on leading zeros. */
const sameSerial = (a: string | undefined, b: string): boolean => a !== undefined && BigInt(`0x${a}`) === BigInt(`0x${b}`);
const certificate = () => getJson('certificate', CERT, '-n', NS);
const ready = (o: any) => o?.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') ?? false;

describe('TURN/TLS certificates kept by cert-manager and renewed under live meetings, on the real node', () => {
  let controller: ChildProcess | undefined;
  const logDir = mkdtempSync(join(tmpdir(), 'cert-manager-'));
  const stack = new LiveStack(NS, 'node-certs', [], (m) => {
    delete m.spec.turn.tlsSecretName;
    m.spec.turn.issuerRef = { name: 'ministry-ca', kind: 'ClusterIssuer' };
  });

  beforeAll(async () => {
    // cert-manager: its CRDs, its controller as a process of this machine, a CA of the ministry.
    kubectlOk(['apply', '--server-side', '-f', join(CERT_MANAGER_DIR, '..', 'crds')]);
    // The controller refuses to start before its kinds are served.
    kubectlOk(['wait', '--for=condition=Established', '--timeout=60s', ...['certificates', 'certificaterequests', 'issuers', 'clusterissuers'].map((k) => `crd/${k}.cert-manager.io`)]);
    kubectlOk(['create', 'namespace', CM_NS]);
    const log = openSync(join(logDir, 'controller.log'), 'a');
    controller = spawn(join(CERT_MANAGER_DIR, 'cert-manager-controller'), ['--kubeconfig', inject('kubeconfig'), '--cluster-resource-namespace', CM_NS], { stdio: ['ignore', log, log] });
    closeSync(log);
    applyObject({ apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'selfsigned' }, spec: { selfSigned: {} } });
    applyObject({
      apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'ministry-root', namespace: CM_NS },
      spec: { isCA: true, commonName: 'Ministère des Sports — test CA', secretName: 'ministry-root', privateKey: { algorithm: 'ECDSA', size: 256 }, issuerRef: { name: 'selfsigned', kind: 'ClusterIssuer', group: 'cert-manager.io' } },
    });
    applyObject({ apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'ministry-ca' }, spec: { ca: { secretName: 'ministry-root' } } });
    await eventually('the CA issuer ready', () => (ready(getJson('clusterissuer', 'ministry-ca')) ? true : undefined), 120_000, 1000);
    await stack.start();
    // A short resync (after the stack's own install): the status follows a renewed certificate
    // within seconds, not the default 5 min.
    await installOperator({ resyncSeconds: 10 });
  }, 420_000);

  afterAll(async () => {
    await stack.stop();
    controller?.kill('SIGTERM');
    kubectl(['delete', 'clusterissuer', 'ministry-ca', 'selfsigned', '--ignore-not-found']);
    kubectl(['delete', 'namespace', CM_NS, '--wait=false']);
    await installOperator();
    rmSync(logDir, { recursive: true, force: true });
  }, 420_000);

  it('the operator asks cert-manager for the TURN certificate; coturn serves it and the status shows it', async () => {
    const cert = certificate();
    expect(ready(cert)).toBe(true);
    expect(cert.spec).toMatchObject({ secretName: CERT, dnsNames: ['turn.sports.example'], issuerRef: { name: 'ministry-ca', kind: 'ClusterIssuer' } });
    expect(cert.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'MeetingCluster', name: 'visio' });
    const serial = serialOf(secretData(CERT, 'tls.crt'));
    expect(await servedSerial(realNode().ip, 'turn.sports.example', secretData(CERT, 'ca.crt'))).toBe(serial);
    const status = await eventually('the status naming the certificate', () => {
      const s = getJson('mc', 'visio', '-n', NS).status?.turnCertificate;
      return sameSerial(s?.serialNumber, serial) ? s : undefined;
    }, 60_000, 1000);
    expect(status.secretName).toBe(CERT);
    expect(Date.parse(status.notAfter)).toBe(Date.parse(cert.status.notAfter));
  });

  it('a forced renewal during a relayed call: coturn loads the new certificate without a restart, keeps the open TLS allocation and the call', async () => {
    const [pod] = podsOf(NS, 'visio', 'turn');
    const pid = containerPid(pod, 'coturn');
    const ca = secretData(CERT, 'ca.crt');
    const before = serialOf(secretData(CERT, 'tls.crt'));
    const room = 'renewal';
    const opts = async (identity: string, publish: boolean) => ({ url: `ws://${realNode().ip}:7880`, publish, relay: true, iceServers: stack.relayIce(identity, 'udp'), seconds: 600, token: await stack.token(identity, room) });
    const publisher = new LiveProbe(stack.sb, `${room}-alice`, 'participant', await opts('alice', true));
    const subscriber = new LiveProbe(stack.sb, `${room}-bob`, 'participant', await opts('bob', false));
    let held: HeldAllocation | undefined;
    try {
      await publisher.waitFor((e) => e.event === 'published', 30_000, 'the tone published');
      await subscriber.waitFor(sound, 30_000, 'the tone heard');
      // An allocation over TURN/TLS, as a browser behind a strict firewall holds one.
      held = await holdAllocation({ host: realNode().ip, port: TURN_TLS_PORT, transport: 'tls', servername: 'turn.sports.example', ca: [Buffer.from(ca)], timeoutMs: 5000, ...turnRestCredentials(stack.secret('visio-turn-secret', 'secret'), 'holder') });
      expect(held.result.ok, JSON.stringify(held.result)).toBe(true);
      expect(held.result.ok && held.result.tls?.serialNumber?.toUpperCase()).toBe(before);

      // cmctl renew: the Issuing condition, through the status subresource.
      const t0 = Date.now();
      const conditions = [...(certificate().status.conditions ?? []).filter((c: any) => c.type !== 'Issuing'), { type: 'Issuing', status: 'True', reason: 'ManuallyTriggered', message: 'renewal forced by certificates.test.ts', lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') }];
      kubectlOk(['patch', 'certificate', CERT, '-n', NS, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { conditions } })]);
      const after = await eventually('the Secret renewed', () => {
        const s = serialOf(secretData(CERT, 'tls.crt'));
        return s !== before ? s : undefined;
      }, 120_000, 500);
      const issuedAt = Date.now();
      await eventuallyAsync('coturn serving the new certificate', async () => ((await servedSerial(realNode().ip, 'turn.sports.example', ca).catch(() => '')) === after ? true : undefined), 120_000, 1000);
      const servedAt = Date.now();
      // A few more seconds of the call after the reload.
      await new Promise((r) => setTimeout(r, 5000));
      const end = Date.now();

      const refreshed = await held.refresh();
      const silence = longestSilence(subscriber, t0, end);
      const [podAfter] = podsOf(NS, 'visio', 'turn');
      const reloaderLog = kubectlOk(['logs', '-n', NS, podAfter.metadata.name, '-c', 'tls-reloader']);
      console.log(
        `[certificates] renewal forced: new Secret after ${((issuedAt - t0) / 1000).toFixed(1)} s, served by coturn ${((servedAt - issuedAt) / 1000).toFixed(1)} s later ` +
          `(kubelet volume sync + the reloader's 10 s poll); the held TURN/TLS allocation refreshed: ${JSON.stringify(refreshed)}; ` +
          `the relayed call's longest silence ${(silence / 1000).toFixed(1)} s; coturn pid ${pid} -> ${containerPid(podAfter, 'coturn')}`,
      );
      expect(refreshed).toEqual({ ok: true });
      expect(podAfter.metadata.uid).toBe(pod.metadata.uid);
      expect(podAfter.status.containerStatuses.find((c: any) => c.name === 'coturn').restartCount).toBe(0);
      expect(containerPid(podAfter, 'coturn')).toBe(pid);
      expect(reloaderLog).toMatch(/"msg":"certificate changed: asked turnserver to reload it \(SIGUSR2\)","pid":\d+/);
      expect(silence).toBeLessThan(1500);
      const followed = await eventually('the status following the renewal', () => (sameSerial(getJson('mc', 'visio', '-n', NS).status?.turnCertificate?.serialNumber, after) ? true : undefined), 60_000, 1000).catch(() => false);
      expect(followed, `status.turnCertificate ${JSON.stringify(getJson('mc', 'visio', '-n', NS).status?.turnCertificate)}, new serial ${after}; operator log:\n${operatorLog().split('\n').slice(-15).join('\n')}`).toBe(true);
    } finally {
      held?.close();
      await Promise.all([publisher.leave(), subscriber.leave()]);
    }
  });
});
