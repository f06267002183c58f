// Validation in three layers, in the order the API server and the operator apply them:
//   1. structure (types, enums, bounds, patterns, required, unknown fields) from schema.ts,
//   2. the CEL rules (x-kubernetes-validations) of schema.ts, evaluated offline,
//   3. semantic rules no schema can express (EU regions, registries, STUN, derived name lengths).
// Layers 1 and 2 let `meet-operator validate` reject exactly what admission would; layer 3 is what
// the controller reports as Ready=False/InvalidSpec. Every error names its field path.
import { Ajv, type ErrorObject } from 'ajv';
import { parse as parseCel } from '@marcbachmann/cel-js';
import { applySchemaDefaults, withDefaults } from './defaults.js';
import { fieldPath, type FieldError } from './errors.js';
import type { JSONSchema } from './schema-builders.js';
import { PATTERN_MEANINGS, meetingClusterSchema } from './schema.js';
import { semanticErrors } from './semantic.js';
import { API_VERSION, KIND, type MeetingCluster } from './types.js';

export { formatFieldError, type FieldError } from './errors.js';

/** A copy of the schema where objects refuse unknown fields, as kubectl's strict field validation does. */
function strict(schema: JSONSchema): JSONSchema {
  const out: JSONSchema = { ...schema };
  if (schema.properties) {
    out.properties = Object.fromEntries(Object.entries(schema.properties).map(([k, v]) => [k, strict(v)]));
    if (schema.additionalProperties === undefined && !schema['x-kubernetes-preserve-unknown-fields']) {
      out.additionalProperties = false;
    }
  }
  if (schema.items) out.items = strict(schema.items);
  if (typeof schema.additionalProperties === 'object') out.additionalProperties = strict(schema.additionalProperties);
  return out;
}

const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false, verbose: true });
const metadataFree: JSONSchema = { ...meetingClusterSchema, properties: { ...meetingClusterSchema.properties, metadata: { type: 'object' } } };
const validateStructure = ajv.compile(strict(metadataFree));

function pathOf(e: ErrorObject): (string | number)[] {
  return e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function describe(e: ErrorObject, value: unknown): { segments: (string | number)[]; message: string } | undefined {
  const segments = pathOf(e);
  const got = value === undefined ? '' : ` (got ${JSON.stringify(value)})`;
  switch (e.keyword) {
    case 'required':
      return { segments: [...segments, String(e.params.missingProperty)], message: 'is required' };
    case 'additionalProperties':
      return { segments: [...segments, String(e.params.additionalProperty)], message: 'unknown field' };
    case 'enum':
      return { segments, message: `must be one of ${(e.params.allowedValues as unknown[]).join(', ')}${got}` };
    case 'type':
      return { segments, message: `must be ${e.params.type === 'integer' ? 'an integer' : `a ${String(e.params.type)}`}${got}` };
    case 'minimum':
    case 'maximum':
      return { segments, message: `must be ${e.keyword === 'minimum' ? '>=' : '<='} ${String(e.params.limit)}${got}` };
    case 'minLength':
    case 'maxLength':
      return { segments, message: `must be ${e.keyword === 'minLength' ? 'at least' : 'at most'} ${String(e.params.limit)} characters long` };
    case 'minItems':
    case 'maxItems':
    case 'maxProperties':
      return { segments, message: `must have ${e.keyword === 'minItems' ? 'at least' : 'at most'} ${String(e.params.limit)} entries` };
    case 'pattern':
      if (e.parentSchema?.['x-kubernetes-int-or-string']) return { segments, message: `must be a resource quantity such as 500m, 2 or 4Gi${got}` };
      return { segments, message: `${PATTERN_MEANINGS[String(e.params.pattern)] ?? `must match ${String(e.params.pattern)}`}${got}` };
    case 'anyOf':
      // Only quantities use anyOf (int-or-string); report once instead of per branch.
      return { segments, message: `must be an integer or a string${got}` };
    default:
      return undefined;
  }
}

function valueAt(root: unknown, segments: (string | number)[]): unknown {
  let v: unknown = root;
  for (const s of segments) v = v === null || typeof v !== 'object' ? undefined : (v as Record<string | number, unknown>)[s];
  return v;
}

export function structuralErrors(defaulted: unknown): FieldError[] {
  if (validateStructure(defaulted)) return [];
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const e of validateStructure.errors ?? []) {
    // anyOf branches report their own errors too; the anyOf error itself carries the message.
    if (e.schemaPath.includes('/anyOf/')) continue;
    const d = describe(e, valueAt(defaulted, pathOf(e)));
    if (!d) continue;
    const err = { path: fieldPath(d.segments), message: d.message };
    const key = `${err.path}\0${err.message}`;
    if (!seen.has(key)) out.push(err), seen.add(key);
  }
  return out;
}

