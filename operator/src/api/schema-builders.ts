// Small builders for structural OpenAPI v3 schemas, so schema.ts reads like an API reference
// rather than a wall of JSON. Every field gets a description: `kubectl explain` prints them.

export interface CelRule {
  rule: string;
  message: string;
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueForbidden' | 'FieldValueDuplicate';
}

export interface JSONSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  description?: string;
  properties?: Record<string, JSONSchema>;
  additionalProperties?: JSONSchema | boolean;
  items?: JSONSchema;
  required?: string[];
  enum?: (string | number)[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  pattern?: string;
  format?: string;
  anyOf?: JSONSchema[];
  'x-kubernetes-validations'?: CelRule[];
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

type Extra = Omit<JSONSchema, 'type' | 'description' | 'properties' | 'items'>;

export const str = (description: string, extra: Extra = {}): JSONSchema => ({
  type: 'string',
  description,
  maxLength: 253,
  ...extra,
});

export const int = (description: string, extra: Extra = {}): JSONSchema => ({
  type: 'integer',
  description,
  ...extra,
});

export const bool = (description: string, dflt?: boolean): JSONSchema => ({
  type: 'boolean',
  description,
  ...(dflt === undefined ? {} : { default: dflt }),
});

export const obj = (
  description: string,
  properties: Record<string, JSONSchema>,
  extra: Extra = {},
): JSONSchema => ({ type: 'object', description, properties, ...extra });

export const list = (description: string, items: JSONSchema, extra: Extra = {}): JSONSchema => ({
  type: 'array',
  description,
  items,
  ...extra,
});

export const stringMap = (description: string, extra: Extra = {}): JSONSchema => ({
  type: 'object',
  description,
  additionalProperties: { type: 'string', maxLength: 1024 },
  maxProperties: 64,
  ...extra,
});

export const port = (description: string, dflt: number): JSONSchema =>
  int(description, { minimum: 1, maximum: 65535, default: dflt });

/** A UDP/TCP range bound on the node: unprivileged ports only, start strictly below end. */
export const portRange = (description: string, start: number, end: number): JSONSchema =>
  obj(
    description,
    {
      start: int('First port of the range (inclusive).', { minimum: 1024, maximum: 65535 }),
      end: int('Last port of the range (inclusive).', { minimum: 1024, maximum: 65535 }),
    },
    {
      required: ['start', 'end'],
      default: { start, end },
      'x-kubernetes-validations': [{ rule: 'self.start < self.end', message: 'start must be lower than end' }],
    },
  );

const QUANTITY = '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$';

/**
 * int-or-string, in the only anyOf form a structural schema admits (the branches carry nothing but
 * their type); the pattern sits beside it and, as in JSON Schema, only applies to strings.
 */
export const quantity = (description: string, extra: Extra = {}): JSONSchema => ({
  description,
  'x-kubernetes-int-or-string': true,
  anyOf: [{ type: 'integer' }, { type: 'string' }],
  pattern: QUANTITY,
  ...extra,
});

export const resources = (description: string, dflt: { requests: Record<string, string>; limits: Record<string, string> }): JSONSchema =>
  obj(
    `${description} Same shape as a container's resources.`,
    {
      requests: obj('Minimum resources the scheduler reserves.', {}, {
        additionalProperties: quantity('A resource quantity, e.g. 500m or 1Gi.'),
        maxProperties: 16,
      }),
      limits: obj('Maximum resources the container may use.', {}, {
        additionalProperties: quantity('A resource quantity, e.g. 2 or 4Gi.'),
        maxProperties: 16,
      }),
    },
    { default: dflt },
  );

export const secretKeyRef = (description: string): JSONSchema =>
  obj(
    description,
    {
      name: str('Name of a Secret in the MeetingCluster namespace.', { maxLength: 253, minLength: 1 }),
      key: str('Key inside that Secret.', { maxLength: 253, minLength: 1 }),
    },
    { required: ['name', 'key'] },
  );
