// Every example's stack as real containers under a real kubelet: the operator installed by its chart
// from the image built here, reconciling each example to Ready; then what the kubelet really did,
// read from the kernel: LiveKit reads its 0440 key file through fsGroup, coturn and Redis run non-root
// with a read-only root filesystem, probes passed without a restart, coturn starts with no error line,
// and each SFU advertises the address its cloud profile gives it (the node's, or the metadata
// service's) without STUN or DNS. A rendered mistake fails the same check (proved once on purpose).
import { createServer, type Server } from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateMeetingCluster } from '../../src/api/validate.js';
import { renderCluster } from '../../src/render/index.js';
import { SFU_USER } from '../../src/render/sfu.js';
import { REDIS_USER } from '../../src/render/redis.js';
import { TURN_USER } from '../../src/render/turn.js';
import { TEST_SECRETS } from '../specs.js';
import { scanProcesses } from '../process-scan.js';
import { getJson } from '../integration/meetingcluster.js';
import { ensureNamespace, eventually, kubectl, kubectlOk } from '../integration/kubectl.js';
import {
  OPERATOR_NS,
  applyObject,
  containerPid,
  deleteNamespace,
  describePods,
  imageRef,
  installOperator,
  onRealNode,
  operatorLog,
  podReady,
  podsOf,
  processView,
  publicDns,
  readExample,
  realNode,
  tlsSecret,
  waitStackReady,
} from './cluster.js';

/** The public IP the metadata service stand-in answers (TEST-NET-3): what an Outscale VM's NAT holds. */
const METADATA_PUBLIC_IP = '203.0.113.7';

/**
 * The Outscale metadata service as a hostNetwork pod sees it: 169.254.169.254:80 answering the VM's
 * public IP. On a dummy link of this machine for the test's duration (removed after: the node's
 * teardown checks the host is as it was).
 */
