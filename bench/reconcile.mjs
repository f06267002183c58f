// bench/reconcile: how fast the operator converges K MeetingClusters (one per namespace) on the local
// control plane, against two baselines measured in the same run:
//   floor  - the same rendered objects applied by a bare server-side-apply loop (same concurrency),
//   manual - what a platform engineer would script: `meet-operator render | kubectl apply --server-side`
//            once per ministry.
// Also, from the API server's audit log: write requests per cluster (children, status, events), the
// writes while the stack settles (workload controllers report status, the operator follows) told apart
// from the writes of a no-op restart and resyncs once settled; and the operator's memory with 100 full
// clusters and 1000 light ones: RSS converged and at rest, peak RSS while converging, and RSS in a
// resync storm (--resync-seconds 5: every key reconciled again and again, nothing written).
// Converging runs with the default resync period (as in production); the floor applies the
// MeetingClusters (paused) and then the children exactly as the operator applies them.
// The operator runs as the image runs it: the entrypoint's node flags and the env of the image's recipe
// (images/meet-operator/image.yaml: NODE_OPTIONS, MALLOC_*, ...). OPERATOR_NODE_FLAGS replaces the
// former, OPERATOR_NODE_OPTIONS overrides NODE_OPTIONS; OPERATOR_CPU_PROF=DIR writes CPU profiles there;
// OPERATOR_LOG_FILE=path keeps the operators' logs (level OPERATOR_LOG_LEVEL, default warn); BENCH_KEEP=1
// keeps the control plane's state.
// --repeat N runs operator and floor N times each per K, every pair on a fresh control plane and
// alternating which of the two goes first, and reports the median ratio (and every ratio): on a
// 2-core machine one pair can be off by a third either way.
// Usage: node bench/reconcile.mjs [--ks 1,10,100] [--rss 1000] [--manual-max 100] [--repeat 1]   (after make build)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg } from './lib.mjs';
import { parse, stringify } from 'yaml';
import { AuditReader } from '../operator/test/audit-log.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const { KubeHttp } = await import(`${root}dist/kube/http.js`);
const { validateMeetingCluster } = await import(`${root}dist/api/validate.js`);
const { renderCluster } = await import(`${root}dist/render/index.js`);
const { generateSecrets } = await import(`${root}dist/credentials/generate.js`);
const { prepareChild, ownerReferenceTo } = await import(`${root}dist/controller/diff.js`);
const { Reflector } = await import(`${root}dist/kube/reflector.js`);
const { MEETING_CLUSTER, resourcePath } = await import(`${root}dist/kube/resources.js`);
const { silentLogger } = await import(`${root}dist/log.js`);

const KS = arg('ks', '1,10,100').split(',').map(Number);
const RSS_K = Number(arg('rss', '1000'));
const MANUAL_MAX = Number(arg('manual-max', '100'));
const REPEAT = Math.max(1, Number(arg('repeat', '1')));
const CONCURRENCY = 4;

const bin = execFileSync('bash', [`${root}hack/build-k8s.sh`, '--print-dir'], { encoding: 'utf8' }).trim();
const log = (...a) => console.error('[bench/reconcile]', ...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// One control plane for the K runs (operator, floor and manual side by side); the RSS run gets a
// fresh one, so that its operator caches the light clusters alone, not what the K runs left behind.
let state, kubeconfig, auditLog, http, clusterCache;
/** Wakes converged() when the bench's MeetingCluster watch delivers an event. */
let clusterEvent = () => {};
async function startControlPlane() {
  state = mkdtempSync(join(tmpdir(), 'meet-bench-cp-'));
  log('starting a control plane in', state);
  execFileSync('bash', [`${root}hack/controlplane-up.sh`, state], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, NODES: '4' } });
  kubeconfig = join(state, 'kubeconfig');
  auditLog = join(state, 'audit.log');
  audit = new AuditReader(auditLog);
  http = KubeHttp.fromKubeconfig(kubeconfig, 'meet-bench/1');
  kubectl(['apply', '--server-side', '-f', `${root}crds/`, '-f', `${root}hack/dev-storage.yaml`]);
  // Not `kubectl wait`: it fails at once on a CRD whose conditions are not set yet.
  for (let t = Date.now(); kubectl(['get', 'crd', 'meetingclusters.meet.sovereign.io', '-o', 'jsonpath={.status.conditions[?(@.type=="Established")].status}']) !== 'True';) {
    if (Date.now() - t > 60_000) throw new Error('the MeetingCluster CRD is not Established after 60 s');
    await sleep(200);
  }
  // The bench follows MeetingCluster status through one watch (the operator's own reflector), not by
  // listing every MeetingCluster ten times a second: that would load the API server during the
  // operator's runs only, and more so with every run's clusters left in place.
  clusterCache = new Reflector({ http, type: MEETING_CLUSTER, log: silentLogger, onEvent: () => clusterEvent() });
  clusterCache.start();
  await warmControlPlane();
}

