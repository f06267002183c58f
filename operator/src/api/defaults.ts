// Defaulting, done exactly as the API server does it for a structural schema: a missing property
// with a `default` gets a copy of it, then defaulting recurses into it. Since every object in the
// schema defaults to {}, the defaults of nested fields live in one place (schema.ts) and offline
// rendering sees the same object the API server would have stored.
import { profileFor } from '../cloud/profiles.js';
import type { JSONSchema } from './schema-builders.js';
import { meetingClusterSchema } from './schema.js';
import type { MeetingCluster } from './types.js';
import { scalingMode } from './autoscaling.js';

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export function applySchemaDefaults(schema: JSONSchema, value: unknown): unknown {
  if (Array.isArray(value) && schema.items) {
    return value.map((item) => applySchemaDefaults(schema.items!, item));
  }
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = { ...value };
  for (const [key, sub] of Object.entries(schema.properties ?? {})) {
    if (out[key] === undefined && sub.default !== undefined) out[key] = structuredClone(sub.default);
    if (out[key] !== undefined) out[key] = applySchemaDefaults(sub, out[key]);
  }
  if (isPlainObject(schema.additionalProperties)) {
    const sub = schema.additionalProperties;
    for (const key of Object.keys(out)) {
      if (!(key in (schema.properties ?? {}))) out[key] = applySchemaDefaults(sub, out[key]);
    }
  }
  return out;
}

/**
 * Defaults that depend on more than the schema, resolved here once so no reader resolves them again:
 * the ministry name falls back to the namespace, the Redis storage class to the cloud profile's
 * encrypted class, coturn's TURN/UDP name to turn.domain, and the SFU's upgrade strategy to the
 * scaling mode's. The input is not modified.
 */
export function withDefaults(raw: unknown): MeetingCluster {
  const mc = applySchemaDefaults(meetingClusterSchema, raw) as MeetingCluster;
  const spec = mc.spec;
  if (spec.ministry === undefined || spec.ministry === '') spec.ministry = mc.metadata.namespace;
  const profile = profileFor(spec.cloud.profile);
  if (profile && spec.redis.storage.storageClassName === undefined && profile.redisStorageClassName) {
    spec.redis.storage.storageClassName = profile.redisStorageClassName;
  }
  // The HPA of CPU mode scales one Deployment: side by side needs the count in the operator's hands.
  spec.sfu.upgrade.strategy ??= scalingMode(spec.autoscaling) === 'cpu' ? 'RollingUpdate' : 'SideBySide';
  const { turn } = spec;
  if (turn.mode === 'coturn' && turn.udpDomain === undefined && turn.domain !== undefined) turn.udpDomain = turn.domain;
  return mc;
}
