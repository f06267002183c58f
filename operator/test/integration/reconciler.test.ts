// The operator as a real process against the real control plane: pods come from kube-controller-
// manager + kube-scheduler + kwok, garbage collection is the real one, writes are counted in the
// API server's audit log (not by the operator's own counters).
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditWrites, logged, operatorAgent, startOperator, type OperatorProcess } from './operator-process.js';
import { crdsEstablished, ensureNamespace, eventually, eventuallyAsync, kubectl, kubectlOk } from './kubectl.js';
import { apply, condition, getJson, lightManifest, manifest, tryGet, waitReady } from './meetingcluster.js';

const LEASE = ['--leader-election-name', 'meet-operator-it'];
/** livekit.yaml of both SFU slots (a change goes to whichever slot is idle). */
const sfuConfigs = (ns: string): string => ['visio-sfu-config', 'visio-sfu-b-config'].map((n) => tryGet('cm', n, '-n', ns)?.data['livekit.yaml'] ?? '').join('\n');
const FAST = ['--resync-seconds', '3', '--relist-seconds', '5', '--scaling-interval-seconds', '3', '--scrape-timeout-seconds', '1'];

const children = (ns: string) =>
  getJson('secrets,configmaps,services,deployments,statefulsets,poddisruptionbudgets,networkpolicies,horizontalpodautoscalers', '-n', ns, '-l', 'meet.sovereign.io/cluster=visio').items;
const ids = (objs: any[]) => objs.map((o: any) => `${o.kind}/${o.metadata.name}`).sort();
const secretData = (ns: string) => Object.fromEntries(getJson('secrets', '-n', ns, '-l', 'meet.sovereign.io/cluster=visio').items.map((s: any) => [s.metadata.name, s.data]));
const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A fresh self-signed kubernetes.io/tls Secret for `cn` (created or replaced); returns its serial number. */
function tlsSecretIn(ns: string, name: string, cn: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'it-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${dir}/tls.key`, '-out', `${dir}/tls.crt`, '-subj', `/CN=${cn}`, '-days', '2'], { stdio: 'ignore' });
    kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', '-'], kubectlOk(['create', 'secret', 'tls', name, '-n', ns, `--cert=${dir}/tls.crt`, `--key=${dir}/tls.key`, '--dry-run=client', '-o', 'json']));
    return new X509Certificate(readFileSync(`${dir}/tls.crt`)).serialNumber;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let op: OperatorProcess;

beforeAll(async () => {
  kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', 'crds/', '-f', 'hack/dev-storage.yaml']); // the chart suite may have installed the CRD through helm
  // One statically provisioned volume per managed Redis of this file.
  for (let i = 0; i < 12; i++) {
    kubectlOk(['apply', '--server-side', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: `it-pv-${i}` },
      spec: { capacity: { storage: '10Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Delete', storageClassName: 'bsu-gp2-encrypted', hostPath: { path: `/tmp/it-pv-${i}` } },
    }));
  }
  await crdsEstablished('meetingclusters.meet.sovereign.io');
  op = startOperator('op-a', [...LEASE, ...FAST]);
  await eventually('operator A leading', () => (logged(op, 'starting workers') ? true : undefined), 30_000);
});

afterAll(async () => {
  await op?.stop();
  // Leave the nodes free for the other suites: SFU pods hold host ports.
  kubectl(['delete', 'namespace', 'it-create', 'it-switch', 'it-del-retain', 'it-del-delete', '--ignore-not-found', '--timeout=120s']);
});

