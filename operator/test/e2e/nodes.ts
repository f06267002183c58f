// kwok fake nodes whose InternalIP is a loopback address. All of 127.0.0.0/8 routes to lo on Linux,
// so every such node has an address of its own on this machine without touching any interface:
// kwok gives a hostNetwork pod scheduled there its node's InternalIP as status.podIP, and whatever
// dials http://<podIP>:<port> (the operator's real metrics scrape, a participant's WebSocket)
// reaches the process the test runs for that pod, with no address translation in between.
//
// The nodes form a pool of their own (a label to select it, a taint to keep every other pod off
// it), so a test can use the control plane's default kwok nodes for everything else.
import { createServer } from 'node:net';
import { randomInt } from 'node:crypto';
import { kubectl, kubectlOk, eventually } from '../integration/kubectl.js';

export const POOL_LABEL = 'meet.sovereign.io/e2e-pool';

export interface LoopbackNode {
  name: string;
  ip: string;
  zone: string;
}

export interface NodePool {
  /** Value of POOL_LABEL and of the taint: a MeetingCluster selects and tolerates it. */
  pool: string;
  nodes: LoopbackNode[];
  /** An address of the same 127.<octet>.0.0/16 block that is no node's (for Redis, coturn...). */
  address(host: number): string;
  nodeSelector: Record<string, string>;
  tolerations: { key: string; operator: 'Equal'; value: string; effect: 'NoSchedule' }[];
  delete(): void;
}

/** Whether nothing listens on ip:port (so a process of ours can bind it). */
function free(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, ip, () => s.close(() => resolve(true)));
  });
}

/**
 * A free TCP port on ip, picked by the kernel. For ports LiveKit binds on every address whatever
 * bind_addresses says (rtc.tcp_port), which two SFU processes on one machine cannot share.
 */
export function freePort(ip = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, ip, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/**
 * Creates `count` Ready kwok nodes 127.<octet>.1.<i> in a new pool. The octet is random, and
 * checked free on the ports the pods will bind, so two runs on one machine do not meet.
 */
export async function createLoopbackNodes(pool: string, count: number, ports: number[], zones = ['e2e-zone-a', 'e2e-zone-b']): Promise<NodePool> {
  let octet = 0;
  for (let attempt = 0; attempt < 20 && !octet; attempt++) {
    const candidate = randomInt(16, 250);
    const ips = Array.from({ length: count }, (_, i) => `127.${candidate}.1.${i + 1}`);
    const checks = await Promise.all(ips.flatMap((ip) => ports.map((p) => free(ip, p))));
    if (checks.every(Boolean)) octet = candidate;
  }
  if (!octet) throw new Error('no free 127.x.0.0/16 block for the loopback nodes');

  const nodes: LoopbackNode[] = Array.from({ length: count }, (_, i) => ({
    name: `${pool}-node-${i + 1}`,
    ip: `127.${octet}.1.${i + 1}`,
    zone: zones[i % zones.length]!,
  }));
  const docs = nodes.map((n) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      // kwok (hack/controlplane-up.sh) manages the nodes carrying this annotation: it keeps them
      // Ready, renews their leases and runs their pods' fake status.
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': n.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'topology.kubernetes.io/zone': n.zone,
        type: 'kwok',
        [POOL_LABEL]: pool,
      },
    },
    spec: { taints: [{ key: POOL_LABEL, value: pool, effect: 'NoSchedule' }] },
    status: {
      // InternalIP first: kwok's pod-ready stage gives hostNetwork pods the node's IPs in order.
      addresses: [
        { type: 'InternalIP', address: n.ip },
        { type: 'Hostname', address: n.name },
      ],
      allocatable: { cpu: '8', memory: '16Gi', pods: '110' },
      capacity: { cpu: '8', memory: '16Gi', pods: '110' },
      nodeInfo: { architecture: 'amd64', operatingSystem: 'linux' },
    },
  }));
  kubectlOk(['apply', '--server-side', '--field-manager=meet-e2e', '-f', '-'], docs.map((d) => JSON.stringify(d)).join('\n'));
  const names = nodes.map((n) => n.name);
  await eventually(`${count} loopback nodes Ready`, () => {
    const r = kubectl(['get', 'nodes', '-l', `${POOL_LABEL}=${pool}`, '-o', 'json']);
    if (r.code !== 0) return undefined;
    const items: any[] = JSON.parse(r.stdout).items;
    const ready = items.filter((n) => n.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'));
    const addressesKept = ready.every((n) => n.status.addresses?.[0]?.address === nodes.find((x) => x.name === n.metadata.name)?.ip);
    return ready.length === count && addressesKept ? true : undefined;
  }, 60_000);

  return {
    pool,
    nodes,
    address: (host: number) => `127.${octet}.0.${host}`,
    nodeSelector: { [POOL_LABEL]: pool },
    tolerations: [{ key: POOL_LABEL, operator: 'Equal', value: pool, effect: 'NoSchedule' }],
    delete: () => void kubectl(['delete', 'nodes', ...names, '--wait=false', '--ignore-not-found']),
  };
}
