import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../kube/object.js';
import { claimCause, componentCause, podCause, schedulerReasons, waitsForClaims } from './diagnosis.js';
import { computeStatus, newCauses } from './status.js';
import { validateMeetingCluster } from '../api/validate.js';
import { baseManifest } from '../../test/specs.js';

const pod = (name: string, status: object, extra: { volumes?: object[]; deleting?: boolean } = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'culture', ...(extra.deleting ? { deletionTimestamp: '2026-12-07T10:00:00Z' } : {}) },
  spec: { containers: [{ name: 'redis', image: 'registry.example/redis:7' }], volumes: extra.volumes ?? [] },
  status,
});
const waiting = (reason: string, message?: string, last?: object) => ({
  phase: 'Pending',
  containerStatuses: [{ name: 'redis', ready: false, restartCount: 4, state: { waiting: { reason, ...(message ? { message } : {}) } }, ...(last ? { lastState: { terminated: last } } : {}) }],
});
const unschedulable = (message: string) => ({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message }] });
const CLAIM_VOLUME = { name: 'data', persistentVolumeClaim: { claimName: 'data-visio-redis-0' } };
const event = (reason: string, message: string, at: string): KubeObject => ({ apiVersion: 'v1', kind: 'Event', metadata: { name: `e-${at}`, creationTimestamp: at }, reason, message, lastTimestamp: at });

