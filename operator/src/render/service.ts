// Services: every LoadBalancer carries TCP ports only (Outscale rejects a Service with any UDP
// port; media UDP reaches the nodes directly over hostNetwork).
import { ApiObject, JsonPatch, type Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-27';
import type { RenderContext } from './context.js';
import { selectorLabels, standardLabels, type Component } from '../api/names.js';

export interface ServiceSpec {
  name: string;
  component: Component;
  /** Component whose pods receive the traffic (defaults to component). */
  target?: Component;
  type: 'LoadBalancer' | 'ClusterIP' | 'Headless';
  ports: { name: string; port: number; targetPort: number }[];
  annotations?: Record<string, string>;
}

export function addService(chart: Chart, ctx: RenderContext, spec: ServiceSpec): kplus.Service {
  const svc = new kplus.Service(chart, `service-${spec.name}`, {
    metadata: { name: spec.name, labels: standardLabels(ctx.mc, spec.component), annotations: spec.annotations ?? {} },
    type: spec.type === 'LoadBalancer' ? kplus.ServiceType.LOAD_BALANCER : kplus.ServiceType.CLUSTER_IP,
    ...(spec.type === 'Headless' ? { clusterIP: 'None' } : {}),
    ports: spec.ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.targetPort, protocol: kplus.Protocol.TCP })),
  });
  const api = ApiObject.of(svc);
  api.addJsonPatch(JsonPatch.add('/spec/selector', selectorLabels(ctx.mc, spec.target ?? spec.component)));
  // cdk8s-plus writes an empty externalIPs list; applied, it would claim a field we never set.
  api.addJsonPatch(JsonPatch.remove('/spec/externalIPs'));
  if (spec.type === 'LoadBalancer') {
    // Host-network pods already sit on the node: keep client IPs and skip the extra kube-proxy hop.
    api.addJsonPatch(JsonPatch.add('/spec/externalTrafficPolicy', 'Local'));
  }
  return svc;
}

/** Annotations of a TCP load balancer for this cluster's cloud profile. */
export const loadBalancerAnnotations = (ctx: RenderContext, port: number, certificate?: string): Record<string, string> =>
  ctx.profile.loadBalancerAnnotations({ lb: ctx.mc.spec.cloud.loadBalancer, port, ...(certificate ? { certificate } : {}) });
