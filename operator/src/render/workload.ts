// The one helper every pod-running renderer (SFU, TURN, Redis) goes through, so the rules that
// make a pod production-safe are written once: explicit names and standard labels, non-root with
// a read-only root filesystem, one pod per node for host-network media, zone spreading, verbatim
// resource requests, and none of cdk8s-plus' construct-path labels or guessed defaults.
import { ApiObject, Duration, JsonPatch, type Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import type { ResourceRequirements, Toleration } from '../api/types.js';
import { standardLabels, selectorLabels, type Component } from '../api/names.js';
import type { RenderContext } from './context.js';

export interface PortSpec {
  name: string;
  port: number;
  protocol?: 'TCP' | 'UDP';
}

export interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  ports: PortSpec[];
  env?: Record<string, kplus.EnvValue>;
  mounts?: { volume: kplus.Volume; path: string; readOnly?: boolean }[];
  liveness?: kplus.Probe;
  readiness?: kplus.Probe;
  startup?: kplus.Probe;
  resources: ResourceRequirements;
}

export interface WorkloadSpec {
  component: Component;
  name: string;
  kind: 'Deployment' | 'StatefulSet';
  /** Omitted when something else (an HPA, the autoscaler) owns the replica count. */
  replicas?: number;
  /** Media pods bind host ports: at most one per node, with the node's addresses. */
  hostNetwork: boolean;
  user: number;
  terminationGracePeriodSeconds?: number;
  podAnnotations?: Record<string, string>;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  /** Pin pods to these zones (empty: any zone). */
  zones?: string[];
  container: ContainerSpec;
  /** For StatefulSets: the governing (headless) Service. */
  service?: kplus.Service;
}

const CONTAINER = '/spec/template/spec/containers/0';

/**
 * Patches on typed cdk8s-plus objects pass through the generated k8s serialisers, which drop
 * quantities given as plain strings: wrap them in k8s.Quantity.
 */
export function quantities(map: Record<string, string | number> | undefined): Record<string, kplus.k8s.Quantity> | undefined {
  if (!map) return undefined;
  return Object.fromEntries(
    Object.entries(map).map(([k, v]) => [k, typeof v === 'number' ? kplus.k8s.Quantity.fromNumber(v) : kplus.k8s.Quantity.fromString(v)]),
  );
}

const resourceRequirements = (r: ResourceRequirements) => ({
  ...(r.requests ? { requests: quantities(r.requests) } : {}),
  ...(r.limits ? { limits: quantities(r.limits) } : {}),
});

function hostPorts(ports: PortSpec[]): kplus.ContainerPort[] {
  return ports.map((p) => ({
    name: p.name,
    number: p.port,
    protocol: p.protocol === 'UDP' ? kplus.Protocol.UDP : kplus.Protocol.TCP,
  }));
}