describe('podCause', () => {
  it('an image that cannot be pulled: the image and what to check', () => {
    const c = podCause(pod('visio-redis-0', waiting('ImagePullBackOff', 'Back-off pulling image "registry.example/redis:7"')));
    expect(c?.reason).toBe('ImagePullFailed');
    expect(c?.message).toMatch(/^pod visio-redis-0 cannot pull image registry\.example\/redis:7 \(ImagePullBackOff: Back-off pulling/);
    expect(c?.message).toMatch(/registry holds it/);
    expect(podCause(pod('p', waiting('ErrImagePull')))?.reason).toBe('ImagePullFailed');
  });

  it('a crash loop: restarts, the last exit and the command that shows the logs', () => {
    const c = podCause(pod('visio-redis-0', waiting('CrashLoopBackOff', 'back-off 40s', { exitCode: 1, reason: 'Error', message: 'Bad directive' })));
    expect(c).toEqual({
      reason: 'CrashLoop',
      message: 'pod visio-redis-0 container redis keeps exiting (4 restarts; last exit code 1 (Error): Bad directive); its logs say why: kubectl logs -n <namespace> visio-redis-0 -c redis --previous',
    });
  });

  it('a container that cannot be created, an unschedulable pod, a failed pod', () => {
    expect(podCause(pod('p', waiting('CreateContainerConfigError', 'secret "x" not found')))).toEqual({ reason: 'ContainerFailed', message: 'pod p container redis cannot start (CreateContainerConfigError: secret "x" not found)' });
    expect(podCause(pod('p', unschedulable('0/3 nodes are available: 3 Insufficient cpu.')))).toEqual({ reason: 'Unschedulable', message: 'pod p cannot be scheduled: no node fits: Insufficient cpu' });
    expect(podCause(pod('p', { phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' }))?.reason).toBe('Evicted');
  });

  it('nothing for a pod on its way (creating, running, terminating)', () => {
    expect(podCause(pod('p', waiting('ContainerCreating')))).toBeUndefined();
    expect(podCause(pod('p', { phase: 'Running', containerStatuses: [{ name: 'redis', ready: false, state: { running: {} } }] }))).toBeUndefined();
    expect(podCause(pod('p', waiting('CrashLoopBackOff'), { deleting: true }))).toBeUndefined();
  });
});

describe('schedulerReasons', () => {
  it("keeps the scheduler's reasons and drops its node counts, which move with every pod of the cluster", () => {
    const a = "0/17 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, 16 node(s) didn't match Pod's node affinity/selector. preemption: 0/17 nodes are available: 1 No preemption victims found for incoming pod, 16 Preemption is not helpful for scheduling.";
    const b = "0/17 nodes are available: 5 node(s) didn't have free ports for the requested pod ports, 12 node(s) didn't match Pod's node affinity/selector. preemption: 0/17 nodes are available: 5 No preemption victims found for incoming pod, 12 Preemption is not helpful for scheduling.";
    expect(schedulerReasons(a)).toBe("no node fits: node(s) didn't have free ports for the requested pod ports; node(s) didn't match Pod's node affinity/selector");
    expect(schedulerReasons(b)).toBe(schedulerReasons(a));
    expect(schedulerReasons('0/17 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/17 nodes are available: 17 Preemption is not helpful for scheduling.')).toBe('no node fits: pod has unbound immediate PersistentVolumeClaims');
    expect(schedulerReasons('something else entirely')).toBe('something else entirely');
  });
});

describe('claimCause', () => {
  it('a missing StorageClass: which one, what to create, and that the field is fixed once created', () => {
    const events = [
      event('ProvisioningFailed', 'storageclass.storage.k8s.io "bsu-gp2-encrypted" not found', '2026-12-07T10:00:05Z'),
      event('ExternalProvisioning', 'older', '2026-12-07T10:00:00Z'),
    ];
    const c = claimCause('data-visio-redis-0', events, 'spec.redis.storage.storageClassName');
    expect(c.reason).toBe('StorageClassMissing');
    expect(c.message).toMatch(/^PersistentVolumeClaim data-visio-redis-0 waits for StorageClass "bsu-gp2-encrypted", which does not exist: create it/);
    expect(c.message).toMatch(/examples\/outscale-storageclass\.yaml/);
    expect(c.message).toMatch(/spec\.redis\.storage\.storageClassName is fixed once the MeetingCluster exists/);
  });

  it('a provisioner that never answers, another failure, no event yet: the newest event decides', () => {
    const waitingFor = event('ExternalProvisioning', 'Waiting for a volume to be created either by the external provisioner "bsu.csi.outscale.com"', '2026-12-07T10:00:09Z');
    expect(claimCause('c', [waitingFor], 'f').reason).toBe('VolumeProvisioning');
    expect(claimCause('c', [waitingFor], 'f').message).toMatch(/CSI driver/);
    expect(claimCause('c', [event('ProvisioningFailed', 'quota exceeded', '2026-12-07T10:00:00Z')], 'f')).toEqual({ reason: 'VolumeProvisioningFailed', message: 'PersistentVolumeClaim c: quota exceeded' });
    expect(claimCause('c', [], 'f')).toEqual({ reason: 'VolumePending', message: 'PersistentVolumeClaim c is not bound yet' });
  });
});

describe('componentCause', () => {
  const stuck = pod('visio-redis-0', unschedulable('0/17 nodes are available: pod has unbound immediate PersistentVolumeClaims.'), { volumes: [CLAIM_VOLUME] });

  it('an unschedulable pod waiting for a claim names what the claim waits for', () => {
    expect(waitsForClaims(stuck)).toBe(true);
    const asked: string[] = [];
    const c = componentCause([stuck], (claim) => (asked.push(claim), claimCause(claim, [event('ProvisioningFailed', 'storageclass.storage.k8s.io "x" not found', 't')], 'spec.redis.storage.storageClassName')));
    expect(asked).toEqual(['data-visio-redis-0']);
    expect(c?.reason).toBe('StorageClassMissing');
    expect(c?.message).toMatch(/^pod visio-redis-0 cannot be scheduled: PersistentVolumeClaim data-visio-redis-0 waits for StorageClass "x"/);
  });

  it("the scheduler's word when the claim was not looked up; a container cause before a scheduling one", () => {
    expect(componentCause([stuck], () => undefined)?.reason).toBe('Unschedulable');
    const crashing = pod('visio-sfu-b', waiting('CrashLoopBackOff'));
    expect(componentCause([stuck, crashing], () => undefined)?.reason).toBe('CrashLoop');
    expect(componentCause([pod('ok', { phase: 'Running' })], () => undefined)).toBeUndefined();
  });
});

describe('status names the cause', () => {
  const { cluster } = validateMeetingCluster(baseManifest());
  const redis: KubeObject = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'visio-redis', generation: 1 }, spec: { replicas: 1 }, status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1 } };
  const base = { generation: 1, cluster: cluster!, redis, applyErrors: [], sovereignty: { ok: true, message: '' }, now: '2026-12-07T10:00:00Z' };
  const conditionOf = (s: ReturnType<typeof computeStatus>, type: string) => s.conditions!.find((c) => c.type === type)!;

  it("in the component's condition and in Ready, with the cause's reason", () => {
    const s = computeStatus({ ...base, causes: { redis: { reason: 'StorageClassMissing', message: 'PersistentVolumeClaim data-visio-redis-0 waits for StorageClass "x"' } } });
    expect(conditionOf(s, 'RedisAvailable')).toMatchObject({ status: 'False', reason: 'StorageClassMissing', message: '0/1 Redis pods ready: PersistentVolumeClaim data-visio-redis-0 waits for StorageClass "x"' });
    expect(conditionOf(s, 'Ready').message).toMatch(/Redis: 0\/1 Redis pods ready: PersistentVolumeClaim data-visio-redis-0/);
  });

  it('not once the component is available', () => {
    const ready = { ...redis, status: { ...redis.status, readyReplicas: 1 } };
    const s = computeStatus({ ...base, redis: ready, causes: { redis: { reason: 'CrashLoop', message: 'old pod' } } });
    expect(conditionOf(s, 'RedisAvailable')).toMatchObject({ status: 'True', reason: 'Available', message: '1/1 Redis pods ready' });
  });

  it('an Event for a cause when it appears, not again while status already carries it', () => {
    const cause = { reason: 'StorageClassMissing', message: 'PersistentVolumeClaim data-visio-redis-0 waits for StorageClass "x"' };
    expect(newCauses(undefined, { redis: cause })).toEqual([cause]);
    const reported = computeStatus({ ...base, causes: { redis: cause } });
    expect(newCauses(reported, { redis: cause })).toEqual([]);
    const other = { reason: 'CrashLoop', message: 'pod visio-redis-0 container redis keeps exiting' };
    expect(newCauses(reported, { redis: other })).toEqual([other]);
    expect(newCauses(reported, { sfu: cause })).toEqual([cause]);
  });
});
