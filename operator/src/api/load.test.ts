import { describe, expect, it } from 'vitest';
import { loadManifest } from './load.js';

const msg = (text: string) => {
  const r = loadManifest(text, 'x.yaml');
  return r.ok ? 'ok' : r.errors.map((e) => `${e.path}: ${e.message}`).join('\n');
};

describe('loadManifest', () => {
  it('reads one MeetingCluster and fills a missing namespace', () => {
    const r = loadManifest('apiVersion: meet.sovereign.io/v1alpha1\nkind: MeetingCluster\nmetadata: {name: a}\nspec: {}\n', 'x.yaml', 'ns1');
    expect(r.ok && (r.object.metadata as any).namespace).toBe('ns1');
  });
  it('names the line of a YAML syntax error', () => {
    expect(msg('kind: MeetingCluster\nspec: [unclosed\n')).toMatch(/^x\.yaml: is not valid YAML at line \d+, column \d+/);
  });
  it('refuses several documents', () => {
    expect(msg('kind: MeetingCluster\n---\nkind: MeetingCluster\n')).toBe('x.yaml: holds 2 YAML documents; pass exactly one MeetingCluster per file');
  });
  it('refuses another kind, a list, and an empty file', () => {
    expect(msg('apiVersion: v1\nkind: Secret\n')).toBe('x.yaml: holds a Secret, not a MeetingCluster (apiVersion: meet.sovereign.io/v1alpha1, kind: MeetingCluster)');
    expect(msg('- a\n- b\n')).toMatch(/does not hold a MeetingCluster \(found a list\)/);
    expect(msg('')).toBe('x.yaml: is empty; expected one MeetingCluster manifest');
    expect(msg('# only a comment\n')).toBe('x.yaml: is empty; expected one MeetingCluster manifest');
  });
  it('refuses duplicate keys instead of silently keeping the last', () => {
    expect(msg('kind: MeetingCluster\nkind: MeetingCluster\n')).toMatch(/not valid YAML/);
  });
});
