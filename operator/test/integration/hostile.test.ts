// Hostile MeetingClusters against the real API server and the running operator. Every object is
// either refused at admission with a message naming a field, or admitted and then either rendered
// and applied completely or reported Ready=False/InvalidSpec with a message naming the field and no
// child touched. The operator must not crash, and no Secret value may reach its logs.
//
// Reproduce a run: HOSTILE_SEED=<the printed seed> [HOSTILE_CASES=n] npx vitest run --project integration operator/test/integration/hostile.test.ts
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { applySchemaDefaults } from '../../src/api/defaults.js';
import { formatFieldError } from '../../src/api/errors.js';
import { meetingClusterSchema } from '../../src/api/schema.js';
import { celErrors, structuralErrors, validateMeetingCluster } from '../../src/api/validate.js';
import { ApiError, KubeHttp } from '../../src/kube/http.js';
import { MEETING_CLUSTER, resourcePath } from '../../src/kube/resources.js';
import { renderCluster } from '../../src/render/index.js';
import { LABEL_CLUSTER } from '../../src/api/names.js';
import { hostileCaseArb, styledName, type HostileCase } from '../hostile.js';
import { changedPaths } from '../media/loopback.js';
import { TEST_SECRETS, baseManifest, type Manifest } from '../specs.js';
import { crdsEstablished, ensureNamespace, eventually, kubectl, kubectlOk } from './kubectl.js';
import { getJson } from './meetingcluster.js';
import { logged, startOperator, type OperatorProcess } from './operator-process.js';

const SEED = Number(process.env.HOSTILE_SEED ?? Math.floor(Math.random() * 2 ** 31));
const FUZZ_CASES = Number(process.env.HOSTILE_CASES ?? 150);
/** The second namespace has the longest name Kubernetes allows (63): it reaches livekit.yaml (redis.address). */
const NAMESPACES = ['it-hostile', `it-hostile-${'n'.repeat(52)}`];
const CHILD_KINDS = 'secrets,configmaps,services,deployments,statefulsets,poddisruptionbudgets,horizontalpodautoscalers,networkpolicies';
/** A rejection names the field: "spec.sfu.replicas: Invalid value", `unknown field "spec.x"`, "metadata.name: ...". */
const NAMES_A_FIELD = /(^|[\s"'[(])(spec|metadata)\.[A-Za-z]/;
const MiB = 2 ** 20;

/** Credentials users keep in their own Secrets (referenced by name from the spec). */
const USER_SECRETS: Record<string, Record<string, string>> = {
  'user-keys': { 'keys.yaml': 'APIuserkey7Qx2: user-api-secret-Zr8mVt3Lq9Wc4Hn6Yp1Ks5Df0Gj\n' },
  'user-turn': { secret: 'user-turn-secret-Mb7Nv2Qw9Er4Ty1Ui6Op3As8Dk' },
  'user-redis': { password: 'user-redis-password-Xc5Vb8Nm1Lk4Jh7Gf2Ds9Aq3' },
  'turn-ext': { secret: 'external-turn-secret-Pw6Qe1Rt8Yu3Io5Pa2Sd7Fg' },
  'redis-ext': { password: 'external-redis-password-Hj4Kl9Zx2Cv7Bn5Mq1We8' },
};

interface Case extends HostileCase {
  id: string;
  /** A request body sent as is (oversized cases); default JSON of manifest. */
  raw?: string;
  fieldValidation?: 'Strict' | 'Ignore';
  /** Only the spec is hostile: the offline validator must agree with admission. */
  specOnly: boolean;
  /** Expected admission verdict for cases built to test one limit. */
  expectRejected?: RegExp;
}

interface Outcome {
  c: Case;
  admitted: boolean;
  status?: number;
  message?: string;
  stored?: any;
}

const http = KubeHttp.fromKubeconfig(inject('kubeconfig'), 'meet-hostile-fuzz/1');
const collection = (ns: string) => resourcePath(MEETING_CLUSTER, ns);

async function send(c: Case, method: 'POST' | 'PUT', body: Manifest | string): Promise<Outcome> {
  const ns = typeof body === 'string' ? c.manifest.metadata.namespace : body.metadata.namespace;
  const path = method === 'POST' ? collection(ns) : resourcePath(MEETING_CLUSTER, ns, (body as Manifest).metadata.name);
  try {
    const stored = await http.request(method, path, { body, query: { fieldValidation: c.fieldValidation ?? 'Strict', fieldManager: 'meet-hostile-fuzz' }, timeoutMs: 60_000 });
    return { c, admitted: true, stored };
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    return { c, admitted: false, status: e.status, message: e.message };
  }
}

/** At most `n` at once: the API server is shared with the operator under test. */
async function pool<T, R>(items: T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  }));
  return out;
}

