// The one helper every pod-running renderer (SFU, TURN, Redis) goes through, so the rules that
// make a pod production-safe are written once: explicit names and standard labels, non-root with
// a read-only root filesystem, one pod per node for host-network media, zone spreading, verbatim
// resource requests.
//
// Every renderer writes the Kubernetes objects themselves, through cdk8s' low-level `Kube*`
// classes (typed, and serialised exactly as given): what is applied is what is written here, with
// no construct-path labels or guessed defaults to patch back out. The fields a workload controller
// would default anyway (strategy, restart policy, ...) are written as the API server would, so that
// the operator owns them and a hand edit is undone on the next reconcile.
import type { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { ResourceRequirements, Toleration } from '../api/types.js';
import { standardLabels, selectorLabels, type Component } from '../api/names.js';
import type { RenderContext } from './context.js';

export interface PortSpec {
  name: string;
  port: number;
  protocol?: 'TCP' | 'UDP';
}

/** A volume and where the container sees it (read-only unless said otherwise). */
export interface Mount {
  volume: k8s.Volume;
  path: string;
  readOnly?: boolean;
  /** A directory inside the volume. */
  subPath?: string;
}

export interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports: PortSpec[];
  /** Variables taken from the downward API or a Secret (values never appear in a spec). */
  env?: Record<string, k8s.EnvVarSource>;
  /** Plain variables (no secret: those come through env). */
  values?: Record<string, string>;
  mounts?: Mount[];
  liveness?: k8s.Probe;
  readiness?: k8s.Probe;
  startup?: k8s.Probe;
  resources: ResourceRequirements;
}

/** A StatefulSet's own parts: its governing Service and one persistent volume per pod. */
export interface StatefulSpec {
  serviceName: string;
  claim: { name: string; path: string; spec: k8s.PersistentVolumeClaimSpec };
  /** What happens to the claims when the StatefulSet is deleted. */
  whenDeleted: 'Retain' | 'Delete';
}

export interface WorkloadSpec {
  component: Component;
  name: string;
  /** Omitted when something else (an HPA, the autoscaler) owns the replica count. */
  replicas?: number;
  /** Media pods bind host ports: at most one per node, with the node's addresses. */
  hostNetwork: boolean;
  user: number;
  terminationGracePeriodSeconds?: number;
  podAnnotations?: Record<string, string>;
  /** Labels beyond the standard ones that tell these pods from their component's others (an SFU slot). */
  podLabels?: Record<string, string>;
  /** The workload's selector, when it is not the component's (it must match podLabels). */
  selector?: Record<string, string>;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  /** Pin pods to these zones (empty: any zone). */
  zones?: string[];
  container: ContainerSpec;
  /** Helpers beside the main container (same user, same rules). */
  sidecars?: ContainerSpec[];
  /** One process namespace for the pod's containers: a sidecar may signal the main process. */
  shareProcessNamespace?: boolean;
  /** Present for a StatefulSet; a Deployment otherwise. */
  stateful?: StatefulSpec;
  /**
   * A Deployment replaced one pod at a time, with no surge pod: where every node already runs one
   * of its host-network pods, a surge pod could never bind its host ports, and a rollout that waits
   * for it would never end.
   */
  oneAtATime?: boolean;
}

/** Resource quantities as the k8s serialisers want them (they drop plain strings). */
export function quantities(map: Record<string, string | number>): Record<string, k8s.Quantity> {
  return Object.fromEntries(Object.entries(map).map(([k, v]) => [k, typeof v === 'number' ? k8s.Quantity.fromNumber(v) : k8s.Quantity.fromString(v)]));
}

const resourceRequirements = (r: ResourceRequirements): k8s.ResourceRequirements => ({
  ...(r.requests ? { requests: quantities(r.requests) } : {}),
  ...(r.limits ? { limits: quantities(r.limits) } : {}),
});