/**
 * A fresh API server answers its first request of each kind slowly (type converters, the admission
 * chain, etcd's first keys; kube-controller-manager's first reactions), and whichever side ran first
 * on it paid for that: at K=1, 1.98-2.55x with the operator first, 1.26-1.33x with the floor first.
 * One untimed cluster written every way either side writes (server-side apply of the MeetingCluster
 * and its children, POST of a Secret, the status subresource, an Event) leaves both a warm server.
 */
async function warmControlPlane() {
  const ns = 'warm-up';
  createNamespaces([ns]);
  const m = ministry(ns);
  m.metadata.annotations = { ...m.metadata.annotations, 'meet.sovereign.io/paused': 'true' };
  const [mc] = await applyAll([m], 'bench-warm-up');
  const owner = ownerReferenceTo(mc);
  await applyAll(renderCluster(validateMeetingCluster(m).cluster, generateSecrets()).map((o) => prepareChild(o, owner)), 'bench-warm-up');
  await http.request('POST', `/api/v1/namespaces/${ns}/secrets`, { body: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'warm-up-created' }, stringData: { warm: 'up' } } });
  await http.request('PATCH', resourcePath(MEETING_CLUSTER, ns, mc.metadata.name, 'status'), {
    query: { fieldManager: 'bench-warm-up', force: true },
    contentType: 'application/apply-patch+yaml',
    body: { apiVersion: mc.apiVersion, kind: mc.kind, metadata: { name: mc.metadata.name, namespace: ns }, status: { observedGeneration: mc.metadata.generation } },
  });
  await http.request('POST', `/api/v1/namespaces/${ns}/events`, {
    body: { apiVersion: 'v1', kind: 'Event', metadata: { generateName: 'warm-up.' }, involvedObject: { ...owner, namespace: ns }, type: 'Normal', reason: 'WarmUp', message: 'bench/reconcile warms the API server up', source: { component: 'bench' } },
  });
  await quiesce();
  log('control plane warmed up (one untimed cluster in namespace warm-up)');
}
function stopControlPlane() {
  clusterCache?.stop();
  http?.close();
  // BENCH_KEEP=1 keeps the state directory (audit log, component logs) for a closer look.
  if (state) spawnSync('bash', [`${root}hack/controlplane-down.sh`, ...(process.env.BENCH_KEEP ? [] : ['--clean']), state], { stdio: 'ignore' });
  if (state && process.env.BENCH_KEEP) log('kept', state);
  state = undefined;
}
const kubectl = (args, input) => {
  const r = spawnSync(`${bin}/kubectl`, args, { input, encoding: 'utf8', env: { ...process.env, KUBECONFIG: kubeconfig }, maxBuffer: 256 * 2 ** 20 });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

const children = new Set();
function cleanup() {
  for (const c of children) c.kill('SIGKILL');
  stopControlPlane();
}
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

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

/** Write requests in the bench's namespaces, read from the audit log incrementally (the log grows
 * to hundreds of MB with 1000 clusters: rereading it every second would compete with the operator). */
let audit;
const BENCH_NS = /^(op|fl|mn|rss)[\dr]*-/;
const auditWrites = () => audit.completed((e) => BENCH_NS.test(e.namespace ?? ''));

/** Write requests of one user agent in namespaces `${nsPrefix}-*`, by what they wrote. */
function writesBy(agentPart, nsPrefix) {
  const n = { total: 0, children: 0, status: 0, events: 0 };
  for (const w of auditWrites()) {
    if (!w.userAgent.includes(agentPart) || !w.namespace.startsWith(`${nsPrefix}-`)) continue;
    n.total++;
    if (w.resource === 'events') n.events++;
    else if (w.subresource === 'status') n.status++;
    else n.children++;
  }
  return n;
}

/** Waits until nobody has written in the bench's namespaces for `quietMs` (bounded), so that one
 * run's aftermath (controllers creating pods, reporting status) does not slow the next one down. */
async function quiesce(quietMs = 5000, maxMs = 180_000) {
  const count = () => auditWrites().length;
  let last = count();
  for (let quietFor = 0, t = Date.now(); quietFor < quietMs && Date.now() - t < maxMs; ) {
    await sleep(1000);
    const now = count();
    quietFor = now === last ? quietFor + 1000 : 0;
    last = now;
  }
}

/** CPU seconds used so far by each control-plane component (and `extra` processes), from /proc. */
function cpuSeconds(extra = {}) {
  const out = {};
  const procs = [...readFileSync(join(state, 'pids'), 'utf8').trim().split('\n').map((l) => l.split(' ')), ...Object.entries(extra)];
  for (const [name, pid] of procs) {
    try {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      // utime and stime: fields 14 and 15 of stat, 12 and 13 after the command name.
      out[name] = (out[name] ?? 0) + (Number(f[11]) + Number(f[12])) / 100;
    } catch {
      // exited
    }
  }
  return out;
}
/** The machine's CPU ticks so far: all, and stolen by the hypervisor (the `cpu` line of /proc/stat). */
function machineTicks() {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  return { total: f.reduce((a, b) => a + b, 0), steal: f[7] ?? 0 };
}
/** Share of the machine's CPU the hypervisor took since `before`, in percent: on a shared VM a window
 * with more steal runs slower, and the ratio of two windows is only as fair as their steal is equal. */
const stealSince = (before, after = machineTicks()) => (100 * (after.steal - before.steal)) / Math.max(1, after.total - before.total);
const cpuSince = (before, after) =>
  Object.entries(after).map(([n, v]) => [n, v - (before[n] ?? 0)]).filter(([, v]) => v >= 0.5).sort((a, b) => b[1] - a[1]).map(([n, v]) => `${n} ${v.toFixed(1)}`).join(', ');
/** Writes in namespaces `${nsPrefix}-*` by user agent (program name), for the log. */
function writesByAgent(nsPrefix, from = 0) {
  const n = {};
  for (const w of auditWrites().slice(from)) if (w.namespace.startsWith(`${nsPrefix}-`)) n[w.userAgent.split('/')[0]] = (n[w.userAgent.split('/')[0]] ?? 0) + 1;
  return JSON.stringify(n);
}

function memMiB(pid, field = 'VmRSS') {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const port = 18181;

/** The operator image's recipe (built by images/build.mjs). */
const IMAGE_RECIPE = parse(readFileSync(`${root}images/meet-operator/image.yaml`, 'utf8'));
/** The environment the image sets, without PATH (the image's says where it keeps node; the host's stays). */
function imageEnv() {
  const { PATH: _path, ...env } = IMAGE_RECIPE.env ?? {};
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)]));
}
/** The node flags of the image's entrypoint (["node", flags..., "dist/cli/bin.js"]). */
function imageNodeFlags() {
  const entrypoint = IMAGE_RECIPE.entrypoint ?? [];
  if (entrypoint[0] !== 'node' || entrypoint.at(-1) !== 'dist/cli/bin.js') throw new Error(`unexpected entrypoint ${JSON.stringify(entrypoint)}`);
  return entrypoint.slice(1, -1);
}
const IMAGE_ENV = imageEnv();
if (process.env.OPERATOR_NODE_OPTIONS !== undefined) IMAGE_ENV.NODE_OPTIONS = process.env.OPERATOR_NODE_OPTIONS;
if (process.env.OPERATOR_CPU_PROF) IMAGE_ENV.NODE_OPTIONS = `${IMAGE_ENV.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${process.env.OPERATOR_CPU_PROF}`;
// OPERATOR_NODE_FLAGS (space-separated) replaces the entrypoint's flags, e.g. '' for none.
const IMAGE_NODE_FLAGS = process.env.OPERATOR_NODE_FLAGS !== undefined ? process.env.OPERATOR_NODE_FLAGS.split(' ').filter(Boolean) : imageNodeFlags();
log('operator runs as the image runs it:', JSON.stringify({ nodeFlags: IMAGE_NODE_FLAGS, env: IMAGE_ENV }));

