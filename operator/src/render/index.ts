// renderCluster: a defaulted, validated MeetingCluster (+ generated secret values) -> every
// Kubernetes object the operator owns for it. Pure: no I/O, no clock, no randomness.
import { App, Chart } from 'cdk8s';
import type { MeetingCluster } from '../api/types.js';
import type { RenderedObject } from '../kube/object.js';
import { renderContext, type GeneratedSecrets, type RenderOptions } from './context.js';
import { addNetworkPolicies } from './network.js';
import { addRedis } from './redis.js';
import { addCpuAutoscaler } from './cpu-autoscaler.js';
import { addConnectivityCheck } from './connectivity-check.js';
import { addGeneratedSecrets } from './secrets.js';
import { addSfu } from './sfu.js';
import { addSubtitles } from './subtitles.js';
import { addTurn } from './turn.js';

export type { GeneratedSecrets, RenderOptions } from './context.js';
export type { RenderedObject } from '../kube/object.js';

/** Apply order: what others reference first (as Helm orders an install). */
const KIND_ORDER = ['Secret', 'ConfigMap', 'Certificate', 'ServiceAccount', 'Role', 'RoleBinding', 'Service', 'StatefulSet', 'Deployment', 'PodDisruptionBudget', 'HorizontalPodAutoscaler', 'NetworkPolicy', 'ServiceMonitor', 'CronJob'];

export function renderCluster(mc: MeetingCluster, secrets: GeneratedSecrets, options: RenderOptions = {}): RenderedObject[] {
  const ctx = renderContext(mc, secrets, options);
  const app = new App();
  const chart = new Chart(app, mc.metadata.name, { namespace: mc.metadata.namespace, disableResourceNameHashes: true });
  addGeneratedSecrets(chart, ctx);
  addSfu(chart, ctx);
  addTurn(chart, ctx);
  addRedis(chart, ctx);
  addNetworkPolicies(chart, ctx);
  addCpuAutoscaler(chart, ctx);
  addConnectivityCheck(chart, ctx);
  addSubtitles(chart, ctx);
  const objects = chart.toJson() as RenderedObject[];
  const rank = (o: RenderedObject) => KIND_ORDER.indexOf(o.kind);
  return objects.sort((a, b) => rank(a) - rank(b) || a.metadata.name.localeCompare(b.metadata.name));
}
