// Autoscaling modes on the real control plane (the end-to-end run with real LiveKit processes and
// participants is operator/test/e2e/scaling.test.ts). Here the kwok SFU pods have no process behind
// their addresses: the operator must treat them as of unknown load, never as empty.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crdsEstablished, ensureNamespace, eventually, kubectl, kubectlOk } from './kubectl.js';
import { apply, condition, getJson, lightManifest, tryGet } from './meetingcluster.js';
import { logged, startOperator, type OperatorProcess } from './operator-process.js';

const NS = { unknown: 'it-scale-unknown', fixed: 'it-scale-fixed', cpu: 'it-scale-cpu' };
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

const light = (ns: string, autoscaling: object, mutate: (m: any) => void = () => {}) =>
  lightManifest(ns, (m) => {
    m.spec.autoscaling = autoscaling;
    mutate(m);
  });

const deploymentReplicas = (ns: string) => tryGet('deployment', 'visio-sfu', '-n', ns)?.spec?.replicas;
const scaling = (ns: string) => condition(tryGet('mc', 'visio', '-n', ns), 'ScalingActive');

let op: OperatorProcess;

beforeAll(async () => {
  kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', 'crds/']);
  await crdsEstablished('meetingclusters.meet.sovereign.io');
  for (const ns of Object.values(NS)) ensureNamespace(ns);
  op = startOperator('op-scaling', ['--leader-election-name', 'meet-operator-scaling-it', '--resync-seconds', '5', '--scaling-interval-seconds', '1', '--scrape-timeout-seconds', '1']);
  await eventually('operator leading', () => (logged(op, 'starting workers') ? true : undefined), 30_000);
});

afterAll(async () => {
  await op?.stop();
  kubectl(['delete', 'namespace', ...Object.values(NS), '--ignore-not-found', '--timeout=120s']);
});

describe('autoscaling, metric participants', () => {
  it('raises the SFU to minReplicas, and never scales down pods whose load it cannot read', async () => {
    apply(light(NS.unknown, { enabled: true, minReplicas: 3, maxReplicas: 5, targetParticipantsPerNode: 10, scaleDownDelaySeconds: 0 }));
    await eventually('3 SFU pods Running', () => (getJson('pods', '-n', NS.unknown, '-l', 'app.kubernetes.io/component=sfu', '--field-selector=status.phase=Running').items.length === 3 ? true : undefined), 90_000);
    // Every pod address is a kwok node's: nothing answers there.
    const held = await eventually('ScalingActive reports unreadable pods', () => {
      const c = scaling(NS.unknown);
      return c?.status === 'True' && /3 unreadable/.test(c.message) ? c : undefined;
    }, 60_000);
    console.log(`ScalingActive with unreachable pods: ${held.reason}: ${held.message}`);

    // Lower the floor: the load (0 participants known) would fit 1 pod, at once (delay 0) — but the
    // three pods are unknown, so nothing may go.
    apply(light(NS.unknown, { enabled: true, minReplicas: 1, maxReplicas: 5, targetParticipantsPerNode: 10, scaleDownDelaySeconds: 0 }));
    const c = await eventually('MetricsUnknown', () => (scaling(NS.unknown)?.reason === 'MetricsUnknown' ? scaling(NS.unknown) : undefined), 60_000);
    expect(c.message).toMatch(/not scaling down while the load of 3 pods is unknown/);
    await settle(5_000); // several autoscaler rounds
    expect(deploymentReplicas(NS.unknown)).toBe(3);
    const mc = getJson('mc', 'visio', '-n', NS.unknown);
    expect(mc.status).toMatchObject({ participants: 0, rooms: 0, desiredReplicas: 3 });
    // No pod was given a deletion cost: there was no scale-down to prepare.
    const pods = getJson('pods', '-n', NS.unknown, '-l', 'app.kubernetes.io/component=sfu').items;
    expect(pods.filter((p: any) => p.metadata.annotations?.['controller.kubernetes.io/pod-deletion-cost'])).toHaveLength(0);

    // maxReplicas lowered under what runs: honoured (the user's explicit bound), emptiest first.
    apply(light(NS.unknown, { enabled: true, minReplicas: 1, maxReplicas: 2, targetParticipantsPerNode: 10, scaleDownDelaySeconds: 0 }));
    await eventually('SFU scaled to maxReplicas 2', () => (deploymentReplicas(NS.unknown) === 2 ? true : undefined), 60_000);
    const costs = getJson('pods', '-n', NS.unknown, '-l', 'app.kubernetes.io/component=sfu').items.map((p: any) => p.metadata.annotations?.['controller.kubernetes.io/pod-deletion-cost']);
    // Unknown load is priced as busy (int32 max) on every pod, set before the replicas went down.
    expect(costs.filter((x: string | undefined) => x === '2147483647').length).toBeGreaterThanOrEqual(2);
    const events = getJson('events', '-n', NS.unknown, '--field-selector', 'involvedObject.kind=MeetingCluster,reason=ScaledDown').items;
    expect(events.map((e: any) => e.message).join('\n')).toMatch(/SFU 3 -> 2 pods: (.*above maxReplicas 2|spec.autoscaling allows 1-2 SFU pods)/);
  });
});