function startOperator(identity, resyncSeconds = 5) {
  const resync = resyncSeconds ? ['--resync-seconds', String(resyncSeconds)] : [];
  const p = spawn(process.execPath, [...IMAGE_NODE_FLAGS, `${root}dist/cli/bin.js`, 'run', '--kubeconfig', kubeconfig, '--listen', `127.0.0.1:${port}`, '--no-leader-elect', '--identity', identity, '--concurrency', String(CONCURRENCY), ...resync], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: process.env.OPERATOR_LOG_LEVEL ?? 'warn', ...IMAGE_ENV } });
  // OPERATOR_LOG_FILE=path keeps the operators' log lines (OPERATOR_LOG_LEVEL=debug for all of them).
  if (process.env.OPERATOR_LOG_FILE) p.stdout.pipe(createWriteStream(process.env.OPERATOR_LOG_FILE, { flags: 'a' }));
  else p.stdout.resume();
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

/** The MeetingClusters in `namespaces` that have a status for their generation (and `also`). */
async function countClusters(namespaces, also = () => true) {
  const want = new Set(namespaces);
  await clusterCache.synced;
  return clusterCache.list().filter((mc) => want.has(mc.metadata.namespace) && mc.status?.observedGeneration === mc.metadata.generation && also(mc)).length;
}
const condition = (mc, type) => mc.status?.conditions?.find((c) => c.type === type)?.status;

