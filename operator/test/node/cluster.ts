// The real node the `node` project runs on (hack/node-up.sh, started by the project's global setup):
// who it is, the images built from source (images/), the operator installed by its chart from its
// own image, a ministry's public DNS (CoreDNS's hosts file), the examples fitted to one 2-core node,
// and what the kubelet really did to a container (its process on this machine, seen through /proc).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { parse } from 'yaml';
import { HELM, helm, valuesFile } from '../integration/chart-helpers.js';
import { eventually, kubectl, kubectlOk } from '../integration/kubectl.js';
import { condition, getJson, tryGet } from '../integration/meetingcluster.js';
import { fitToOneNode, stackImages } from './fit.js';

export interface RealNode {
  name: string;
  ip: string;
  containerdSock: string;
  nodeBinDir: string;
  stateDir: string;
}
export const realNode = (): RealNode => JSON.parse(inject('realNode'));

export interface BuiltImage {
  name: string;
  ref: string;
  tag: string;
  digest: string;
  size: number;
}
const IMAGES_JSON = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'meet-operator', 'images', 'images.json');
/** The images images/build.mjs built (and hack/node-up.sh loaded into the node's containerd). */
export function builtImages(): Record<string, BuiltImage> {
  const list: BuiltImage[] = JSON.parse(readFileSync(IMAGES_JSON, 'utf8'));
  return Object.fromEntries(list.map((i) => [i.name, i]));
}
export const imageRef = (name: string): string => {
  const i = builtImages()[name];
  if (!i) throw new Error(`no image ${name} in ${IMAGES_JSON} (make images)`);
  return i.ref;
};

// --- the operator, from its image, under its chart ------------------------------------------------
export const OPERATOR_NS = 'meet-operator-system';
export const RELEASE = 'meet-operator';

/** `helm install` of charts/meet-operator with the image built here; waits for the pod to lead. */
export async function installOperator(extra: Record<string, unknown> = {}): Promise<void> {
  const ref = imageRef('meet-operator');
  const [repoPath, tag] = ref.split(':') as [string, string];
  const [registry, ...repo] = repoPath.split('/');
  ensureNamespaceWithPss(OPERATOR_NS);
  const values = {
    image: { registry, repository: repo.join('/'), tag, pullPolicy: 'Never' },
    // One node: one replica (leader election stays on; a second replica would only stand by).
    replicaCount: 1,
    ...extra,
  };
  const r = helm(['upgrade', '--install', RELEASE, 'charts/meet-operator', '-n', OPERATOR_NS, '-f', valuesFile(values), '--wait', '--timeout', '180s']);
  if (r.code !== 0) throw new Error(`${HELM} upgrade --install failed (${r.code}): ${r.stderr || r.stdout}\n${describePods(OPERATOR_NS)}`);
  await eventually('the operator pod leading', () => (operatorLog().includes('starting workers') ? true : undefined), 60_000, 500);
}

export const operatorLog = (): string => kubectl(['logs', '-n', OPERATOR_NS, '-l', 'app.kubernetes.io/name=meet-operator', '--tail=-1']).stdout;

