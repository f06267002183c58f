// Generated credentials: created once with a CSPRNG, then read back forever. A value is only ever
// generated when the API server says its Secret does not exist, and the Secret is created with a
// plain POST (never a forced apply), so a stale cache or a second operator can't overwrite it.
import type { MeetingCluster } from '../api/types.js';
import { ApiError, isConflict, isNotFound, type KubeHttp } from '../kube/http.js';
import { resourcePath, typeOf } from '../kube/resources.js';
import type { KubeObject } from '../kube/reflector.js';
import { secretRefs, type GeneratedSecrets } from '../render/context.js';
import { standardLabels, type Component } from '../render/names.js';
import { generateSecrets } from './generate-secrets.js';
import type { OwnerReference } from './diff.js';

const SECRET = typeOf('Secret');
const decode = (s: string | undefined): string | undefined => (s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8'));
const encode = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

type Field = 'livekit' | 'turn' | 'redis';

/** The data of each generated Secret for given values (the renderer renders the same data). */
function dataFor(field: Field, key: string, v: GeneratedSecrets): Record<string, string> {
  if (field === 'livekit') return { [key]: `${v.livekitApiKey}: ${v.livekitApiSecret}\n`, 'api-key': v.livekitApiKey, 'api-secret': v.livekitApiSecret };
  if (field === 'turn') return { [key]: v.turnSharedSecret };
  return { [key]: v.redisPassword };
}

function readInto(field: Field, key: string, data: Record<string, string>, into: GeneratedSecrets): boolean {
  if (field === 'livekit') {
    const apiKey = decode(data['api-key']), apiSecret = decode(data['api-secret']);
    if (!apiKey || !apiSecret) return false;
    Object.assign(into, { livekitApiKey: apiKey, livekitApiSecret: apiSecret });
    return true;
  }
  const value = decode(data[key]);
  if (!value) return false;
  if (field === 'turn') into.turnSharedSecret = value;
  else into.redisPassword = value;
  return true;
}

export interface SecretSource {
  /** The cached Secret, if the cache has it. */
  cached(namespace: string, name: string): KubeObject | undefined;
}

/**
 * Values for every generated Secret of the cluster: existing ones are read (cache, then API),
 * missing ones generated and created. Returns which Secrets were created.
 */
export async function ensureGeneratedSecrets(
  http: KubeHttp,
  source: SecretSource,
  mc: MeetingCluster,
  owner: OwnerReference,
): Promise<{ values: GeneratedSecrets; created: string[] }> {
  const refs = secretRefs(mc);
  const ns = mc.metadata.namespace;
  const fresh = generateSecrets();
  const values: GeneratedSecrets = { ...fresh };
  const created: string[] = [];
  const wanted: [Field, { name: string; key: string; generated: boolean } | undefined, Component][] = [
    ['livekit', refs.livekitKeys, 'sfu'],
    ['turn', refs.turn, 'turn'],
    ['redis', refs.redis, 'redis'],
  ];
  for (const [field, ref, component] of wanted) {
    if (!ref?.generated) continue;
    let existing = source.cached(ns, ref.name);
    if (!existing) {
      try {
        existing = await http.request('GET', resourcePath(SECRET, ns, ref.name));
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    if (existing) {
      if (readInto(field, ref.key, existing.data ?? {}, values)) continue;
      throw new ApiError(422, 'Invalid', `Secret ${ns}/${ref.name} exists but lacks its generated keys; delete it to have it regenerated`);
    }
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: ref.name, namespace: ns, labels: standardLabels(mc, component), ownerReferences: [owner] },
      type: 'Opaque',
      data: Object.fromEntries(Object.entries(dataFor(field, ref.key, fresh)).map(([k, v]) => [k, encode(v)])),
    };
    try {
      await http.request('POST', resourcePath(SECRET, ns), { body, query: { fieldManager: 'meet-operator' } });
      created.push(ref.name);
    } catch (e) {
      if (!isConflict(e)) throw e;
      // Someone (another replica, a restart) created it meanwhile: use theirs.
      const theirs = await http.request('GET', resourcePath(SECRET, ns, ref.name));
      if (!readInto(field, ref.key, theirs.data ?? {}, values)) throw e;
    }
  }
  return { values, created };
}
