// What the loopback kubelet runs, built from what the API server holds: the live Pod's spec and
// the ConfigMaps and Secrets the operator applied (with the credentials it generated), through the
// media harness's runner (operator/test/media/pods.ts). Only the SFU pods are kwok pods on
// loopback nodes; Redis and coturn, which the SFU needs before it starts, run once per test from
// their rendered workloads at addresses of the test's choosing, resolved through the sandbox's
// /etc/hosts under the names the rendered livekit.yaml uses.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeHttp } from '../../src/kube/http.js';
import type { KubeObject as LiveObject } from '../../src/kube/object.js';
import { REDIS_CONFIG_DIR, REDIS_CONFIG_FILE, REDIS_PORT, TURN_CONFIG_DIR, TURN_CONFIG_FILE, LIVEKIT_CONFIG_DIR, LIVEKIT_CONFIG_FILE } from '../../src/render/config/paths.js';
import type { RenderedObject as KubeObject } from '../../src/kube/object.js';
import { LABEL_COMPONENT } from '../../src/api/names.js';
import type { Proc, Sandbox } from '../media/sandbox.js';
import { startPod, type StartedPod } from '../media/stack.js';
import { coturnAt, livekitOnNode, redisAt } from './edits.js';
import { tcpOpen, type StartContainer } from './kubelet.js';
import { freePort, type LoopbackNode } from './nodes.js';

const KINDS = [
  { path: '/api/v1', resource: 'secrets', apiVersion: 'v1', kind: 'Secret' },
  { path: '/api/v1', resource: 'configmaps', apiVersion: 'v1', kind: 'ConfigMap' },
  { path: '/apis/apps/v1', resource: 'deployments', apiVersion: 'apps/v1', kind: 'Deployment' },
  { path: '/apis/apps/v1', resource: 'statefulsets', apiVersion: 'apps/v1', kind: 'StatefulSet' },
];

/** The namespace's Secrets, ConfigMaps and workloads as stored (list items carry no kind: added). */
export async function liveObjects(http: KubeHttp, namespace: string): Promise<KubeObject[]> {
  const lists = await Promise.all(KINDS.map((k) => http.request('GET', `${k.path}/namespaces/${namespace}/${k.resource}`)));
  return lists.flatMap((l, i) => (l.items as KubeObject[]).map((o) => ({ ...o, apiVersion: KINDS[i]!.apiVersion, kind: KINDS[i]!.kind })));
}

/**
 * Starts the livekit-server of an SFU pod: the live Pod's spec, bound to its node's address
 * (edits.ts), after `gate` (Redis and STUN up: LiveKit gives up at once without them). A restart
 * gets a fresh filesystem, as a new container would.
 */
export function sfuContainer(sb: Sandbox, http: KubeHttp, namespace: string, gate: () => Promise<void>): StartContainer {
  return async (pod: LiveObject, node: LoopbackNode): Promise<Proc> => {
    const component = pod.metadata.labels?.[LABEL_COMPONENT];
    if (component !== 'sfu') throw new Error(`${pod.metadata.name}: no runtime for component ${component} on a loopback node`);
    await gate();
    const objects = await liveObjects(http, namespace);
    const tcpPort = await freePort('0.0.0.0');
    const podName = pod.metadata.name;
    rmSync(join(sb.dir, 'pods', podName), { recursive: true, force: true });
    const { proc } = startPod(sb, {
      objects,
      workload: pod.metadata.ownerReferences?.[0]?.name ?? podName,
      podName,
      hostIP: node.ip,
      podSpec: pod.spec,
      edit: { [`${LIVEKIT_CONFIG_DIR}/${LIVEKIT_CONFIG_FILE}`]: livekitOnNode(node.ip, tcpPort) },
    });
    return proc;
  };
}

export interface Infra {
  redis: StartedPod;
  turn: StartedPod;
}

/**
 * Redis (managed mode) and coturn (the STUN server the rendered config names) from the rendered
 * StatefulSet and Deployment on the API server, each on its own address; resolves when both
 * accept connections.
 */
export async function startInfra(sb: Sandbox, http: KubeHttp, namespace: string, cluster: string, at: { redis: string; turn: string }): Promise<Infra> {
  const objects = await liveObjects(http, namespace);
  const redis = startPod(sb, {
    objects,
    workload: `${cluster}-redis`,
    podName: `${cluster}-redis-0`,
    hostIP: at.redis,
    edit: { [`${REDIS_CONFIG_DIR}/${REDIS_CONFIG_FILE}`]: redisAt(at.redis) },
  });
  const turn = startPod(sb, {
    objects,
    workload: `${cluster}-turn`,
    podName: `${cluster}-turn-0`,
    hostIP: at.turn,
    edit: { [`${TURN_CONFIG_DIR}/${TURN_CONFIG_FILE}`]: coturnAt(at.turn) },
  });
  const turnPort = Number(/^listening-port=(\d+)$/m.exec(String((objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === `${cluster}-turn-config`) as any)?.data?.[TURN_CONFIG_FILE]))?.[1]);
  if (!turnPort) throw new Error(`${cluster}-turn-config has no listening-port`);
  await Promise.all([waitOpen(redis, at.redis, REDIS_PORT), waitOpen(turn, at.turn, turnPort)]);
  return { redis, turn };
}

async function waitOpen(p: StartedPod, ip: string, port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await tcpOpen(ip, port))) {
    if (!p.proc.running) throw new Error(`${p.pod.podName} exited (${JSON.stringify(p.proc.exitStatus)}); log tail:\n${p.proc.tail()}`);
    if (Date.now() > deadline) throw new Error(`${p.pod.podName}: nothing listens on ${ip}:${port} after ${timeoutMs} ms; log tail:\n${p.proc.tail()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
