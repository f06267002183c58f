import { describe, expect, it } from 'vitest';
import type { JSONSchema } from './schema-builders.js';
import { meetingClusterCRD } from './crd.js';
import { meetingClusterSchema } from './schema.js';

/** Paths of schema nodes lacking a description: `kubectl explain` would print nothing for them. */
function undocumented(s: JSONSchema, path = 'spec'): string[] {
  const own = s.description ? [] : [path];
  const props = Object.entries(s.properties ?? {}).flatMap(([k, v]) => undocumented(v, `${path}.${k}`));
  const items = s.items && s.items.type === 'object' ? undocumented(s.items, `${path}[]`) : [];
  return [...own, ...props, ...items];
}

/** Structural-schema rules the API server enforces on a CRD (apiextensions validation). */
function structuralProblems(s: JSONSchema, path = ''): string[] {
  const out: string[] = [];
  if (!s.type && !s['x-kubernetes-int-or-string'] && !s['x-kubernetes-preserve-unknown-fields']) out.push(`${path}: no type`);
  if (s.additionalProperties !== undefined && s.properties && Object.keys(s.properties).length) out.push(`${path}: properties and additionalProperties`);
  if (s.type === 'array' && !s.items) out.push(`${path}: array without items`);
  if (s.anyOf && JSON.stringify(s.anyOf) !== JSON.stringify([{ type: 'integer' }, { type: 'string' }])) out.push(`${path}: anyOf other than int-or-string`);
  if (s.anyOf && !s['x-kubernetes-int-or-string']) out.push(`${path}: anyOf without x-kubernetes-int-or-string`);
  for (const [k, v] of Object.entries(s.properties ?? {})) out.push(...structuralProblems(v, `${path}.${k}`));
  if (s.items) out.push(...structuralProblems(s.items, `${path}[]`));
  if (typeof s.additionalProperties === 'object') out.push(...structuralProblems(s.additionalProperties, `${path}{}`));
  return out;
}

describe('CRD', () => {
  const crd = meetingClusterCRD() as any;
  const version = crd.spec.versions[0];

  it('documents every field for kubectl explain', () => {
    const spec = meetingClusterSchema.properties!.spec!;
    const status = meetingClusterSchema.properties!.status!;
    expect([...undocumented(spec), ...undocumented(status, 'status')]).toEqual([]);
  });

  it('is a structural schema', () => {
    const { metadata, ...rest } = meetingClusterSchema.properties!;
    expect(metadata).toEqual({ type: 'object' });
    expect(Object.entries(rest).flatMap(([k, v]) => structuralProblems(v, k))).toEqual([]);
  });

  it('has status and scale subresources on the SFU replicas', () => {
    expect(version.subresources).toEqual({
      status: {},
      scale: { specReplicasPath: '.spec.sfu.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
    });
  });

  it('shows Ministry, Ready, Replicas, Participants and Age in kubectl get mc', () => {
    const cols = version.additionalPrinterColumns.filter((c: any) => !c.priority).map((c: any) => c.name);
    expect(cols).toEqual(['Ministry', 'Ready', 'Replicas', 'Participants', 'Age']);
    expect(crd.spec.names.shortNames).toEqual(['mc']);
    expect(crd.spec.scope).toBe('Namespaced');
  });

  it('names only fields of its own object in each CEL rule (the API server refuses the CRD otherwise)', () => {
    const strays: string[] = [];
    const walk = (s: JSONSchema, path: string) => {
      for (const v of s['x-kubernetes-validations'] ?? []) {
        const named = [...v.rule.matchAll(/self\.(\w+)(?!\w|\s*\()/g), ...(v.fieldPath ? [...v.fieldPath.matchAll(/^\.(\w+)/g)] : [])].map((m) => m[1]!);
        for (const f of named) if (!s.properties?.[f]) strays.push(`${path}: ${f} in ${JSON.stringify(v.rule)}`);
      }
      for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${path}.${k}`);
      if (s.items) walk(s.items, `${path}[]`);
    };
    walk(meetingClusterSchema.properties!.spec!, 'spec');
    expect(strays).toEqual([]);
  });

  it('bounds every string and list that a CEL rule may read (cost estimation)', () => {
    const unbounded: string[] = [];
    const walk = (s: JSONSchema, path: string) => {
      if (s.type === 'string' && s.maxLength === undefined && !s.enum && !s.format) unbounded.push(path);
      if (s.type === 'array' && s.maxItems === undefined) unbounded.push(path);
      for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${path}.${k}`);
      if (s.items) walk(s.items, `${path}[]`);
    };
    walk(meetingClusterSchema.properties!.spec!, 'spec');
    expect(unbounded).toEqual([]);
  });
});