function ensureNamespaceWithPss(ns: string): void {
  kubectlOk(['apply', '--server-side', '-f', '-'], JSON.stringify({
    apiVersion: 'v1', kind: 'Namespace',
    metadata: { name: ns, labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' } },
  }));
}

/** Pods, recent events, and the last log lines of every pod that is not Ready: what a failure needs. */
export function describePods(ns: string): string {
  const out = [kubectl(['get', 'pods', '-n', ns, '-o', 'wide']).stdout, kubectl(['get', 'events', '-n', ns, '--sort-by=.lastTimestamp']).stdout.split('\n').slice(-25).join('\n')];
  const pods = JSON.parse(kubectl(['get', 'pods', '-n', ns, '-o', 'json']).stdout || '{"items":[]}').items;
  for (const p of pods.filter((p: any) => !podReady(p))) {
    for (const c of p.spec.containers) {
      const prev = kubectl(['logs', '-n', ns, p.metadata.name, '-c', c.name, '--previous', '--tail=8']).stdout;
      out.push(`--- ${p.metadata.name}/${c.name}${prev ? ' (previous run)' : ''}:\n${prev || kubectl(['logs', '-n', ns, p.metadata.name, '-c', c.name, '--tail=8']).stdout}`);
    }
  }
  return out.join('\n');
}

// --- a ministry's public DNS -----------------------------------------------------------------------
/**
 * Sets the names CoreDNS answers from its hosts file (kube-system/coredns, key "hosts"): what the
 * ministry's public DNS would say. CoreDNS re-reads the file within seconds of the kubelet updating
 * the volume (syncFrequency 10 s); waits until a lookup through the cluster DNS agrees.
 */
export async function publicDns(names: Record<string, string>): Promise<void> {
  const hosts = Object.entries(names).map(([n, ip]) => `${ip} ${n}`).join('\n') + '\n';
  kubectlOk(['patch', 'configmap', 'coredns', '-n', 'kube-system', '--type', 'merge', '-p', JSON.stringify({ data: { hosts } })]);
  for (const [n, ip] of Object.entries(names)) {
    await eventually(`cluster DNS answering ${n} -> ${ip}`, () => (resolve(n).includes(ip) ? true : undefined), 60_000, 1000);
  }
}

/** An A lookup through the cluster DNS Service (10.96.0.10), as a hostNetwork pod would make it. */
export function resolve(name: string): string[] {
  const r = spawnSync('python3', ['-c', DNS_LOOKUP, name], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? r.stdout.split('\n').filter(Boolean) : [];
}
const DNS_LOOKUP = `
import socket, struct, sys, random
name = sys.argv[1]
q = struct.pack('>HHHHHH', random.randrange(65536), 0x0100, 1, 0, 0, 0) + b''.join(bytes([len(p)]) + p.encode() for p in name.split('.')) + b'\\x00\\x00\\x01\\x00\\x01'
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(3); s.sendto(q, ('10.96.0.10', 53)); d = s.recv(4096)
an = struct.unpack('>H', d[6:8])[0]; i = len(q)
for _ in range(an):
    if d[i] & 0xc0 == 0xc0: i += 2
    else:
        while d[i]: i += d[i] + 1
        i += 1
    t, c, ttl, l = struct.unpack('>HHIH', d[i:i+10]); i += 10
    if t == 1: print(socket.inet_ntoa(d[i:i+4]))
    i += l
`;

// --- the examples on one real node ----------------------------------------------------------------
export const readExample = (file: string): any => parse(readFileSync(join('examples', file), 'utf8'));

/** An example fitted to one real node (fit.ts), with the images built here. */
export const onRealNode = (m: any): any => fitToOneNode(m, stackImages(IMAGES_JSON));

export const applyObject = (o: unknown): string => kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', '-'], JSON.stringify(o));

/** Waits until ns/name is Ready=True for its generation and every pod of it is Ready. */
export async function waitStackReady(ns: string, name: string, timeoutMs = 180_000): Promise<any> {
  try {
    return await eventually(`${ns}/${name} Ready=True with every pod Ready`, () => {
      const mc = tryGet('mc', name, '-n', ns);
      if (condition(mc, 'Ready')?.status !== 'True' || mc.status.observedGeneration !== mc.metadata.generation) return undefined;
      const pods = podsOf(ns, name);
      return pods.length && pods.every(podReady) ? mc : undefined;
    }, timeoutMs, 1000);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${describePods(ns)}\nMeetingCluster conditions: ${JSON.stringify(tryGet('mc', name, '-n', ns)?.status?.conditions ?? [], null, 1)}`);
  }
}

/** A stack's pods, Terminating ones included (a draining SFU pod still holds its host ports). */
export const allPodsOf = (ns: string, instance: string, component?: string): any[] =>
  getJson('pods', '-n', ns, '-l', `app.kubernetes.io/instance=${instance}${component ? `,app.kubernetes.io/component=${component}` : ''}`).items;
/** A stack's pods that are not Terminating. */
export const podsOf = (ns: string, instance: string, component?: string): any[] => allPodsOf(ns, instance, component).filter((p: any) => !p.metadata.deletionTimestamp);
export const podReady = (p: any): boolean => p.status?.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') ?? false;

/**
 * Deletes a test's namespace and waits until it is gone, so that the next test finds the node's host
 * ports free. The pods go first with a short grace period: an SFU drains for spec.sfu.drainSeconds
 * (hours) while a participant lingers, and coturn, PID 1 of its container, ignores SIGTERM (it only
 * stops at the end of its 60 s grace period) - the drain is not what these tests are about.
 */
export async function deleteNamespace(ns: string): Promise<void> {
  kubectl(['delete', 'mc', '--all', '-n', ns, '--wait=false']);
  kubectl(['delete', 'pods', '--all', '-n', ns, '--grace-period=1', '--wait=false']);
  kubectl(['delete', 'namespace', ns, '--wait=false']);
  await eventually(`namespace ${ns} gone`, () => (kubectl(['get', 'namespace', ns]).code !== 0 ? true : undefined), 300_000, 1000);
}

// --- what the kubelet did, seen on this machine ----------------------------------------------------
/** The host pid of a container's main process (containerd's task list). */
export function containerPid(pod: any, container: string): number {
  const status = pod.status.containerStatuses.find((c: any) => c.name === container);
  const id = String(status?.containerID ?? '').replace(/^containerd:\/\//, '');
  if (!id) throw new Error(`${pod.metadata.name}/${container} has no container id`);
  const n = realNode();
  // stderr: ctr warns about cgroup v1 on every call.
  const out = execFileSync(join(n.nodeBinDir, 'ctr'), ['--address', n.containerdSock, '-n', 'k8s.io', 'tasks', 'ls'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const line = out.split('\n').find((l) => l.startsWith(id));
  if (!line) throw new Error(`container ${id} of ${pod.metadata.name} is not running`);
  return Number(line.trim().split(/\s+/)[1]);
}

export interface ProcessView {
  uid: number;
  gid: number;
  groups: number[];
  rootReadOnly: boolean;
  capEff: bigint;
  noNewPrivs: boolean;
}
/** What the kernel says of a process: ids, supplementary groups, whether its / is mounted read-only. */
export function processView(pid: number): ProcessView {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (k: string) => status.match(new RegExp(`^${k}:\\s*(.*)$`, 'm'))?.[1] ?? '';
  const root = readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').find((l) => l.split(' ')[4] === '/');
  return {
    uid: Number(field('Uid').split(/\s+/)[0]),
    gid: Number(field('Gid').split(/\s+/)[0]),
    groups: field('Groups').split(/\s+/).filter(Boolean).map(Number),
    rootReadOnly: /(^|,)ro(,|$)/.test(root?.split(' ')[5] ?? ''),
    capEff: BigInt(`0x${field('CapEff') || '0'}`),
    noNewPrivs: field('NoNewPrivs') === '1',
  };
}

/** A kubernetes.io/tls Secret with a self-signed certificate for `cn` (returns the certificate, PEM). */
export function tlsSecret(ns: string, name: string, cn: string): string {
  const dir = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${dir}/tls.key`, '-out', `${dir}/tls.crt`, '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn}`, '-days', '2'], { stdio: 'ignore' });
    applyTlsSecret(ns, name, `${dir}/tls.crt`, `${dir}/tls.key`);
    return readFileSync(`${dir}/tls.crt`, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A kubernetes.io/tls Secret from certificate and key files (created or updated). */
export function applyTlsSecret(ns: string, name: string, crt: string, key: string): void {
  kubectlOk(['apply', '--server-side', '-f', '-'], kubectlOk(['create', 'secret', 'tls', name, '-n', ns, `--cert=${crt}`, `--key=${key}`, '--dry-run=client', '-o', 'json']));
}