describe('autoscaling off: the scale subresource', () => {
  it('kubectl scale sets spec.sfu.replicas and the SFU follows', async () => {
    apply(light(NS.fixed, { enabled: false }, (m) => (m.spec.sfu.replicas = 1)));
    await eventually('SFU at 1', () => (deploymentReplicas(NS.fixed) === 1 ? true : undefined), 60_000);
    kubectlOk(['scale', 'meetingcluster/visio', '-n', NS.fixed, '--replicas=3']);
    await eventually('SFU at 3', () => (deploymentReplicas(NS.fixed) === 3 ? true : undefined), 60_000);
    const mc = await eventually('status.replicas 3', () => {
      const m = tryGet('mc', 'visio', '-n', NS.fixed);
      return m?.status?.replicas === 3 ? m : undefined;
    }, 90_000);
    expect(mc.spec.sfu.replicas).toBe(3);
    expect(condition(mc, 'ScalingActive')).toMatchObject({ status: 'False', reason: 'Disabled' });
    // The scale subresource reads back what it set, with the selector an HPA would use.
    const scale = JSON.parse(kubectlOk(['get', '--raw', `/apis/meet.sovereign.io/v1alpha1/namespaces/${NS.fixed}/meetingclusters/visio/scale`]));
    expect(scale.spec.replicas).toBe(3);
    expect(scale.status).toMatchObject({ replicas: 3, selector: 'app.kubernetes.io/instance=visio,app.kubernetes.io/component=sfu' });
  });
});

describe('autoscaling, metric cpu', () => {
  it('renders an HPA and leaves the replica count to it', async () => {
    apply(light(NS.cpu, { enabled: true, metric: 'cpu', minReplicas: 2, maxReplicas: 4, targetCPUUtilizationPercentage: 70, scaleDownDelaySeconds: 600 }));
    const hpa = await eventually('HPA', () => tryGet('hpa', 'visio-sfu', '-n', NS.cpu), 60_000);
    expect(hpa.spec).toMatchObject({ minReplicas: 2, maxReplicas: 4, scaleTargetRef: { kind: 'Deployment', name: 'visio-sfu' }, behavior: { scaleDown: { stabilizationWindowSeconds: 600 } } });
    expect(hpa.spec.metrics[0].resource).toMatchObject({ name: 'cpu', target: { averageUtilization: 70 } });
    await eventually('ScalingActive HorizontalPodAutoscaler', () => (scaling(NS.cpu)?.reason === 'HorizontalPodAutoscaler' ? true : undefined), 60_000);
    // What the HPA would do: scale the Deployment. The operator must not fight it, not even when
    // a spec change makes it apply the Deployment again.
    kubectlOk(['scale', 'deployment/visio-sfu', '-n', NS.cpu, '--replicas=4']);
    apply(light(NS.cpu, { enabled: true, metric: 'cpu', minReplicas: 2, maxReplicas: 4, targetCPUUtilizationPercentage: 70, scaleDownDelaySeconds: 600 }, (m) => (m.spec.sfu.image = `${m.spec.sfu.image.split(':')[0]}:v1.13.4`)));
    await eventually('SFU image changed', () => (tryGet('deployment', 'visio-sfu', '-n', NS.cpu)?.spec?.template?.spec?.containers?.[0]?.image?.endsWith(':v1.13.4') ? true : undefined), 60_000);
    await settle(3_000);
    expect(deploymentReplicas(NS.cpu)).toBe(4);
  });
});
