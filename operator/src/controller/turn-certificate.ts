// The certificate the TURN server terminates TLS with, as the operator reads it from its Secret
// (the user's spec.turn.tlsSecretName, or the one cert-manager writes for spec.turn.issuerRef).
// Its digest rolls the SFU pods of embedded TURN (LiveKit reads its certificate once, at start);
// its expiry goes into status and the metrics the expiry alert reads.
import { createHash, X509Certificate } from 'node:crypto';
import { turnTlsSecretName } from '../api/names.js';
import type { MeetingCluster, TurnCertificateStatus } from '../api/types.js';
import { isNotFound, type Requester } from '../kube/http.js';
import type { KubeObject } from '../kube/object.js';

export interface TurnCertificate {
  status: TurnCertificateStatus;
  /** Short digest of tls.crt: what the pods that loaded it carry. */
  digest: string;
}

/** A Secret that holds no readable certificate (the user's to fix, not the server's). */
export class CertificateError extends Error {}

/** What a kubernetes.io/tls Secret holds (pure). Throws a CertificateError when tls.crt is not a certificate. */
export function turnCertificateOf(secret: KubeObject): TurnCertificate {
  const name = secret.metadata.name;
  const pem = Buffer.from(((secret as { data?: Record<string, string> }).data?.['tls.crt']) ?? '', 'base64');
  if (pem.length === 0) throw new CertificateError(`Secret ${name} has no tls.crt`);
  let cert: X509Certificate;
  try {
    // The leaf comes first in a chain; X509Certificate reads the first PEM block.
    cert = new X509Certificate(pem);
  } catch (e) {
    throw new CertificateError(`Secret ${name}: tls.crt is not a PEM certificate (${(e as Error).message})`);
  }
  return {
    status: { secretName: name, notAfter: new Date(cert.validTo).toISOString().replace(/\.\d{3}Z$/, 'Z'), serialNumber: cert.serialNumber },
    digest: createHash('sha256').update(pem).digest('hex').slice(0, 16),
  };
}

/**
 * The TURN certificate of a cluster whose TURN server terminates TLS; undefined when none does, or
 * while its Secret does not exist yet (cert-manager has not issued it: the pods wait for it too).
 */
export async function readTurnCertificate(http: Requester, mc: MeetingCluster): Promise<TurnCertificate | undefined> {
  const name = turnTlsSecretName(mc);
  if (!name) return undefined;
  let secret: KubeObject;
  try {
    secret = await http.request('GET', `/api/v1/namespaces/${encodeURIComponent(mc.metadata.namespace)}/secrets/${encodeURIComponent(name)}`);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
  return turnCertificateOf(secret);
}
