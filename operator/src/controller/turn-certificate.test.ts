import { describe, expect, it } from 'vitest';
import { clusterSeries } from './metrics.js';
import { CertificateError, turnCertificateOf } from './turn-certificate.js';

// A self-signed P-256 certificate for turn.justice.example (openssl req -x509, serial 0x1A2B3C).
const PEM = `-----BEGIN CERTIFICATE-----
MIIBgjCCASigAwIBAgIDGis8MAoGCCqGSM49BAMCMB8xHTAbBgNVBAMMFHR1cm4u
anVzdGljZS5leGFtcGxlMB4XDTI2MTIwODAwMjcyM1oXDTM2MTIwNTAwMjcyM1ow
HzEdMBsGA1UEAwwUdHVybi5qdXN0aWNlLmV4YW1wbGUwWTATBgcqhkjOPQIBBggq
hkjOPQMBBwNCAASy45J11BODGUX19U3CDRoePcxElxNs3g1gK40QNGxUCYLVCYOR
CY5ezMKpFUlfJAvsGz5U6apG6HblndjOzmg7o1MwUTAdBgNVHQ4EFgQU64h6E2xj
5wkcrdFuXdjyRRW2+1wwHwYDVR0jBBgwFoAU64h6E2xj5wkcrdFuXdjyRRW2+1ww
DwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEAkvfIRrEcX4brAbV5
6XpzDtoWTxbe43f3QOqyC7Cw2d0CIE3/sxA45XRw122E6ynjYjgghfT9GuelRh3F
rein+ujh
-----END CERTIFICATE-----
`;

const secret = (data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'visio-turn-tls', namespace: 'justice' }, data });
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('the TURN certificate read from its Secret', () => {
  it('gives its expiry, serial and a digest that changes with the certificate', () => {
    const c = turnCertificateOf(secret({ 'tls.crt': b64(PEM), 'tls.key': b64('not read') }));
    expect(c.status).toEqual({ secretName: 'visio-turn-tls', notAfter: '2036-12-05T00:27:23Z', serialNumber: '1A2B3C' });
    expect(c.digest).toMatch(/^[0-9a-f]{16}$/);
    // A chain (leaf first) is read by its leaf; another certificate gives another digest.
    const chain = turnCertificateOf(secret({ 'tls.crt': b64(PEM + PEM) }));
    expect(chain.status).toEqual(c.status);
    expect(chain.digest).not.toBe(c.digest);
  });

  it('names the Secret and what is wrong when it holds no certificate', () => {
    expect(() => turnCertificateOf(secret({}))).toThrow(new CertificateError('Secret visio-turn-tls has no tls.crt'));
    expect(() => turnCertificateOf(secret({ 'tls.crt': b64('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n') }))).toThrow(/^Secret visio-turn-tls: tls\.crt is not a PEM certificate/);
  });

  it('is exported as the expiry time the alert reads', () => {
    const status = { turnCertificate: { secretName: 'visio-turn-tls', notAfter: '2036-12-05T00:27:23Z', serialNumber: '1A2B3C' } };
    expect(clusterSeries(status).filter((s) => s.metric === 'turnCertificateExpiry')).toEqual([
      { metric: 'turnCertificateExpiry', labels: { secret: 'visio-turn-tls' }, value: Date.parse('2036-12-05T00:27:23Z') / 1000 },
    ]);
    expect(clusterSeries({}).some((s) => s.metric === 'turnCertificateExpiry')).toBe(false);
  });
});
