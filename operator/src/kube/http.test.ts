// How long a throttled request waits before it is sent again (the loop itself runs against a real
// API server under API priority and fairness: operator/test/integration/faults-apiserver.test.ts).
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { MAX_RETRY_AFTER_MS, retryAfterMs, toJson, userAgent, VERSION } from './http.js';

const noJitter = () => 0;
const fullJitter = () => 0.999999;

describe('retryAfterMs', () => {
  it('waits the seconds the server asks for, plus up to half again of jitter', () => {
    expect(retryAfterMs('3', noJitter)).toBe(3000);
    expect(retryAfterMs(' 3 ', noJitter)).toBe(3000);
    expect(retryAfterMs('3', fullJitter)).toBe(4500);
    expect(retryAfterMs(['2', '9'], noJitter)).toBe(2000);
  });

  it('reads an HTTP date', () => {
    const at = new Date(Date.now() + 5000).toUTCString(); // second precision: 4-5 s from now
    expect(retryAfterMs(at, noJitter)).toBeGreaterThanOrEqual(3900);
    expect(retryAfterMs(at, noJitter)).toBeLessThanOrEqual(5000);
  });

  it('waits one second when the header is absent, unreadable, zero or in the past', () => {
    for (const h of [undefined, 'soon', '0', '-4', new Date(Date.now() - 60_000).toUTCString()]) expect(retryAfterMs(h, noJitter), String(h)).toBe(1000);
  });

  it('cuts a very long Retry-After short, leaving the rest to the caller', () => {
    expect(retryAfterMs('3600', noJitter)).toBe(MAX_RETRY_AFTER_MS);
    expect(retryAfterMs('3600', fullJitter)).toBeLessThanOrEqual(MAX_RETRY_AFTER_MS * 1.5);
  });
});

describe('toJson', () => {
  it('escapes NEL and the Unicode line separators in apply bodies only, keeping the JSON value', () => {
    const body = { data: { k: 'a\u0085b\u2028c\u2029d' } };
    const applied = toJson(body, 'application/apply-patch+yaml');
    expect(applied).not.toMatch(/[\u0085\u2028\u2029]/);
    expect(applied).toContain('\\u0085');
    expect(JSON.parse(applied)).toEqual(body);
    expect(toJson(body, 'application/json')).toBe(JSON.stringify(body));
  });
});

describe('VERSION', () => {
  it('is package.json version and the chart appVersion, so the audit log names the version that runs', () => {
    const root = new URL('../../../', import.meta.url);
    expect(JSON.parse(readFileSync(new URL('package.json', root), 'utf8')).version).toBe(VERSION);
    expect(readFileSync(new URL('charts/meet-operator/Chart.yaml', root), 'utf8')).toMatch(new RegExp(`^appVersion: "${VERSION}"$`, 'm'));
    expect(userAgent('op-1')).toBe(`meet-operator/${VERSION} (op-1)`);
  });
});
