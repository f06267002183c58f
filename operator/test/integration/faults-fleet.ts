// Many light MeetingClusters on a control plane of the fault tests, and the checks every fault
// ends with: converged, nothing missing, nothing extra, nothing orphaned.
import { validateMeetingCluster } from '../../src/api/validate.js';
import { generateSecrets } from '../../src/credentials/generate.js';
import { CHILD_TYPES, OPTIONAL_KIND_FIELDS } from '../../src/kube/resources.js';
import { renderCluster } from '../../src/render/index.js';
import { LABEL_MANAGED_BY, MANAGED_BY } from '../../src/api/names.js';
import { eventually } from './kubectl.js';
import type { OperatorProcess } from './operator-process.js';
import type { ControlPlane } from './own-controlplane.js';

const STORAGE_CLASS = 'faults-local';
export const MANAGED = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;
/** Kinds the operator writes (the optional ones aside: ServiceMonitor's and Certificate's CRDs are not installed here). */
const CHILD_RESOURCES = CHILD_TYPES.filter((t) => !(t.kind in OPTIONAL_KIND_FIELDS)).map((t) => t.plural).join(',');

/**
 * The smallest complete stack: generic profile, one SFU and one coturn pod (each holds host ports,
 * so one of each per kwok node), managed Redis with its own generated password: three generated
 * Secrets per cluster. (kwok mounts nothing, so coturn's TLS Secret need not exist.)
 */
export function lightCluster(namespace: string, mutate: (spec: any) => void = () => {}): any {
  const spec: any = {
    cloud: { profile: 'generic' },
    domain: `visio.${namespace}.example`,
    // Changes roll in place: these fleets test the API server and other writers, not upgrades (the
    // side-by-side default would move a changed SFU to its other slot, reconciler.test.ts).
    sfu: { replicas: 1, resources: { requests: { cpu: '100m', memory: '128Mi' } }, upgrade: { strategy: 'RollingUpdate' } },
    turn: { domain: `turn.${namespace}.example`, replicas: 1, tlsSecretName: 'turn-tls' },
    redis: { storage: { storageClassName: STORAGE_CLASS } },
  };
  mutate(spec);
  return { apiVersion: 'meet.sovereign.io/v1alpha1', kind: 'MeetingCluster', metadata: { name: 'visio', namespace }, spec };
}

export const namespaceObject = (name: string) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });

/** A StorageClass served by `count` static volumes (kwok mounts nothing), so Redis pods schedule. */
export function staticVolumes(count: number, prefix: string): any[] {
  return [
    { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: STORAGE_CLASS }, provisioner: 'kubernetes.io/no-provisioner', volumeBindingMode: 'WaitForFirstConsumer', reclaimPolicy: 'Delete' },
    ...Array.from({ length: count }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `${prefix}-pv-${i}` },
      spec: { capacity: { storage: '10Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Delete', storageClassName: STORAGE_CLASS, hostPath: { path: `/tmp/${prefix}-pv-${i}` } },
    })),
  ];
}

/** The CRD (installed and Established), RBAC for extra users, and the objects every test needs. */
export async function prepare(cp: ControlPlane, objects: any[], adminUsers: string[] = []): Promise<void> {
  cp.kubectlOk(['apply', '--server-side', '-f', 'crds/']);
  // (kubectl wait fails instead of waiting while a brand-new CRD has no conditions at all.)
  await eventually('CRD Established', () => (cp.getJson('crd', 'meetingclusters.meet.sovereign.io').status?.conditions?.some((c: any) => c.type === 'Established' && c.status === 'True') ? true : undefined), 60_000, 200);
  const bindings = adminUsers.map((u) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: `faults-${u}` },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: u }],
  }));
  cp.apply([...bindings, ...objects]);
}

/** `Kind/name` of everything the renderer makes for a cluster: what must exist, once, per namespace. */
export function expectedChildren(mc: any): string[] {
  const { cluster, errors } = validateMeetingCluster(mc);
  if (!cluster) throw new Error(`invalid test cluster: ${JSON.stringify(errors)}`);
  return renderCluster(cluster, generateSecrets()).map((o) => `${o.kind}/${o.metadata.name}`).sort();
}

export const managedObjects = (cp: ControlPlane): any[] => cp.getJson(CHILD_RESOURCES, '-A', '-l', MANAGED).items;

export const childrenByNamespace = (objs: any[]): Map<string, string[]> => {
  const out = new Map<string, string[]>();
  for (const o of objs) out.set(o.metadata.namespace, [...(out.get(o.metadata.namespace) ?? []), `${o.kind}/${o.metadata.name}`]);
  for (const v of out.values()) v.sort();
  return out;
};

const condition = (mc: any, type: string) => mc?.status?.conditions?.find((c: any) => c.type === type);

/** MeetingClusters (of `namespaces`) whose status does not yet describe their current generation. */
export function unconverged(cp: ControlPlane, namespaces: string[], ready = true): string[] {
  const byNs = new Map<string, any>(cp.getJson('mc', '-A').items.map((m: any) => [m.metadata.namespace, m]));
  return namespaces.filter((ns) => {
    const mc = byNs.get(ns);
    if (!mc || mc.status?.observedGeneration !== mc.metadata.generation) return true;
    return ready ? condition(mc, 'Ready')?.status !== 'True' : condition(mc, 'Ready')?.reason === 'ApplyFailed';
  });
}

/** Managed objects without a controller reference to a MeetingCluster that exists (by uid). */
export function orphans(cp: ControlPlane, objs = managedObjects(cp)): string[] {
  const live = new Set(cp.getJson('mc', '-A').items.map((m: any) => m.metadata.uid));
  return objs
    .filter((o) => !o.metadata.ownerReferences?.some((r: any) => r.kind === 'MeetingCluster' && r.controller && live.has(r.uid)))
    .map((o) => `${o.metadata.namespace}/${o.kind}/${o.metadata.name}`);
}

/** Generated Secrets: namespace/name -> uid and data. */
export function secretValues(cp: ControlPlane): Map<string, { uid: string; data: Record<string, string> }> {
  return new Map(cp.getJson('secrets', '-A', '-l', MANAGED).items.map((s: any) => [`${s.metadata.namespace}/${s.metadata.name}`, { uid: s.metadata.uid, data: s.data }]));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Time of a log line of the operator (pino's ISO `time`), for the first line with this message. */
export function loggedAt(logs: string[], msg: string, after = 0): number | undefined {
  for (const l of logs) {
    if (!l.includes(`"msg":"${msg}"`)) continue;
    const t = Date.parse(JSON.parse(l).time);
    if (t >= after) return t;
  }
  return undefined;
}

/** Waits for the operator to log `msg`; fails at once if it exits first. Returns the line's time. */
export async function waitLogged(op: OperatorProcess, msg: string, timeoutMs = 30_000, after = 0): Promise<number> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const t = loggedAt(op.logs, msg, after);
    if (t !== undefined) return t;
    if (op.proc.exitCode !== null || op.proc.signalCode !== null) throw new Error(`${op.identity} exited before logging "${msg}":\n${op.logs.slice(-20).join('\n')}`);
    if (Date.now() > end) throw new Error(`${op.identity} did not log "${msg}" within ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** Keys that occur more than once. */
export const repeated = (keys: string[]): string[] => {
  const n = new Map<string, number>();
  for (const k of keys) n.set(k, (n.get(k) ?? 0) + 1);
  return [...n].filter(([, c]) => c > 1).map(([k]) => k);
};
