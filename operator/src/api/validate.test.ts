import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { INVALID, baseManifest, invalidManifest } from '../../test/specs.js';
import { validateMeetingCluster } from './validate.js';

const exampleFiles = readdirSync('examples').filter((f) => f.endsWith('.yaml') && !f.includes('storageclass'));

describe('validateMeetingCluster', () => {
  it('accepts the base manifest and returns it defaulted', () => {
    const { errors, cluster } = validateMeetingCluster(baseManifest());
    expect(errors).toEqual([]);
    expect(cluster?.spec.sfu.drainSeconds).toBe(18000);
    expect(cluster?.spec.ministry).toBe('justice');
  });

  it.each(exampleFiles)('accepts example %s', (file) => {
    const { errors } = validateMeetingCluster(parse(readFileSync(`examples/${file}`, 'utf8')));
    expect(errors).toEqual([]);
  });

  it.each(INVALID.map((c) => [c.name, c] as const))('rejects: %s', (_name, c) => {
    const { errors, cluster } = validateMeetingCluster(invalidManifest(c));
    expect(errors).toEqual(c.errors);
    expect(cluster).toBeUndefined();
  });

  it('lists every problem at once, not only the first', () => {
    const m = baseManifest();
    m.spec.autoscaling = { minReplicas: 9, maxReplicas: 2 };
    m.spec.turn.mode = 'stunner';
    const paths = validateMeetingCluster(m).errors.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['spec.turn.mode', 'spec.autoscaling.minReplicas']));
  });

  it('lists what admission and the operator refuse together, without errors that follow from another', () => {
    const m = baseManifest();
    m.spec.cloud.region = 'us-east-1';
    delete m.spec.turn.domain;
    m.spec.sovereignty = { allowedRegistries: ['Registry.Justice.example/ '] };
    expect(validateMeetingCluster(m).errors.map((e) => e.path).sort()).toEqual(['spec.cloud.region', 'spec.sovereignty.allowedRegistries[0]', 'spec.turn.domain']);
  });

  it('refuses a document that is not a MeetingCluster', () => {
    expect(validateMeetingCluster({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }).errors).toEqual([
      { path: 'apiVersion', message: 'must be meet.sovereign.io/v1alpha1 (got "v1")' },
      { path: 'kind', message: 'must be MeetingCluster (got "ConfigMap")' },
    ]);
    expect(validateMeetingCluster([]).errors[0]?.message).toMatch(/got a list/);
  });

  it('does not modify its input', () => {
    const m = baseManifest();
    const before = JSON.stringify(m);
    validateMeetingCluster(m);
    expect(JSON.stringify(m)).toBe(before);
  });
});

describe('null fields', () => {
  it('are dropped as the API server does (nulls in a non-nullable schema are pruned), then defaulted', () => {
    const m: any = baseManifest();
    m.spec.autoscaling = null;
    m.spec.signalling = null;
    const { errors, cluster } = validateMeetingCluster(m);
    expect(errors).toEqual([]);
    expect(cluster!.spec.autoscaling.enabled).toBe(false);
    expect(cluster!.spec.signalling).toBeDefined();
  });

  it('a null array item is still an error', () => {
    const m: any = baseManifest();
    m.spec.cloud.zones = [null];
    expect(validateMeetingCluster(m).errors.map((e) => e.path)).toContain('spec.cloud.zones[0]');
  });
});