export function addWorkload(chart: Chart, ctx: RenderContext, spec: WorkloadSpec): kplus.Deployment | kplus.StatefulSet {
  const labels = standardLabels(ctx.mc, spec.component);
  const select = selectorLabels(ctx.mc, spec.component);
  const common = {
    metadata: { name: spec.name, labels },
    podMetadata: { labels, annotations: spec.podAnnotations ?? {} },
    select: false,
    spread: false,
    hostNetwork: spec.hostNetwork,
    automountServiceAccountToken: false,
    dns: spec.hostNetwork ? { policy: kplus.DnsPolicy.CLUSTER_FIRST_WITH_HOST_NET } : undefined,
    terminationGracePeriod: spec.terminationGracePeriodSeconds === undefined ? undefined : Duration.seconds(spec.terminationGracePeriodSeconds),
    securityContext: { user: spec.user, group: spec.user, fsGroup: spec.user, ensureNonRoot: true },
    ...(spec.replicas === undefined ? {} : { replicas: spec.replicas }),
  };
  const workload =
    spec.kind === 'Deployment'
      ? new kplus.Deployment(chart, `deployment-${spec.name}`, common)
      : new kplus.StatefulSet(chart, `statefulset-${spec.name}`, { ...common, service: spec.service! });
  workload.select(kplus.LabelSelector.of({ labels: select }));

  const c = spec.container;
  workload.addContainer({
    name: c.name,
    image: c.image,
    imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
    ...(c.command ? { command: c.command } : {}),
    ...(c.args ? { args: c.args } : {}),
    ports: hostPorts(c.ports),
    envVariables: c.env ?? {},
    volumeMounts: (c.mounts ?? []).map((m) => ({ volume: m.volume, path: m.path, readOnly: m.readOnly ?? true })),
    ...(c.liveness ? { liveness: c.liveness } : {}),
    ...(c.readiness ? { readiness: c.readiness } : {}),
    ...(c.startup ? { startup: c.startup } : {}),
    resources: {},
    securityContext: { user: spec.user, group: spec.user, ensureNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, privileged: false },
  });

  const api = ApiObject.of(workload);
  // cdk8s-plus labels pods with a construct-path hash; object identity here is the explicit name.
  api.addJsonPatch(JsonPatch.remove('/spec/template/metadata/labels/cdk8s.io~1metadata.addr'));
  // A Service named like an env prefix (e.g. "livekit") would inject LIVEKIT_PORT and break start-up.
  api.addJsonPatch(JsonPatch.add('/spec/template/spec/enableServiceLinks', false));
  // cdk8s-plus defaults replicas to 2; when an HPA owns the count, applying any value would fight it.
  if (spec.replicas === undefined) api.addJsonPatch(JsonPatch.remove('/spec/replicas'));
  api.addJsonPatch(JsonPatch.add(`${CONTAINER}/resources`, resourceRequirements(c.resources)));
  api.addJsonPatch(JsonPatch.add(`${CONTAINER}/securityContext/capabilities`, { drop: ['ALL'] }));
  api.addJsonPatch(JsonPatch.add('/spec/template/spec/securityContext/seccompProfile', { type: 'RuntimeDefault' }));
  if (spec.hostNetwork) {
    // Declaring the host ports lets the scheduler refuse a second pod on a node whose ports are taken.
    c.ports.forEach((p, i) => api.addJsonPatch(JsonPatch.add(`${CONTAINER}/ports/${i}/hostPort`, p.port)));
  }
  const affinity = podAffinity(ctx, spec, select);
  if (affinity) api.addJsonPatch(JsonPatch.add('/spec/template/spec/affinity', affinity));
  if (spec.hostNetwork) api.addJsonPatch(JsonPatch.add('/spec/template/spec/topologySpreadConstraints', [zoneSpread(ctx, select)]));
  if (spec.nodeSelector && Object.keys(spec.nodeSelector).length) {
    api.addJsonPatch(JsonPatch.add('/spec/template/spec/nodeSelector', spec.nodeSelector));
  }
  if (spec.tolerations?.length) api.addJsonPatch(JsonPatch.add('/spec/template/spec/tolerations', spec.tolerations));
  return workload;
}

function zoneSpread(ctx: RenderContext, select: Record<string, string>) {
  return {
    maxSkew: 1,
    topologyKey: ctx.profile.zoneLabel,
    // Meetings matter more than balance: never leave a pod Pending because a zone is short.
    whenUnsatisfiable: 'ScheduleAnyway',
    labelSelector: { matchLabels: select },
  };
}

function podAffinity(ctx: RenderContext, spec: WorkloadSpec, select: Record<string, string>) {
  const affinity: Record<string, unknown> = {};
  if (spec.hostNetwork) {
    affinity.podAntiAffinity = {
      requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: select } }],
    };
  }
  if (spec.zones?.length) {
    affinity.nodeAffinity = {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: ctx.profile.zoneLabel, operator: 'In', values: spec.zones }] }],
      },
    };
  }
  return Object.keys(affinity).length ? affinity : undefined;
}

/** A PodDisruptionBudget letting voluntary evictions take one pod of a component at a time. */
export function addDisruptionBudget(chart: Chart, ctx: RenderContext, component: Component, name: string): void {
  new kplus.k8s.KubePodDisruptionBudget(chart, `pdb-${name}`, {
    metadata: { name, labels: standardLabels(ctx.mc, component) },
    spec: { maxUnavailable: kplus.k8s.IntOrString.fromNumber(1), selector: { matchLabels: selectorLabels(ctx.mc, component) } },
  });
}