/**
 * The API server drops `null` from fields that are not nullable before it validates (CRD structural
 * pruning); the offline validator refuses it instead (a known difference, reported): compare without.
 */
function withoutNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNulls);
  if (v === null || typeof v !== 'object') return v;
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, withoutNulls(x)]));
}

/** The admission layers of the offline validator (structure, CEL), as `meet-operator validate` runs them. */
function offlineAdmissionErrors(m: Manifest): string[] {
  const defaulted = applySchemaDefaults(meetingClusterSchema, withoutNulls(m));
  return [...structuralErrors(defaulted), ...celErrors(meetingClusterSchema, defaulted)].map(formatFieldError);
}

const listClusters = (): any[] => NAMESPACES.flatMap((ns) => getJson('meetingclusters', '-n', ns).items);

/** Children per cluster name, as "Kind/name" -> object, from one list per namespace. */
function childrenByCluster(ns: string): Map<string, Map<string, any>> {
  const out = new Map<string, Map<string, any>>();
  for (const o of getJson(CHILD_KINDS, '-n', ns, '-l', 'app.kubernetes.io/managed-by=meet-operator').items) {
    const owner = o.metadata.labels?.[LABEL_CLUSTER] ?? '';
    if (!out.has(owner)) out.set(owner, new Map());
    out.get(owner)!.set(`${o.kind}/${o.metadata.name}`, o);
  }
  return out;
}

/** What a child says (not who last touched it or its status), to tell whether the operator changed it. */
const content = (o: any) => ({
  labels: o.metadata.labels,
  annotations: Object.fromEntries(Object.entries(o.metadata.annotations ?? {}).filter(([k]) => !k.startsWith('deployment.kubernetes.io/'))),
  owners: o.metadata.ownerReferences,
  spec: o.spec,
  data: o.data,
});

/** Children whose content differs from a snapshot (or that appeared or went), with the paths that differ. */
function changedChildren(before: Map<string, unknown>, now: Map<string, any>): string[] {
  return [...new Set([...before.keys(), ...now.keys()])].flatMap((k) => {
    const paths = changedPaths(before.get(k) ?? null, now.has(k) ? content(now.get(k)) : null);
    return paths.length ? [`${k} (${paths.slice(0, 4).join(', ')})`] : [];
  });
}

const readyOf = (mc: any) => mc?.status?.conditions?.find((c: any) => c.type === 'Ready');

