// The CRD and the renderer against a real kube-apiserver (+ controller-manager, scheduler and kwok
// nodes) built from the Kubernetes Go modules by hack/: real admission, real CEL, real scheduling.
import { readFileSync, readdirSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { validateMeetingCluster } from '../../src/api/validate.js';
import { renderCluster } from '../../src/render/index.js';
import type { RenderedObject as KubeObject } from '../../src/kube/object.js';
import { corpusSample } from '../corpus.js';
import { INVALID, TEST_SECRETS, invalidManifest, type Manifest } from '../specs.js';
import { crdsEstablished, ensureNamespace, eventually, kubectl, kubectlOk } from './kubectl.js';

const CRD = 'meetingclusters.meet.sovereign.io';
const docs = (objects: unknown[]): string => objects.map((o) => stringify(o)).join('---\n');
const examples = readdirSync('examples').filter((f) => f.endsWith('.yaml') && !f.includes('storageclass'));

/** prometheus-operator's ServiceMonitor, reduced to what an apply needs, so optional objects dry-run too. */
const SERVICE_MONITOR_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'servicemonitors.monitoring.coreos.com' },
  spec: {
    group: 'monitoring.coreos.com',
    scope: 'Namespaced',
    names: { kind: 'ServiceMonitor', plural: 'servicemonitors', singular: 'servicemonitor', listKind: 'ServiceMonitorList' },
    versions: [{ name: 'v1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
};

function rendered(m: Manifest): KubeObject[] {
  const { cluster, errors } = validateMeetingCluster(m);
  if (!cluster) throw new Error(JSON.stringify(errors));
  return renderCluster(cluster, TEST_SECRETS);
}

/** Server-side apply in dry-run mode with strict field validation; returns kubectl's result. */
const dryRunApply = (objects: unknown[]) =>
  kubectl(['apply', '--server-side', '--field-manager=meet-operator', '--dry-run=server', '--validate=strict', '-f', '-'], docs(objects));

beforeAll(async () => {
  kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', 'crds/']); // the chart suite may have installed the CRD through helm
  kubectlOk(['apply', '--server-side', '-f', '-'], JSON.stringify(SERVICE_MONITOR_CRD));
  await crdsEstablished(CRD, 'servicemonitors.monitoring.coreos.com');
});

describe('the CRD on a real API server', () => {
  it('is Established, answers to its short name and explains its fields', async () => {
    const crd = JSON.parse(kubectlOk(['get', `crd/${CRD}`, '-o', 'json']));
    expect(crd.status.conditions.find((c: any) => c.type === 'Established').status).toBe('True');
    expect(crd.status.acceptedNames.shortNames).toEqual(['mc']);
    // The OpenAPI document is republished a moment after the CRD is Established.
    const explained = await eventually('kubectl explain mc', () => {
      const r = kubectl(['explain', 'mc.spec.sfu.drainSeconds']);
      return r.code === 0 ? r.stdout : undefined;
    });
    expect(explained).toContain('terminationGracePeriodSeconds');
    const cols = crd.spec.versions[0].additionalPrinterColumns.map((c: any) => c.name);
    expect(cols).toEqual(expect.arrayContaining(['Ministry', 'Ready', 'Replicas', 'Participants', 'Age']));
  });

  it.each(examples)('accepts example %s and every object rendered from it (server-side dry-run)', (file) => {
    const m = parse(readFileSync(`examples/${file}`, 'utf8'));
    ensureNamespace(m.metadata.namespace);
    const r = dryRunApply([m, ...rendered(m)]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`meetingcluster.meet.sovereign.io/visio serverside-applied (server dry run)`);
    expect(r.stdout).toContain('deployment.apps/visio-sfu serverside-applied (server dry run)');
  });

  it('accepts the property-test corpus and everything rendered from it', () => {
    const sample = corpusSample(40).filter((m) => validateMeetingCluster(m).cluster);
    expect(sample.length).toBeGreaterThan(30);
    for (const ns of new Set(sample.map((m) => m.metadata.namespace))) ensureNamespace(ns);
    // Names repeat across namespaces only; one request per MeetingCluster keeps failures attributable.
    const failures = sample
      .map((m) => ({ m, r: dryRunApply([m, ...rendered(m)]) }))
      .filter(({ r }) => r.code !== 0)
      .map(({ m, r }) => `${m.metadata.namespace}/${m.metadata.name}: ${r.stderr}`);
    expect(failures).toEqual([]);
  });

  const admission = INVALID.filter((c) => c.apiserver);
  it.each(admission.map((c) => [c.name, c] as const))('rejects at admission: %s', (_n, c) => {
    const m = invalidManifest(c);
    ensureNamespace(m.metadata.namespace);
    const r = kubectl(['create', '--dry-run=server', '--validate=strict', '-f', '-'], JSON.stringify(m));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(c.apiserver);
    // The offline validator names the same field.
    expect(r.stderr).toContain(c.errors[0]!.path.split('.').slice(0, 2).join('.'));
  });

  it.each(INVALID.filter((c) => !c.apiserver).map((c) => [c.name, c] as const))(
    'admits (the operator reports InvalidSpec instead): %s',
    (_n, c) => {
      const m = invalidManifest(c);
      ensureNamespace(m.metadata.namespace);
      const r = kubectl(['create', '--dry-run=server', '--validate=strict', '-f', '-'], JSON.stringify(m));
      // The name rule is the one the API server also checks (object names must be DNS subdomains).
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    },
  );
});

describe('updates the API server refuses', () => {
  it('the managed Redis volume\'s size and StorageClass are fixed once created (its claim template is immutable); its deletePolicy is not', () => {
    const m: any = parse(readFileSync('examples/sports-generic-minimal.yaml', 'utf8'));
    m.metadata = { name: 'storage-fixed', namespace: 'it-storage-fixed' };
    ensureNamespace(m.metadata.namespace);
    kubectlOk(['create', '-f', '-'], JSON.stringify(m));
    try {
      const patch = (redis: object) => kubectl(['patch', 'mc', 'storage-fixed', '-n', m.metadata.namespace, '--type=merge', '-p', JSON.stringify({ spec: { redis } })]);
      for (const storage of [{ storageClassName: 'fast' }, { size: '5Gi' }]) {
        const r = patch({ storage });
        expect(r.code, JSON.stringify(storage)).not.toBe(0);
        expect(r.stderr).toContain('spec.redis.storage');
        expect(r.stderr).toContain('size and storageClassName cannot change once the Redis volume exists');
      }
      expect(patch({ storage: { deletePolicy: 'Delete' } }).code).toBe(0);
    } finally {
      kubectl(['delete', 'mc', 'storage-fixed', '-n', m.metadata.namespace, '--wait=false']);
    }
  });
});

describe('rendered SFU on real scheduling (kube-scheduler + kwok nodes)', () => {
  it('places one pod per node inside the allowed zones, and leaves the pod too many Pending', async () => {
    const m = parse(readFileSync('examples/interieur-outscale-cloudgouv.yaml', 'utf8'));
    m.metadata.namespace = 'sched-test';
    // kwok nodes have 4 CPUs: leave room for coturn beside each SFU pod.
    m.spec.sfu.resources = { requests: { cpu: '1', memory: '1Gi' } };
    ensureNamespace('sched-test');
    const { cluster } = validateMeetingCluster(m);
    const nodes = JSON.parse(kubectlOk(['get', 'nodes', '-o', 'json'])).items;
    const zoneOf = new Map<string, string>(nodes.map((n: any) => [n.metadata.name, n.metadata.labels['topology.kubernetes.io/zone']]));
    const allowed = ['cloudgouv-eu-west-1a', 'cloudgouv-eu-west-1b'];
    const fit = nodes.filter((n: any) => allowed.includes(zoneOf.get(n.metadata.name)!)).length;
    expect(fit).toBeLessThan(nodes.length); // some nodes sit in zone c
    // As many pods as nodes in the allowed zones, then one more.
    const objects = renderCluster(cluster!, TEST_SECRETS, { autoscaledReplicas: fit });
    kubectlOk(['apply', '--server-side', '--field-manager=meet-operator', '-f', '-'], docs(objects));

    const pods = () => JSON.parse(kubectlOk(['get', 'pods', '-n', 'sched-test', '-l', 'app.kubernetes.io/component=sfu', '-o', 'json'])).items;
    const ready = (p: any) => p.status.phase === 'Running' && p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True');
    const running = await eventually(`${fit} SFU pods Running and Ready`, () => {
      const ps = pods();
      return ps.length === fit && ps.every(ready) ? ps : undefined;
    });
    const placed = running.map((p: any) => p.spec.nodeName);
    expect(new Set(placed).size).toBe(fit);
    for (const node of placed) expect(allowed).toContain(zoneOf.get(node));
    // Host network: the pod IP is the node's.
    for (const p of running) expect(p.status.podIP).toBe(p.status.hostIP);

    kubectlOk(['scale', '-n', 'sched-test', 'deployment/visio-sfu', `--replicas=${fit + 1}`]);
    const pending = await eventually('one SFU pod more than the allowed nodes, unschedulable', () => {
      const ps = pods();
      const p = ps.find((x: any) => x.status.phase === 'Pending' && x.status.conditions?.some((c: any) => c.type === 'PodScheduled' && c.status === 'False'));
      return p;
    });
    expect(pending.status.conditions.find((c: any) => c.type === 'PodScheduled').message).toMatch(/anti-affinity|node affinity|free ports/);
    kubectlOk(['delete', 'namespace', 'sched-test', '--timeout=60s']);
  });
});