class MetadataService {
  private server?: Server;
  async start(): Promise<void> {
    // A veth pair (these VMs' kernels have no dummy driver); the address on one end is local to the host.
    execFileSync('sh', ['-c', 'ip link add meet-meta0 type veth peer name meet-meta1 && ip addr add 169.254.169.254/32 dev meet-meta0 && ip link set meet-meta1 up && ip link set meet-meta0 up']);
    this.server = createServer((req, res) => {
      if (req.url === '/latest/meta-data/public-ipv4') res.end(METADATA_PUBLIC_IP);
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => this.server!.listen(80, '169.254.169.254', r));
  }
  async stop(): Promise<void> {
    await new Promise((r) => (this.server ? this.server.close(r) : r(undefined)));
    spawnSync('ip', ['link', 'delete', 'meet-meta0']);
  }
}

/** What every example's pods must show on the node; throws naming the pod and what is wrong. */
function checkRunsAsRendered(ns: string, instance: string): { sfuLog: string; turnLog?: string; turnConfig?: string } {
  const problems: string[] = [];
  let turnConfig: string | undefined;
  for (const pod of podsOf(ns, instance)) {
    const name = pod.metadata.name;
    const component = pod.metadata.labels['app.kubernetes.io/component'];
    if (!podReady(pod)) problems.push(`${name}: not Ready`);
    for (const c of pod.status.containerStatuses ?? []) {
      if (c.restartCount === 0) continue;
      // LiveKit exits when Redis does not answer yet (first install: both start together) and the
      // kubelet starts it again: that is the rendered design. Any other restart is a failure.
      const previous = kubectl(['logs', '-n', ns, name, '-c', c.name, '--previous', '--tail=5']).stdout;
      if (!(component === 'sfu' && /unable to connect to redis/.test(previous))) {
        problems.push(`${name}/${c.name}: restarted ${c.restartCount} times (last: ${JSON.stringify(c.lastState?.terminated ?? {})}): ${previous.trim().split('\n').pop()}`);
      }
    }
    const liveness = kubectl(['get', 'events', '-n', ns, '--field-selector', `involvedObject.name=${name},reason=Unhealthy`, '-o', 'jsonpath={.items[*].message}']).stdout;
    if (/Liveness/.test(liveness)) problems.push(`${name}: ${liveness}`);
    const container = pod.spec.containers[0].name;
    let pid: number;
    try {
      pid = containerPid(pod, container);
    } catch (e) {
      problems.push(`${name}: ${(e as Error).message}`);
      continue;
    }
    const view = processView(pid);
    const user = { sfu: SFU_USER, turn: TURN_USER, redis: REDIS_USER }[component as 'sfu' | 'turn' | 'redis'];
    if (view.uid !== user || view.gid !== user) problems.push(`${name}: runs as ${view.uid}:${view.gid}, rendered ${user}:${user}`);
    if (!view.groups.includes(pod.spec.securityContext.fsGroup)) problems.push(`${name}: fsGroup ${pod.spec.securityContext.fsGroup} not among its groups ${view.groups}`);
    if (!view.rootReadOnly) problems.push(`${name}: root filesystem is writable`);
    if (view.capEff !== 0n) problems.push(`${name}: effective capabilities ${view.capEff.toString(16)}`);
    if (!view.noNewPrivs) problems.push(`${name}: may gain privileges (NoNewPrivs not set)`);
    const root = `/proc/${pid}/root`;
    if (component === 'sfu') {
      const key = statSync(`${root}/etc/livekit/keys/keys.yaml`);
      if ((key.mode & 0o777) !== 0o440 || key.gid !== pod.spec.securityContext.fsGroup) problems.push(`${name}: key file mode ${(key.mode & 0o777).toString(8)} gid ${key.gid}`);
    }
    if (component === 'turn') {
      const conf = statSync(`${root}/var/tmp/coturn/turnserver.conf`);
      if ((conf.mode & 0o777) !== 0o400 || conf.uid !== TURN_USER) problems.push(`${name}: composed turnserver.conf mode ${(conf.mode & 0o777).toString(8)} uid ${conf.uid}, want 0400 ${TURN_USER}`);
      turnConfig = readFileSync(`${root}/var/tmp/coturn/turnserver.conf`, 'utf8');
    }
    if (component === 'redis') {
      const aof = statSync(`${root}/data/appendonlydir`);
      if (aof.uid !== REDIS_USER) problems.push(`${name}: /data/appendonlydir owned by ${aof.uid}`);
    }
  }
  if (problems.length) throw new Error(`${ns}/${instance} does not run as rendered:\n  ${problems.join('\n  ')}\n${describePods(ns)}`);
  const logs = (c: string) => kubectl(['logs', '-n', ns, '-l', `app.kubernetes.io/instance=${instance},app.kubernetes.io/component=${c}`, '--tail=-1']).stdout;
  return { sfuLog: logs('sfu'), turnLog: podsOf(ns, instance, 'turn').length ? logs('turn') : undefined, turnConfig };
}

/** The address LiveKit says it advertises ("starting LiveKit server" ... "nodeIP"). */
const advertised = (sfuLog: string): string | undefined =>
  sfuLog.split('\n').filter((l) => l.includes('starting LiveKit server')).map((l) => JSON.parse(l).nodeIP).pop();

const metadata = new MetadataService();

beforeAll(async () => {
  await metadata.start();
  await installOperator();
}, 300_000);

afterAll(async () => {
  await metadata.stop();
});

describe('the operator from its own image, installed by its chart', () => {
  it('runs as its chart says: its image, non-root, read-only root, its own ServiceAccount, leading', () => {
    const pod = podsOf(OPERATOR_NS, 'meet-operator')[0] ?? JSON.parse(kubectlOk(['get', 'pods', '-n', OPERATOR_NS, '-o', 'json'])).items[0];
    expect(pod.spec.containers[0].image).toBe(imageRef('meet-operator'));
    expect(pod.spec.serviceAccountName).toBe('meet-operator');
    expect(podReady(pod)).toBe(true);
    const view = processView(containerPid(pod, pod.spec.containers[0].name));
    expect(view).toMatchObject({ uid: 65532, gid: 65532, rootReadOnly: true, capEff: 0n, noNewPrivs: true });
    expect(operatorLog()).toContain('starting workers');
  });
});

describe.each([
  ['sports-generic-minimal.yaml', 'generic: the node address'],
  ['interieur-outscale-cloudgouv.yaml', 'outscale: the metadata service'],
  ['culture-outscale-embedded-turn.yaml', 'outscale with embedded TURN and an external Redis'],
])('%s as real containers (%s)', (file) => {
  const m = onRealNode(readExample(file));
  const ns: string = m.metadata.namespace;
  const name: string = m.metadata.name;
  let result: ReturnType<typeof checkRunsAsRendered>;

  beforeAll(async () => {
    ensureNamespace(ns);
    const node = realNode();
    const names: Record<string, string> = {};
    for (const n of [m.spec.turn?.domain, m.spec.turn?.udpDomain, ...(m.spec.sovereignty?.stunServers ?? []).map((s: string) => s.split(':')[0])]) if (n) names[n] = node.ip;
    await publicDns(names);
    if (m.spec.turn?.tlsSecretName) tlsSecret(ns, m.spec.turn.tlsSecretName, m.spec.turn.domain);
    if (m.spec.redis?.mode === 'external') externalRedis(m);
    applyObject(m);
    await waitStackReady(ns, name);
    result = checkRunsAsRendered(ns, name);
  }, 300_000);

  afterAll(() => deleteNamespace(ns), 320_000);

  it('goes Ready with every pod Ready, as rendered (users, fsGroup, read-only root, no restart)', () => {
    expect(result.sfuLog).toContain('starting LiveKit server');
  });

  it('no secret of the stack on any command line on this machine, nor in an environment that does not need it', () => {
    const secret = (n: string, k: string) => Buffer.from(getJson('secret', n, '-n', ns).data[k], 'base64').toString();
    const secrets: Record<string, string> = { 'livekit api secret': secret('visio-livekit-keys', 'api-secret') };
    if ((m.spec.turn?.mode ?? 'coturn') === 'coturn') secrets['turn shared secret'] = secret('visio-turn-secret', 'secret');
    if ((m.spec.redis?.mode ?? 'managed') === 'managed') secrets['redis password'] = secret('visio-redis-auth', 'password');
    else secrets['redis password'] = secret(m.spec.redis.external.passwordSecretRef.name, m.spec.redis.external.passwordSecretRef.key);
    // livekit-server takes the Redis password from LIVEKIT_REDIS_PASSWORD only (it has no file for it).
    const found = scanProcesses(secrets, (e) => e.secret === 'redis password' && e.exe.endsWith('/livekit-server'));
    expect(found).toEqual([]);
    // Control: the scan sees the one the SFU needs, in the SFU's environment.
    expect(scanProcesses(secrets).filter((e) => e.where === 'environ').map((e) => `${e.exe} ${e.secret}`)).toEqual([expect.stringMatching(/\/livekit-server redis password$/)]);
  });

  it('the SFU advertises the address its cloud profile gives it, without a STUN lookup', () => {
    const want = m.spec.cloud.profile === 'outscale' ? METADATA_PUBLIC_IP : realNode().ip;
    expect(advertised(result.sfuLog)).toBe(want);
    expect(result.sfuLog).not.toMatch(/could not resolve external IP|stun/i);
  });

  it('coturn starts with no error line, its external-ip from the profile and the secret in its 0400 file', () => {
    if (m.spec.turn?.mode === 'embedded') {
      expect(result.turnLog).toBeUndefined();
      return;
    }
    expect(result.turnLog).toMatch(/Total General servers/);
    expect(result.turnLog!.split('\n').filter((l) => /ERROR/.test(l))).toEqual([]);
    // Behind 1:1 NAT: PUBLIC/PRIVATE from the metadata service and the node; else the node's address.
    const external = m.spec.cloud.profile === 'outscale' ? `${METADATA_PUBLIC_IP}/${realNode().ip}` : realNode().ip;
    expect(result.turnConfig!.split('\n').filter((l) => l.startsWith('external-ip='))).toEqual([`external-ip=${external}`]);
    expect(result.turnConfig!.split('\n').filter((l) => l.startsWith('static-auth-secret='))).toHaveLength(1);
  });
});

/** The culture example's "existing" Redis (redis.culture-data.svc) and the Secret naming its password. */
function externalRedis(m: any): void {
  const [host] = m.spec.redis.external.address.split(':');
  const [svc, dataNs] = host.split('.');
  const ref = m.spec.redis.external.passwordSecretRef;
  ensureNamespace(dataNs);
  const password = 'culture-existing-redis-password-0123456789';
  applyObject({ apiVersion: 'v1', kind: 'Secret', metadata: { name: ref.name, namespace: m.metadata.namespace }, stringData: { [ref.key]: password } });
  applyObject({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'redis-auth', namespace: dataNs }, stringData: { password } });
  applyObject({ apiVersion: 'v1', kind: 'Service', metadata: { name: svc, namespace: dataNs }, spec: { selector: { app: svc }, ports: [{ port: 6379 }] } });
  applyObject({
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: svc, namespace: dataNs },
    spec: {
      selector: { matchLabels: { app: svc } },
      template: {
        metadata: { labels: { app: svc } },
        spec: {
          securityContext: { runAsUser: 999, runAsGroup: 999, runAsNonRoot: true },
          containers: [{
            name: 'redis', image: imageRef('redis'), imagePullPolicy: 'Never',
            command: ['sh', '-c', 'IFS= read -r p < /auth/password; printf \'requirepass "%s"\\n\' "$p" | exec redis-server - --save "" --appendonly no'],
            volumeMounts: [{ name: 'auth', mountPath: '/auth', readOnly: true }],
            readinessProbe: { tcpSocket: { port: 6379 }, periodSeconds: 2 },
          }],
          volumes: [{ name: 'auth', secret: { secretName: 'redis-auth' } }],
        },
      },
    },
  });
}

