// Other writers on the operator's children, on the shared control plane: server-side apply
// semantics, not overwrite. A field the operator owns is taken back from whoever changed it; what it
// does not own (a team's labels and annotations, an extra ConfigMap key, a Deployment field it never
// sets) survives its later applies, including the ones a spec change forces. reconciler.test.ts
// covers the plain cases (a deleted Deployment, a merge-patched ConfigMap, an annotation kept for a
// second); this file covers ownership: forced and unforced applies by another field manager, and
// user fields across a real re-apply (proved by the audit log).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crdsEstablished, ensureNamespace, eventually, kubectl, kubectlOk } from './kubectl.js';
import { apply, condition, getJson, tryGet } from './meetingcluster.js';
import { auditWrites, operatorAgent, startOperator, type OperatorProcess } from './operator-process.js';
import { lightCluster, sleep, waitLogged } from './faults-fleet.js';

const NS = 'faults-writers';
const IDENTITY = 'faults-writers';
let op: OperatorProcess;

/** Fields of `obj` that field manager `manager` owns (managedFields, fieldsV1), as paths. */
function owned(obj: any, manager: string): string[] {
  const paths: string[] = [];
  const walk = (node: Record<string, any>, prefix: string) => {
    for (const [k, v] of Object.entries(node)) {
      if (k === '.') continue;
      const p = `${prefix}/${k}`;
      paths.push(p);
      if (v && typeof v === 'object') walk(v, p);
    }
  };
  for (const m of obj.metadata.managedFields ?? []) if (m.manager === manager) walk(m.fieldsV1 ?? {}, '');
  return paths;
}
const IMAGE_PATH = '/f:spec/f:template/f:spec/f:containers/k:{"name":"livekit-server"}/f:image';
const sfuImage = () => getJson('deployment', 'visio-sfu', '-n', NS).spec.template.spec.containers[0].image;

beforeAll(async () => {
  kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', 'crds/']);
  await crdsEstablished('meetingclusters.meet.sovereign.io');
  ensureNamespace(NS);
  apply(lightCluster(NS));
  op = startOperator(IDENTITY, ['--leader-election-name', IDENTITY, '--namespaces', NS]);
  await waitLogged(op, 'starting workers');
  await eventually('stack applied', () => {
    const mc = tryGet('mc', 'visio', '-n', NS);
    return mc?.status?.observedGeneration === mc?.metadata.generation && tryGet('deployment', 'visio-sfu', '-n', NS) ? true : undefined;
  }, 60_000);
});

afterAll(async () => {
  await op?.stop();
  kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=false']);
});

