// The Helm chart (charts/meet-operator) and the image entrypoint (images/meet-operator/image.yaml), checked with the real helm
// (built from the Go module proxy by hack/build-helm.sh) and on the real local control plane:
//  - helm lint / helm template with default and non-default values, the rendered objects checked field by field;
//  - RBAC equal to what the operator's code sends (derived from operator/src/kube/resources.ts), no wildcard;
//  - helm install into a namespace enforcing the "restricted" Pod Security Standard;
//  - the operator started as the chart's Deployment starts it in the image (entrypoint + args), authenticated
//    only by a token of the chart's ServiceAccount, reconciles a MeetingCluster to Ready and prunes, with no
//    403 anywhere; anything outside its role is forbidden (with watchNamespaces: Secrets of other namespaces);
//  - helm upgrade to watchNamespaces, helm uninstall (CRD, MeetingClusters and their stacks stay).
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFailed } from 'vitest';
import { parse } from 'yaml';
import {
  auditMark, auditOf, CHART, ensureHelm, findAll, findOne, forbiddenLines, grants, helm, helmOk, imageEntrypoint,
  leaseGrantsFromCode, namespacedGrantsFromCode, parseObjects, removeScratch, renderChart, startChartOperator, tokenKubeconfig,
  valuesFile, type ChartOperator, type Obj, type PolicyRule,
} from './chart-helpers.js';
import { crdsEstablished, ensureNamespace, eventually, kubectl, kubectlOk } from './kubectl.js';
import { apply, condition, manifest, tryGet, waitReady } from './meetingcluster.js';
import { userAgent } from '../../src/kube/http.js';

const CRD_FILE = 'meet.sovereign.io_meetingclusters.yaml';
const chartMeta = parse(readFileSync(`${CHART}/Chart.yaml`, 'utf8'));
const DIGEST = `sha256:${'ab'.repeat(32)}`;

const container = (d: Obj) => d.spec.template.spec.containers[0];
const envOf = (d: Obj, name: string) => container(d).env.find((e: any) => e.name === name);

beforeAll(() => ensureHelm(), 1_800_000);
afterAll(() => removeScratch());