describe('a rendering mistake fails the same check', () => {
  const ns = 'broken-render';
  afterAll(() => deleteNamespace(ns), 320_000);

  it('a key file readable by others (mode 0444): LiveKit refuses it, and the check says which pod', async () => {
    ensureNamespace(ns);
    const m = onRealNode(readExample('sports-generic-minimal.yaml'));
    m.metadata.namespace = ns;
    m.spec.turn = { mode: 'disabled' };
    m.spec.sovereignty = { stunServers: ['stun.sports.example:3478'] };
    m.spec.redis = { mode: 'external', external: { address: 'redis.nowhere.svc.cluster.local:6379' } };
    const { cluster, errors } = validateMeetingCluster(m);
    expect(errors).toEqual([]);
    // The renderer's output, applied as is but for one mode (no operator: this namespace has no MeetingCluster).
    const objects = renderCluster(cluster!, TEST_SECRETS, { autoscaledReplicas: 1 }) as any[];
    const sfu = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'visio-sfu');
    const keys = sfu.spec.template.spec.volumes.find((v: any) => v.name === 'api-keys');
    keys.secret.defaultMode = 0o444;
    keys.secret.items = keys.secret.items.map((i: any) => ({ ...i, mode: 0o444 }));
    for (const o of objects) applyObject(o);
    const logs = await eventually('the broken SFU to log why it stopped', () => {
      const out = kubectl(['logs', '-n', ns, 'deploy/visio-sfu', '--tail=20']).stdout + kubectl(['logs', '-n', ns, 'deploy/visio-sfu', '--previous', '--tail=20']).stdout;
      return /key file|permission/i.test(out) ? out : undefined;
    }, 90_000, 1000);
    expect(logs).toMatch(/key file/i);
    expect(() => checkRunsAsRendered(ns, 'visio')).toThrow(/visio-sfu-[a-z0-9]+-[a-z0-9]+: (not Ready|restarted)/);
  });
});