/** Waits until every MeetingCluster in the namespaces has a status for its generation. */
async function converged(namespaces, timeoutMs = 30 * 60_000) {
  const t0 = Date.now();
  const progress = [];
  // Looks again as soon as a MeetingCluster event arrives (or every 100 ms, for the progress line):
  // the floor's clock stops the moment its last write is answered, and a polling step would add up
  // to its period to the operator's (at K=1, 10 ms of ~200).
  const nextEvent = () => new Promise((wake) => {
    const fallback = setTimeout(wake, 100);
    clusterEvent = () => {
      clearTimeout(fallback);
      wake();
    };
  });
  for (let lastAt = 0, end = Date.now() + timeoutMs; Date.now() < end; await nextEvent()) {
    const n = await countClusters(namespaces);
    // Long runs show progress (and where the time goes: a slow tail, or a steady pace).
    if (Date.now() - lastAt >= 2000) {
      progress.push(`${((Date.now() - t0) / 1000).toFixed(0)}s:${n}`);
      lastAt = Date.now();
    }
    if (n === namespaces.length) {
      if (namespaces.length >= 50) log(`  converged over time: ${progress.join(' ')}`);
      return;
    }
  }
  throw new Error('did not converge');
}

const metricsText = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
const metric = (text, re) => [...text.matchAll(re)].reduce((a, m) => a + Number(m[1]), 0);
const reconciles = (text) => metric(text, /^\S*reconcile_total\{[^}]*\}\s+(\S+)$/gm);
const queueDepth = (text) => metric(text, /^\S*queue_depth\s+(\S+)$/gm);
const reconcileErrors = (text) => metric(text, /^\S*reconcile_total\{[^}]*result="error"[^}]*\}\s+(\S+)$/gm);
const heapMiB = (text) => metric(text, /^\S*heap_size_used_bytes\s+(\S+)$/gm) / 2 ** 20;