describe('the chart, rendered', () => {
  it('is a v2 chart whose crds/ is a byte-identical copy of crds/', () => {
    expect(chartMeta).toMatchObject({ apiVersion: 'v2', name: 'meet-operator', appVersion: '0.1.0' });
    expect(readdirSync(`${CHART}/crds`)).toEqual(readdirSync('crds'));
    const copy = readFileSync(`${CHART}/crds/${CRD_FILE}`);
    const source = readFileSync(`crds/${CRD_FILE}`);
    // After `make generate`: cp crds/*.yaml charts/meet-operator/crds/
    expect(copy.equals(source), `charts/meet-operator/crds/${CRD_FILE} differs from crds/${CRD_FILE}: copy it again`).toBe(true);
  });

  it('passes helm lint --strict with the default and with non-default values', () => {
    expect(helmOk(['lint', '--strict', CHART])).toContain('0 chart(s) failed');
    const custom = valuesFile({
      image: { registry: 'registry.interieur.example', repository: 'mirror/meet-operator', digest: DIGEST },
      imagePullSecrets: [{ name: 'interieur-registry' }],
      watchNamespaces: ['interieur', 'culture'],
      serviceMonitor: { enabled: true, labels: { release: 'prometheus' } },
      logLevel: 'debug',
    });
    expect(helmOk(['lint', '--strict', CHART, '-f', custom])).toContain('0 chart(s) failed');
    const single = valuesFile({ replicaCount: 1, leaderElection: { enabled: false, leaseName: 'x' } });
    expect(helmOk(['lint', '--strict', CHART, '-f', single])).toContain('0 chart(s) failed');
  });

  it('renders a hardened, leader-elected Deployment with probes on the metrics port by default', () => {
    const objs = renderChart();
    expect(objs.map((o) => o.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'Deployment', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'ServiceAccount']);
    for (const o of objs) if (o.kind !== 'ClusterRole' && o.kind !== 'ClusterRoleBinding') expect(o.metadata.namespace).toBe('meet-system');
    const d = findOne(objs, 'Deployment');
    const c = container(d);
    const pod = d.spec.template.spec;
    expect(d.spec.replicas).toBe(2);
    expect(c.image).toBe(`localhost/meet-operator/meet-operator:${chartMeta.appVersion}`);
    expect(c.command).toBeUndefined(); // the image's ENTRYPOINT runs
    expect(c.args[0]).toBe('run');
    expect(c.args).toEqual(expect.arrayContaining(['--leader-election-namespace=$(POD_NAMESPACE)', '--leader-election-name=meet-operator', '--identity=$(POD_NAME)', '--listen=0.0.0.0:8080']));
    expect(c.args.some((a: string) => a.startsWith('--namespaces') || a === '--no-leader-elect')).toBe(false);
    expect(envOf(d, 'POD_NAMESPACE')).toEqual({ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });
    expect(envOf(d, 'POD_NAME').valueFrom.fieldRef.fieldPath).toBe('metadata.name');
    expect(envOf(d, 'LOG_LEVEL').value).toBe('info');
    expect(pod.serviceAccountName).toBe(findOne(objs, 'ServiceAccount').metadata.name);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.hostNetwork).toBeUndefined();
    expect(c.resources.requests).toEqual({ cpu: expect.any(String), memory: expect.any(String) });
    expect(c.ports).toEqual([{ name: 'metrics', containerPort: 8080, protocol: 'TCP' }]);
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(c.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    const labels = d.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(d.spec.selector.matchLabels)) expect(labels[k]).toBe(v);
    const pdb = findOne(objs, 'PodDisruptionBudget');
    expect(pdb.spec).toEqual({ minAvailable: 1, selector: d.spec.selector });
    const svc = findOne(objs, 'Service');
    expect(svc.spec.ports).toEqual([{ name: 'metrics', port: 8080, targetPort: 'metrics', protocol: 'TCP' }]);
    expect(svc.spec.selector).toEqual(d.spec.selector.matchLabels);
  });

  it('grants exactly the requests the operator makes: no wildcard, nothing cluster-scoped, the Lease by name', () => {
    const objs = renderChart();
    const roles = [...findAll(objs, 'ClusterRole'), ...findAll(objs, 'Role')];
    for (const r of roles)
      for (const rule of r.rules as PolicyRule[]) {
        expect(rule.nonResourceURLs).toBeUndefined();
        for (const v of [...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs]) expect(v).not.toContain('*');
      }
    const sa = findOne(objs, 'ServiceAccount').metadata.name;
    expect(grants(findOne(objs, 'ClusterRole').rules)).toEqual(namespacedGrantsFromCode());
    expect(findOne(objs, 'ClusterRoleBinding')).toMatchObject({
      roleRef: { kind: 'ClusterRole', name: findOne(objs, 'ClusterRole').metadata.name },
      subjects: [{ kind: 'ServiceAccount', name: sa, namespace: 'meet-system' }],
    });
    const leader = findOne(objs, 'Role');
    expect(leader.metadata.namespace).toBe('meet-system');
    expect(grants(leader.rules)).toEqual(leaseGrantsFromCode('meet-operator'));
    expect(findOne(objs, 'RoleBinding')).toMatchObject({ roleRef: { kind: 'Role', name: leader.metadata.name }, subjects: [{ kind: 'ServiceAccount', name: sa, namespace: 'meet-system' }] });
  });

  it('pulls by digest (it wins over the tag) from a private registry, and scopes RBAC to watchNamespaces', () => {
    const objs = renderChart({
      image: { registry: 'registry.interieur.example:5000', repository: 'mirror/meet-operator', tag: '0.1.0-rc1', digest: DIGEST, pullPolicy: 'Always' },
      imagePullSecrets: [{ name: 'interieur-registry' }],
      watchNamespaces: ['interieur', 'culture'],
      replicaCount: 3,
      resources: { requests: { cpu: '200m', memory: '256Mi' }, limits: { memory: '1Gi' } },
      logLevel: 'warn',
      nodeSelector: { 'node-role.kubernetes.io/system': 'true' },
      tolerations: [{ key: 'system', operator: 'Exists', effect: 'NoSchedule' }],
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: ['cloudgouv-eu-west-1a'] }] }] } } },
    }, 'visio', 'visio-system');
    const d = findOne(objs, 'Deployment');
    const pod = d.spec.template.spec;
    expect(container(d).image).toBe(`registry.interieur.example:5000/mirror/meet-operator@${DIGEST}`);
    expect(container(d).imagePullPolicy).toBe('Always');
    expect(pod.imagePullSecrets).toEqual([{ name: 'interieur-registry' }]);
    expect(d.spec.replicas).toBe(3);
    expect(container(d).resources).toEqual({ requests: { cpu: '200m', memory: '256Mi' }, limits: { memory: '1Gi' } });
    expect(envOf(d, 'LOG_LEVEL').value).toBe('warn');
    expect(pod.nodeSelector).toEqual({ 'node-role.kubernetes.io/system': 'true' });
    expect(pod.tolerations).toHaveLength(1);
    expect(pod.affinity.nodeAffinity).toBeDefined();
    expect(pod.affinity.podAntiAffinity).toBeUndefined();
    expect(container(d).args).toContain('--namespaces=interieur,culture');
    expect(container(d).args).toContain('--leader-election-namespace=$(POD_NAMESPACE)');

    expect(findAll(objs, 'ClusterRole')).toEqual([]);
    expect(findAll(objs, 'ClusterRoleBinding')).toEqual([]);
    const roles = findAll(objs, 'Role');
    expect(roles.map((r) => `${r.metadata.namespace}/${r.metadata.name}`).sort()).toEqual(['culture/visio-meet-operator', 'interieur/visio-meet-operator', 'visio-system/visio-meet-operator-leader-election']);
    for (const ns of ['interieur', 'culture']) {
      expect(grants(findOne(objs.filter((o) => o.metadata.namespace === ns), 'Role').rules)).toEqual(namespacedGrantsFromCode());
      expect(findOne(objs.filter((o) => o.metadata.namespace === ns), 'RoleBinding')).toMatchObject({
        roleRef: { kind: 'Role', name: 'visio-meet-operator' },
        subjects: [{ kind: 'ServiceAccount', name: 'visio-meet-operator', namespace: 'visio-system' }],
      });
    }

    // Without a digest, the tag; without a tag, the appVersion.
    expect(container(findOne(renderChart({ image: { registry: 'registry.interieur.example', repository: 'mirror/meet-operator', tag: '0.1.0-rc1' } }), 'Deployment')).image).toBe('registry.interieur.example/mirror/meet-operator:0.1.0-rc1');
  });

  it('renders the optional objects on demand, and its schema refuses bad values', () => {
    const sm = findOne(renderChart({ serviceMonitor: { enabled: true, interval: '15s', labels: { release: 'prometheus' } } }), 'ServiceMonitor');
    expect(sm.metadata.labels?.release).toBe('prometheus');
    expect(sm.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', interval: '15s', scrapeTimeout: '10s', honorLabels: true }]);
    expect(sm.spec.namespaceSelector).toEqual({ matchNames: ['meet-system'] });
    // The PrometheusRule carries the rule file promtool checks, unchanged (its {{ $labels }} untouched).
    const rule = findOne(renderChart({ prometheusRule: { enabled: true, labels: { release: 'prometheus' } } }), 'PrometheusRule');
    expect(rule.metadata.labels?.release).toBe('prometheus');
    expect(rule.spec).toEqual(parse(readFileSync(`${CHART}/rules/meet-operator.rules.yaml`, 'utf8')));
    expect(findAll(renderChart({}), 'PrometheusRule')).toEqual([]);

    // One replica without leader election: no PDB (it would block drains), no Lease role.
    const single = renderChart({ replicaCount: 1, leaderElection: { enabled: false, leaseName: 'unused' } });
    expect(findAll(single, 'PodDisruptionBudget')).toEqual([]);
    expect(findAll(single, 'Role')).toEqual([]);
    expect(container(findOne(single, 'Deployment')).args).toContain('--no-leader-elect');
    expect(findAll(renderChart({ metrics: { port: 9090, service: { enabled: false } } }), 'Service')).toEqual([]);
    expect(container(findOne(renderChart({ metrics: { port: 9090 } }), 'Deployment')).args).toContain('--listen=0.0.0.0:9090');

    const refused = (values: unknown, message: RegExp) => {
      const r = helm(['template', 'mo', CHART, '-f', valuesFile(values)]);
      expect(r.code, JSON.stringify(values)).not.toBe(0);
      expect(r.stderr).toMatch(message);
    };
    refused({ replicaCount: 2, leaderElection: { enabled: false, leaseName: 'x' } }, /needs leaderElection.enabled=true/);
    refused({ replicaCount: 'two' }, /replicaCount/);
    refused({ logLevel: 'verbose' }, /logLevel/);
    refused({ image: { registry: 'r.example', repository: 'x', digest: 'latest' } }, /digest/);
    refused({ watchNamespaces: ['Not_A_Namespace'] }, /watchNamespaces/);
    refused({ replicas: 2 }, /replicas/);
  });

  it('runs the image entrypoint the way the chart test runs it: node <memory flags> dist/cli/bin.js, non-root, production deps', () => {
    const { entrypoint, cmd, user, recipe, rootfs } = imageEntrypoint();
    // V8 flags that NODE_OPTIONS refuses (memory: see images/meet-operator/image.yaml); the chart test runs them too.
    expect(entrypoint).toEqual(['node', '--no-opt', '--no-maglev', '--optimize-for-size', 'dist/cli/bin.js']);
    expect(cmd).toEqual(['run']);
    expect(user).toMatch(/^65532(:65532)?$/);
    // Node.js 24 (the npm registry's node binary), production dependencies only, dist/ compiled from operator/src.
    expect(String(recipe.vars.NODE_VERSION)).toMatch(/^24\./);
    expect(rootfs).toMatch(/npm ci --omit=dev/);
    expect(rootfs).toMatch(/^cp -a "\$WORK\/src\/dist" "\$ROOTFS\/app\/dist"$/m);
    expect(recipe.inputs).toContainEqual(expect.objectContaining({ path: 'operator/src' }));
  });
});

