// NetworkPolicies. The SFU and coturn run on hostNetwork, where pod policies do not apply; what
// can be fenced is Redis: only this cluster's SFU (pods, or the node ranges host-network traffic
// comes from) may reach it, so nothing crosses ministries. The operator's pods may too, when it
// says which they are: it reads LiveKit's room placement there during upgrades (read only).
import type { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { RenderContext } from './context.js';
import { REDIS_PORT } from './config/paths.js';
import { objectName, selectorLabels, standardLabels } from '../api/names.js';

export function addNetworkPolicies(chart: Chart, ctx: RenderContext): void {
  const { mc } = ctx;
  if (mc.spec.redis.mode !== 'managed') return;
  const from: k8s.NetworkPolicyPeer[] = [
    { podSelector: { matchLabels: selectorLabels(mc, 'sfu') } },
    ...mc.spec.cloud.nodeCIDRs.map((cidr) => ({ ipBlock: { cidr } })),
  ];
  const operator = ctx.options.operatorPeer;
  if (operator) from.push({ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': operator.namespace } }, podSelector: { matchLabels: operator.podLabels } });
  new k8s.KubeNetworkPolicy(chart, objectName(mc, 'netpolRedis'), {
    metadata: { name: objectName(mc, 'netpolRedis'), labels: standardLabels(mc, 'redis') },
    spec: {
      podSelector: { matchLabels: selectorLabels(mc, 'redis') },
      policyTypes: ['Ingress'],
      ingress: [{ from, ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(REDIS_PORT) }] }],
    },
  });
}