describe('other writers', () => {
  it('a field the operator owns, taken by another field manager (forced apply, JSON patch), is taken back', async () => {
    const wanted = sfuImage();
    // Without --force-conflicts the API server refuses: the field belongs to the operator.
    const intruder = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'visio-sfu', namespace: NS }, spec: { template: { spec: { containers: [{ name: 'livekit-server', image: 'registry.example/intruder:1' }] } } } };
    // (--validate=false: kubectl's client-side schema check wants whole objects; the server takes partial ones.)
    const refused = kubectl(['apply', '--server-side', '--validate=false', '--field-manager=intruder', '-f', '-'], JSON.stringify(intruder));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/conflict.*"meet-operator"/is);

    kubectlOk(['apply', '--server-side', '--validate=false', '--field-manager=intruder', '--force-conflicts', '-f', '-'], JSON.stringify(intruder));
    const t0 = Date.now();
    await eventually('image restored', () => (sfuImage() === wanted ? true : undefined), 30_000, 200);
    const imageMs = Date.now() - t0;
    const d = getJson('deployment', 'visio-sfu', '-n', NS, '--show-managed-fields');
    expect(owned(d, 'meet-operator')).toContain(IMAGE_PATH);
    expect(owned(d, 'intruder')).not.toContain(IMAGE_PATH);

    // An edit (an update, as kubectl edit makes) of a Service field the operator set.
    kubectlOk(['patch', 'service', 'visio-signalling', '-n', NS, '--field-manager=kubectl-edit', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/spec/ports/0/targetPort', value: 8080 }])]);
    const t1 = Date.now();
    await eventually('targetPort restored', () => (getJson('service', 'visio-signalling', '-n', NS).spec.ports[0].targetPort === 'http' ? true : undefined), 30_000, 200);
    const portMs = Date.now() - t1;
    console.log(`other writers: forced apply of the SFU image undone in ${imageMs} ms, edited Service targetPort in ${portMs} ms`);
    expect(imageMs).toBeLessThan(15_000);
    expect(portMs).toBeLessThan(15_000);
  });

  // A port number is a key of the Service's ports list: apply alone would keep the other writer's
  // entry next to ours and fail ("spec.ports[1].name: Duplicate value") for good. The reconciler
  // replaces our lists by a merge patch when a drift repair gets a 422, then applies again.
  it('a Service port number edited by another writer is restored (list-map key)', async () => {
    kubectlOk(['patch', 'service', 'visio-signalling', '-n', NS, '--field-manager=kubectl-edit', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/spec/ports/0/port', value: 444 }])]);
    const t0 = Date.now();
    await eventually('port restored', () => {
      const ports = getJson('service', 'visio-signalling', '-n', NS).spec.ports.map((p: any) => p.port);
      return ports.length === 1 && ports[0] === 443 ? true : undefined;
    }, 30_000, 250);
    console.log(`other writers: edited Service port number (a list-map key) restored in ${Date.now() - t0} ms`);
    // ...and the repair left no apply error behind.
    await eventually('not Degraded', () => (condition(getJson('mc', 'visio', '-n', NS), 'Degraded')?.status === 'False' ? true : undefined), 30_000, 250);
    expect(condition(getJson('mc', 'visio', '-n', NS), 'Ready')?.reason).not.toBe('ApplyFailed');
  });

  it("what the operator does not own (labels, annotations, an extra ConfigMap key, a Deployment field it never sets) survives its re-applies after a spec change", async () => {
    kubectlOk(['label', 'deployment', 'visio-sfu', '-n', NS, 'team.interieur.example/oncall=visio']);
    kubectlOk(['annotate', 'deployment', 'visio-sfu', '-n', NS, 'ops.interieur.example/runbook=https://wiki.interieur.example/visio']);
    kubectlOk(['apply', '--server-side', '--validate=false', '--field-manager=platform-team', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'List', items: [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'visio-sfu-config', namespace: NS, annotations: { 'platform.interieur.example/reviewed': 'yes' } }, data: { 'notes.txt': 'reviewed by the platform team\n' } },
        { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'visio-sfu', namespace: NS }, spec: { revisionHistoryLimit: 3 } },
      ],
    }));
    const tEdit = new Date().toISOString();
    await sleep(1500); // let the operator see those edits (they must not trigger writes)

    apply(lightCluster(NS, (spec) => (spec.sfu.maxParticipantsPerRoom = 77)));
    await eventually('spec change applied', () => (kubectlOk(['get', 'cm', 'visio-sfu-config', '-n', NS, '-o', 'jsonpath={.data.livekit\\.yaml}']).includes('max_participants: 77') ? true : undefined), 30_000, 200);
    await eventually('SFU Deployment re-applied', () => (auditWrites(operatorAgent(IDENTITY)).some((w) => w.resource === 'deployments' && w.name === 'visio-sfu' && w.verb === 'patch' && w.completed > tEdit) ? true : undefined), 30_000, 200);
    await sleep(1000);

    const reapplied = auditWrites(operatorAgent(IDENTITY)).filter((w) => w.completed > tEdit && w.verb === 'patch').map((w) => `${w.resource}/${w.name}`);
    expect(reapplied).toEqual(expect.arrayContaining(['configmaps/visio-sfu-config', 'deployments/visio-sfu']));
    const d = getJson('deployment', 'visio-sfu', '-n', NS, '--show-managed-fields');
    expect(d.metadata.labels['team.interieur.example/oncall']).toBe('visio');
    expect(d.metadata.annotations['ops.interieur.example/runbook']).toBe('https://wiki.interieur.example/visio');
    expect(d.spec.revisionHistoryLimit).toBe(3);
    const cm = getJson('configmap', 'visio-sfu-config', '-n', NS);
    expect(cm.data['notes.txt']).toBe('reviewed by the platform team\n');
    expect(cm.metadata.annotations['platform.interieur.example/reviewed']).toBe('yes');
    expect(cm.data['livekit.yaml']).toContain('max_participants: 77');
    // Nobody else's field moved to the operator's manager.
    expect(owned(d, 'meet-operator').some((p) => p.includes('revisionHistoryLimit') || p.includes('oncall') || p.includes('runbook'))).toBe(false);
    console.log(`other writers: after the spec change the operator re-applied ${[...new Set(reapplied)].join(', ')}; the team's label, annotations, ConfigMap key and revisionHistoryLimit kept`);
  });
});