// --- on the control plane -----------------------------------------------------------------------------

const RELEASE = 'chart-it';
const SYSTEM_NS = 'chart-it-system';
const WATCHED = 'chart-it-a';
const OTHER = 'chart-it-b';
const FULLNAME = `${RELEASE}-meet-operator`;
const SA_USER = `system:serviceaccount:${SYSTEM_NS}:${FULLNAME}`;
const LEASE_NAME = 'meet-operator-chart-it'; // not the default: other suites run operators on this control plane
// The operator image from the ministry's mirror: spec.checks runs it, and the example allows only that registry.
const INSTALL_VALUES = { image: { registry: 'registry.interieur.example' }, leaderElection: { enabled: true, leaseName: LEASE_NAME }, logLevel: 'debug', resyncSeconds: 5, extraArgs: ['--relist-seconds=900'] };

/** spec.checks, scheduled once a year: the objects exist, no Job runs during the test. */
const withChecks = (m: any) => (m.spec.checks = { schedule: '0 3 1 1 *' });
const embeddedTurn = (m: any) => {
  m.spec.turn = { mode: 'embedded', domain: 'turn.interieur.example', certificate: 'orn:ows:idauth::1:server-certificate/turn' };
  m.spec.sovereignty.stunServers = ['stun.interieur.example:3478'];
};
const leading = (op: ChartOperator) => eventually('operator leading', () => (op.logs.some((l) => l.includes('"msg":"starting workers"')) ? true : undefined), 60_000);
const children = (ns: string): string[] =>
  JSON.parse(kubectlOk(['get', 'secrets,configmaps,services,deployments,statefulsets,poddisruptionbudgets,networkpolicies,horizontalpodautoscalers,serviceaccounts,roles,rolebindings,cronjobs', '-n', ns, '-l', 'meet.sovereign.io/cluster=visio', '-o', 'json']))
    .items.map((o: any) => `${o.kind}/${o.metadata.name}`).sort();

