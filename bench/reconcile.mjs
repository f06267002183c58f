// bench/reconcile: how fast the operator converges K MeetingClusters (one per namespace) on the local
// control plane, against two baselines measured in the same run:
//   floor  - the same rendered objects applied by a bare server-side-apply loop (same concurrency),
//   manual - what a platform engineer would script: `meet-operator render | kubectl apply --server-side`
//            once per ministry.
// Also: write requests per cluster and on a no-op resync (from the API server's audit log), and the
// operator's RSS with 100 full clusters and 1000 light ones. Prints figures; targets are in the README.
// Usage: node bench/reconcile.mjs [--ks 1,10,100] [--rss 1000] [--manual-max 100]   (after make build)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const { KubeHttp } = await import(`${root}dist/kube/http.js`);
const { validateMeetingCluster } = await import(`${root}dist/api/validate.js`);
const { renderCluster } = await import(`${root}dist/render/index.js`);
const { generateSecrets } = await import(`${root}dist/controller/generate-secrets.js`);

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const KS = arg('ks', '1,10,100').split(',').map(Number);
const RSS_K = Number(arg('rss', '1000'));
const MANUAL_MAX = Number(arg('manual-max', '100'));
const CONCURRENCY = 4;

const bin = execFileSync('bash', [`${root}hack/build-k8s.sh`, '--print-dir'], { encoding: 'utf8' }).trim();
const state = mkdtempSync(join(tmpdir(), 'meet-bench-cp-'));
const log = (...a) => console.error('[bench/reconcile]', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

log('starting a control plane in', state);
execFileSync('bash', [`${root}hack/controlplane-up.sh`, state], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, NODES: '4' } });
const kubeconfig = join(state, 'kubeconfig');
const auditLog = join(state, 'audit.log');
const kubectl = (args, input) => {
  const r = spawnSync(`${bin}/kubectl`, args, { input, encoding: 'utf8', env: { ...process.env, KUBECONFIG: kubeconfig }, maxBuffer: 256 * 2 ** 20 });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
const http = KubeHttp.fromKubeconfig(kubeconfig, 'meet-bench/1');

const children = new Set();
function cleanup() {
  for (const c of children) c.kill('SIGKILL');
  spawnSync('bash', [`${root}hack/controlplane-down.sh`, '--clean', state], { stdio: 'ignore' });
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

kubectl(['apply', '--server-side', '-f', `${root}crds/`, '-f', `${root}hack/dev-storage.yaml`]);
kubectl(['wait', '--for=condition=Established', 'crd/meetingclusters.meet.sovereign.io', '--timeout=60s']);

const base = parse(readFileSync(`${root}examples/interieur-outscale-cloudgouv.yaml`, 'utf8'));
/** A full ministry (15 objects); `light` keeps 5 (external TURN and Redis) for the 1000-cluster RSS run. */
function ministry(ns, light = false) {
  const m = structuredClone(base);
  m.metadata.namespace = ns;
  m.spec.autoscaling.enabled = false;
  m.spec.sfu.replicas = 0; // pods are not what is measured; 4 kwok nodes could not host them anyway
  if (light) {
    m.spec.turn = { mode: 'external', external: { host: 'turn.partner.example', secretRef: { name: 'turn', key: 'secret' } } };
    m.spec.redis = { mode: 'external', external: { address: 'redis.partner.example:6379' } };
  }
  return m;
}

function createNamespaces(names) {
  kubectl(['apply', '--server-side', '-f', '-'], names.map((n) => stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: n } })).join('---\n'));
}

function writesBy(agentPart, nsPrefix) {
  let n = 0;
  for (const line of readFileSync(auditLog, 'utf8').split('\n')) {
    if (!line.includes(agentPart)) continue;
    const e = JSON.parse(line);
    if (e.stage === 'ResponseComplete' && e.userAgent.includes(agentPart) && (e.objectRef?.namespace ?? '').startsWith(nsPrefix)) n++;
  }
  return n;
}

function rssMiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const port = 18181;
// The operator runs with the V8 settings its image sets (Dockerfile NODE_OPTIONS), unless overridden.
const OPERATOR_NODE_OPTIONS = process.env.OPERATOR_NODE_OPTIONS ?? readFileSync(`${root}Dockerfile`, 'utf8').match(/NODE_OPTIONS="?([^"\n]*)"?/)?.[1] ?? '';
function startOperator(identity) {
  const p = spawn(process.execPath, [`${root}dist/cli/bin.js`, 'run', '--kubeconfig', kubeconfig, '--listen', `127.0.0.1:${port}`, '--no-leader-elect', '--identity', identity, '--concurrency', String(CONCURRENCY), '--resync-seconds', '5'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'warn', NODE_OPTIONS: OPERATOR_NODE_OPTIONS } });
  p.stdout.resume();
  children.add(p);
  p.once('exit', (code) => {
    children.delete(p);
    if (code !== 0 && code !== null && !p.stopping) {
      log(`operator ${identity} exited with ${code}`);
      process.exit(1);
    }
  });
  return p;
}

/** Polls until every MeetingCluster in the namespaces has a status for its generation. */
async function converged(namespaces, timeoutMs = 30 * 60_000) {
  const want = new Set(namespaces);
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const list = await http.request('GET', '/apis/meet.sovereign.io/v1alpha1/meetingclusters').catch(() => ({ items: [] }));
    const done = list.items.filter((mc) => want.has(mc.metadata.namespace) && mc.status?.observedGeneration === mc.metadata.generation).length;
    if (done === want.size) return;
    await sleep(100);
  }
  throw new Error('did not converge');
}