describe('meet-operator run', () => {
  it('creates every child, owned by the MeetingCluster, and reports Ready with replicas, selector and endpoints', async () => {
    ensureNamespace('it-create');
    apply(manifest('it-create'));
    const mc = await waitReady('it-create');
    expect(ids(children('it-create'))).toEqual([
      'ConfigMap/visio-redis-config', 'ConfigMap/visio-sfu-config', 'ConfigMap/visio-turn-config',
      'Deployment/visio-sfu', 'Deployment/visio-turn',
      'NetworkPolicy/visio-redis-ingress',
      'PodDisruptionBudget/visio-sfu', 'PodDisruptionBudget/visio-turn',
      'Secret/visio-livekit-keys', 'Secret/visio-redis-auth', 'Secret/visio-turn-secret',
      'Service/visio-redis', 'Service/visio-signalling', 'Service/visio-turn-tls',
      'StatefulSet/visio-redis',
    ]);
    for (const c of children('it-create')) expect(c.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'MeetingCluster', name: 'visio', uid: mc.metadata.uid, controller: true })]);
    expect(mc.status).toMatchObject({ replicas: 2, readyReplicas: 2, selector: 'app.kubernetes.io/instance=visio,app.kubernetes.io/component=sfu', endpoints: { signalling: 'wss://visio.interieur.example' } });
    for (const t of ['SFUAvailable', 'TURNAvailable', 'RedisAvailable', 'Sovereign']) expect(condition(mc, t)?.status).toBe('True');
    expect(kubectlOk(['get', 'mc', '-n', 'it-create'])).toMatch(/visio\s+Ministère de l'Intérieur\s+True\s+2/);
    const events = getJson('events', '-n', 'it-create', '--field-selector', 'involvedObject.kind=MeetingCluster').items;
    expect(events.map((e: any) => e.reason)).toContain('Created');
    // No credential is ever logged.
    const secrets = Object.values(secretData('it-create')).flatMap((d: any) => Object.values(d).map((v: any) => Buffer.from(v, 'base64').toString()));
    for (const s of secrets) for (const part of s.split(/[\s:]+/).filter((x: string) => x.length >= 12)) expect(op.logs.join('\n')).not.toContain(part);
  });

  it('a config change starts the new SFU pods in the other slot, then signals the old ones and removes their slot (side by side)', async () => {
    const before = getJson('pods', '-n', 'it-create', '-l', 'app.kubernetes.io/component=sfu').items.map((p: any) => p.metadata.name);
    apply(manifest('it-create', (m) => (m.spec.sfu.maxParticipantsPerRoom = 80)));
    await eventually('the new slot configured', () => (tryGet('cm', 'visio-sfu-b-config', '-n', 'it-create')?.data['livekit.yaml'].includes('max_participants: 80') ? true : undefined));
    // The old slot keeps its template: it is not rolled in place.
    expect(tryGet('cm', 'visio-sfu-config', '-n', 'it-create')?.data['livekit.yaml'] ?? '').not.toContain('max_participants: 80');
    const after = await eventually('SFU pods replaced and the old slot removed', () => {
      const pods = getJson('pods', '-n', 'it-create', '-l', 'app.kubernetes.io/component=sfu').items.filter((p: any) => !p.metadata.deletionTimestamp);
      const done = pods.length === 2 && pods.every((p: any) => !before.includes(p.metadata.name)) && !tryGet('deployment', 'visio-sfu', '-n', 'it-create') && !tryGet('cm', 'visio-sfu-config', '-n', 'it-create');
      return done ? pods : undefined;
    }, 90_000);
    expect(after.map((p: any) => p.metadata.labels['meet.sovereign.io/sfu-slot'])).toEqual(['b', 'b']);
    expect(after.map((p: any) => p.spec.containers[0].ports.find((x: any) => x.name === 'http').hostPort)).toEqual([7890, 7890]);
    const reasons = getJson('events', '-n', 'it-create', '--field-selector', 'involvedObject.kind=MeetingCluster').items.map((e: any) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['UpgradeStarted', 'UpgradeDraining', 'UpgradeComplete']));
    await waitReady('it-create');
    expect(['UpgradeComplete', 'UpToDate']).toContain(condition(tryGet('mc', 'visio', '-n', 'it-create'), 'Upgrading')?.reason);
  });

  it('a change outside the maintenance window waits, the SFU untouched; the upgrade-now annotation starts it', async () => {
    const start = new Date(Date.now() - 3600_000).toISOString().slice(11, 16);
    apply(manifest('it-create', (m) => ((m.spec.sfu.maxParticipantsPerRoom = 70), (m.spec.sfu.upgrade = { maintenanceWindow: { start, durationMinutes: 30 } }))));
    const waiting = await eventually('Upgrading: WaitingForMaintenanceWindow', () => {
      const c = condition(tryGet('mc', 'visio', '-n', 'it-create'), 'Upgrading');
      return c?.reason === 'WaitingForMaintenanceWindow' ? c : undefined;
    });
    expect(waiting.message).toContain(`(${start} UTC for 30 min, next at `);
    await settle(5000);
    expect(tryGet('deployment', 'visio-sfu', '-n', 'it-create')).toBeUndefined();
    expect(tryGet('cm', 'visio-sfu-b-config', '-n', 'it-create').data['livekit.yaml']).toContain('max_participants: 80');
    kubectlOk(['annotate', 'mc', 'visio', '-n', 'it-create', 'meet.sovereign.io/upgrade-now=true']);
    await eventually('the change live in slot a, slot b removed', () =>
      tryGet('cm', 'visio-sfu-config', '-n', 'it-create')?.data['livekit.yaml'].includes('max_participants: 70') && !tryGet('deployment', 'visio-sfu-b', '-n', 'it-create') ? true : undefined, 90_000);
    kubectlOk(['annotate', 'mc', 'visio', '-n', 'it-create', 'meet.sovereign.io/upgrade-now-']);
    apply(manifest('it-create', (m) => (m.spec.sfu.maxParticipantsPerRoom = 70)));
    await waitReady('it-create');
  });

  it('repairs drift within seconds: a deleted Deployment, an edited ConfigMap; keeps a user annotation', async () => {
    const uid = getJson('deployment', 'visio-sfu', '-n', 'it-create').metadata.uid;
    kubectlOk(['delete', 'deployment', 'visio-sfu', '-n', 'it-create', '--wait=false']);
    const t0 = Date.now();
    await eventually('Deployment recreated', () => {
      const d = tryGet('deployment', 'visio-sfu', '-n', 'it-create');
      return d && d.metadata.uid !== uid && !d.metadata.deletionTimestamp ? d : undefined;
    }, 20_000, 200);
    const deploymentRepairMs = Date.now() - t0;
    kubectlOk(['patch', 'configmap', 'visio-sfu-config', '-n', 'it-create', '--type=merge', '-p', '{"data":{"livekit.yaml":"port: 1\\n"}}']);
    kubectlOk(['annotate', 'service', 'visio-signalling', '-n', 'it-create', 'ops.interieur.example/owner=team-visio']);
    const t1 = Date.now();
    await eventually('ConfigMap restored', () => (kubectlOk(['get', 'cm', 'visio-sfu-config', '-n', 'it-create', '-o', 'jsonpath={.data.livekit\\.yaml}']).includes('max_participants: 70') ? true : undefined), 20_000, 200);
    const configRepairMs = Date.now() - t1;
    console.log(`drift repaired: deleted Deployment in ${deploymentRepairMs} ms, edited ConfigMap in ${configRepairMs} ms`);
    expect(deploymentRepairMs).toBeLessThan(10_000);
    expect(configRepairMs).toBeLessThan(10_000);
    await settle(1000);
    expect(getJson('service', 'visio-signalling', '-n', 'it-create').metadata.annotations['ops.interieur.example/owner']).toBe('team-visio');
  });

  it('writes nothing on resync of an unchanged cluster, and nothing after a restart (audit log)', async () => {
    await waitReady('it-create');
    // The autoscaler (the example scales on participants) reports the SFU pods it could not read
    // (kwok addresses): wait until it has seen the pods the earlier tests' rollouts left.
    await eventually('autoscaler saw the settled SFU pods', () => {
      const pods = getJson('pods', '-n', 'it-create', '-l', 'app.kubernetes.io/component=sfu').items;
      const c = condition(tryGet('mc', 'visio', '-n', 'it-create'), 'ScalingActive');
      return pods.every((p: any) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp) && c?.message.includes(`(${pods.length} unreadable)`) ? true : undefined;
    }, 60_000);
    // Settled: the Deployments' own status (ready replicas, rollout) has reached the MeetingCluster's
    // status too, which then stays unchanged for a full resync period and more.
    let last = '';
    await eventuallyAsync('the status unchanged for 4 s', async () => {
      const rv = tryGet('mc', 'visio', '-n', 'it-create')?.metadata.resourceVersion;
      const same = rv === last;
      last = rv;
      return same ? true : undefined;
    }, 60_000, 4000);
    const agentA = operatorAgent('op-a');
    const before = auditWrites(agentA).length;
    await settle(8000); // > 2 resyncs and a relist
    // On failure, the operator's own account of what changed (its debug line) is in the message.
    const changed = () => op.logs.filter((l) => l.includes('"msg":"status changed"')).slice(-3).join('\n');
    expect(auditWrites(agentA).slice(before), `writes during resyncs; the operator's last status changes:\n${changed()}`).toEqual([]);
    const secretsBefore = secretData('it-create');
    await op.stop();
    op = startOperator('op-a2', [...LEASE, ...FAST]);
    await eventually('operator restarted and leading', () => (logged(op, 'starting workers') ? true : undefined), 30_000);
    await settle(8000);
    expect(auditWrites(operatorAgent('op-a2')), 'writes after the restart').toEqual([]);
    expect(secretData('it-create')).toEqual(secretsBefore);
  });

  it('reports InvalidSpec naming the field and leaves running children untouched', async () => {
    const versions = () => Object.fromEntries(children('it-create').map((c: any) => [`${c.kind}/${c.metadata.name}`, c.metadata.resourceVersion]));
    const before = versions();
    apply(manifest('it-create', (m) => ((m.spec.sfu.maxParticipantsPerRoom = 80), (m.spec.cloud.region = 'us-east-2'), (m.spec.cloud.zones = []))));
    const mc = await eventually('InvalidSpec', () => {
      const mc = tryGet('mc', 'visio', '-n', 'it-create');
      return condition(mc, 'Ready')?.reason === 'InvalidSpec' ? mc : undefined;
    });
    expect(condition(mc, 'Ready')).toMatchObject({ status: 'False', message: 'spec.cloud.region: "us-east-2" is outside the EU; the outscale profile allows eu-west-2, cloudgouv-eu-west-1' });
    expect(mc.status.observedGeneration).toBe(mc.metadata.generation);
    await settle(4000);
    expect(versions()).toEqual(before);
    const events = getJson('events', '-n', 'it-create', '--field-selector', 'reason=InvalidSpec').items;
    expect(events[0]).toMatchObject({ type: 'Warning', message: expect.stringContaining('spec.cloud.region') });
    apply(manifest('it-create', (m) => (m.spec.sfu.maxParticipantsPerRoom = 80)));
    await waitReady('it-create');
  });

  it('reports a generated Secret that lost its keys once, in status and an event, and does not retry it', async () => {
    const key = 'it-create/visio';
    kubectlOk(['patch', 'secret', 'visio-redis-auth', '-n', 'it-create', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/data', value: {} }])]);
    const mc = await eventually('Ready=False naming the Secret', () => {
      const mc = tryGet('mc', 'visio', '-n', 'it-create');
      return /visio-redis-auth exists but lacks its generated keys/.test(condition(mc, 'Ready')?.message ?? '') ? mc : undefined;
    });
    expect(condition(mc, 'Ready')).toMatchObject({ status: 'False', reason: 'ApplyFailed', message: expect.stringContaining('delete it to have it regenerated') });
    const events = getJson('events', '-n', 'it-create', '--field-selector', 'involvedObject.kind=MeetingCluster,reason=ApplyFailed').items;
    expect(events.map((e: any) => e.message).join('\n')).toContain('visio-redis-auth exists but lacks its generated keys');
    // Terminal: no backoff loop. Only resyncs (every 3 s here) and events bring the key back.
    const failures = () => op.logs.filter((l) => l.includes('"msg":"reconcile failed') && l.includes(key));
    await settle(5000);
    expect(failures().every((l) => l.includes('not retried until the cluster or its children change'))).toBe(true);
    expect(failures().some((l) => l.includes('retryInMs'))).toBe(false);
    // Deleting it has it regenerated (the pods read the new value on their next start).
    kubectlOk(['delete', 'secret', 'visio-redis-auth', '-n', 'it-create']);
    await eventually('Secret regenerated', () => (secretData('it-create')['visio-redis-auth']?.password ? true : undefined));
    await waitReady('it-create');
  });

  it('says why Redis waits: a missing StorageClass, by name, with what to create (status and an event); Ready once it exists', async () => {
    const ns = 'it-noclass';
    const storageClass = 'it-missing-class';
    ensureNamespace(ns);
    apply(manifest(ns, (m) => {
      m.spec.sfu.replicas = 1;
      m.spec.turn = { mode: 'disabled' };
      m.spec.sovereignty.stunServers = ['stun.interieur.example:3478'];
      m.spec.redis.storage = { ...m.spec.redis.storage, storageClassName: storageClass };
    }));
    const mc = await eventually('RedisAvailable names the StorageClass', () => {
      const mc = tryGet('mc', 'visio', '-n', ns);
      return condition(mc, 'RedisAvailable')?.reason === 'StorageClassMissing' ? mc : undefined;
    }, 90_000).catch((e) => {
      // What it said instead, and what the pod and the claim say.
      const state = [
        JSON.stringify(condition(tryGet('mc', 'visio', '-n', ns), 'RedisAvailable')),
        kubectl(['get', 'pods,pvc', '-n', ns, '-o', 'wide']).stdout,
        JSON.stringify(tryGet('pod', 'visio-redis-0', '-n', ns)?.status?.conditions),
        kubectl(['get', 'events', '-n', ns]).stdout,
      ].join('\n');
      throw new Error(`${(e as Error).message}\n${state}`);
    });
    expect(condition(mc, 'RedisAvailable').message).toBe(
      `0/1 Redis pods ready: pod visio-redis-0 cannot be scheduled: PersistentVolumeClaim data-visio-redis-0 waits for StorageClass "${storageClass}", which does not exist: ` +
        "create it (encrypted; meet-operator's examples/outscale-storageclass.yaml is one for Outscale); spec.redis.storage.storageClassName is fixed once the MeetingCluster exists " +
        '(the volume claim template is immutable): to use another class (kubectl get storageclass), recreate the MeetingCluster with it',
    );
    expect(condition(mc, 'Ready')).toMatchObject({ status: 'False', reason: 'ComponentsNotReady', message: expect.stringContaining(`StorageClass "${storageClass}", which does not exist`) });
    const events = getJson('events', '-n', ns, '--field-selector', 'involvedObject.kind=MeetingCluster,reason=StorageClassMissing').items;
    expect(events.map((e: any) => `${e.type} ${e.message}`).join('\n')).toContain(`Warning pod visio-redis-0 cannot be scheduled: PersistentVolumeClaim data-visio-redis-0 waits for StorageClass "${storageClass}"`);
    expect(kubectlOk(['describe', 'mc', 'visio', '-n', ns])).toMatch(/StorageClassMissing/);
    // Create what it asks for: the claim binds, the pod schedules, the cause goes.
    kubectlOk(['apply', '--server-side', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'List', items: [
        { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: storageClass }, provisioner: 'kubernetes.io/no-provisioner', volumeBindingMode: 'WaitForFirstConsumer' },
        { apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'it-noclass-pv' }, spec: { capacity: { storage: '10Gi' }, accessModes: ['ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Delete', storageClassName: storageClass, hostPath: { path: '/tmp/it-noclass-pv' } } },
      ],
    }));
    try {
      const ready = await waitReady(ns, 150_000);
      expect(condition(ready, 'RedisAvailable')).toMatchObject({ status: 'True', reason: 'Available', message: '1/1 Redis pods ready' });
    } finally {
      kubectl(['delete', 'namespace', ns, '--ignore-not-found', '--timeout=120s']);
      kubectl(['delete', 'storageclass', storageClass, '--ignore-not-found']);
      kubectl(['delete', 'pv', 'it-noclass-pv', '--ignore-not-found']);
    }
  });

  it('prunes what a mode switch no longer wants (coturn -> embedded TURN)', async () => {
    ensureNamespace('it-switch');
    apply(manifest('it-switch'));
    await waitReady('it-switch');
    apply(manifest('it-switch', (m) => {
      m.spec.turn = { mode: 'embedded', domain: 'turn.interieur.example', certificate: 'orn:ows:idauth::1:server-certificate/turn' };
      m.spec.sovereignty.stunServers = ['stun.interieur.example:3478'];
    }));
    await eventually('coturn pruned', () => {
      const left = ids(children('it-switch')).filter((id) => /visio-turn(-config|-secret)?$/.test(id));
      return left.length === 0 ? true : undefined;
    });
    expect(ids(children('it-switch'))).toContain('Service/visio-turn-tls');
    expect(getJson('service', 'visio-turn-tls', '-n', 'it-switch').spec.selector['app.kubernetes.io/component']).toBe('sfu');
    await waitReady('it-switch');
  });

  it('honours the paused annotation', async () => {
    // The TURN switch changed the SFU's ports: its pods moved to the other slot (side by side).
    const config = await eventually('one SFU slot left', () => {
      const left = ['visio-sfu-config', 'visio-sfu-b-config'].filter((n) => tryGet('configmap', n, '-n', 'it-switch'));
      return left.length === 1 ? left[0] : undefined;
    });
    kubectlOk(['annotate', 'mc', 'visio', '-n', 'it-switch', 'meet.sovereign.io/paused=true']);
    await settle(1000);
    kubectlOk(['delete', 'configmap', config, '-n', 'it-switch']);
    await settle(5000);
    expect(tryGet('configmap', config, '-n', 'it-switch')).toBeUndefined();
    kubectlOk(['annotate', 'mc', 'visio', '-n', 'it-switch', 'meet.sovereign.io/paused-']);
    await eventually('ConfigMap back after unpause', () => tryGet('configmap', config, '-n', 'it-switch'), 20_000);
  });

  it('names spec.monitoring.serviceMonitor when the ServiceMonitor kind is not installed, and applies the rest', async () => {
    ensureNamespace('it-monitor');
    apply(lightManifest('it-monitor', (m) => (m.spec.monitoring = { serviceMonitor: true })));
    const mc = await eventually('Ready=False ApplyFailed', () => {
      const m = tryGet('mc', 'visio', '-n', 'it-monitor');
      return condition(m, 'Ready')?.reason === 'ApplyFailed' ? m : undefined;
    }, 60_000);
    expect(condition(mc, 'Ready').message).toMatch(/^spec\.monitoring\.serviceMonitor: ServiceMonitor \(monitoring\.coreos\.com\/v1\) is not installed/);
    expect(children('it-monitor').map((o: any) => o.kind)).toEqual(expect.arrayContaining(['Deployment', 'ConfigMap', 'Secret', 'Service']));
    apply(lightManifest('it-monitor', (m) => (m.spec.monitoring = { serviceMonitor: false })));
    await waitReady('it-monitor');
    kubectl(['delete', 'namespace', 'it-monitor', '--ignore-not-found', '--wait=false']);
  });

  it('names spec.turn.issuerRef when cert-manager is not installed; embedded TURN moves to new SFU pods side by side when its certificate is renewed', async () => {
    ensureNamespace('it-cert');
    const embedded = (turn: object) => lightManifest('it-cert', (m) => ((m.spec.turn = { mode: 'embedded', domain: 'turn.interieur.example', ...turn }), (m.spec.sovereignty = { stunServers: ['stun.interieur.example:3478'] })));
    apply(embedded({ issuerRef: { name: 'ministry-ca', kind: 'ClusterIssuer' } }));
    const missing = await eventually('Ready=False ApplyFailed', () => {
      const m = tryGet('mc', 'visio', '-n', 'it-cert');
      return condition(m, 'Ready')?.reason === 'ApplyFailed' ? m : undefined;
    }, 60_000);
    expect(condition(missing, 'Ready').message).toMatch(/^spec\.turn\.issuerRef: Certificate \(cert-manager\.io\/v1\) is not installed in this cluster; install cert-manager or use spec\.turn\.tlsSecretName instead/);

    // The user's own Secret, renewed by hand (or by any tool): LiveKit reads it only at start.
    const serialA = tlsSecretIn('it-cert', 'turn-tls', 'turn.interieur.example');
    apply(embedded({ tlsSecretName: 'turn-tls' }));
    const ready = await waitReady('it-cert');
    expect(ready.status.turnCertificate).toMatchObject({ secretName: 'turn-tls', serialNumber: serialA });
    const revision = (name: string) => tryGet('deployment', name, '-n', 'it-cert')?.spec.template.metadata.annotations['meet.sovereign.io/turn-tls-revision'];
    // The switch from the issuer to the Secret moves the SFU (its volume and the certificate's digest
    // change): wait until that upgrade is over, one slot left, the one carrying the digest. Ready alone
    // may come before the upgrade has even started (the old slot, without a digest, still serves).
    const slot = await eventually('one SFU slot serving, with the certificate digest', () => {
      const left = ['visio-sfu', 'visio-sfu-b'].filter((n) => tryGet('deployment', n, '-n', 'it-cert'));
      return left.length === 1 && revision(left[0]!) ? left[0]! : undefined;
    }, 90_000);
    const first = revision(slot);
    expect(first).toMatch(/^[0-9a-f]{16}$/);
    const serialB = tlsSecretIn('it-cert', 'turn-tls', 'turn.interieur.example');
    expect(serialB).not.toBe(serialA);
    await eventually('the status naming the new certificate', () => (tryGet('mc', 'visio', '-n', 'it-cert')?.status?.turnCertificate?.serialNumber === serialB ? true : undefined), 30_000);
    // Side by side: the other slot starts with the new certificate, the old one is kept until then, then removed.
    const other = slot === 'visio-sfu' ? 'visio-sfu-b' : 'visio-sfu';
    const moved = await eventually('SFU pods of the other slot with the new certificate', () => revision(other), 60_000);
    expect(moved).not.toBe(first);
    await eventually('the old slot removed', () => (tryGet('deployment', slot, '-n', 'it-cert') ? undefined : true), 90_000);
    kubectl(['delete', 'namespace', 'it-cert', '--ignore-not-found', '--wait=false']);
  });

  it('lets garbage collection remove children on delete, and follows the PVC deletePolicy', async () => {
    for (const [ns, policy] of [['it-del-retain', 'Retain'], ['it-del-delete', 'Delete']] as const) {
      ensureNamespace(ns);
      apply(manifest(ns, (m) => (m.spec.redis.storage.deletePolicy = policy)));
    }
    await waitReady('it-del-retain');
    await waitReady('it-del-delete');
    for (const ns of ['it-del-retain', 'it-del-delete']) kubectlOk(['delete', 'mc', 'visio', '-n', ns, '--wait=false']);
    for (const ns of ['it-del-retain', 'it-del-delete']) {
      await eventually(`${ns} children collected`, () => (children(ns).length === 0 ? true : undefined), 60_000);
    }
    await eventually('Delete policy removed the PVC', () => (getJson('pvc', '-n', 'it-del-delete').items.length === 0 ? true : undefined), 60_000);
    expect(getJson('pvc', '-n', 'it-del-retain').items.map((p: any) => p.metadata.name)).toEqual(['data-visio-redis-0']);
  });

  it('with two operators only the leader writes; the standby takes over when the leader dies', async () => {
    const b = startOperator('op-b', [...LEASE, ...FAST]);
    try {
      await eventually('standby B synced', () => (logged(b, 'caches synced') ? true : undefined), 30_000);
      apply(manifest('it-create', (m) => (m.spec.sfu.maxParticipantsPerRoom = 90)));
      await eventually('A applied the change', () => (sfuConfigs('it-create').includes('max_participants: 90') ? true : undefined));
      await waitReady('it-create');
      expect(logged(b, 'starting workers')).toBe(false);
      expect(auditWrites(operatorAgent('op-b'))).toEqual([]);

      const killedAt = Date.now();
      await op.kill();
      await eventually('B leading', () => (logged(b, 'starting workers') ? true : undefined), 40_000, 200);
      const takeoverMs = Date.now() - killedAt;
      console.log(`leader failover: standby took over ${takeoverMs} ms after SIGKILL of the leader (lease 15 s)`);
      expect(takeoverMs).toBeLessThan(25_000);
      apply(manifest('it-create', (m) => (m.spec.sfu.maxParticipantsPerRoom = 95)));
      await eventually('B applied the change', () => (sfuConfigs('it-create').includes('max_participants: 95') ? true : undefined));
      expect(auditWrites(operatorAgent('op-b')).length).toBeGreaterThan(0);
    } finally {
      await b.stop();
    }
    op = startOperator('op-a3', [...LEASE, ...FAST]);
  });
});
