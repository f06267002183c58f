// CPU mode of autoscaling: an autoscaling/v2 HPA on the SFU Deployment, with a scale-down
// stabilisation window so a dip between meetings does not remove nodes. (Participants mode
// renders nothing: the operator sets the replica count itself.)
import type { Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-27';
import { scalingMode } from '../api/autoscaling.js';
import type { RenderContext } from './context.js';
import { objectName, standardLabels } from '../api/names.js';

export function addCpuAutoscaler(chart: Chart, ctx: RenderContext): void {
  const { mc } = ctx;
  const { autoscaling } = mc.spec;
  if (scalingMode(autoscaling) !== 'cpu') return;
  new k8s.KubeHorizontalPodAutoscalerV2(chart, `${objectName(mc, 'sfu')}-hpa`, {
    metadata: { name: objectName(mc, 'sfu'), labels: standardLabels(mc, 'sfu') },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: objectName(mc, 'sfu') },
      minReplicas: autoscaling.minReplicas,
      maxReplicas: autoscaling.maxReplicas,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: autoscaling.targetCPUUtilizationPercentage } } },
      ],
      behavior: {
        scaleDown: { stabilizationWindowSeconds: autoscaling.scaleDownDelaySeconds, selectPolicy: 'Min', policies: [{ type: 'Pods', value: 1, periodSeconds: 60 }] },
        scaleUp: { stabilizationWindowSeconds: 0, policies: [{ type: 'Percent', value: 100, periodSeconds: 30 }] },
      },
    },
  });
}
