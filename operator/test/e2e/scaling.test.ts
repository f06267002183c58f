// Load-aware autoscaling end to end (issue 6 item 5): the real operator on the local control plane
// scales a MeetingCluster whose SFU pods are kwok pods on loopback nodes, each backed by a real
// livekit-server that the operator scrapes at http://<podIP>:<metricsPort> (kubelet.ts); real
// @livekit/rtc-node participants make the load.
//
//   1. One SFU pod (minReplicas 1). Two participants join room "alpha" on it: at the target (2 per
//      node) nothing moves. A third joins: the operator scales the Deployment to 2, the scheduler
//      puts the new pod on another loopback node, kwok runs it and a second livekit-server starts.
//   2. A participant joins room "beta" on the new node (4 participants: still 2 nodes).
//   3. Everyone on the first node leaves. The operator sets pod-deletion-cost (0 on the emptied pod,
//      1 on the other) and lowers replicas to 1; the real kube-controller-manager deletes the
//      emptied pod. Without the costs its ReplicaSet would delete the *newer* pod (it ranks pods
//      Ready for less time first), so removing the old one proves the cost was honoured.
//   Nobody is disconnected along the way; the timings are printed.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KubeHttp } from '../../src/kube/http.js';
import { ensureNamespace, eventually, kubectl, kubectlOk } from '../integration/kubectl.js';
import { apply, condition, getJson } from '../integration/meetingcluster.js';
import { startOperator, type OperatorProcess } from '../integration/operator-process.js';
import { mediaBinaries } from '../media/binaries.js';
import { Sandbox, sleep } from '../media/sandbox.js';
import type { LiveProbe } from '../media/stack.js';
import { LoopbackKubelet } from './kubelet.js';
import { Sfu, generatedApiKey, joinParticipant, scrape, unexpectedDisconnects, type ApiKey, type NodeLoad } from './livekit.js';
import { createLoopbackNodes, type LoopbackNode, type NodePool } from './nodes.js';
import { Recorder, type Step } from './recorder.js';
import { sfuContainer, startInfra } from './runtime.js';

const CLUSTER = 'visio';
const TURN_DOMAIN = 'turn.e2e.example';
const SFU_PORT = 7880;
const METRICS_PORT = 6789;
const POLICY = { enabled: true, metric: 'participants', minReplicas: 1, maxReplicas: 3, targetParticipantsPerNode: 2, scaleDownDelaySeconds: 15 };
const SFU_SELECTOR = `app.kubernetes.io/instance=${CLUSTER},app.kubernetes.io/component=sfu`;

function manifest(ns: string, pool: NodePool): any {
  return {
    apiVersion: 'meet.sovereign.io/v1alpha1',
    kind: 'MeetingCluster',
    metadata: { name: CLUSTER, namespace: ns },
    spec: {
      // generic: coturn takes its external IP from the pod's host IP (no metadata service to fake).
      cloud: { profile: 'generic' },
      domain: 'visio.e2e.example',
      sfu: {
        resources: { requests: { cpu: '100m', memory: '128Mi' } },
        // The pod-deletion-cost path is what is under test, not LiveKit's drain: an emptied pod exits
        // within seconds of SIGTERM anyway.
        drainSeconds: 60,
        nodeSelector: pool.nodeSelector,
        tolerations: pool.tolerations,
      },
      turn: { mode: 'coturn', domain: TURN_DOMAIN, certificate: 'e2e-lb-terminated', replicas: 1, resources: { requests: { cpu: '50m', memory: '64Mi' } } },
      redis: { mode: 'managed', storage: { storageClassName: 'bsu-gp2-encrypted' }, resources: { requests: { cpu: '50m', memory: '64Mi' } } },
      autoscaling: POLICY,
    },
  };
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => {}); // a failed set-up is reported by beforeAll, not as an unhandled rejection
  return { promise, resolve, reject };
}