let op: ChartOperator | undefined;
let saKubeconfig = '';
let auditFrom = 0; // the audit log outlives runs when KUBECONFIG_TEST reuses a control plane
/** kubectl as the chart's ServiceAccount (token only). */
const asOperator = (args: string[]) => kubectl(['--kubeconfig', saKubeconfig, ...args]);
const canI = (...args: string[]) => {
  const r = asOperator(['auth', 'can-i', ...args]);
  if (r.code !== 0 && r.code !== 1) throw new Error(`kubectl auth can-i ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};
const installedDeployment = (): Obj => findOne(parseObjects(helmOk(['get', 'manifest', RELEASE, '-n', SYSTEM_NS])), 'Deployment');

function cleanup(): void {
  helm(['uninstall', RELEASE, '-n', SYSTEM_NS, '--ignore-not-found', '--wait', '--timeout=60s']);
  kubectl(['delete', 'namespace', WATCHED, OTHER, SYSTEM_NS, '--ignore-not-found', '--timeout=120s']);
  kubectl(['delete', 'clusterrole,clusterrolebinding', '-l', `app.kubernetes.io/instance=${RELEASE}`, '--ignore-not-found']);
}

describe('the chart, installed on the control plane', () => {
  beforeAll(() => {
    cleanup(); // leftovers of an interrupted run
    auditFrom = auditMark();
    kubectlOk(['apply', '--server-side', '-f', 'hack/dev-storage.yaml']);
    for (let i = 0; i < 3; i++) {
      kubectlOk(['apply', '--server-side', '-f', '-'], JSON.stringify({
        apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: `chart-it-pv-${i}` },
        spec: { capacity: { storage: '10Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Delete', storageClassName: 'bsu-gp2-encrypted', hostPath: { path: `/tmp/chart-it-pv-${i}` } },
      }));
    }
  }, 300_000);

  beforeEach(() => {
    onTestFailed(() => {
      if (!op) return;
      console.log(`operator log (last 60 lines):\n${op.logs.slice(-60).join('\n')}`);
      for (const ns of [WATCHED, OTHER]) console.log(kubectl(['get', 'mc,deploy,sts,pvc,pods', '-n', ns, '-o', 'wide']).stdout, kubectl(['get', 'mc', 'visio', '-n', ns, '-o', 'jsonpath={.status}']).stdout);
    });
  });

  afterAll(async () => {
    await op?.stop();
    // SFU pods hold host ports on the kwok nodes: leave them free for the other suites.
    cleanup();
    kubectl(['delete', 'pv', 'chart-it-pv-0', 'chart-it-pv-1', 'chart-it-pv-2', '--ignore-not-found', '--wait=false']);
  }, 300_000);

  it('helm install: CRD, ServiceAccount, RBAC, and operator pods admitted under the restricted Pod Security Standard', async () => {
    kubectlOk(['apply', '--server-side', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Namespace',
      metadata: { name: SYSTEM_NS, labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' } },
    }));
    const out = helmOk(['install', RELEASE, CHART, '-n', SYSTEM_NS, '-f', valuesFile(INSTALL_VALUES)]);
    expect(out).toContain('STATUS: deployed');
    expect(out).toContain('kubectl get mc -A'); // NOTES.txt: what to do next
    expect(out).toContain('kind: MeetingCluster');
    await crdsEstablished('meetingclusters.meet.sovereign.io');
    expect(tryGet('serviceaccount', FULLNAME, '-n', SYSTEM_NS)).toBeDefined();
    expect(grants(tryGet('clusterrole', FULLNAME).rules)).toEqual(namespacedGrantsFromCode());
    expect(grants(tryGet('role', `${FULLNAME}-leader-election`, '-n', SYSTEM_NS).rules)).toEqual(leaseGrantsFromCode(LEASE_NAME));
    // kwok "runs" the pods: the API server admitted them (restricted PSS) and the rollout completes.
    kubectlOk(['rollout', 'status', `deployment/${FULLNAME}`, '-n', SYSTEM_NS, '--timeout=90s']);
    expect(JSON.parse(kubectlOk(['get', 'pods', '-n', SYSTEM_NS, '-l', `app.kubernetes.io/instance=${RELEASE}`, '-o', 'json'])).items).toHaveLength(2);
  }, 180_000);

  it('the operator, started as the chart starts it, with only its ServiceAccount token, reconciles a MeetingCluster to Ready and prunes', async () => {
    saKubeconfig = tokenKubeconfig(FULLNAME, SYSTEM_NS).path;
    op = startChartOperator(installedDeployment(), { namespace: SYSTEM_NS, name: 'chart-it-op-1' }, saKubeconfig);
    console.log(`operator: ${op.argv.join(' ')}`);
    await leading(op);
    const lease = tryGet('lease', LEASE_NAME, '-n', SYSTEM_NS);
    expect(lease.spec.holderIdentity).toBe('chart-it-op-1');

    ensureNamespace(WATCHED);
    // spec.checks as well: the API server lets no one grant rights it lacks, so the check's Role being
    // created proves the chart gives the operator what it hands on (once a year: no Job runs here).
    apply(manifest(WATCHED, withChecks));
    const t0 = Date.now();
    const mc = await waitReady(WATCHED, 120_000);
    console.log(`Ready=True in ${Date.now() - t0} ms under the chart's ClusterRole`);
    for (const t of ['SFUAvailable', 'TURNAvailable', 'RedisAvailable', 'Sovereign']) expect(condition(mc, t)?.status).toBe('True');
    expect(children(WATCHED)).toEqual(expect.arrayContaining(['Deployment/visio-turn', 'Secret/visio-turn-secret', 'StatefulSet/visio-redis']));
    const check = 'visio-connectivity-check';
    expect(children(WATCHED)).toEqual(expect.arrayContaining([`CronJob/${check}`, `Role/${check}`, `RoleBinding/${check}`, `ServiceAccount/${check}`]));
    // In the operator's own image, the one the chart runs.
    expect(tryGet('cronjob', check, '-n', WATCHED).spec.jobTemplate.spec.template.spec.containers[0].image).toBe(installedDeployment().spec.template.spec.containers[0].image);
    expect(condition(mc, 'ConnectivityVerified')).toMatchObject({ status: 'Unknown', reason: 'CheckPending' });

    // Prune (DELETE) is part of the role too: switch to LiveKit's embedded TURN, coturn goes.
    apply(manifest(WATCHED, embeddedTurn));
    await eventually('coturn and the check pruned', () => (children(WATCHED).some((id) => /visio-turn(-config|-secret)?$|connectivity-check/.test(id)) ? undefined : true), 60_000);
    await waitReady(WATCHED, 120_000);

    expect(forbiddenLines(op.logs)).toEqual([]);
    // Other suites share this control plane and apply crds/ with their own field manager: each such CRD
    // update re-creates the MeetingCluster storage, and a watch open then is closed with "storage is
    // (re)initializing" and retried (the API server's doing, not a refused right).
    const transient = /storage is \(re\)initializing/;
    expect(op.logs.filter((l) => /"level":"(error|warn)"/.test(l) && !transient.test(l))).toEqual([]);
    const writes = auditOf(SA_USER, auditFrom);
    expect(writes.filter((w) => w.code === 401 || w.code === 403)).toEqual([]);
    const done = new Set(writes.filter((w) => (w.code ?? 0) < 300).map((w) => `${w.verb} ${w.resource}${w.subresource ? `/${w.subresource}` : ''}`));
    expect([...done].sort()).toEqual(expect.arrayContaining(['create events', 'create secrets', 'delete configmaps', 'delete deployments', 'patch deployments', 'patch meetingclusters/status', 'patch statefulsets']));
    // Every write of this operator process went out as the ServiceAccount, none as the test's admin.
    const agent = userAgent('chart-it-op-1');
    expect(writes.filter((w) => w.userAgent === agent).length).toBeGreaterThan(10);
  }, 300_000);

  it('the ServiceAccount can do nothing else', () => {
    const yes = [
      ['list', 'secrets', '--all-namespaces'], ['get', 'secrets', '-n', WATCHED], ['create', 'secrets', '-n', WATCHED],
      ['patch', 'deployments.apps', '-n', WATCHED], ['create', 'deployments.apps', '-n', WATCHED], ['delete', 'statefulsets.apps', '-n', WATCHED],
      ['patch', 'meetingclusters.meet.sovereign.io', '--subresource=status', '-n', WATCHED], ['create', 'events', '-n', WATCHED], ['list', 'events', '-n', WATCHED], // list: a claim's Events (diagnosis.ts)
      ['get', `leases.coordination.k8s.io/${LEASE_NAME}`, '-n', SYSTEM_NS], ['update', `leases.coordination.k8s.io/${LEASE_NAME}`, '-n', SYSTEM_NS],
      ['list', 'pods', '-n', WATCHED], ['patch', 'pods', '-n', WATCHED], // the autoscaler: SFU pods and their deletion costs
      ['delete', 'pods', '-n', WATCHED], // an upgrade's deadline: the old SFU pods cut
      ['create', 'cronjobs.batch', '-n', WATCHED], ['create', 'roles.rbac.authorization.k8s.io', '-n', WATCHED], ['create', 'rolebindings.rbac.authorization.k8s.io', '-n', WATCHED], // spec.checks
      ['patch', 'meetingclusters.meet.sovereign.io', '-n', WATCHED], ['get', 'pods', '--subresource=proxy', '-n', WATCHED], // held to be granted to the check's Role
    ];
    const no = [
      ['update', 'deployments.apps', '-n', WATCHED], ['get', 'deployments.apps', '-n', WATCHED], ['get', 'configmaps', '-n', WATCHED],
      ['update', 'secrets', '-n', WATCHED], ['delete', 'meetingclusters.meet.sovereign.io', '-n', WATCHED],
      ['get', 'pods', '-n', WATCHED], ['create', 'pods', '-n', WATCHED], ['create', 'jobs.batch', '-n', WATCHED],
      ['list', 'nodes'], ['get', 'namespaces'], ['escalate', 'roles.rbac.authorization.k8s.io', '-n', WATCHED], ['bind', 'roles.rbac.authorization.k8s.io', '-n', WATCHED],
      ['create', 'clusterrolebindings.rbac.authorization.k8s.io'],
      ['update', 'leases.coordination.k8s.io/some-other-lease', '-n', SYSTEM_NS], ['create', 'leases.coordination.k8s.io', '-n', 'kube-system'],
      ['list', 'customresourcedefinitions.apiextensions.k8s.io'], ['*', '*', '--all-namespaces'],
    ];
    for (const a of yes) expect(canI(...a), a.join(' ')).toBe('yes');
    for (const a of no) expect(canI(...a), a.join(' ')).toBe('no');
    const r = asOperator(['get', 'configmap', 'visio-sfu-config', '-n', WATCHED]); // GET (a LIST is allowed)
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/Forbidden/);
  });

  it('helm upgrade with watchNamespaces: Roles in that namespace only, the operator still converges, other namespaces are forbidden', async () => {
    await op!.stop(); // its cluster-wide watches are about to lose their rights
    helmOk(['upgrade', RELEASE, CHART, '-n', SYSTEM_NS, '-f', valuesFile({ ...INSTALL_VALUES, watchNamespaces: [WATCHED] })]);
    expect(kubectl(['get', 'clusterrole', FULLNAME]).code).not.toBe(0);
    expect(kubectl(['get', 'clusterrolebinding', FULLNAME]).code).not.toBe(0);
    expect(grants(tryGet('role', FULLNAME, '-n', WATCHED).rules)).toEqual(namespacedGrantsFromCode());
    const deployment = installedDeployment();
    expect(container(deployment).args).toContain(`--namespaces=${WATCHED}`);

    op = startChartOperator(deployment, { namespace: SYSTEM_NS, name: 'chart-it-op-2' }, saKubeconfig);
    await leading(op);
    apply(manifest(WATCHED, (m) => {
      embeddedTurn(m);
      m.spec.sfu.maxParticipantsPerRoom = 80;
    }));
    await eventually('config updated', () => (kubectlOk(['get', 'cm', 'visio-sfu-config', '-n', WATCHED, '-o', 'jsonpath={.data.livekit\\.yaml}']).includes('max_participants: 80') ? true : undefined), 60_000);
    await waitReady(WATCHED, 120_000);

    // A namespace it does not watch: its Secrets are out of reach, and its MeetingClusters are not reconciled.
    ensureNamespace(OTHER);
    kubectlOk(['create', 'secret', 'generic', 'ministry-credentials', '-n', OTHER, '--from-literal=password=not-for-the-operator']);
    const get = asOperator(['get', 'secret', 'ministry-credentials', '-n', OTHER]);
    expect(get.code).not.toBe(0);
    expect(get.stderr).toMatch(/Forbidden.*cannot get resource "secrets"/);
    expect(canI('get', 'secrets', '-n', OTHER)).toBe('no');
    expect(canI('list', 'secrets', '--all-namespaces')).toBe('no');
    expect(canI('list', 'meetingclusters.meet.sovereign.io', '--all-namespaces')).toBe('no');
    expect(canI('get', 'secrets', '-n', WATCHED)).toBe('yes');
    apply(manifest(OTHER));
    await new Promise((r) => setTimeout(r, 6_000)); // > resync (5 s)
    expect(tryGet('mc', 'visio', '-n', OTHER).status).toBeUndefined();
    expect(children(OTHER)).toEqual([]);

    expect(forbiddenLines(op.logs)).toEqual([]);
    expect(auditOf(SA_USER, auditFrom).filter((w) => w.code === 401 || w.code === 403)).toEqual([]);
  }, 240_000);

  it('helm uninstall keeps the CRD, the MeetingClusters and their running stacks; deleting a MeetingCluster removes its stack', async () => {
    await op!.stop();
    op = undefined;
    helmOk(['uninstall', RELEASE, '-n', SYSTEM_NS, '--wait', '--timeout=60s']);
    expect(tryGet('serviceaccount', FULLNAME, '-n', SYSTEM_NS)).toBeUndefined();
    expect(tryGet('role', FULLNAME, '-n', WATCHED)).toBeUndefined();
    expect(tryGet('crd', 'meetingclusters.meet.sovereign.io')).toBeDefined(); // Helm never deletes crds/
    const mc = tryGet('mc', 'visio', '-n', WATCHED);
    expect(condition(mc, 'Ready')?.status).toBe('True');
    const sfu = tryGet('deployment', 'visio-sfu', '-n', WATCHED);
    expect(sfu.status.readyReplicas).toBe(2);

    kubectlOk(['delete', 'mc', 'visio', '-n', WATCHED, '--wait=false']);
    await eventually('stack garbage-collected', () => (tryGet('deployment', 'visio-sfu', '-n', WATCHED) ? undefined : true), 90_000);
    await eventually('every child garbage-collected', () => (children(WATCHED).length === 0 ? true : undefined), 60_000);
  }, 180_000);
});