type CompiledRule = { evaluate: (ctx: { self: unknown }) => unknown; message: string; fieldPath?: string };
const compiled = new Map<string, CompiledRule['evaluate']>();

function compile(rule: string): CompiledRule['evaluate'] {
  let fn = compiled.get(rule);
  if (!fn) compiled.set(rule, (fn = parseCel(rule) as CompiledRule['evaluate']));
  return fn;
}

/** Evaluates every x-kubernetes-validations rule on the (defaulted) object, like the API server. */
export function celErrors(schema: JSONSchema, value: unknown, segments: (string | number)[] = []): FieldError[] {
  if (value === undefined || value === null) return [];
  const out: FieldError[] = [];
  for (const r of schema['x-kubernetes-validations'] ?? []) {
    let ok: unknown;
    try {
      ok = compile(r.rule)({ self: value });
    } catch {
      continue; // a type error here is already reported by the structural layer
    }
    if (ok !== true) {
      const path = fieldPath(segments) + (r.fieldPath ?? '');
      out.push({ path, message: r.message });
    }
  }
  if (schema.properties && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, sub] of Object.entries(schema.properties)) {
      out.push(...celErrors(sub, (value as Record<string, unknown>)[k], [...segments, k]));
    }
  }
  if (schema.items && Array.isArray(value)) {
    value.forEach((item, i) => out.push(...celErrors(schema.items!, item, [...segments, i])));
  }
  return out;
}

function envelopeErrors(raw: unknown): FieldError[] {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return [{ path: '(document)', message: `expected a ${KIND} object, got ${Array.isArray(raw) ? 'a list' : typeof raw}` }];
  }
  const o = raw as Record<string, unknown>;
  const errs: FieldError[] = [];
  if (o.apiVersion !== API_VERSION) errs.push({ path: 'apiVersion', message: `must be ${API_VERSION} (got ${JSON.stringify(o.apiVersion)})` });
  if (o.kind !== KIND) errs.push({ path: 'kind', message: `must be ${KIND} (got ${JSON.stringify(o.kind)})` });
  const md = o.metadata as Record<string, unknown> | undefined;
  if (!md || typeof md !== 'object') errs.push({ path: 'metadata', message: 'is required' });
  else if (typeof md.name !== 'string' || md.name === '') errs.push({ path: 'metadata.name', message: 'is required' });
  return errs;
}

export interface ValidationResult {
  errors: FieldError[];
  /** The defaulted object, present when there are no errors. */
  cluster?: MeetingCluster;
}

/** Everything the API server and the operator would reject, as one list. */
/**
 * The API server prunes `field: null` where the schema is not nullable (none of ours is) before it
 * defaults and validates; do the same so `validate` accepts exactly what `kubectl apply` admits.
 * Array items are left alone: a null item is an error there too.
 */
export function dropNullFields(v: unknown): unknown {
  if (Array.isArray(v)) return v.map((x) => (x === null ? x : dropNullFields(x)));
  if (!v || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, dropNullFields(x)]));
}

/**
 * Every problem found in one pass: what admission would refuse and what the operator would, together,
 * so a user fixes them all at once instead of meeting the next after each fix.
 */
export function validateMeetingCluster(input: unknown): ValidationResult {
  const raw = dropNullFields(input);
  const envelope = envelopeErrors(raw);
  if (envelope.length) return { errors: envelope };
  const defaulted = applySchemaDefaults(meetingClusterSchema, raw);
  const admission = [...structuralErrors(defaulted), ...celErrors(meetingClusterSchema, defaulted)];
  const refused = admission.map((e) => e.path);
  let cluster: MeetingCluster;
  try {
    cluster = withDefaults(raw);
  } catch (e) {
    // Only a shape admission refused (spec.redis: "x") can break defaulting; its errors say where.
    if (admission.length) return { errors: admission };
    throw e;
  }
  const errors = [...admission, ...semanticErrors(cluster, refused)];
  return errors.length ? { errors } : { errors: [], cluster };
}
