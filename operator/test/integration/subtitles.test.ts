// spec.subtitles on the real control plane (kwok nodes): the STT pool's pods ask for a GPU, so the
// real scheduler places them only on a node that offers one, and a pod beyond the GPUs there is
// Pending for it. The agent pods go anywhere. The images are not built yet (README "Subtitles"): kwok
// runs no container, so this proves the objects and their scheduling, not the programs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logged, startOperator, type OperatorProcess } from './operator-process.js';
import { crdsEstablished, ensureNamespace, eventually, kubectl, kubectlOk } from './kubectl.js';
import { apply, condition, getJson, lightManifest, tryGet } from './meetingcluster.js';

const NS = 'it-subtitles';
const GPU_NODE = 'kwok-gpu-1';
const PV = 'it-stt-models';

let op: OperatorProcess;

/** A kwok node like the others, with one GPU (the device plugin's extended resource). */
const gpuNode = {
  apiVersion: 'v1',
  kind: 'Node',
  metadata: {
    name: GPU_NODE,
    annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
    labels: { 'kubernetes.io/hostname': GPU_NODE, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64', 'node.kubernetes.io/instance-type': 'tinav6-gpu', 'topology.kubernetes.io/region': 'cloudgouv-eu-west-1', 'topology.kubernetes.io/zone': 'cloudgouv-eu-west-1a', type: 'kwok-gpu' },
  },
  status: {
    addresses: [{ type: 'InternalIP', address: '10.0.1.10' }],
    allocatable: { cpu: '16', memory: '64Gi', pods: '110', 'nvidia.com/gpu': '1' },
    capacity: { cpu: '16', memory: '64Gi', pods: '110', 'nvidia.com/gpu': '1' },
    nodeInfo: { architecture: 'amd64', operatingSystem: 'linux' },
  },
};

beforeAll(async () => {
  kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', 'crds/']);
  await crdsEstablished('meetingclusters.meet.sovereign.io');
  kubectlOk(['apply', '--server-side', '-f', '-'], JSON.stringify(gpuNode));
  ensureNamespace(NS);
  // The model claim, bound to a volume made for it (the files do not matter: no container runs).
  kubectlOk(['apply', '--server-side', '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: PV },
    spec: { capacity: { storage: '10Gi' }, accessModes: ['ReadOnlyMany'], persistentVolumeReclaimPolicy: 'Retain', storageClassName: '', hostPath: { path: '/tmp/it-stt-models' }, claimRef: { namespace: NS, name: 'stt-models' } },
  }));
  kubectlOk(['apply', '--server-side', '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'stt-models', namespace: NS },
    spec: { accessModes: ['ReadOnlyMany'], storageClassName: '', volumeName: PV, resources: { requests: { storage: '10Gi' } } },
  }));
  op = startOperator('op-subtitles', ['--leader-election-name', 'meet-operator-it-subtitles', '--resync-seconds', '3']);
  await eventually('operator leading', () => (logged(op, 'starting workers') ? true : undefined), 30_000);
});

afterAll(async () => {
  await op?.stop();
  kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--timeout=120s']);
  kubectl(['delete', 'pv', PV, '--ignore-not-found']);
  kubectl(['delete', 'node', GPU_NODE, '--ignore-not-found']);
});

const podsOf = (component: string) => getJson('pods', '-n', NS, '-l', `app.kubernetes.io/component=${component}`).items.filter((p: any) => !p.metadata.deletionTimestamp);

describe('spec.subtitles on kwok nodes', () => {
  it('STT pods that ask for a GPU run only on the node that has one; one more waits Pending for it', async () => {
    // The example allows only its ministry's registry: the pools' images come from there too.
    const images = { stt: 'registry.interieur.example/meet-operator/moshi-server:0.6.4', agent: 'registry.interieur.example/meet-operator/subtitle-agent:0.1.0' };
    apply(lightManifest(NS, (m) => (m.spec.subtitles = {
      stt: { image: images.stt, minPods: 2, maxPods: 2, gpu: { count: 1 }, resources: { requests: { cpu: '1', memory: '1Gi' } }, model: { pvc: { claimName: 'stt-models' } } },
      agent: { image: images.agent },
    })));
    const stt = await eventually('one STT pod running, one Pending', () => {
      const pods = podsOf('stt');
      const running = pods.filter((p: any) => p.status?.phase === 'Running');
      const pending = pods.filter((p: any) => p.status?.conditions?.some((c: any) => c.type === 'PodScheduled' && c.status === 'False'));
      return running.length === 1 && pending.length === 1 ? { running: running[0], pending: pending[0] } : undefined;
    }, 90_000, 1000);
    expect(stt.running.spec.nodeName).toBe(GPU_NODE);
    const why = stt.pending.status.conditions.find((c: any) => c.type === 'PodScheduled');
    console.log(`the second STT pod: ${why.reason}: ${why.message}`);
    expect(why.message).toMatch(/Insufficient nvidia\.com\/gpu/);
    // The agents need no GPU: they run on the other nodes, and the key they present exists only in a Secret.
    const agents = await eventually('two agents running', () => {
      const pods = podsOf('subtitle-agent').filter((p: any) => p.status?.phase === 'Running');
      return pods.length === 2 ? pods : undefined;
    }, 90_000, 1000);
    for (const a of agents) expect(a.spec.containers[0].resources.limits?.['nvidia.com/gpu']).toBeUndefined();
    expect(tryGet('secret', 'visio-stt-api-key', '-n', NS)?.data['api-key']).toBeTruthy();
    expect(JSON.stringify(getJson('configmaps', '-n', NS).items)).not.toContain(Buffer.from(tryGet('secret', 'visio-stt-api-key', '-n', NS).data['api-key'], 'base64').toString());
    // And the status says that this does not run subtitles yet.
    const mc = await eventually('SubtitlesReady reported', () => condition(tryGet('mc', 'visio', '-n', NS), 'SubtitlesReady'), 30_000, 1000);
    expect(mc).toMatchObject({ status: 'False', reason: 'NotImplemented' });
  }, 200_000);

  it('without spec.subtitles, the pool, the agent and the key go', async () => {
    expect(['deployment/visio-stt', 'deployment/visio-subtitle-agent', 'secret/visio-stt-api-key', 'networkpolicy/visio-stt-ingress'].filter((o) => !tryGet(o, '-n', NS))).toEqual([]);
    apply(lightManifest(NS));
    await eventually('subtitles pruned', () => (getJson('deployments,secrets,services,networkpolicies,poddisruptionbudgets,configmaps', '-n', NS, '-l', 'meet.sovereign.io/cluster=visio').items.some((o: any) => /stt|subtitle/.test(o.metadata.name)) ? undefined : true), 60_000, 1000);
    expect(condition(tryGet('mc', 'visio', '-n', NS), 'SubtitlesReady')).toBeUndefined();
  }, 120_000);
});
