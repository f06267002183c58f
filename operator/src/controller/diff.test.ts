import { describe, expect, it } from 'vitest';
import { ANNOTATION_APPLIED, applyReason, digest, isSubset, prepareChild, type OwnerReference } from './diff.js';

const owner: OwnerReference = { apiVersion: 'meet.sovereign.io/v1alpha1', kind: 'MeetingCluster', name: 'visio', uid: 'u1', controller: true, blockOwnerDeletion: true };
const cm: any = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'n', labels: { a: 'b' } }, data: { 'f.yaml': 'x: 1\n' } };

describe('prepareChild', () => {
  it('adds the owner and a digest of the intent that ignores key order', () => {
    const p: any = prepareChild(cm, owner);
    expect(p.metadata.ownerReferences).toEqual([owner]);
    const reordered: any = { kind: 'ConfigMap', data: { 'f.yaml': 'x: 1\n' }, apiVersion: 'v1', metadata: { labels: { a: 'b' }, namespace: 'n', name: 'c' } };
    expect(prepareChild(reordered, owner).metadata.annotations[ANNOTATION_APPLIED]).toBe(p.metadata.annotations[ANNOTATION_APPLIED]);
    expect(digest({ a: 1 })).not.toBe(digest({ a: 2 }));
  });
});

describe('applyReason', () => {
  const desired = prepareChild(cm, owner) as any;
  const live = () => JSON.parse(JSON.stringify({ ...desired, metadata: { ...desired.metadata, uid: 'x', resourceVersion: '5', annotations: { ...desired.metadata.annotations, 'user/note': 'kept' } } }));

  it('creates what is missing and leaves what matches alone', () => {
    expect(applyReason(desired, undefined)).toBe('create');
    expect(applyReason(desired, live())).toBeUndefined();
  });
  it('re-applies when our intent changed (including a field we stopped setting)', () => {
    const l = live();
    l.metadata.annotations[ANNOTATION_APPLIED] = 'older';
    expect(applyReason(desired, l)).toBe('changed');
  });
  it('restores a field someone else changed', () => {
    const l = live();
    l.data['f.yaml'] = 'x: 2\n';
    expect(applyReason(desired, l)).toBe('drift');
  });
});

describe('isSubset', () => {
  it('ignores what the server adds and its normalisation', () => {
    expect(isSubset({ a: 1 }, { a: 1, b: 2 })).toBe(true);
    expect(isSubset({ cpu: 0.5, mem: '1024Mi' }, { cpu: '500m', mem: '1Gi' })).toBe(true);
    expect(isSubset({ port: 7880 }, { port: '7880' })).toBe(true);
    expect(isSubset({ minReadySeconds: 0, hostNetwork: false, labels: {} }, {})).toBe(true);
  });
  it('sees real differences', () => {
    expect(isSubset({ a: 1 }, { a: 2 })).toBe(false);
    expect(isSubset({ l: [1, 2] }, { l: [1] })).toBe(false);
    expect(isSubset({ cpu: '1' }, { cpu: '500m' })).toBe(false);
    expect(isSubset({ hostNetwork: true }, {})).toBe(false);
    expect(isSubset({ o: { k: 'v' } }, { o: 'v' })).toBe(false);
  });
});
