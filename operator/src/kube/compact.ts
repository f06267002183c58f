// Keeping cached objects small. The caches hold every MeetingCluster and every child for the life of
// the process, and JSON.parse gives each object its own copy of every string value: thousands of
// copies of "meet-operator", the image name, the zone names. Cached objects share one copy of each
// repeated string instead, and lose managedFields (which the reconciler never reads).
import type { KubeObject } from './object.js';

/** Strings longer than this are rarely repeated (certificates, config files, base64 data). */
const MAX_INTERNED_LENGTH = 256;
/** Values unique to one object version: interning them would only grow the table. */
const UNIQUE_KEYS = new Set(['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'lastTransitionTime', 'lastUpdateTime', 'lastProbeTime', 'time']);
/** Past this many entries the table starts afresh, so stale values can't pile up forever. */
const MAX_TABLE = 50_000;

export class StringTable {
  private table = new Map<string, string>();

  intern(s: string): string {
    if (s.length > MAX_INTERNED_LENGTH) return s;
    const held = this.table.get(s);
    if (held !== undefined) return held;
    if (this.table.size >= MAX_TABLE) this.table = new Map();
    this.table.set(s, s);
    return s;
  }

  get size(): number {
    return this.table.size;
  }

  /** Replaces, in place, every string value of a JSON tree by its shared copy. */
  internTree(v: unknown): void {
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const x = v[i];
        if (typeof x === 'string') v[i] = this.intern(x);
        else if (x !== null && typeof x === 'object') this.internTree(x);
      }
    } else if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      for (const k in o) {
        const x = o[k];
        if (typeof x === 'string') {
          if (!UNIQUE_KEYS.has(k)) o[k] = this.intern(x);
        } else if (x !== null && typeof x === 'object') this.internTree(x);
      }
    }
  }
}

/** One table for every cache: the same values recur across kinds (labels, namespaces, names). */
export const sharedStrings = new StringTable();

/**
 * The object as cached: a fresh top level and metadata (never `delete`: it turns V8 objects into
 * slow, larger dictionaries), managedFields dropped, strings shared.
 */
export function compactObject(o: KubeObject, defaults: { apiVersion: string; kind: string }, strings = sharedStrings): KubeObject {
  const { managedFields: _dropped, ...metadata } = o.metadata;
  const { apiVersion, kind, metadata: _, ...rest } = o;
  const out: KubeObject = {
    apiVersion: apiVersion ?? defaults.apiVersion,
    kind: kind ?? defaults.kind,
    metadata,
    ...rest,
  };
  strings.internTree(out);
  return out;
}
