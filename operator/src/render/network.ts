// NetworkPolicies. The SFU and coturn run on hostNetwork, where pod policies do not apply; what
// can be fenced is Redis: only this cluster's SFU (pods, or the node ranges host-network traffic
// comes from) may reach it, so nothing crosses ministries. The operator's pods may too, when it
// says which they are: it reads LiveKit's room placement there during upgrades (read only).
import type { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { RenderContext } from './context.js';
import { REDIS_PORT } from './config/paths.js';
import { objectName, selectorLabels, standardLabels, type Component, type SUFFIX } from '../api/names.js';

export function addNetworkPolicies(chart: Chart, ctx: RenderContext): void {
  const { mc } = ctx;
  if (mc.spec.redis.mode !== 'managed') return;
  const from: k8s.NetworkPolicyPeer[] = [
    { podSelector: { matchLabels: selectorLabels(mc, 'sfu') } },
    ...mc.spec.cloud.nodeCIDRs.map((cidr) => ({ ipBlock: { cidr } })),
  ];
  addIngressPolicy(chart, ctx, { suffix: 'netpolRedis', component: 'redis', from, port: REDIS_PORT });
}

/**
 * Only `from` (and the operator's own pods, when it says which they are) may reach `component`'s
 * pods on `port`: one policy per fenced component (Redis, the STT pool).
 */
export function addIngressPolicy(chart: Chart, ctx: RenderContext, p: { suffix: keyof typeof SUFFIX; component: Component; from: k8s.NetworkPolicyPeer[]; port: number }): void {
  const { mc } = ctx;
  const operator = ctx.options.operatorPeer;
  const from = [...p.from, ...(operator ? [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': operator.namespace } }, podSelector: { matchLabels: operator.podLabels } }] : [])];
  const name = objectName(mc, p.suffix);
  new k8s.KubeNetworkPolicy(chart, name, {
    metadata: { name, labels: standardLabels(mc, p.component) },
    spec: {
      podSelector: { matchLabels: selectorLabels(mc, p.component) },
      policyTypes: ['Ingress'],
      ingress: [{ from, ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(p.port) }] }],
    },
  });
}