describe('status says why a component is not ready, from what the real kubelet reports', () => {
  const ns = 'why-not-ready';
  afterAll(() => deleteNamespace(ns), 320_000);
  const sfuAvailable = (reason: string) =>
    eventually(`SFUAvailable reason ${reason}`, () => {
      const mc = JSON.parse(kubectl(['get', 'mc', 'visio', '-n', ns, '-o', 'json']).stdout || '{}');
      const c = mc.status?.conditions?.find((x: any) => x.type === 'SFUAvailable');
      return c?.reason === reason ? c : undefined;
    }, 150_000, 1000);
  const warnings = (reason: string) => kubectl(['get', 'events', '-n', ns, '--field-selector', `involvedObject.kind=MeetingCluster,reason=${reason}`, '-o', 'jsonpath={.items[*].message}']).stdout;

  it('an image the node cannot pull, then a container that keeps exiting: each named with what to do', async () => {
    ensureNamespace(ns);
    const m = onRealNode(readExample('sports-generic-minimal.yaml'));
    m.metadata.namespace = ns;
    m.spec.turn = { mode: 'disabled' };
    m.spec.sovereignty = { ...m.spec.sovereignty, stunServers: ['stun.sports.example:3478'] };
    m.spec.redis = { mode: 'external', external: { address: 'redis.nowhere.svc.cluster.local:6379' } };
    const missing = imageRef('livekit-server').replace(/:[^:/]+$/, ':not-built-here');
    m.spec.sfu.image = missing;
    applyObject(m);
    const pull = await sfuAvailable('ImagePullFailed');
    expect(pull.message).toMatch(new RegExp(`^0/1 SFU pods ready: pod visio-sfu-[a-z0-9]+-[a-z0-9]+ cannot pull image ${missing.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} \\((ErrImagePull|ImagePullBackOff)`));
    expect(pull.message).toMatch(/check the image name, that your registry holds it/);
    expect(warnings('ImagePullFailed')).toContain(`cannot pull image ${missing}`);

    // An image that exists but is not LiveKit: Redis' server refuses LiveKit's arguments and exits.
    // A fresh cluster: on one node a rolling update cannot place the new pod beside the old one
    // (host ports), and the old one, never available, is not scaled down first.
    kubectlOk(['delete', 'mc', 'visio', '-n', ns, '--cascade=foreground', '--timeout=120s']);
    await eventually('the SFU pods gone', () => (podsOf(ns, 'visio').length === 0 ? true : undefined), 120_000, 1000);
    m.spec.sfu.image = imageRef('redis');
    applyObject(m);
    const crash = await sfuAvailable('CrashLoop');
    expect(crash.message).toMatch(/^0\/1 SFU pods ready: pod visio-sfu-[a-z0-9]+-[a-z0-9]+ container livekit-server keeps exiting \([1-9][0-9]* restarts; last exit code [1-9][0-9]*/);
    expect(crash.message).toMatch(/kubectl logs -n <namespace> visio-sfu-[a-z0-9]+-[a-z0-9]+ -c livekit-server --previous/);
    expect(warnings('CrashLoop')).toContain('keeps exiting');
  }, 330_000);
});