async function operatorRun(k, prefix, light = false) {
  const namespaces = Array.from({ length: k }, (_, i) => `${prefix}-${i}`);
  createNamespaces(namespaces);
  await quiesce();
  const identity = `${prefix}-operator`;
  const agent = `(${identity})`;
  const waitReady = async () => {
    for (let ok = false; !ok; await sleep(100)) ok = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
  };
  const stop = async (op) => {
    op.stopping = true;
    op.kill('SIGTERM');
    await new Promise((r) => op.once('exit', r));
  };
  // Converging runs with the default resync period, as in production: a resync every few seconds
  // would re-reconcile the clusters already done, in the way of those not done yet.
  let op = startOperator(identity, 0);
  // Measure reconciling, not process start-up: wait until the operator reports ready and has gone
  // through the clusters earlier runs left (a restart reconciles every one of them once).
  await waitReady();
  for (let idleFor = 0; idleFor < 1000; await sleep(100)) idleFor = queueDepth(await metricsText()) === 0 ? idleFor + 100 : 0;
  // Applied like the floor applies children (server-side apply, same concurrency), so that the clock
  // does not include starting kubectl.
  const clusters = namespaces.map((ns) => ministry(ns, light));
  const cpu0 = cpuSeconds({ operator: op.pid });
  const ticks0 = machineTicks();
  const audit0 = auditWrites().length;
  const t0 = performance.now();
  await applyAll(clusters, 'bench-user');
  await converged(namespaces);
  const seconds = (performance.now() - t0) / 1000;
  const steal = stealSince(ticks0);
  log(`operator converged ${k} in ${seconds.toFixed(k < 10 ? 2 : 1)} s, CPU steal ${steal.toFixed(0)}% (${reconciles(await metricsText())} reconciles, ${reconcileErrors(await metricsText())} failed); CPU-s meanwhile: ${cpuSince(cpu0, cpuSeconds({ operator: op.pid }))}; writes by agent: ${writesByAgent(prefix, audit0)}`);
  const atConverged = writesBy(agent, prefix);

  // Settling: the workload controllers report status and the operator follows. Settled = every
  // MeetingCluster reports Progressing=False for its generation and the operator wrote nothing for 10 s.
  const settleStart = performance.now();
  let writes = atConverged;
  let stable = 0;
  for (let quietFor = 0; (quietFor < 10 || stable < k) && performance.now() - settleStart < 600_000; ) {
    await sleep(1000);
    const now = writesBy(agent, prefix);
    quietFor = now.total === writes.total ? quietFor + 1 : 0;
    writes = now;
    stable = await countClusters(namespaces, (mc) => condition(mc, 'Progressing') === 'False');
  }
  const settleSeconds = (performance.now() - settleStart) / 1000;
  const ready = await countClusters(namespaces, (mc) => condition(mc, 'Ready') === 'True');
  // At rest: converged, settled, idle.
  const restText = await metricsText();
  const rest = { rss: memMiB(op.pid), peak: memMiB(op.pid, 'VmHWM'), heap: heapMiB(restText), reconciles: reconciles(restText) };
  await stop(op);

  // No-op: a restart (every key reconciled once more) and resyncs every 5 s, until every key has
  // been reconciled three times (with many clusters a pass takes longer than 5 s: count reconciles).
  op = startOperator(`${identity}-resync`, 5);
  await waitReady();
  const windowStart = performance.now();
  let window;
  for (; performance.now() - windowStart < 600_000; await sleep(1000)) {
    const text = await metricsText();
    window = { reconciles: reconciles(text), heap: heapMiB(text) };
    if (window.reconciles >= 3 * k && performance.now() - windowStart >= 12_000) break;
  }
  const noop = writesBy(`(${identity}-resync)`, prefix).total;
  const storm = { rss: memMiB(op.pid), peak: memMiB(op.pid, 'VmHWM'), heap: window.heap };
  await stop(op);
  return { seconds, steal, converging: atConverged, writes, settleSeconds, settleWrites: writes.total - atConverged.total, stable, ready, noop, window, rest, storm };
}

