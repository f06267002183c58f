// Helpers of chart.test.ts: helm (built from the Go module proxy by hack/build-helm.sh), the chart's
// rendered objects, the RBAC the operator's code needs, a kubeconfig holding a ServiceAccount token,
// and the operator started exactly as the chart's Deployment would start it in the image.
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inject } from 'vitest';
import { AuditReader, type AuditEvent } from '../audit-log.js';
import { parse, parseAllDocuments } from 'yaml';
import { CHILD_TYPES, EVENT, LEASE, MEETING_CLUSTER, POD, type ResourceType } from '../../src/kube/resources.js';
import { kubectlOk, type Result } from './kubectl.js';
import { checkCronJob } from '../../src/render/connectivity-check.js';
import { validateMeetingCluster } from '../../src/api/validate.js';
import { baseManifest } from '../specs.js';
import { spawnNode } from './operator-process.js';

export const CHART = 'charts/meet-operator';

const helmBinDir = (): string => execFileSync('bash', ['hack/build-helm.sh', '--print-dir'], { encoding: 'utf8' }).trim();
export const HELM = `${helmBinDir()}/helm`;

/** Builds helm if the cache lacks it (minutes the first time, instant afterwards). */
export function ensureHelm(): void {
  const r = spawnSync('bash', ['hack/build-helm.sh'], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 1_800_000 });
  if (r.status !== 0) throw new Error(`hack/build-helm.sh failed (${r.status ?? r.signal})`);
}

// Scratch space (helm's home, values files, the token kubeconfig): removeScratch() in afterAll.
const TMP = mkdtempSync(join(tmpdir(), 'chart-it-'));
export const removeScratch = (): void => rmSync(TMP, { recursive: true, force: true });

// helm keeps its config, cache and data out of $HOME.
const helmHome = join(TMP, 'helm');
const HELM_ENV = {
  HELM_CACHE_HOME: join(helmHome, 'cache'),
  HELM_CONFIG_HOME: join(helmHome, 'config'),
  HELM_DATA_HOME: join(helmHome, 'data'),
};

