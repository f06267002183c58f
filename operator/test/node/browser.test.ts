// A person in a browser: Debian's Chromium, driven by playwright-core, opens the join page
// (hack/join-server.mjs, livekit-client from npm) twice: one page publishes Chromium's fake camera and
// microphone, the other receives them. Both relay-only over TURN/TLS, through the coturn pod of the
// stack the operator deployed on the real node, whose certificate Chromium verifies against the test
// CA (trusted in the browser's own NSS database, nothing on the machine). The receiver's getStats()
// counters must rise for audio and video, over a TLS relay; a screenshot is kept as a test artifact
// (.test-results/node/browser-subscriber.png).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessToken } from 'livekit-server-sdk';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureNamespace } from '../integration/kubectl.js';
import { getJson } from '../integration/meetingcluster.js';
import { applyObject, applyTlsSecret, deleteNamespace, installOperator, onRealNode, publicDns, readExample, realNode, waitStackReady } from './cluster.js';

const NS = 'sports';
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(process.cwd(), '.test-results', 'node');
const secretOf = (name: string, key: string): string => Buffer.from(getJson('secret', name, '-n', NS).data[key], 'base64').toString();

/** A throw-away CA and a certificate it signs for `cn`; the CA goes into the browser's trust, the leaf into the TLS Secret. */
function testCertificates(dir: string, cn: string): { ca: string; crt: string; key: string } {
  const ssl = (...a: string[]) => execFileSync('openssl', a, { cwd: dir, stdio: 'ignore' });
  ssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=meet-operator browser test CA', '-days', '2',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign');
  ssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', `/CN=${cn}`);
  writeFileSync(join(dir, 'leaf.ext'), `subjectAltName=DNS:${cn}\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n`);
  ssl('x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'leaf.ext', '-out', 'tls.crt');
  return { ca: join(dir, 'ca.crt'), crt: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
}

describe('Chromium joins the stack with livekit-client, relay-only over TURN/TLS', () => {
  const m = onRealNode(readExample('sports-generic-minimal.yaml'));
  const scratch = mkdtempSync(join(tmpdir(), 'meet-browser-'));
  let server: ChildProcess;
  let pageUrl: string;
  let browser: Browser;
  let publisher: Page;
  let subscriber: Page;

  beforeAll(async () => {
    await installOperator();
    ensureNamespace(NS);
    const ip = realNode().ip;
    await publicDns({ [m.spec.turn.domain]: ip });
    const certs = testCertificates(scratch, m.spec.turn.domain);
    applyTlsSecret(NS, m.spec.turn.tlsSecretName, certs.crt, certs.key);
    applyObject(m);
    await waitStackReady(NS, 'visio');

    // The browser's profile (and NSS database, trusting the test CA) lives in its own HOME.
    const home = join(scratch, 'home');
    mkdirSync(join(home, '.pki', 'nssdb'), { recursive: true });
    execFileSync('certutil', ['-N', '-d', `sql:${home}/.pki/nssdb`, '--empty-password']);
    execFileSync('certutil', ['-A', '-d', `sql:${home}/.pki/nssdb`, '-n', 'meet-operator-test-ca', '-t', 'C,,', '-i', certs.ca]);

    server = spawn(process.execPath, ['hack/join-server.mjs', '127.0.0.1', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    pageUrl = await new Promise<string>((resolve, reject) => {
      server.stdout!.on('data', (d) => {
        const hit = /listening (http:\/\/\S+)/.exec(String(d));
        if (hit) resolve(hit[1]!);
      });
      server.on('exit', (code) => reject(new Error(`join-server exited (${code})`)));
    });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      env: { ...process.env, HOME: home },
      args: [
        '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        // This machine's network is closed: no background requests to Google.
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
        '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
        // The ministry's public DNS, for the browser only.
        `--host-resolver-rules=MAP ${m.spec.turn.domain} ${ip}`,
      ],
    });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    server?.kill();
    rmSync(scratch, { recursive: true, force: true });
    await deleteNamespace(NS);
  });

  it('the receiving page gets audio and video over a TLS relay, and its counters rise', async () => {
    const apiKey = secretOf('visio-livekit-keys', 'api-key');
    const apiSecret = secretOf('visio-livekit-keys', 'api-secret');
    const turnSecret = secretOf('visio-turn-secret', 'secret');
    const token = async (identity: string) => {
      const at = new AccessToken(apiKey, apiSecret, { identity, ttl: '10m' });
      at.addGrant({ roomJoin: true, room: 'browser', canPublish: true, canSubscribe: true });
      return at.toJwt();
    };
    // TURN/TLS only: coturn's TLS listener on the node (the load balancer's 443 in production).
    const ice = (identity: string) => {
      const username = `${Math.floor(Date.now() / 1000) + 3600}:${identity}`;
      return [{ urls: [`turns:${m.spec.turn.domain}:5349?transport=tcp`], username, credential: createHmac('sha1', turnSecret).update(username).digest('base64') }];
    };
    const open = async (role: string, identity: string) => {
      const page = await browser.newPage({ viewport: { width: 1024, height: 400 } });
      page.on('console', (msg) => {
        if (msg.type() === 'error') console.error(`[${role}] ${msg.text()}`);
      });
      const q = new URLSearchParams({ role, url: `ws://${realNode().ip}:7880`, token: await token(identity), ice: JSON.stringify(ice(identity)) });
      await page.goto(`${pageUrl}?${q}`);
      return page;
    };
    publisher = await open('publisher', 'alice');
    const state = (p: Page) => p.evaluate(() => ({ state: (globalThis as any).meet.state, error: (globalThis as any).meet.error }));
    await waitUntil(async () => (await state(publisher)).state === 'publishing', 30_000, async () => `publisher: ${JSON.stringify(await state(publisher))}`);
    subscriber = await open('subscriber', 'bob');
    const kinds = () => subscriber.evaluate(() => (globalThis as any).meet.tracks.map((t: any) => t.kind).sort());
    await waitUntil(async () => JSON.stringify(await kinds()) === JSON.stringify(['audio', 'video']), 30_000, async () => `subscriber has ${JSON.stringify(await kinds())}: ${JSON.stringify(await state(subscriber))}`);

    const stats = () => subscriber.evaluate(() => (globalThis as any).meet.stats());
    // The receivers' inbound-rtp stats appear once their first packets arrived.
    await waitUntil(async () => {
      const s = await stats();
      return s.audio?.bytesReceived > 0 && s.video?.framesDecoded > 0;
    }, 30_000, async () => `receiver stats: ${JSON.stringify(await stats())}`);
    const first = await stats();
    await new Promise((r) => setTimeout(r, 4000));
    const second = await stats();
    const detail = JSON.stringify({ first, second });
    expect(second.audio.bytesReceived, detail).toBeGreaterThan(first.audio.bytesReceived);
    expect(second.video.bytesReceived, detail).toBeGreaterThan(first.video.bytesReceived);
    expect(second.video.framesDecoded, detail).toBeGreaterThan(first.video.framesDecoded);
    expect(second.path, detail).toEqual({ candidateType: 'relay', relayProtocol: 'tls', protocol: 'udp' });

    mkdirSync(ARTIFACTS, { recursive: true });
    await subscriber.screenshot({ path: join(ARTIFACTS, 'browser-subscriber.png') });
  });
});

async function waitUntil(ok: () => Promise<boolean>, timeoutMs: number, explain: () => Promise<string>): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms: ${await explain()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