/** Server-side applies objects with CONCURRENCY requests in flight. */
async function applyAll(objects, fieldManager) {
  const plurals = { Secret: 'secrets', ConfigMap: 'configmaps', Service: 'services', StatefulSet: 'statefulsets', Deployment: 'deployments', PodDisruptionBudget: 'poddisruptionbudgets', NetworkPolicy: 'networkpolicies', MeetingCluster: 'meetingclusters' };
  const out = new Array(objects.length);
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < objects.length) {
      const i = next++;
      const o = objects[i];
      const prefixPath = o.apiVersion.includes('/') ? `/apis/${o.apiVersion}` : `/api/${o.apiVersion}`;
      out[i] = await http.request('PATCH', `${prefixPath}/namespaces/${o.metadata.namespace}/${plurals[o.kind]}/${o.metadata.name}`, { query: { fieldManager, force: true }, contentType: 'application/apply-patch+yaml', body: o });
    }
  }));
  return out;
}

/**
 * The floor: what the operator writes, minus the operator. The MeetingClusters (paused, so that no
 * operator ever picks them up), then every child exactly as the operator applies it: rendered,
 * owned by its MeetingCluster (owner reference: the garbage collector follows it) and stamped with
 * the applied digest. Same server-side apply, same concurrency.
 */
async function floorRun(k, prefix) {
  const namespaces = Array.from({ length: k }, (_, i) => `${prefix}-${i}`);
  createNamespaces(namespaces);
  await quiesce();
  const clusters = namespaces.map((ns) => {
    const m = ministry(ns);
    m.metadata.annotations = { ...m.metadata.annotations, 'meet.sovereign.io/paused': 'true' };
    return m;
  });
  const rendered = clusters.map((m) => renderCluster(validateMeetingCluster(m).cluster, generateSecrets()));
  const cpu0 = cpuSeconds({ bench: process.pid });
  const ticks0 = machineTicks();
  const audit0 = auditWrites().length;
  const t0 = performance.now();
  const applied = await applyAll(clusters, 'bench-floor');
  const objects = applied.flatMap((mc, i) =>
    rendered[i].map((o) => prepareChild(o, ownerReferenceTo(mc))),
  );
  await applyAll(objects, 'bench-floor');
  const seconds = (performance.now() - t0) / 1000;
  const steal = stealSince(ticks0);
  log(`floor applied ${k} in ${seconds.toFixed(k < 10 ? 2 : 1)} s, CPU steal ${steal.toFixed(0)}%; CPU-s meanwhile: ${cpuSince(cpu0, cpuSeconds({ bench: process.pid }))}; writes by agent: ${writesByAgent(prefix, audit0)}`);
  return { seconds, steal, writes: objects.length + clusters.length, children: objects.length };
}