/** Cases built by hand around each limit the issue names; the fuzz adds the rest. */
function explicitCases(): Case[] {
  const [ns, longNs] = NAMESPACES as [string, string];
  const base = (id: string, namespace = ns) => {
    const m = baseManifest();
    m.metadata = { name: id, namespace };
    return m;
  };
  const withSpec = (id: string, f: (m: Manifest) => void, namespace = ns) => {
    const m = base(id, namespace);
    f(m);
    return m;
  };
  const cases: Omit<Case, 'specOnly'>[] = [
    { id: 'x-plain', label: 'the base manifest', manifest: base('x-plain') },
    { id: 'x-longns', label: 'a 63-character namespace (reaches livekit.yaml through redis.address)', manifest: base('x-longns', longNs) },
    { id: '', label: 'a 1-character name', manifest: base('z') },
    { id: '', label: 'a 51-character name: every derived Service name still fits 63', manifest: base(styledName('label', 51, 'x51')) },
    { id: '', label: 'a 51-character name in a 63-character namespace', manifest: base(styledName('label', 51, 'y51'), longNs) },
    { id: '', label: 'a 52-character name (derived Service names would exceed 63)', manifest: base(styledName('label', 52, 'x52')) },
    { id: '', label: 'a 63-character name', manifest: base(styledName('label', 63, 'x63')) },
    { id: '', label: 'a 253-character dotted name (valid object name, not a Service name)', manifest: base(styledName('subdomain', 253, 'x253')) },
    { id: '', label: 'a 254-character name', manifest: base(styledName('subdomain', 254, 'x254')), expectRejected: /metadata\.name/ },
    { id: '', label: 'a Unicode name', manifest: base('visioconférence') , expectRejected: /metadata\.name/ },
    { id: 'x-turn-nl', label: 'turn.domain with a YAML key after a newline', manifest: withSpec('x-turn-nl', (m) => (m.spec.turn.domain = 'turn.justice.example\nport: 1')) },
    { id: 'x-turn-ini', label: 'turn.domain with a coturn directive after a newline', manifest: withSpec('x-turn-ini', (m) => (m.spec.turn.domain = 'turn.justice.example\nno-auth')) },
    { id: 'x-turn-ls', label: 'turn.domain with a Unicode line separator', manifest: withSpec('x-turn-ls', (m) => (m.spec.turn.domain = 'turn.justice.example\u2028port: 1')) },
    { id: 'x-stun-yaml', label: 'a STUN server with a YAML document marker', manifest: withSpec('x-stun-yaml', (m) => (m.spec.sovereignty = { stunServers: ['stun.justice.example:3478\n---\nport: 1'] })) },
    { id: 'x-redis-shell', label: 'an external Redis address with shell metacharacters', manifest: withSpec('x-redis-shell', (m) => (m.spec.redis = { mode: 'external', external: { address: 'redis.example:6379;$(id)' } })) },
    { id: 'x-ext-turn-hash', label: 'an external TURN host with a comment character', manifest: withSpec('x-ext-turn-hash', (m) => ((m.spec.turn = { mode: 'external', external: { host: 'turn.example#no-auth', secretRef: { name: 'turn-ext', key: 'secret' } } }), (m.spec.sovereignty = { stunServers: ['stun.justice.example:3478'] }))) },
    { id: 'x-ministry', label: 'a Unicode ministry with quotes and a newline (printed, never in a config file)', manifest: withSpec('x-ministry', (m) => (m.spec.ministry = 'Ministère de l\'Intérieur "🇫🇷"\n---\nport: 1')) },
    { id: 'x-ministry-long', label: 'a ministry one character over maxLength', manifest: withSpec('x-ministry-long', (m) => (m.spec.ministry = 'é'.repeat(129))), expectRejected: /spec\.ministry/ },
    { id: 'x-user-secrets', label: 'credentials from the user\'s own Secrets', manifest: withSpec('x-user-secrets', (m) => ((m.spec.sfu = { apiKeysSecretName: 'user-keys' }), (m.spec.turn.sharedSecretName = 'user-turn'), (m.spec.redis = { passwordSecretName: 'user-redis' }))) },
    { id: 'x-ext-secrets', label: 'external TURN and Redis with secret references', manifest: withSpec('x-ext-secrets', (m) => ((m.spec.turn = { mode: 'external', external: { host: 'turn.partner.example', secretRef: { name: 'turn-ext', key: 'secret' } } }), (m.spec.redis = { mode: 'external', external: { address: 'redis.partner.example:6380', passwordSecretRef: { name: 'redis-ext', key: 'password' } } }), (m.spec.sovereignty = { stunServers: ['stun.justice.example:3478'] }))) },
    { id: 'x-annotations-max', label: 'the largest annotation map the schema admits (64 x 1 KiB values)', manifest: withSpec('x-annotations-max', (m) => (m.spec.cloud.loadBalancer = { annotations: Object.fromEntries(Array.from({ length: 64 }, (_, i) => [`ops.justice.example/k${i}`, 'v'.repeat(1024)])) })) },
    { id: 'x-annotations-65', label: 'one annotation over maxProperties', manifest: withSpec('x-annotations-65', (m) => (m.spec.cloud.loadBalancer = { annotations: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v'])) })), expectRejected: /spec\.cloud\.loadBalancer\.annotations/ },
    { id: 'x-meta-annotations', label: '300 KiB of metadata.annotations (limit 256 KiB)', manifest: (() => { const m = base('x-meta-annotations'); m.metadata.annotations = { 'ops.justice.example/blob': 'a'.repeat(300 * 1024) }; return m; })(), expectRejected: /metadata\.annotations/ },
    { id: 'x-unknown-2m9', label: 'a 2.9 MiB unknown field, strict (just under the 3 MiB request limit)', manifest: base('x-unknown-2m9'), raw: JSON.stringify({ ...base('x-unknown-2m9'), spec: { ...base('x-unknown-2m9').spec, padding: 'p'.repeat(2.9 * MiB) } }), expectRejected: /spec\.padding/ },
    { id: 'x-unknown-2m9-pruned', label: 'a 2.9 MiB unknown field, fieldValidation=Ignore: pruned, the rest is served', manifest: base('x-unknown-2m9-pruned'), raw: JSON.stringify({ ...base('x-unknown-2m9-pruned'), spec: { ...base('x-unknown-2m9-pruned').spec, padding: 'p'.repeat(2.9 * MiB) } }), fieldValidation: 'Ignore' },
    // Updates of a running stack: InvalidSpec must leave every child exactly as it was.
    { id: 'x-upd-region', label: 'update: region moved outside the EU', manifest: base('x-upd-region'), update: withSpec('x-upd-region', (m) => ((m.spec.cloud.region = 'us-east-2'), (m.spec.cloud.zones = []))) },
    { id: 'x-upd-cidr', label: 'update: node CIDR with host bits (the NetworkPolicy would be refused)', manifest: base('x-upd-cidr'), update: withSpec('x-upd-cidr', (m) => (m.spec.cloud.nodeCIDRs = ['10.0.0.1/16'])) },
    { id: 'x-upd-cpu', label: 'update: negative CPU request (the Deployment would be refused)', manifest: base('x-upd-cpu'), update: withSpec('x-upd-cpu', (m) => (m.spec.sfu = { resources: { requests: { cpu: '-1' } } })) },
    { id: 'x-upd-ok', label: 'update: a legitimate change is rolled out', manifest: base('x-upd-ok'), update: withSpec('x-upd-ok', (m) => (m.spec.sfu = { maxParticipantsPerRoom: 80 })) },
    { id: 'x-upd-refused', label: 'update: turn.domain with a newline, refused at admission', manifest: base('x-upd-refused'), update: withSpec('x-upd-refused', (m) => (m.spec.turn.domain = 'turn.justice.example\nport: 1')) },
    { id: 'x-over-3m', label: 'a 3.5 MiB request (over the API server\'s 3 MiB limit)', manifest: base('x-over-3m'), raw: JSON.stringify({ ...base('x-over-3m'), spec: { ...base('x-over-3m').spec, ministry: 'm'.repeat(3.5 * MiB) } }), expectRejected: /too large|limit is 3145728/i },
  ];
  return cases.map((c, i) => {
    const id = c.id || c.manifest.metadata.name;
    return { ...c, id: id || `x${i}`, specOnly: !!c.id && !c.raw && c.manifest.metadata.name === c.id && !c.manifest.metadata.annotations };
  });
}

function fuzzCases(): Case[] {
  const gen = fc.sample(hostileCaseArb(NAMESPACES), { numRuns: FUZZ_CASES, seed: SEED });
  return gen.map((f, i) => {
    const id = `h${i}`;
    const c = f(id);
    return { ...c, id, specOnly: c.manifest.metadata.name === id };
  });
}

let op: OperatorProcess;
let opPid: number;
const figures: Record<string, number> = {};

beforeAll(async () => {
  console.log(`hostile input: fast-check seed ${SEED}, ${FUZZ_CASES} fuzz cases (HOSTILE_SEED=${SEED} reproduces this run)`);
  kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', 'crds/']); // the chart suite may have installed the CRD through helm
  await crdsEstablished('meetingclusters.meet.sovereign.io');
  for (const ns of NAMESPACES) {
    ensureNamespace(ns);
    // Children are what is under test, not pods: a zero quota keeps hundreds of SFU pods off the shared nodes.
    kubectlOk(['apply', '--server-side', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'no-pods', namespace: ns }, spec: { hard: { pods: '0', persistentvolumeclaims: '0' } } }));
    for (const [name, data] of Object.entries(USER_SECRETS)) {
      kubectlOk(['apply', '--server-side', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, type: 'Opaque', stringData: data }));
    }
  }
  op = startOperator('op-hostile', ['--leader-election-name', 'meet-operator-hostile', '--namespaces', NAMESPACES.join(','), '--concurrency', '4']);
  opPid = op.proc.pid!;
  await eventually('hostile operator leading', () => (logged(op, 'starting workers') ? true : undefined), 30_000);
}, 120_000);

afterAll(async () => {
  if (Object.keys(figures).length) console.log(`hostile input figures: ${JSON.stringify(figures)}`);
  await op?.stop();
  http.close();
  kubectl(['delete', 'namespace', ...NAMESPACES, '--ignore-not-found', '--timeout=180s']);
}, 240_000);

describe('hostile MeetingClusters against the real API server and the running operator', () => {
  const cases = [...explicitCases(), ...fuzzCases()];
  let created: Outcome[] = [];
  let updated: Outcome[] = [];
  /** Children of the clusters about to be updated, once two looks 2 s apart agree (the autoscaler may still be settling replicas). */
  async function stableSnapshots(targets: Outcome[]): Promise<Map<string, Map<string, unknown>>> {
    const take = () => {
      const children = new Map(NAMESPACES.map((ns) => [ns, childrenByCluster(ns)]));
      return new Map(targets.map((o) => [o.c.id, new Map([...(children.get(o.stored.metadata.namespace)!.get(o.stored.metadata.name) ?? new Map())].map(([k, v]) => [k, content(v)]))]));
    };
    const text = (m: Map<string, Map<string, unknown>>) => JSON.stringify([...m].map(([id, kids]) => [id, [...kids]]));
    let last = take();
    return eventually('children to settle before the updates', () => {
      const now = take();
      const same = text(now) === text(last);
      last = now;
      return same ? now : undefined;
    }, 60_000, 2000);
  }

  it(`admission: each of ${cases.length} objects is refused naming a field, or admitted as the offline validator predicts`, async () => {
    const t0 = Date.now();
    created = await pool(cases, 6, (c) => send(c, 'POST', c.raw ?? c.manifest));
    figures.admissionMs = Date.now() - t0;
    const unclear = created.filter((o) => !o.admitted && !(o.c.expectRejected ?? NAMES_A_FIELD).test(o.message ?? ''));
    expect(unclear.map((o) => `${o.c.id} (${o.c.label}): ${o.status} ${o.message?.slice(0, 300)}`)).toEqual([]);
    const unexpected = created.filter((o) => o.c.expectRejected && o.admitted);
    expect(unexpected.map((o) => `${o.c.id} (${o.c.label}) was admitted`)).toEqual([]);
    // `meet-operator validate` refuses exactly what admission refuses (spec-only mutations).
    const disagree = created
      .filter((o) => o.c.specOnly && !o.c.raw)
      .map((o) => ({ o, offline: offlineAdmissionErrors(o.c.manifest) }))
      .filter(({ o, offline }) => o.admitted === offline.length > 0)
      .map(({ o, offline }) => `${o.c.id} (${o.c.label}): API server ${o.admitted ? 'admitted' : `refused: ${o.message?.slice(0, 200)}`}; offline: ${offline.join('; ') || 'no error'}`);
    expect(disagree).toEqual([]);
    figures.refused = created.filter((o) => !o.admitted).length;
    figures.admitted = created.filter((o) => o.admitted).length;
    console.log(`admission: ${figures.admitted} admitted, ${figures.refused} refused in ${figures.admissionMs} ms; a refusal of each kind: ${[...new Map(created.filter((o) => !o.admitted).map((o) => [o.c.label.split(' ')[0], o.message?.slice(0, 160)])).values()].slice(0, 6).join(' | ')}`);
  }, 180_000);

  /** Waits until the operator has acted on the current generation of every admitted object. */
  async function waitObserved(outcomes: Outcome[], what: string): Promise<Map<string, any>> {
    const want = new Map(outcomes.filter((o) => o.admitted).map((o) => [`${o.stored.metadata.namespace}/${o.stored.metadata.name}`, o.stored.metadata.generation]));
    const t0 = Date.now();
    const seen = await eventually(`the operator to act on ${want.size} ${what}`, () => {
      const live = new Map(listClusters().map((mc) => [`${mc.metadata.namespace}/${mc.metadata.name}`, mc]));
      const behind = [...want].filter(([k, g]) => !(live.get(k)?.status?.observedGeneration >= g && readyOf(live.get(k))));
      if (behind.length) throw new Error(`${behind.length} not observed yet, e.g. ${behind.slice(0, 5).map(([k]) => k).join(', ')}`);
      return live;
    }, 180_000, 1000);
    figures[`${what}ObservedMs`] = Date.now() - t0;
    return seen;
  }

  /** The outcome of one admitted object: rendered and applied, or InvalidSpec with no child changed. */
  function checkOutcome(o: Outcome, mc: any, children: Map<string, any>, before?: Map<string, unknown>): string | undefined {
    const who = `${o.c.id} (${o.c.label})`;
    const { errors, cluster } = validateMeetingCluster(mc);
    const ready = readyOf(mc);
    if (!cluster) {
      if (ready?.reason !== 'InvalidSpec' || ready.status !== 'False') return `${who}: offline validation says ${errors.map(formatFieldError).join('; ')} but Ready is ${JSON.stringify(ready)}`;
      const expected = errors.map(formatFieldError).join('; ');
      if (!NAMES_A_FIELD.test(ready.message) || ready.message !== expected) return `${who}: InvalidSpec message ${JSON.stringify(ready.message)}, expected ${JSON.stringify(expected)} (naming ${errors.map((e) => e.path).join(', ')})`;
      if (!before && children.size) return `${who}: reported InvalidSpec but has children ${[...children.keys()].join(', ')}`;
      const changed = before ? changedChildren(before, children) : [];
      if (changed.length) return `${who}: reported InvalidSpec but changed ${changed.join('; ')}`;
      return undefined;
    }
    if (ready?.reason === 'InvalidSpec' || ready?.reason === 'ApplyFailed') return `${who}: valid offline but Ready is ${JSON.stringify(ready)}`;
    const wanted = renderCluster(cluster, TEST_SECRETS).map((x) => `${x.kind}/${x.metadata.name}`).sort();
    // Either SFU slot (or both, while a side-by-side upgrade runs) stands for the rendered SFU objects.
    const name = mc.metadata.name;
    const anySlot = (id: string) => id.replace(`Deployment/${name}-sfu-b`, `Deployment/${name}-sfu`).replace(`ConfigMap/${name}-sfu-b-config`, `ConfigMap/${name}-sfu-config`);
    const have = [...new Set([...children.keys()].map(anySlot))].sort();
    if (JSON.stringify(wanted) !== JSON.stringify(have)) return `${who}: children ${have.join(', ')}; rendered ${wanted.join(', ')}`;
    for (const [id, child] of children) {
      const limit = child.kind === 'Service' ? 63 : 253;
      if (child.metadata.name.length > limit) return `${who}: ${id} is longer than ${limit}`;
      const long = Object.entries(child.metadata.labels ?? {}).filter(([, v]) => String(v).length > 63);
      if (long.length) return `${who}: ${id} has label values over 63 characters`;
    }
    return undefined;
  }

  it('operator: every admitted object is rendered and applied whole, or reported InvalidSpec naming the field with no child', async () => {
    const admitted = created.filter((o) => o.admitted);
    expect(admitted.length).toBeGreaterThan(20);
    const live = await waitObserved(admitted, 'created');
    const children = new Map(NAMESPACES.map((ns) => [ns, childrenByCluster(ns)]));
    const problems = admitted
      .map((o) => {
        const mc = live.get(`${o.stored.metadata.namespace}/${o.stored.metadata.name}`);
        return checkOutcome(o, mc, children.get(mc.metadata.namespace)!.get(mc.metadata.name) ?? new Map());
      })
      .filter((p): p is string => !!p);
    expect(problems).toEqual([]);
    const invalid = admitted.filter((o) => readyOf(live.get(`${o.stored.metadata.namespace}/${o.stored.metadata.name}`))?.reason === 'InvalidSpec').length;
    figures.rendered = admitted.length - invalid;
    figures.invalidSpec = invalid;
    console.log(`operator: ${figures.rendered} rendered and applied, ${invalid} InvalidSpec, all observed in ${figures.createdObservedMs} ms`);
    expect(figures.rendered).toBeGreaterThan(5);
    // The pruned oversized object is served like any other: the padding is gone, the stack is there.
    const pruned = created.find((o) => o.c.id === 'x-unknown-2m9-pruned')!;
    expect(pruned.admitted).toBe(true);
    expect(pruned.stored.spec.padding).toBeUndefined();
  }, 240_000);

  it('updates of running stacks: refused with nothing changed, or applied whole, or InvalidSpec leaving every child as it was', async () => {
    const targets = created.filter((o) => o.c.update && o.admitted);
    expect(targets.length).toBeGreaterThan(3);
    const snapshots = await stableSnapshots(targets);
    updated = await pool(targets, 6, async (o) => {
      const live = await http.request('GET', resourcePath(MEETING_CLUSTER, o.stored.metadata.namespace, o.stored.metadata.name));
      const body = { ...o.c.update!, metadata: { ...o.c.update!.metadata, resourceVersion: live.metadata.resourceVersion } };
      return send(o.c, 'PUT', body);
    });
    const unclear = updated.filter((o) => !o.admitted && !NAMES_A_FIELD.test(o.message ?? ''));
    expect(unclear.map((o) => `${o.c.id} (${o.c.label}): ${o.status} ${o.message?.slice(0, 300)}`)).toEqual([]);
    const live = await waitObserved(updated, 'updated');
    // Give a wrong operator time to touch what it must not.
    await new Promise((r) => setTimeout(r, 3000));
    const children = new Map(NAMESPACES.map((ns) => [ns, childrenByCluster(ns)]));
    const problems = updated
      .map((o) => {
        const { name, namespace } = o.c.manifest.metadata;
        const mc = getJson('meetingcluster', name, '-n', namespace);
        // Refused: the operator never saw it (same generation, same spec); autoscaling may still move replicas.
        if (!o.admitted) return mc.metadata.generation === targets.find((t) => t.c.id === o.c.id)!.stored.metadata.generation ? undefined : `${o.c.id}: refused update changed the stored object`;
        return checkOutcome(o, live.get(`${namespace}/${name}`), children.get(namespace)!.get(name) ?? new Map(), snapshots.get(o.c.id));
      })
      .filter((p): p is string => !!p);
    expect(problems).toEqual([]);
    figures.updatesRefused = updated.filter((o) => !o.admitted).length;
    figures.updatesAdmitted = updated.filter((o) => o.admitted).length;
    figures.updatesInvalidSpec = updated.filter((o) => o.admitted && readyOf(live.get(`${o.c.manifest.metadata.namespace}/${o.c.manifest.metadata.name}`))?.reason === 'InvalidSpec').length;
    expect(figures.updatesInvalidSpec).toBeGreaterThanOrEqual(3);
  }, 240_000);

  it('the operator never crashed, and no Secret value (generated or the user\'s) is in its logs', () => {
    expect(op.proc.exitCode).toBeNull();
    expect(op.proc.signalCode).toBeNull();
    expect(op.proc.pid).toBe(opPid);
    const logs = op.logs.join('\n');
    expect(logs).not.toMatch(/"level":"fatal"|uncaught|unhandled/i);
    const values = NAMESPACES.flatMap((ns) => getJson('secrets', '-n', ns).items.flatMap((s: any) => Object.values<string>(s.data ?? {}).map((v) => Buffer.from(v, 'base64').toString('utf8'))));
    const generated = NAMESPACES.flatMap((ns) => getJson('secrets', '-n', ns, '-l', 'app.kubernetes.io/managed-by=meet-operator').items);
    expect(generated.length).toBeGreaterThan(10);
    for (const v of Object.values(USER_SECRETS).flatMap((d) => Object.values(d))) expect(values).toContain(v);
    // Whole values and every long token of them (keys.yaml is "<key>: <secret>").
    const needles = [...new Set(values.flatMap((v) => [v.trim(), ...v.split(/[\s:]+/)]).filter((x) => x.length >= 12))];
    const leaked = needles.filter((n) => logs.includes(n));
    expect(leaked.map((n) => `${n.slice(0, 4)}… (${n.length} characters)`)).toEqual([]);
    figures.secretValuesChecked = needles.length;
    figures.logLines = op.logs.length;
  });
});