async function operatorRun(k, prefix, light = false) {
  const namespaces = Array.from({ length: k }, (_, i) => `${prefix}-${i}`);
  createNamespaces(namespaces);
  const identity = `${prefix}-operator`;
  const op = startOperator(identity);
  // Measure reconciling, not process start-up: wait until the operator reports ready.
  for (let ok = false; !ok; await sleep(100)) ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
  await sleep(500);
  const manifests = namespaces.map((ns) => stringify(ministry(ns, light))).join('---\n');
  const t0 = performance.now();
  kubectl(['apply', '--server-side', '-f', '-'], manifests);
  await converged(namespaces);
  const seconds = (performance.now() - t0) / 1000;
  // Let the cluster settle (workload controllers report status, the operator follows): wait for 5 s
  // without a write from the operator, then count a window of pure resyncs.
  let writes = writesBy(`(${identity})`, prefix);
  for (let quiet = 0, t = Date.now(); quiet < 5 && Date.now() - t < 180_000; ) {
    await sleep(1000);
    const now = writesBy(`(${identity})`, prefix);
    quiet = now === writes ? quiet + 1 : 0;
    writes = now;
  }
  const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const heap = Number(/^\S*heap_size_used_bytes\s+([0-9.e+]+)$/m.exec(metrics)?.[1] ?? NaN) / 2 ** 20;
  await sleep(12_000); // two resyncs of every key
  const noop = writesBy(`(${identity})`, prefix) - writes;
  const rss = rssMiB(op.pid);
  op.stopping = true;
  op.kill('SIGTERM');
  await new Promise((r) => op.once('exit', r));
  return { seconds, writes, noop, rss, heap };
}

async function floorRun(k, prefix) {
  const namespaces = Array.from({ length: k }, (_, i) => `${prefix}-${i}`);
  createNamespaces(namespaces);
  const objects = namespaces.flatMap((ns) => renderCluster(validateMeetingCluster(ministry(ns)).cluster, generateSecrets()));
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < objects.length) {
      const o = objects[next++];
      const plural = { Secret: 'secrets', ConfigMap: 'configmaps', Service: 'services', StatefulSet: 'statefulsets', Deployment: 'deployments', PodDisruptionBudget: 'poddisruptionbudgets', NetworkPolicy: 'networkpolicies' }[o.kind];
      const prefixPath = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
      await http.request('PATCH', `${prefixPath}/namespaces/${o.metadata.namespace}/${plural}/${o.metadata.name}`, { query: { fieldManager: 'bench-floor', force: true }, contentType: 'application/apply-patch+yaml', body: o });
    }
  }));
  return { seconds: (performance.now() - t0) / 1000, writes: objects.length };
}

function manualRun(k, prefix) {
  const namespaces = Array.from({ length: k }, (_, i) => `${prefix}-${i}`);
  createNamespaces(namespaces);
  const dir = mkdtempSync(join(tmpdir(), 'meet-bench-manual-'));
  const files = namespaces.map((ns) => {
    const f = join(dir, `${ns}.yaml`);
    writeFileSync(f, stringify(ministry(ns)));
    return f;
  });
  const t0 = performance.now();
  for (const f of files) {
    const rendered = execFileSync(process.execPath, [`${root}dist/cli/bin.js`, 'render', '-f', f], { encoding: 'utf8' });
    kubectl(['apply', '--server-side', '--field-manager=manual', '-f', '-'], rendered);
  }
  return { seconds: (performance.now() - t0) / 1000 };
}

const rows = [];
for (const k of KS) {
  log(`K=${k}: operator`);
  const op = await operatorRun(k, `op${k}`);
  log(`K=${k}: floor (bare server-side apply, ${CONCURRENCY} workers)`);
  const fl = await floorRun(k, `fl${k}`);
  let manual;
  if (k <= MANUAL_MAX) {
    log(`K=${k}: manual (render + kubectl apply per ministry)`);
    manual = manualRun(k, `mn${k}`);
  }
  rows.push({
    K: k,
    'operator s': op.seconds.toFixed(2),
    'floor s': fl.seconds.toFixed(2),
    'vs floor': (op.seconds / fl.seconds).toFixed(2) + 'x',
    'manual s': manual ? manual.seconds.toFixed(2) : '-',
    'vs manual': manual ? (op.seconds / manual.seconds).toFixed(2) + 'x' : '-',
    'writes/cluster': (op.writes / k).toFixed(1),
    'floor writes/cluster': (fl.writes / k).toFixed(1),
    'no-op resync writes': op.noop,
    'RSS MiB': op.rss.toFixed(0),
    'heap MiB': op.heap.toFixed(0),
  });
}
console.log(`bench/reconcile: converge K MeetingClusters (15 children each), one per namespace, ${CONCURRENCY} workers`);
console.table(rows);

if (RSS_K > 0) {
  log(`RSS with ${RSS_K} light clusters (5 children each)`);
  const r = await operatorRun(RSS_K, 'rss', true);
  console.log(`operator RSS after converging ${RSS_K} light MeetingClusters: ${r.rss.toFixed(0)} MiB, V8 heap used ${r.heap.toFixed(0)} MiB (target RSS < 150 MB); converged in ${r.seconds.toFixed(1)} s; no-op resync writes: ${r.noop}`);
}
http.close();