async function manualRun(k, prefix) {
  const namespaces = Array.from({ length: k }, (_, i) => `${prefix}-${i}`);
  createNamespaces(namespaces);
  await quiesce();
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
if (KS.some((k) => k > 0)) await startControlPlane();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
for (const k of KS.filter((k) => k > 0)) {
  const ops = [];
  const floors = [];
  for (let r = 0; r < REPEAT; r++) {
    const tag = REPEAT > 1 ? `r${r}` : '';
    const runOperator = async () => {
      log(`K=${k}${REPEAT > 1 ? ` run ${r + 1}/${REPEAT}` : ''}: operator`);
      ops.push(await operatorRun(k, `op${k}${tag}`));
    };
    const runFloor = async () => {
      log(`K=${k}${REPEAT > 1 ? ` run ${r + 1}/${REPEAT}` : ''}: floor (bare server-side apply, ${CONCURRENCY} workers)`);
      floors.push(await floorRun(k, `fl${k}${tag}`));
    };
    // Each pair on a fresh control plane (the API server slows down as runs pile up objects in it),
    // alternating which side goes first.
    if (r > 0) {
      stopControlPlane();
      await startControlPlane();
    }
    if (r % 2 === 0) await runOperator().then(runFloor);
    else await runFloor().then(runOperator);
  }
  const ratios = ops.map((o, i) => o.seconds / floors[i].seconds);
  // The run whose ratio is the median stands for the K; the others show the spread.
  const mid = ratios.indexOf(median(ratios));
  const op = ops[mid];
  const fl = floors[mid];
  let manual;
  if (k <= MANUAL_MAX) {
    log(`K=${k}: manual (render + kubectl apply per ministry)`);
    manual = await manualRun(k, `mn${k}`);
  }
  rows.push({
    K: k,
    'operator s': op.seconds.toFixed(2),
    'floor s': fl.seconds.toFixed(2),
    'vs floor': (op.seconds / fl.seconds).toFixed(2) + 'x',
    ...(REPEAT > 1 ? { 'vs floor, every run': ratios.map((x) => x.toFixed(2)).join(' ') } : {}),
    // Steal in each window, operator/floor, per pair: a pair whose two windows lost very different
    // shares of the CPU to the hypervisor says less about the operator than about the neighbours.
    'steal % op/floor': ops.map((o, i) => `${o.steal.toFixed(0)}/${floors[i].steal.toFixed(0)}`).join(' '),
    'manual s': manual ? manual.seconds.toFixed(2) : '-',
    'vs manual': manual ? (op.seconds / manual.seconds).toFixed(2) + 'x' : '-',
    'writes/cluster': (op.writes.total / k).toFixed(1),
    'children+status+events': [op.writes.children, op.writes.status, op.writes.events].map((n) => (n / k).toFixed(1)).join('+'),
    'floor writes/cluster': `${(fl.writes / k).toFixed(1)} (${(fl.children / k).toFixed(0)}+1 MC)`,
    'settle s (writes)': `${op.settleSeconds.toFixed(0)} (${op.settleWrites})`,
    'reconciles/cluster': (op.rest.reconciles / k).toFixed(1),
    'no-op writes': `${op.noop} in ${op.window.reconciles} reconciles`,
    'RSS MiB rest/peak': `${op.rest.rss.toFixed(0)}/${op.rest.peak.toFixed(0)}`,
    'RSS MiB resync storm/peak': `${op.storm.rss.toFixed(0)}/${op.storm.peak.toFixed(0)}`,
    'heap MiB rest/storm': `${op.rest.heap.toFixed(0)}/${op.storm.heap.toFixed(0)}`,
  });
}
if (rows.length) {
  console.log(`bench/reconcile: converge K MeetingClusters (15 children each), one per namespace, ${CONCURRENCY} workers`);
  console.table(rows);
}

if (RSS_K > 0) {
  stopControlPlane();
  await startControlPlane();
  log(`RSS with ${RSS_K} light clusters (5 children each)`);
  const r = await operatorRun(RSS_K, 'rss', true);
  console.log(
    [
      `${RSS_K} light MeetingClusters: converged in ${r.seconds.toFixed(1)} s, ${(r.writes.total / RSS_K).toFixed(1)} writes/cluster (children ${r.writes.children}, status ${r.writes.status}, events ${r.writes.events})`,
      `  settled in ${r.settleSeconds.toFixed(0)} s more (${r.stable}/${RSS_K} Progressing=False, ${r.ready} Ready), ${r.settleWrites} writes while settling; ${(r.rest.reconciles / RSS_K).toFixed(1)} reconciles/cluster`,
      `  no-op once settled: ${r.noop} writes over a restart and resyncs every 5 s (${r.window.reconciles} reconciles)`,
      `  operator RSS converged and at rest: ${r.rest.rss.toFixed(0)} MiB (V8 heap used ${r.rest.heap.toFixed(0)} MiB; peak while converging ${r.rest.peak.toFixed(0)} MiB); target < 150 MB`,
      `  operator RSS in the resync storm: ${r.storm.rss.toFixed(0)} MiB (heap ${r.storm.heap.toFixed(0)} MiB, peak ${r.storm.peak.toFixed(0)} MiB)`,
    ].join('\n'),
  );
}
process.exit(0); // the MeetingCluster watch would keep the process alive; 'exit' stops the control plane