export function helm(args: string[], input?: string): Result {
  const r = spawnSync(HELM, args, {
    input,
    encoding: 'utf8',
    env: { ...process.env, ...HELM_ENV, KUBECONFIG: inject('kubeconfig') },
    timeout: 180_000,
    maxBuffer: 64 * 2 ** 20,
  });
  return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

export function helmOk(args: string[]): string {
  const r = helm(args);
  if (r.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${r.code}): ${r.stderr || r.stdout}`);
  return r.stdout;
}

/** A values file (JSON is YAML) in a temp dir. */
export function valuesFile(values: unknown): string {
  const file = join(mkdtempSync(join(TMP, 'values-')), 'values.yaml');
  writeFileSync(file, JSON.stringify(values));
  return file;
}

export type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; [k: string]: any };

export const parseObjects = (yamlText: string): Obj[] =>
  parseAllDocuments(yamlText)
    .map((d) => d.toJS())
    .filter((o): o is Obj => o && typeof o === 'object');

/** `helm template` with these values: every rendered object (the CRDs in crds/ are not templates). */
export function renderChart(values: unknown = {}, release = 'mo', namespace = 'meet-system'): Obj[] {
  return parseObjects(helmOk(['template', release, CHART, '-n', namespace, '-f', valuesFile(values)]));
}

export const findAll = (objs: Obj[], kind: string): Obj[] => objs.filter((o) => o.kind === kind);
export function findOne(objs: Obj[], kind: string, name?: string): Obj {
  const found = objs.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}: ${objs.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found[0]!;
}

export interface PolicyRule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
  nonResourceURLs?: string[];
}

/** Every (group, resource[@name], verb) a list of rules grants, as "group|resource|verb". */
export function grants(rules: PolicyRule[]): string[] {
  const out: string[] = [];
  for (const r of rules)
    for (const g of r.apiGroups ?? [])
      for (const res of r.resources ?? [])
        for (const v of r.verbs)
          for (const n of r.resourceNames?.length ? r.resourceNames : [undefined]) out.push(`${g}|${res}${n ? `@${n}` : ''}|${v}`);
  return out.sort();
}

const group = (t: ResourceType): string => (t.apiVersion.includes('/') ? t.apiVersion.split('/')[0]! : '');
const grant = (t: ResourceType, verbs: string[], sub = ''): string[] => verbs.map((v) => `${group(t)}|${t.plural}${sub}|${v}`);

/**
 * What the operator's code sends, per namespace, from the kinds it declares (operator/src/kube/resources.ts):
 * - MeetingClusters: the informer lists and watches them; status is written with server-side apply (PATCH
 *   /status); children's ownerReferences set blockOwnerDeletion, which the OwnerReferencesPermissionEnforcement
 *   admission plugin (when enabled) only allows with update on meetingclusters/finalizers;
 * - every child kind (CHILD_TYPES): informer by label (list, watch), server-side apply (PATCH: patch, and
 *   create as well, which the API server checks when an apply creates the object), prune (delete);
 *   Secrets also GET (a generated Secret the cache lacks) and POST (create, never overwrite, a missing one);
 * - SFU Pods: informer by label (list, watch); the autoscaler's deletion costs (PATCH, merge patch);
 *   an upgrade's deadline cuts old SFU pods (DELETE, controller/sfu-upgrade.ts);
 * - Events: POST.
 * Nothing cluster-scoped. Leases are separate (leaseGrants).
 */
export function namespacedGrantsFromCode(): string[] {
  return [
    ...grant(MEETING_CLUSTER, ['list', 'watch']),
    ...grant(MEETING_CLUSTER, ['patch'], '/status'),
    ...grant(MEETING_CLUSTER, ['update'], '/finalizers'),
    ...CHILD_TYPES.flatMap((t) => grant(t, ['list', 'watch', 'create', 'patch', 'delete', ...(t.kind === 'Secret' ? ['get'] : [])])),
    ...grant(POD, ['list', 'watch', 'patch', 'delete']),
    ...grant(EVENT, ['create', 'list']),
    // Held to be granted: spec.checks' Role, whatever its names (RBAC lets no one grant what it lacks).
    ...grants(checkRoleRules().map(({ resourceNames: _, ...r }) => r)),
  ].filter((g, i, all) => all.indexOf(g) === i).sort();
}

/** The rules of the Role spec.checks renders (operator/src/check/cronjob.ts), for any cluster. */
function checkRoleRules(): PolicyRule[] {
  const mc = validateMeetingCluster(baseManifest()).cluster!;
  const role = checkCronJob(mc, { image: 'any', schedule: '@hourly', timeoutSeconds: 10 }).find((o) => o.kind === 'Role');
  return (role as unknown as { rules: PolicyRule[] }).rules;
}

/** Leader election (operator/src/kube/leader.ts): GET and PUT the named Lease, POST to create it. */
export function leaseGrantsFromCode(leaseName: string): string[] {
  return [`${group(LEASE)}|${LEASE.plural}|create`, `${group(LEASE)}|${LEASE.plural}@${leaseName}|get`, `${group(LEASE)}|${LEASE.plural}@${leaseName}|update`].sort();
}

/** The operator image's recipe (built by images/build.mjs; images/README.md). */
export const OPERATOR_IMAGE = 'images/meet-operator/image.yaml';

export interface ImageEntrypoint {
  entrypoint: string[];
  cmd: string[];
  user?: string;
  /** The image's environment (ENV), PATH included. */
  env: Record<string, string>;
  /** The whole image.yaml (vars, debs, inputs, ...). */
  recipe: Record<string, any>;
  /** The recipe's rootfs.sh: what goes into the image. */
  rootfs: string;
}

/** Entrypoint, cmd, user and env of the operator image, as its recipe says them (literal values only). */
export function imageEntrypoint(path = OPERATOR_IMAGE): ImageEntrypoint {
  const recipe = parse(readFileSync(path, 'utf8')) as Record<string, any>;
  const literal = <T>(what: string, v: T): T => {
    if (JSON.stringify(v ?? null).includes('${')) throw new Error(`${path}: ${what} must be literal (no \${VAR}) for the tests to read it`);
    return v;
  };
  const env = Object.fromEntries(Object.entries(recipe.env ?? {}).map(([k, v]) => [k, String(v)]));
  return {
    entrypoint: literal('entrypoint', recipe.entrypoint ?? []),
    cmd: literal('cmd', recipe.cmd ?? []),
    user: recipe.user === undefined ? undefined : literal('user', String(recipe.user)),
    env: literal('env', env),
    recipe,
    rootfs: readFileSync(join(dirname(path), 'rootfs.sh'), 'utf8'),
  };
}

/** The environment the operator image sets, without PATH (the image's says where it keeps node; the host's stays). */
export function imageEnv(): Record<string, string> {
  const { PATH: _path, ...env } = imageEntrypoint().env;
  return env;
}

/** A kubeconfig that authenticates with nothing but a ServiceAccount token (TokenRequest API). */
export function tokenKubeconfig(serviceAccount: string, namespace: string): { path: string; token: string } {
  const token = kubectlOk(['create', 'token', serviceAccount, '-n', namespace, '--duration=2h']).trim();
  const admin = JSON.parse(kubectlOk(['config', 'view', '--raw', '--minify', '--flatten', '-o', 'json']));
  const cluster = admin.clusters[0].cluster;
  const kc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'test', cluster: { server: cluster.server, 'certificate-authority-data': cluster['certificate-authority-data'] } }],
    users: [{ name: `${namespace}:${serviceAccount}`, user: { token } }],
    contexts: [{ name: 'sa', context: { cluster: 'test', user: `${namespace}:${serviceAccount}` } }],
    'current-context': 'sa',
  };
  const path = join(mkdtempSync(join(TMP, 'kc-')), 'kubeconfig');
  writeFileSync(path, JSON.stringify(kc), { mode: 0o600 });
  return { path, token };
}

export interface ChartOperator {
  argv: string[];
  proc: ChildProcess;
  logs: string[];
  stop(): Promise<number | null>;
}

/**
 * Starts the operator the way the chart's Deployment does in the image: the image's entrypoint
 * (images/meet-operator/image.yaml: `node <V8 flags> dist/cli/bin.js`) + the container's args, with $(VAR) references expanded from the container's
 * env as the kubelet would (fieldRef metadata.namespace / metadata.name), and its plain env values.
 * Only the address changes (--listen on loopback, free port) and --kubeconfig is added: in a pod the
 * same ServiceAccount token comes from the projected volume.
 */
export function startChartOperator(deployment: Obj, pod: { namespace: string; name: string }, kubeconfig: string): ChartOperator {
  const { entrypoint } = imageEntrypoint();
  const container = deployment.spec.template.spec.containers[0];
  if (container.command) throw new Error('the chart must not override the image ENTRYPOINT');
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    const path = e.valueFrom?.fieldRef?.fieldPath;
    env[e.name] = path === 'metadata.namespace' ? pod.namespace : path === 'metadata.name' ? pod.name : e.value;
  }
  const expand = (s: string) => s.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, v: string) => env[v] ?? m);
  const args = (container.args as string[]).map(expand).map((a) => (a.startsWith('--listen=') ? '--listen=127.0.0.1:0' : a));
  const [node, ...rest] = entrypoint;
  if (node !== 'node') throw new Error(`unexpected ENTRYPOINT ${JSON.stringify(entrypoint)}`);
  const argv = [...rest, ...args, `--kubeconfig=${kubeconfig}`];
  const { proc, logs, stop } = spawnNode(argv, { PATH: process.env.PATH ?? '', ...env });
  return { argv: ['node', ...argv], proc, logs, stop };
}

/** Log lines that show an authorization failure (403) of any request. */
export const forbiddenLines = (logs: string[]): string[] => logs.filter((l) => /forbidden|cannot \w+ resource|unauthorized/i.test(l));

/** The audit log's current length: pass it to auditOf to see only what came after. */
export const auditMark = (): number => statSync(inject('auditLog')).size;

/** Write requests of one user in the API server's audit log since `from` (reads are not logged, see hack/README.md). */
/** Write requests of one user in the API server's audit log since `from` (reads are not logged, see hack/README.md). */
export const auditOf = (username: string, from = 0): AuditEvent[] => new AuditReader(inject('auditLog'), from).completed((e) => e.user === username);
