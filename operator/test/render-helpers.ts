// Helpers for reading rendered objects in tests.
import { parse } from 'yaml';
import type { RenderedObject } from '../src/kube/object.js';

export const byKind = (objects: RenderedObject[], kind: string): RenderedObject[] => objects.filter((o) => o.kind === kind);

export function find(objects: RenderedObject[], kind: string, name: string): any {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind} ${name} among ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
}

export const livekitYaml = (objects: RenderedObject[]): any => {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && (o.data as any)?.['livekit.yaml']);
  if (!cm) throw new Error('no livekit.yaml ConfigMap');
  return parse((cm.data as any)['livekit.yaml']);
};

export const podSpec = (workload: any): any => workload.spec.template.spec;

/** All leaf paths of a plain object, arrays flattened to "[]". */
export function leafPaths(v: unknown, prefix = ''): string[] {
  if (Array.isArray(v)) return v.flatMap((x) => leafPaths(x, `${prefix}[]`));
  if (v !== null && typeof v === 'object') {
    return Object.entries(v).flatMap(([k, x]) => leafPaths(x, prefix ? `${prefix}.${k}` : k));
  }
  return [prefix];
}
