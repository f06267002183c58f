// Services: every LoadBalancer carries TCP ports only (Outscale rejects a Service with any UDP
// port; media UDP reaches the nodes directly over hostNetwork).
import type { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import type { RenderContext } from './context.js';
import { selectorLabels, standardLabels, type Component } from '../api/names.js';

export interface ServiceSpec {
  name: string;
  component: Component;
  /** Component whose pods receive the traffic (defaults to component). */
  target?: Component;
  type: 'LoadBalancer' | 'ClusterIP' | 'Headless';
  /** A named targetPort follows the pods' container port of that name (both SFU slots). */
  ports: { name: string; port: number; targetPort: number | string }[];
  annotations?: Record<string, string>;
}

export function addService(chart: Chart, ctx: RenderContext, spec: ServiceSpec): void {
  new k8s.KubeService(chart, `service-${spec.name}`, {
    metadata: { name: spec.name, labels: standardLabels(ctx.mc, spec.component), annotations: spec.annotations ?? {} },
    spec: {
      type: spec.type === 'LoadBalancer' ? 'LoadBalancer' : 'ClusterIP',
      ...(spec.type === 'Headless' ? { clusterIp: 'None' } : {}),
      selector: selectorLabels(ctx.mc, spec.target ?? spec.component),
      ports: spec.ports.map((p) => ({ name: p.name, port: p.port, targetPort: typeof p.targetPort === 'number' ? k8s.IntOrString.fromNumber(p.targetPort) : k8s.IntOrString.fromString(p.targetPort), protocol: 'TCP' })),
      // Host-network pods already sit on the node: keep client IPs and skip the extra kube-proxy hop.
      ...(spec.type === 'LoadBalancer' ? { externalTrafficPolicy: 'Local' } : {}),
    },
  });
}

/** Annotations of a TCP load balancer for this cluster's cloud profile. */
export const loadBalancerAnnotations = (ctx: RenderContext, port: number, certificate?: string): Record<string, string> =>
  ctx.profile.loadBalancerAnnotations({ lb: ctx.mc.spec.cloud.loadBalancer, port, ...(certificate ? { certificate } : {}) });