/** Probes: a TCP connect, or an HTTP GET (2xx/3xx) on the pod's address. */
export const tcpProbe = (port: number, periodSeconds: number, failureThreshold: number): k8s.Probe => ({
  tcpSocket: { port: k8s.IntOrString.fromNumber(port) },
  periodSeconds,
  failureThreshold,
});
export const httpProbe = (path: string, port: number, periodSeconds: number, failureThreshold: number): k8s.Probe => ({
  httpGet: { path, port: k8s.IntOrString.fromNumber(port), scheme: 'HTTP' },
  periodSeconds,
  failureThreshold,
});

/** The node's own address, from the downward API. */
export const NODE_IP: k8s.EnvVarSource = { fieldRef: { fieldPath: 'status.hostIP' } };

function container(spec: WorkloadSpec, c: ContainerSpec): k8s.Container {
  const env = [...Object.entries(c.values ?? {}).map(([name, value]) => ({ name, value })), ...Object.entries(c.env ?? {}).map(([name, valueFrom]) => ({ name, valueFrom }))];
  const mounts: k8s.VolumeMount[] = (c.mounts ?? []).map((m) => ({ name: m.volume.name, mountPath: m.path, readOnly: m.readOnly ?? true, ...(m.subPath ? { subPath: m.subPath } : {}) }));
  if (spec.stateful && c === spec.container) mounts.push({ name: spec.stateful.claim.name, mountPath: spec.stateful.claim.path });
  const ports = c.ports.map((p) => ({
    name: p.name,
    containerPort: p.port,
    // Declaring the host ports lets the scheduler refuse a second pod on a node whose ports are taken.
    ...(spec.hostNetwork ? { hostPort: p.port } : {}),
    protocol: p.protocol ?? 'TCP',
  }));
  return {
    name: c.name,
    image: c.image,
    imagePullPolicy: 'IfNotPresent',
    ...(c.command ? { command: c.command } : {}),
    ...(c.args ? { args: c.args } : {}),
    ...(env.length ? { env } : {}),
    ...(ports.length ? { ports } : {}),
    ...(c.liveness ? { livenessProbe: c.liveness } : {}),
    ...(c.readiness ? { readinessProbe: c.readiness } : {}),
    ...(c.startup ? { startupProbe: c.startup } : {}),
    resources: resourceRequirements(c.resources),
    securityContext: {
      runAsUser: spec.user,
      runAsGroup: spec.user,
      runAsNonRoot: true,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ['ALL'] },
    },
    volumeMounts: mounts,
  };
}

function podTemplate(ctx: RenderContext, spec: WorkloadSpec): k8s.PodTemplateSpec {
  // One pod per node and zone spreading count the pods like these (one SFU slot's, not the other's).
  const select = { ...selectorLabels(ctx.mc, spec.component), ...spec.podLabels };
  const affinity = podAffinity(ctx, spec, select);
  const containers = [spec.container, ...(spec.sidecars ?? [])];
  // Each volume once, in the order the containers first mount it.
  const volumes = [...new Map(containers.flatMap((c) => c.mounts ?? []).map((m) => [m.volume.name, m.volume])).values()];
  return {
    metadata: { labels: { ...standardLabels(ctx.mc, spec.component), ...spec.podLabels }, annotations: spec.podAnnotations ?? {} },
    spec: {
      containers: containers.map((c) => container(spec, c)),
      ...(spec.shareProcessNamespace ? { shareProcessNamespace: true } : {}),
      hostNetwork: spec.hostNetwork,
      dnsPolicy: spec.hostNetwork ? 'ClusterFirstWithHostNet' : 'ClusterFirst',
      automountServiceAccountToken: false,
      // A Service named like an env prefix (e.g. "livekit") would inject LIVEKIT_PORT and break start-up.
      enableServiceLinks: false,
      restartPolicy: 'Always',
      setHostnameAsFqdn: false,
      securityContext: {
        runAsUser: spec.user,
        runAsGroup: spec.user,
        runAsNonRoot: true,
        fsGroup: spec.user,
        fsGroupChangePolicy: 'Always',
        seccompProfile: { type: 'RuntimeDefault' },
      },
      ...(spec.terminationGracePeriodSeconds === undefined ? {} : { terminationGracePeriodSeconds: spec.terminationGracePeriodSeconds }),
      ...(volumes.length ? { volumes } : {}),
      ...(affinity ? { affinity } : {}),
      ...(spec.hostNetwork ? { topologySpreadConstraints: [zoneSpread(ctx, select)] } : {}),
      ...(spec.nodeSelector && Object.keys(spec.nodeSelector).length ? { nodeSelector: spec.nodeSelector } : {}),
      ...(spec.tolerations?.length ? { tolerations: spec.tolerations } : {}),
    },
  };
}