const seconds = (ms: number | undefined) => (ms === undefined ? 'n/a' : `${(ms / 1000).toFixed(1)} s`);

describe('load-aware autoscaling end to end', () => {
  const ns = `e2e-scaling-${randomBytes(3).toString('hex')}`;
  let http: KubeHttp;
  let pool: NodePool;
  let sb: Sandbox;
  let recorder: Recorder;
  let kubelet: LoopbackKubelet;
  let operator: OperatorProcess;
  let apiKey: ApiKey;
  const gate = deferred();
  const participants: LiveProbe[] = [];
  const figures: [string, string][] = [];

  const mc = () => getJson('mc', CLUSTER, '-n', ns);
  let redisIP: string;
  const redisCli = async (...args: string[]): Promise<string> => {
    const password = Buffer.from(getJson('secret', `${CLUSTER}-redis-auth`, '-n', ns).data.password, 'base64').toString('utf8');
    const r = await sb.run({ name: 'redis-cli', argv: [mediaBinaries().redisCli, '-h', redisIP, '-p', '6379', '--no-auth-warning', '-a', password, ...args], timeoutMs: 5000 });
    if (r.code !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const replicas = () => getJson('deployment', `${CLUSTER}-sfu`, '-n', ns).spec.replicas as number;
  const sfuPods = (): any[] => getJson('pods', '-n', ns, '-l', SFU_SELECTOR).items;
  const nodeOf = (pod: any): LoopbackNode => {
    const n = pool.nodes.find((x) => x.name === pod.spec.nodeName);
    if (!n) throw new Error(`${pod.metadata.name} runs on ${pod.spec.nodeName}, not on a loopback node`);
    return n;
  };
  const events = (reason: string): any[] =>
    getJson('events', '-n', ns).items.filter((e: any) => e.involvedObject.kind === 'MeetingCluster' && e.reason === reason);
  /** The operator's status once it reports what `pred` wants (it scrapes every 2 s). */
  const statusWhen = (what: string, pred: (s: any) => boolean, timeoutMs = 60_000) =>
    eventually(`status ${what}`, () => {
      const s = mc().status;
      return s && pred(s) ? s : undefined;
    }, timeoutMs);
  /**
   * Scrapes a node until its gauges satisfy `pred`. Also returns when the last scrape that did not
   * satisfy it started: the change happened after that instant, a bound free of polling latency.
   */
  const loadWhen = async (ip: string, what: string, pred: (l: NodeLoad) => boolean, timeoutMs = 60_000, everyMs = 250): Promise<NodeLoad & { seenAt: number; notBefore: number }> => {
    const deadline = Date.now() + timeoutMs;
    let last: NodeLoad | string = '';
    let notBefore = 0;
    for (;;) {
      const startedAt = Date.now();
      try {
        last = await scrape(ip, METRICS_PORT);
        if (pred(last)) return { ...last, seenAt: Date.now(), notBefore };
      } catch (e) {
        last = (e as Error).message;
      }
      notBefore = startedAt;
      if (Date.now() > deadline) throw new Error(`${ip}: no ${what} within ${timeoutMs} ms; last scrape: ${JSON.stringify(last)}`);
      await sleep(everyMs);
    }
  };

  // What the scenario learns as it goes.
  let podA: any;
  let nodeA: LoopbackNode;
  let sfuA: Sfu;
  let podB: any;
  let nodeB: LoopbackNode;
  let sfuB: Sfu;
  const alpha: LiveProbe[] = [];
  let beta: LiveProbe;

  beforeAll(async () => {
    const t0 = Date.now();
    ensureNamespace(ns);
    kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', 'crds/', '-f', 'hack/dev-storage.yaml']);
    // The managed Redis pod needs its claim bound to be scheduled (kwok runs no provisioner).
    kubectlOk(['apply', '--server-side', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: `${ns}-redis` },
      spec: { capacity: { storage: '10Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Delete', storageClassName: 'bsu-gp2-encrypted', hostPath: { path: `/tmp/${ns}-redis` } },
    }));
    pool = await createLoopbackNodes(ns, POLICY.maxReplicas, [SFU_PORT, METRICS_PORT]);
    redisIP = pool.address(3);
    const turnIP = pool.address(2);
    sb = await Sandbox.create(ns, { hostNetwork: true, hosts: { [`${CLUSTER}-redis.${ns}.svc.cluster.local`]: redisIP, [TURN_DOMAIN]: turnIP } });
    http = KubeHttp.fromKubeconfig(inject('kubeconfig'), 'meet-e2e');
    recorder = new Recorder(http, ns);
    await recorder.start();
    kubelet = new LoopbackKubelet({ http, namespace: ns, nodes: pool.nodes, start: sfuContainer(sb, http, ns, () => gate.promise) });
    await kubelet.start();

    operator = startOperator(`e2e-${ns}`, ['--namespaces', ns, '--scaling-interval-seconds', '2']);
    apply(manifest(ns, pool));
    try {
      await Promise.race([
        eventually('the rendered Redis StatefulSet and coturn Deployment', () => (kubectl(['get', `statefulset/${CLUSTER}-redis`, `deployment/${CLUSTER}-turn`, `secret/${CLUSTER}-livekit-keys`, '-n', ns]).code === 0 ? true : undefined), 90_000),
        operator.exited.then((code) => {
          throw new Error(`the operator exited (${code}):\n${operator.logs.slice(-30).join('\n')}`);
        }),
      ]);
      await startInfra(sb, http, ns, CLUSTER, { redis: redisIP, turn: turnIP });
      gate.resolve();
    } catch (e) {
      gate.reject(e as Error);
      throw e;
    }
    apiKey = generatedApiKey(ns, `${CLUSTER}-livekit-keys`);
    await eventually('the first SFU pod running a ready livekit-server', () => kubelet.events.find((e) => e.what === 'ready'), 90_000);
    figures.push(['set-up (nodes, operator, Redis, coturn, first SFU ready)', seconds(Date.now() - t0)]);
  });

  afterAll(async () => {
    figures.push(['logs (processes, operator, timeline.json)', `.test-results/media/${ns}/`]);
    console.log(`\nautoscaling end to end (${ns}):\n${figures.map(([k, v]) => `  ${k.padEnd(72)} ${v}`).join('\n')}\n`);
    gate.reject(new Error('the test is over'));
    await Promise.all(participants.map((p) => p.proc.stop()));
    if (operator) await Promise.race([operator.stop(), sleep(15_000).then(() => operator.kill())]);
    await kubelet?.stop();
    recorder?.stop();
    if (sb) {
      // Kept with the sandbox's logs in .test-results/media/<ns>/.
      writeFileSync(join(sb.logsDir, 'operator.log'), operator?.logs.join('\n') ?? '');
      writeFileSync(join(sb.logsDir, 'timeline.json'), JSON.stringify({ kubelet: kubelet?.events, control: recorder?.steps }, (_, v) => (typeof v === 'bigint' ? String(v) : v), 2));
      await sb.close();
    }
    http?.close();
    kubectl(['delete', 'namespace', ns, '--wait=false']);
    kubectl(['delete', 'pv', `${ns}-redis`, '--wait=false', '--ignore-not-found']);
    pool?.delete();
  });

  it('runs the SFU pod kwok placed on a loopback node as a livekit-server the operator scrapes at its pod IP', async () => {
    const pods = sfuPods();
    expect(pods.map((p) => p.metadata.name)).toHaveLength(POLICY.minReplicas);
    podA = pods[0];
    nodeA = nodeOf(podA);
    expect(podA.status.phase).toBe('Running');
    expect(podA.status.podIP).toBe(nodeA.ip); // hostNetwork: the node's InternalIP
    expect(kubelet.processOf(podA.metadata.name)?.running).toBe(true);
    const load = await scrape(podA.status.podIP, METRICS_PORT);
    expect(load).toMatchObject({ participants: 0, rooms: 0 });
    expect(load.nodeId).toMatch(/^ND_/);
    // The operator read the same endpoint: no load, nothing to do.
    const status = await statusWhen('with the first pod scraped', (s) => s.participants === 0 && !!condition({ status: s }, 'ScalingActive'));
    expect(status.rooms).toBe(0);
    expect(status.desiredReplicas).toBe(POLICY.minReplicas);
    sfuA = new Sfu(nodeA.ip, SFU_PORT, apiKey);
    await sfuA.createRoomOn('alpha', load.nodeId);
  });

  it('does not scale at the target, scales up above it, and kwok runs the new pod as a second livekit-server', async () => {
    alpha.push(...(await Promise.all(['alpha-1', 'alpha-2'].map((id) => joinParticipant(sb, sfuA, 'alpha', id)))));
    participants.push(...alpha);
    await loadWhen(nodeA.ip, '2 participants', (l) => l.participants === 2);
    // 2 participants, 2 per node: the operator sees them and still wants 1 node.
    const atTarget = await statusWhen('participants=2', (s) => s.participants === 2);
    expect(atTarget.desiredReplicas).toBe(1);
    expect(replicas()).toBe(1);

    // The load changes when LiveKit accepts the third participant's join, before its WebRTC
    // transport is up: watch the gauge while the participant connects.
    const joinedAt = Date.now();
    const seen = loadWhen(nodeA.ip, '3 participants', (l) => l.participants === 3, 60_000, 100).then((l) => l.seenAt);
    const third = await joinParticipant(sb, sfuA, 'alpha', 'alpha-3');
    const connectedAt = Date.now();
    const loadAt = await seen;
    alpha.push(third);
    participants.push(third);

    const up = await eventually('Deployment replicas 2', () => recorder.first((s) => s.kind === 'Deployment' && s.what === 'replicas' && s.value === '2', joinedAt), 60_000);
    const newPod = await eventually('the new SFU pod ready on another loopback node', () => {
      const ready = kubelet.events.find((e) => e.what === 'ready' && e.pod !== podA.metadata.name);
      return ready;
    }, 90_000);
    podB = sfuPods().find((p) => p.metadata.name === newPod.pod);
    nodeB = nodeOf(podB);
    expect(nodeB.name).not.toBe(nodeA.name); // one SFU pod per node (required anti-affinity)
    expect(podB.status.podIP).toBe(nodeB.ip);
    const scheduled = recorder.first((s) => s.kind === 'Pod' && s.name === newPod.pod && s.what === 'scheduled');
    const running = recorder.first((s) => s.kind === 'Pod' && s.name === newPod.pod && s.what === 'running');
    const started = kubelet.eventsOf(newPod.pod, 'started')[0];
    figures.push(
      ['scale-up: 3rd participant joining -> seen in its node\'s gauge', seconds(loadAt - joinedAt)],
      ['scale-up: 3rd participant joining -> connected (WebRTC up)', seconds(connectedAt - joinedAt)],
      ['scale-up: load seen in the gauge -> Deployment replicas 1->2', seconds(up.at - loadAt)],
      ['scale-up: load seen -> new pod scheduled', seconds(scheduled && scheduled.at - loadAt)],
      ['scale-up: load seen -> new pod Running (kwok)', seconds(running && running.at - loadAt)],
      ['scale-up: load seen -> its livekit-server started (loopback kubelet)', seconds(started && started.at - loadAt)],
      ['scale-up: load seen -> its livekit-server ready (GET / on the pod IP)', seconds(newPod.at - loadAt)],
    );
    expect(replicas()).toBe(2);
    // Both livekit-servers joined one LiveKit cluster through the managed Redis, with the password
    // the operator generated.
    const loads = await Promise.all([nodeA, nodeB].map((n) => scrape(n.ip, METRICS_PORT)));
    expect((await redisCli('HKEYS', 'nodes')).split('\n').filter(Boolean).sort()).toEqual(loads.map((l) => l.nodeId).sort());
    const status = await statusWhen('desiredReplicas=2', (s) => s.desiredReplicas === 2 && s.participants === 3);
    expect(condition({ status }, 'ScalingActive')?.status).toBe('True');
    expect(events('ScaledUp').length).toBeGreaterThanOrEqual(1);
  });

  it('participants join a room on the new node; the operator counts 4 participants in 2 rooms and keeps 2 nodes', async () => {
    sfuB = new Sfu(nodeB.ip, SFU_PORT, apiKey);
    const loadB = await loadWhen(nodeB.ip, 'an empty node', (l) => l.participants === 0);
    await sfuB.createRoomOn('beta', loadB.nodeId);
    beta = await joinParticipant(sb, sfuB, 'beta', 'beta-1');
    participants.push(beta);
    await loadWhen(nodeA.ip, '3 participants in 1 room', (l) => l.participants === 3 && l.rooms === 1);
    await loadWhen(nodeB.ip, '1 participant in 1 room', (l) => l.participants === 1 && l.rooms === 1);
    const status = await statusWhen('participants=4 rooms=2', (s) => s.participants === 4 && s.rooms === 2);
    expect(status.desiredReplicas).toBe(2);
    expect(replicas()).toBe(2);
  });

  it('when everyone on the first node leaves, the scale-down removes exactly that pod', async () => {
    const leftAt = Date.now();
    await Promise.all(alpha.map((p) => p.leave()));
    const emptyAt = (await loadWhen(nodeA.ip, 'no participant', (l) => l.participants === 0)).seenAt;
    // LiveKit closes an empty room departure_timeout (20 s) after its last participant left: until
    // then the pod hosts a meeting and must stay.
    const closed = await loadWhen(nodeA.ip, 'no room', (l) => l.rooms === 0, 90_000);
    const roomsClosedAt = closed.seenAt;

    const down = await eventually('Deployment replicas 1', () => recorder.first((s) => s.kind === 'Deployment' && s.what === 'replicas' && s.value === '1', leftAt), 120_000);
    const gone = await eventually(`${podA.metadata.name} deleted`, () => recorder.first((s) => s.kind === 'Pod' && s.name === podA.metadata.name && s.what === 'deleted'), 60_000);
    const exited = await eventually(`${podA.metadata.name}'s livekit-server stopped`, () => kubelet.eventsOf(podA.metadata.name, 'exited')[0], 60_000);
    const terminating = kubelet.eventsOf(podA.metadata.name, 'terminating')[0];
    figures.push(
      ['scale-down: first node\'s participants left -> its gauge at 0', seconds(emptyAt - leftAt)],
      ['scale-down: left -> its room closed (LiveKit departure_timeout)', seconds(roomsClosedAt - leftAt)],
      ['scale-down: left -> Deployment replicas 2->1', seconds(down.at - leftAt)],
      ['scale-down: room closed -> Deployment replicas 2->1', seconds(down.at - roomsClosedAt)],
      ['scale-down: left -> pod terminating (kubelet stops livekit-server)', seconds(terminating && terminating.at - leftAt)],
      ['scale-down: left -> pod deleted', seconds(gone.at - leftAt)],
      ['scale-down: left -> livekit-server exited', seconds(exited.at - leftAt)],
    );

    // Exactly the emptied pod went; the other one and its process never stopped.
    const deletedSfuPods = recorder.find((s) => s.kind === 'Pod' && s.what === 'deleted' && s.name.startsWith(`${CLUSTER}-sfu-`)).map((s) => s.name);
    expect(deletedSfuPods).toEqual([podA.metadata.name]);
    expect(sfuPods().map((p) => p.metadata.name)).toEqual([podB.metadata.name]);
    expect(kubelet.processOf(podB.metadata.name)?.running).toBe(true);
    expect(kubelet.eventsOf(podB.metadata.name).map((e) => e.what)).toEqual(['started', 'ready']);

    // The operator wrote each pod's participant count as its deletion cost before lowering
    // replicas (etcd revisions order the writes).
    const costBefore = (pod: string) => recorder.find((s: Step) => s.kind === 'Pod' && s.name === pod && s.what === 'deletion-cost' && s.rv < down.rv).at(-1);
    expect(costBefore(podA.metadata.name)?.value, 'deletion cost of the emptied pod').toBe('0');
    expect(costBefore(podB.metadata.name)?.value, 'deletion cost of the pod hosting room beta').toBe('1');

    // A pod hosting a room is not removed: replicas fell after the room closed (departure_timeout,
    // 20 s, outlasts scaleDownDelaySeconds here, so the room is what held the scale-down).
    expect(down.at).toBeGreaterThan(closed.notBefore);
    expect(down.at - leftAt).toBeGreaterThanOrEqual((POLICY.scaleDownDelaySeconds - 2) * 1000);
    expect(events('ScaledDown').length).toBeGreaterThanOrEqual(1);
    const status = await statusWhen('replicas=1', (s) => s.replicas === 1 && s.desiredReplicas === 1 && s.participants === 1 && s.rooms === 1);
    const scaling = condition({ status }, 'ScalingActive');
    figures.push(
      ['status after the scale-down: ScalingActive', `${scaling?.status} ${scaling?.reason}: ${scaling?.message}`],
      ['operator warnings "SFU pod metrics unreadable" (pods Running before their process)', String(operator.logs.filter((l) => l.includes('metrics unreadable')).length)],
      ['MeetingCluster Ready', `${condition(mc(), 'Ready')?.status} ${condition(mc(), 'Ready')?.reason ?? ''}`],
    );
    expect(scaling?.reason).toBeTruthy();
  });

  it('disconnected nobody: the participant on the remaining node is still in its room', async () => {
    for (const p of participants) expect(unexpectedDisconnects(p), p.name).toEqual([]);
    expect(beta.proc.running).toBe(true);
    expect(await sfuB.participants('beta')).toEqual(['beta-1']);
    // No SFU process restarted or failed to start along the way.
    expect(kubelet.events.filter((e) => e.what === 'start-failed' || (e.what === 'exited' && e.pod !== podA.metadata.name))).toEqual([]);
  });

  it('control: without deletion costs, the same kube-controller-manager removes the newer of two pods', async () => {
    // On the control plane's own kwok nodes (the loopback ones are tainted): pods nobody runs.
    const name = 'control-ranking';
    const deploy = (n: number) =>
      kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', '-'], JSON.stringify({
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name, namespace: ns },
        spec: { replicas: n, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] } } },
      }));
    const running = (): string[] =>
      getJson('pods', '-n', ns, '-l', `app=${name}`).items.filter((p: any) => p.status.phase === 'Running' && !p.metadata.deletionTimestamp).map((p: any) => p.metadata.name);
    deploy(1);
    const [older] = await eventually('1 control pod Running', () => (running().length === 1 ? running() : undefined), 60_000);
    // Ready 4 s longer than the newer one: a different bucket of the ReplicaSet's log2 ranking of
    // Ready time, and if not, the creation time decides: the newer goes first either way.
    await sleep(4000);
    deploy(2);
    const newer = (await eventually('2 control pods Running', () => (running().length === 2 ? running() : undefined), 60_000)).find((n) => n !== older);
    await sleep(1000);
    deploy(1);
    const left = await eventually('1 control pod left', () => (running().length === 1 ? running() : undefined), 60_000);
    expect(left).toEqual([older]);
    expect(newer).toBeDefined();
    kubectl(['delete', 'deployment', name, '-n', ns, '--wait=false']);
  });
});
