// Why a component is not ready, as far as the operator can see it: what the kubelet says of its
// containers (an image it cannot pull, a crash loop and its last exit), what the scheduler says of
// its pods, and what the volume controller says of a claim a pod waits for. Pure functions over pods
// and Events; the reconciler gathers them (pods from its cache, a claim's Events only when a pod
// waits for one) and status.ts puts the cause into the component's condition.
import type { KubeObject } from '../kube/object.js';

/** A reason (CamelCase, for conditions and Events) and a message a person can act on. */
export interface Cause {
  reason: string;
  message: string;
}

/** The claims a pod needs bound before it can be scheduled (its volumes' PersistentVolumeClaims). */
export const claimsOf = (pod: KubeObject): string[] =>
  ((pod.spec?.volumes ?? []) as { persistentVolumeClaim?: { claimName: string } }[]).flatMap((v) => (v.persistentVolumeClaim ? [v.persistentVolumeClaim.claimName] : []));

const IMAGE_PULL = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);
const CONTAINER_FAILED = new Set(['CreateContainerConfigError', 'CreateContainerError', 'RunContainerError']);

interface ContainerStatus {
  name: string;
  image?: string;
  restartCount?: number;
  state?: { waiting?: { reason?: string; message?: string } };
  lastState?: { terminated?: { exitCode?: number; reason?: string; message?: string } };
}

const clip = (s: string | undefined, n = 300): string => (!s ? '' : s.length > n ? `${s.slice(0, n)}...` : s);

function lastExit(c: ContainerStatus): string {
  const t = c.lastState?.terminated;
  if (!t) return '';
  return `; last exit code ${t.exitCode ?? '?'}${t.reason ? ` (${t.reason})` : ''}${t.message ? `: ${clip(t.message, 200)}` : ''}`;
}

/** One container's trouble, from the kubelet's report. */
function containerCause(pod: string, c: ContainerStatus, spec: { name: string; image?: string }[]): Cause | undefined {
  const waiting = c.state?.waiting;
  if (!waiting?.reason) return undefined;
  const image = spec.find((s) => s.name === c.name)?.image ?? c.image ?? '?';
  if (IMAGE_PULL.has(waiting.reason)) {
    return {
      reason: 'ImagePullFailed',
      message: `pod ${pod} cannot pull image ${image} (${waiting.reason}${waiting.message ? `: ${clip(waiting.message)}` : ''}); check the image name, that your registry holds it and that nodes may pull from it`,
    };
  }
  if (waiting.reason === 'CrashLoopBackOff') {
    return {
      reason: 'CrashLoop',
      message: `pod ${pod} container ${c.name} keeps exiting (${c.restartCount ?? 0} restarts${lastExit(c)}); its logs say why: kubectl logs -n <namespace> ${pod} -c ${c.name} --previous`,
    };
  }
  if (CONTAINER_FAILED.has(waiting.reason)) {
    return { reason: 'ContainerFailed', message: `pod ${pod} container ${c.name} cannot start (${waiting.reason}: ${clip(waiting.message) || 'no message'})` };
  }
  return undefined;
}

/** A pod's trouble: its containers first (more specific), then scheduling; nothing for a pod on its way. */
export function podCause(pod: KubeObject): Cause | undefined {
  if (pod.metadata.deletionTimestamp) return undefined;
  const name = pod.metadata.name;
  const status = pod.status ?? {};
  if (status.phase === 'Failed') return { reason: status.reason ?? 'PodFailed', message: `pod ${name} failed: ${clip(status.message) || 'no message'}` };
  const spec = (pod.spec?.containers ?? []) as { name: string; image?: string }[];
  for (const c of (status.containerStatuses ?? []) as ContainerStatus[]) {
    const cause = containerCause(name, c, spec);
    if (cause) return cause;
  }
  const scheduled = (status.conditions ?? []).find((c: { type: string }) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { reason: 'Unschedulable', message: `pod ${name} cannot be scheduled: ${clip(schedulerReasons(scheduled.message ?? ''), 400)}` };
  }
  return undefined;
}

/**
 * The scheduler's reasons without its node counts ("0/17 nodes are available: 1 node(s) didn't have
 * free ports ..., 16 node(s) didn't match ... preemption: ..."): the counts move whenever any pod of the
 * cluster comes or goes, and a cause that changes wakes a reconcile and a status write each time.
 */
export function schedulerReasons(message: string): string {
  const summary = message.split(/\.?\s*preemption:/)[0]!.trim();
  const counted = /^\d+\/\d+ nodes are available:\s*/;
  if (!counted.test(summary)) return message;
  const reasons = summary.replace(counted, '').replace(/\.$/, '').split(/,\s*(?=\d+ )/).map((r) => r.replace(/^\d+\s+/, '').trim()).filter(Boolean);
  return reasons.length ? `no node fits: ${[...new Set(reasons)].join('; ')}` : message;
}

const eventTime = (e: KubeObject): string => e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? '';

/**
 * What the volume controller last said of a claim that is not bound. `storageClassField` is the spec
 * field that names the class, for the hint.
 */
export function claimCause(claim: string, events: KubeObject[], storageClassField: string): Cause {
  const last = [...events].sort((a, b) => eventTime(a).localeCompare(eventTime(b))).at(-1);
  const message = String(last?.message ?? '');
  const missing = /storageclass\.storage\.k8s\.io "([^"]+)" not found/.exec(message);
  if (missing) {
    return {
      reason: 'StorageClassMissing',
      message: `PersistentVolumeClaim ${claim} waits for StorageClass "${missing[1]}", which does not exist: create it (encrypted; meet-operator's examples/outscale-storageclass.yaml is one for Outscale); ${storageClassField} is fixed once the MeetingCluster exists (the volume claim template is immutable): to use another class (kubectl get storageclass), recreate the MeetingCluster with it`,
    };
  }
  if (last?.reason === 'ExternalProvisioning') {
    return { reason: 'VolumeProvisioning', message: `PersistentVolumeClaim ${claim} waits for its volume: ${clip(message)} (is that provisioner's CSI driver installed and running?)` };
  }
  if (last?.reason === 'ProvisioningFailed') return { reason: 'VolumeProvisioningFailed', message: `PersistentVolumeClaim ${claim}: ${clip(message)}` };
  return { reason: 'VolumePending', message: `PersistentVolumeClaim ${claim} is not bound yet${message ? `: ${clip(message)}` : ''}` };
}

/**
 * The cause of a component's unready pods: the first pod (by name) with a container cause, else the
 * first unschedulable one. `claimCauseOf` answers for a claim a pod waits for (undefined: not looked up).
 */
export function componentCause(pods: KubeObject[], claimCauseOf: (claim: string) => Cause | undefined): Cause | undefined {
  const sorted = [...pods].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  const causes = sorted.map((p) => ({ pod: p, cause: podCause(p) })).filter((x) => x.cause);
  const container = causes.find((x) => x.cause!.reason !== 'Unschedulable');
  if (container) return container.cause;
  const unschedulable = causes[0];
  if (!unschedulable) return undefined;
  // The scheduler only says a claim is unbound; the volume controller says why.
  for (const claim of claimsOf(unschedulable.pod)) {
    const why = claimCauseOf(claim);
    if (why) return { reason: why.reason, message: `pod ${unschedulable.pod.metadata.name} cannot be scheduled: ${why.message}` };
  }
  return unschedulable.cause;
}

/** Whether a pod waits for a claim the reconciler should ask about (unschedulable, with claims). */
export const waitsForClaims = (pod: KubeObject): boolean => podCause(pod)?.reason === 'Unschedulable' && claimsOf(pod).length > 0;
