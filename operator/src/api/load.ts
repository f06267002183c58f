// Reading a MeetingCluster manifest from text, with messages a person can act on: a YAML syntax
// error names the line, several documents or another kind say so, never a stack trace.
import { parseAllDocuments } from 'yaml';
import type { FieldError } from './errors.js';
import { API_VERSION, KIND } from './types.js';

export type LoadResult = { ok: true; object: Record<string, unknown> } | { ok: false; errors: FieldError[] };

export function loadManifest(text: string, source: string, defaultNamespace?: string): LoadResult {
  const docs = parseAllDocuments(text, { prettyErrors: true, uniqueKeys: true });
  const fail = (message: string): LoadResult => ({ ok: false, errors: [{ path: source, message }] });
  if (!Array.isArray(docs)) return fail('is empty');
  const real = docs.filter((d) => d.contents !== null || d.errors.length > 0);
  for (const d of real) {
    if (d.errors.length) {
      const e = d.errors[0]!;
      const at = e.linePos?.[0] ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
      return fail(`is not valid YAML${at}: ${e.message.split('\n')[0]}`);
    }
  }
  if (real.length === 0) return fail(`is empty; expected one ${KIND} manifest`);
  if (real.length > 1) return fail(`holds ${real.length} YAML documents; pass exactly one ${KIND} per file`);
  const value: unknown = real[0]!.toJS({ maxAliasCount: 100 });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return fail(`does not hold a ${KIND} (found ${Array.isArray(value) ? 'a list' : typeof value}); expected a mapping with apiVersion: ${API_VERSION}`);
  }
  const obj = value as Record<string, unknown>;
  if (obj.kind !== KIND) {
    return fail(`holds a ${typeof obj.kind === 'string' ? obj.kind : 'document without kind'}, not a ${KIND} (apiVersion: ${API_VERSION}, kind: ${KIND})`);
  }
  const md = obj.metadata;
  if (md && typeof md === 'object' && !Array.isArray(md)) {
    const meta = md as Record<string, unknown>;
    if (meta.namespace === undefined) meta.namespace = defaultNamespace ?? 'default';
  }
  return { ok: true, object: obj };
}
