// Generated credentials: created once with a CSPRNG, then read back forever. A value is only ever
// generated when the API server says its Secret does not exist; the reconciler then creates that
// Secret with a plain POST (never a forced apply), so a stale cache or a second operator can't
// overwrite it: a concurrent creation makes the POST fail and the next reconcile reads theirs.
import type { MeetingCluster } from '../api/types.js';
import { isNotFound, type Requester } from '../kube/http.js';
import { resourcePath, typeOf } from '../kube/resources.js';
import type { KubeObject } from '../kube/object.js';
import { secretRefs, type GeneratedSecrets } from '../render/context.js';
import { generateSecrets } from '../credentials/generate.js';
import { TerminalError } from './result.js';

const SECRET = typeOf('Secret');
const decode = (s: string | undefined): string | undefined => (s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8'));

type Field = 'livekit' | 'turn' | 'redis' | 'stt';
const FIELDS: Record<Field, (keyof GeneratedSecrets)[]> = { livekit: ['livekitApiKey', 'livekitApiSecret'], turn: ['turnSharedSecret'], redis: ['redisPassword'], stt: ['sttApiKey'] };
/** The single-valued fields: the value of their Secret's one key. */
const SINGLE: Record<Exclude<Field, 'livekit'>, keyof GeneratedSecrets> = { turn: 'turnSharedSecret', redis: 'redisPassword', stt: 'sttApiKey' };

/** Reads one generated Secret's values (the keys render/secrets.ts writes) into `into`. */
function readInto(field: Field, key: string, data: Record<string, string>, into: GeneratedSecrets): boolean {
  if (field === 'livekit') {
    const apiKey = decode(data['api-key']), apiSecret = decode(data['api-secret']);
    if (!apiKey || !apiSecret) return false;
    Object.assign(into, { livekitApiKey: apiKey, livekitApiSecret: apiSecret });
    return true;
  }
  const value = decode(data[key]);
  if (!value) return false;
  into[SINGLE[field]] = value;
  return true;
}

export interface SecretSource {
  /** The cached Secret, if the cache has it. */
  cached(namespace: string, name: string): KubeObject | undefined;
}

/**
 * Values of every generated Secret of the cluster: existing ones are read (cache, then API), the
 * others freshly generated. `missing` names the Secrets the caller must create; `used` the fields
 * of `values` that are real (the others are random placeholders: a user-supplied Secret holds them).
 */
export async function readGeneratedSecrets(
  http: Requester,
  source: SecretSource,
  mc: MeetingCluster,
  /** Secrets known to exist outside the cache (a create of ours conflicted): read them from the API. */
  lookUp: ReadonlySet<string> = new Set(),
): Promise<{ values: GeneratedSecrets; missing: string[]; used: (keyof GeneratedSecrets)[] }> {
  const refs = secretRefs(mc);
  const ns = mc.metadata.namespace;
  const values = generateSecrets();
  const missing: string[] = [];
  const used: (keyof GeneratedSecrets)[] = [];
  const wanted: [Field, { name: string; key: string; generated: boolean } | undefined][] = [
    ['livekit', refs.livekitKeys],
    ['turn', refs.turn],
    ['redis', refs.redis],
    ['stt', refs.stt],
  ];
  for (const [field, ref] of wanted) {
    if (!ref?.generated) continue;
    used.push(...FIELDS[field]);
    let existing = source.cached(ns, ref.name);
    // The cache holds every Secret we created (by label); one it lacks is created with a POST that
    // fails if it exists after all, and the retry looks it up. No GET on the common path.
    if (!existing && lookUp.has(`${ns}/${ref.name}`)) {
      try {
        existing = await http.request('GET', resourcePath(SECRET, ns, ref.name));
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    if (!existing) missing.push(ref.name);
    else if (!readInto(field, ref.key, existing.data ?? {}, values)) {
      // Only a person can fix this (retrying changes nothing): said in status, not retried.
      throw new TerminalError(`Secret ${ns}/${ref.name} exists but lacks its generated keys; delete it to have it regenerated`);
    }
  }
  return { values, missing, used };
}

/** The password LiveKit uses for the cluster's Redis (generated or the user's Secret); undefined when it has none. */
export async function readRedisPassword(http: Requester, source: SecretSource, mc: MeetingCluster): Promise<string | undefined> {
  const ref = secretRefs(mc).redis;
  if (!ref) return undefined;
  const ns = mc.metadata.namespace;
  // Generated Secrets are in the cache; a user's Secret is not (it has none of our labels).
  const secret = source.cached(ns, ref.name) ?? (await http.request('GET', resourcePath(SECRET, ns, ref.name)));
  const value = decode(secret.data?.[ref.key]);
  if (!value) throw new Error(`Secret ${ns}/${ref.name} has no key ${ref.key}`);
  return value;
}