/** A Deployment, or a StatefulSet when the spec has its stateful parts. */
export function addWorkload(chart: Chart, ctx: RenderContext, spec: WorkloadSpec): void {
  const metadata = { name: spec.name, labels: { ...standardLabels(ctx.mc, spec.component), ...spec.podLabels } };
  const common = {
    minReadySeconds: 0,
    // Absent when an HPA or the autoscaler owns the count: applying any value would fight it.
    ...(spec.replicas === undefined ? {} : { replicas: spec.replicas }),
    selector: { matchLabels: spec.selector ?? selectorLabels(ctx.mc, spec.component) },
    template: podTemplate(ctx, spec),
  };
  const { stateful } = spec;
  if (!stateful) {
    new k8s.KubeDeployment(chart, `deployment-${spec.name}`, {
      metadata,
      spec: {
        ...common,
        progressDeadlineSeconds: 600,
        strategy: {
          type: 'RollingUpdate',
          rollingUpdate: spec.oneAtATime
            ? { maxSurge: k8s.IntOrString.fromNumber(0), maxUnavailable: k8s.IntOrString.fromNumber(1) }
            : { maxSurge: k8s.IntOrString.fromString('25%'), maxUnavailable: k8s.IntOrString.fromString('25%') },
        },
      },
    });
    return;
  }
  new k8s.KubeStatefulSet(chart, `statefulset-${spec.name}`, {
    metadata,
    spec: {
      ...common,
      serviceName: stateful.serviceName,
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      volumeClaimTemplates: [{ metadata: { name: stateful.claim.name, labels: metadata.labels }, spec: stateful.claim.spec }],
      // The StatefulSet controller deletes (or keeps) the claims with the StatefulSet, which garbage
      // collection removes with the MeetingCluster: a delete policy needs no finalizer.
      persistentVolumeClaimRetentionPolicy: { whenDeleted: stateful.whenDeleted, whenScaled: 'Retain' },
    },
  });
}

function zoneSpread(ctx: RenderContext, select: Record<string, string>): k8s.TopologySpreadConstraint {
  return {
    maxSkew: 1,
    topologyKey: ctx.profile.zoneLabel,
    // Meetings matter more than balance: never leave a pod Pending because a zone is short.
    whenUnsatisfiable: 'ScheduleAnyway',
    labelSelector: { matchLabels: select },
  };
}

function podAffinity(ctx: RenderContext, spec: WorkloadSpec, select: Record<string, string>): k8s.Affinity | undefined {
  const affinity: k8s.Affinity = {
    ...(spec.hostNetwork ? { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: select } }] } } : {}),
    ...(spec.zones?.length
      ? { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: ctx.profile.zoneLabel, operator: 'In', values: spec.zones }] }] } } }
      : {}),
  };
  return Object.keys(affinity).length ? affinity : undefined;
}

/** A PodDisruptionBudget letting voluntary evictions take one pod of a component at a time. */
export function addDisruptionBudget(chart: Chart, ctx: RenderContext, component: Component, name: string): void {
  new k8s.KubePodDisruptionBudget(chart, `pdb-${name}`, {
    metadata: { name, labels: standardLabels(ctx.mc, component) },
    spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: selectorLabels(ctx.mc, component) } },
  });
}
