// ChildProcessCredentials against real kubeconfigs resolved by @kubernetes/client-node in its child
// process: static material, an exec plugin whose credentials expire, a rotating token file.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ChildProcessCredentials, jwtExpiry } from './credentials.js';

const MIN = 60_000;
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'meet-credentials-'));
});

function kubeconfig(name: string, user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: 'https://api.example:6443', ...cluster } }],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    }),
  );
  return file;
}

/** An exec credential plugin: each run issues token tok-<n>, valid for `lifetimeMs` from now. */
function execPlugin(lifetimeMs: number): { user: Record<string, unknown>; runs: () => number } {
  const counter = join(dir, `runs-${Math.random().toString(36).slice(2)}`);
  writeFileSync(counter, '0');
  const script = join(dir, `${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(
    script,
    `import { readFileSync, writeFileSync } from 'node:fs';
const n = Number(readFileSync(${JSON.stringify(counter)}, 'utf8')) + 1;
writeFileSync(${JSON.stringify(counter)}, String(n));
console.log(JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential',
  status: { token: 'tok-' + n, expirationTimestamp: new Date(Date.now() + ${lifetimeMs}).toISOString() } }));`,
  );
  return {
    user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: process.execPath, args: [script], interactiveMode: 'Never' } },
    runs: () => Number(readFileSync(counter, 'utf8')),
  };
}

async function options(c: ChildProcessCredentials): Promise<https.RequestOptions & { headers: Record<string, string> }> {
  const o: https.RequestOptions = { headers: {} };
  await c.applyToHTTPSOptions(o);
  return o as https.RequestOptions & { headers: Record<string, string> };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const jwt = (claims: object) => `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

describe('ChildProcessCredentials', () => {
  it('hands over server, TLS material, token and TLS settings as client-node resolved them', async () => {
    const file = kubeconfig(
      'static',
      { 'client-certificate-data': b64('CERT'), 'client-key-data': b64('KEY'), token: 'static-token', as: 'someone' },
      { 'certificate-authority-data': b64('CA'), 'tls-server-name': 'api.internal' },
    );
    const c = new ChildProcessCredentials(file);
    expect(c.getCurrentCluster()).toEqual({ server: 'https://api.example:6443' });
    const o = await options(c);
    expect(o.ca).toEqual(Buffer.from('CA'));
    expect(o.cert).toEqual(Buffer.from('CERT'));
    expect(o.key).toEqual(Buffer.from('KEY'));
    expect(o.headers.Authorization).toBe('Bearer static-token');
    expect(o.headers['Impersonate-User']).toBe('someone');
    expect((o as { servername?: string }).servername).toBe('api.internal');
    expect(c.expiresAt).toBeUndefined();
  }, 30_000);

  it('runs an exec plugin again only when its credentials are about to expire, or after invalidate()', async () => {
    const plugin = execPlugin(10 * MIN);
    let t = Date.now();
    const c = new ChildProcessCredentials(kubeconfig('exec', plugin.user), { refreshMarginMs: 2 * MIN }, () => t);
    expect((await options(c)).headers.Authorization).toBe('Bearer tok-1');
    t += 5 * MIN;
    expect((await options(c)).headers.Authorization).toBe('Bearer tok-1');
    expect(plugin.runs()).toBe(1);
    // Within the margin of the 10-minute expiry: a fresh credential, before the old one fails.
    t += 3.5 * MIN;
    const [a, b] = await Promise.all([options(c), options(c)]);
    expect([a.headers.Authorization, b.headers.Authorization]).toEqual(['Bearer tok-2', 'Bearer tok-2']);
    expect(plugin.runs()).toBe(2);
    expect(c.resolutions).toBe(2);
    c.invalidate();
    t += 1.5 * MIN;
    expect((await options(c)).headers.Authorization).toBe('Bearer tok-3');
    expect(plugin.runs()).toBe(3);
  }, 60_000);

  it('re-reads rotating token, CA and certificate files itself, without running the child again', async () => {
    const file = (name: string, content: string) => {
      const p = join(dir, name);
      writeFileSync(p, content);
      return p;
    };
    const tokenFile = file('token', 'first\n');
    const ca = file('ca.crt', 'CA-1');
    const cert = file('client.crt', 'CERT-1');
    const key = file('client.key', 'KEY-1');
    let t = Date.now();
    const c = new ChildProcessCredentials(
      kubeconfig('files', { 'auth-provider': { name: 'tokenFile', config: { tokenFile } }, 'client-certificate': cert, 'client-key': key }, { 'certificate-authority': ca }),
      {},
      () => t,
    );
    const first = await options(c);
    expect([first.headers.Authorization, String(first.ca), String(first.cert), String(first.key)]).toEqual(['Bearer first', 'CA-1', 'CERT-1', 'KEY-1']);
    writeFileSync(tokenFile, 'second');
    writeFileSync(ca, 'CA-2');
    writeFileSync(cert, 'CERT-2');
    writeFileSync(key, 'KEY-2');
    t += 30_000;
    expect((await options(c)).headers.Authorization).toBe('Bearer first');
    t += 31_000;
    const later = await options(c);
    expect([later.headers.Authorization, String(later.ca), String(later.cert), String(later.key)]).toEqual(['Bearer second', 'CA-2', 'CERT-2', 'KEY-2']);
    expect(c.resolutions).toBe(1);
  }, 30_000);

  it('does not rerun the child every minute for a static token that has already expired', async () => {
    let t = Date.now();
    const c = new ChildProcessCredentials(kubeconfig('expired', { token: jwt({ exp: Math.floor(t / 1000) - 3600 }) }), {}, () => t);
    for (let i = 0; i < 5; i++) {
      t += MIN + 1;
      await options(c);
    }
    expect(c.resolutions).toBe(1);
    t += 10 * MIN;
    await options(c);
    expect(c.resolutions).toBe(2);
  }, 30_000);

  it("says why a kubeconfig cannot be loaded, with client-node's message", () => {
    expect(() => new ChildProcessCredentials(join(dir, 'missing.yaml'))).toThrow(/loading kubeconfig credentials: .*ENOENT.*missing\.yaml/);
  }, 30_000);
});

describe('jwtExpiry', () => {
  it('reads exp from a JWT bearer token and nothing from opaque tokens', () => {
    expect(jwtExpiry(`Bearer ${jwt({ exp: 1800000000 })}`)).toBe(1800000000 * 1000);
    expect(jwtExpiry('Bearer opaque-token')).toBeUndefined();
    expect(jwtExpiry(`Bearer ${jwt({ sub: 'x' })}`)).toBeUndefined();
    expect(jwtExpiry(undefined)).toBeUndefined();
  });
});
