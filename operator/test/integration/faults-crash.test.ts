// Faults of the operator process itself, on a control plane of this file's own with enough kwok
// nodes for every stack to run (SFU and coturn pods hold host ports: one of each per node):
//   - SIGKILL at random points while it converges 50 MeetingClusters, again and again;
//   - SIGKILL of the leader of two while it repairs 50 clusters: the standby takes over.
// Everything is checked on the API server (objects, audit log), not on the operator's word.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from './kubectl.js';
import { AuditReader, ControlPlane, WRITE_VERBS } from './own-controlplane.js';
import type { OperatorProcess } from './operator-process.js';
import {
  childrenByNamespace, expectedChildren, lightCluster, staticVolumes, loggedAt, managedObjects, MANAGED, namespaceObject, orphans, prepare, repeated, secretValues, sleep, unconverged, waitLogged,
} from './faults-fleet.js';

const CLUSTERS = 50;
/** Deleted while the operator is being killed: their children must go too. */
const DOOMED = 4;
const KILLS = 5;
const live = Array.from({ length: CLUSTERS }, (_, i) => `crash-${i}`);
const doomed = Array.from({ length: DOOMED }, (_, i) => `crash-doomed-${i}`);
const LEASE_SECONDS = 15; // leader.ts default; `meet-operator run` has no flag for it

let cp: ControlPlane;
let audit: AuditReader;
const running: OperatorProcess[] = [];
const start = (identity: string, args: string[]) => {
  const op = cp.startOperator(identity, args);
  running.push(op);
  return op;
};

beforeAll(async () => {
  cp = await ControlPlane.start({ nodes: CLUSTERS + DOOMED + 4 });
  audit = new AuditReader(cp.auditLog);
  await prepare(cp, [...staticVolumes(CLUSTERS + DOOMED + 4, 'crash'), ...[...live, ...doomed].map(namespaceObject)]);
});

afterAll(async () => {
  for (const op of running) await op.kill();
  await cp?.down();
});

describe('operator crashes', () => {
  it('SIGKILLed at random points while converging 50 MeetingClusters: all converge, nothing orphaned, regenerated or duplicated', async () => {
    const t0 = Date.now();
    cp.apply([...live, ...doomed].map((ns) => lightCluster(ns)));
    const opWrites = () => audit.requests((e) => e.userAgent.includes('(crash)') && WRITE_VERBS.has(e.verb));

    // Generated credentials as first seen; any later change is a regeneration.
    const firstSeen = new Map<string, { uid: string; data: Record<string, string> }>();
    const checkSecrets = () => {
      for (const [key, s] of secretValues(cp)) {
        const first = firstSeen.get(key);
        if (!first) firstSeen.set(key, s);
        else expect(s, `Secret ${key} changed after it was first created`).toEqual(first);
      }
    };

    const cycles: string[] = [];
    for (let k = 0; k < KILLS; k++) {
      // Same identity each time, like a container restarted in its pod: it takes its Lease back at once.
      const op = start('crash', ['--leader-election-name', 'faults-crash']);
      const leading = await waitLogged(op, 'starting workers');
      // Some clusters are deleted while the operator works on them.
      if (k === 2) for (const ns of doomed) cp.kubectlOk(['delete', 'mc', 'visio', '-n', ns, '--wait=false']);
      const delay = Math.round(Math.random() * 2500);
      await sleep(delay);
      await op.kill();
      const writes = opWrites().filter((e) => e.received >= leading).length;
      cycles.push(`kill ${k + 1} ${delay} ms after the workers started (${writes} writes in that life)`);
      checkSecrets();
    }

    const op = start('crash', ['--leader-election-name', 'faults-crash']);
    await waitLogged(op, 'starting workers');
    await eventually('50 MeetingClusters applied', () => (unconverged(cp, live, false).length === 0 ? true : undefined), 240_000, 1000);
    const appliedMs = Date.now() - t0;
    await eventually('50 MeetingClusters Ready on their current generation', () => (unconverged(cp, live).length === 0 ? true : undefined), 120_000, 1000);
    const readyMs = Date.now() - t0;
    await eventually('children of the deleted clusters collected', () => (managedObjects(cp).some((o) => doomed.includes(o.metadata.namespace)) ? undefined : true), 60_000, 1000);

    const objs = managedObjects(cp);
    const byNs = childrenByNamespace(objs);
    const expected = expectedChildren(lightCluster('x'));
    for (const ns of live) expect(byNs.get(ns), `children of ${ns}`).toEqual(expected);
    expect(orphans(cp, objs)).toEqual([]);
    checkSecrets();
    expect(firstSeen.size).toBeGreaterThanOrEqual(CLUSTERS * 3);
    for (const ns of live) for (const s of ['visio-livekit-keys', 'visio-redis-auth', 'visio-turn-secret']) expect(firstSeen.has(`${ns}/${s}`), `${ns}/${s}`).toBe(true);

    // The audit log is the proof that no Secret was ever created twice (a regenerated credential
    // would be a second successful create of the same name). A create the server completed for an
    // operator killed meanwhile may be audited with another code: every Secret has a create, at
    // most one of them successful.
    const creates = audit.requests((e) => e.verb === 'create' && e.resource === 'secrets' && e.userAgent.includes('(crash)'));
    expect(repeated(creates.filter((e) => e.code === 201).map((e) => `${e.namespace}/${e.name}`))).toEqual([]);
    const createdNames = new Set(creates.map((e) => `${e.namespace}/${e.name}`));
    expect([...firstSeen.keys()].filter((k) => !createdNames.has(k))).toEqual([]);
    const unacknowledged = creates.filter((e) => e.code !== 201).map((e) => `${e.namespace}/${e.name}: ${e.code ?? 'no code'}`);
    // Exactly one pod per component: a crash never left a second Deployment or StatefulSet behind.
    const pods = cp.getJson('pods', '-A', '-l', MANAGED).items.filter((p: any) => !p.metadata.deletionTimestamp && live.includes(p.metadata.namespace));
    expect(pods).toHaveLength(CLUSTERS * 3);
    const conflicts = audit.requests((e) => e.userAgent.includes('(crash)') && e.code === 409).length;
    console.log(
      `crash: ${cycles.join('; ')}\n` +
        `crash: ${CLUSTERS} clusters reconciled ${appliedMs} ms and Ready ${readyMs} ms after they were created (${KILLS} SIGKILLs on the way); ` +
        `${opWrites().length} writes by the operator in all, ${conflicts} answered 409; ${firstSeen.size} generated Secrets unchanged, ` +
        `${creates.length} creates of them (not answered 201: ${unacknowledged.join(', ') || 'none'}); ` +
        `${DOOMED} clusters deleted mid-way left nothing behind`,
    );
  }, 360_000);

  it('leader failover: SIGKILL of the leader while it repairs 50 clusters; the standby takes over after the lease, and no write comes from both', async () => {
    for (const op of running) await op.stop();
    const lease = ['--leader-election-name', 'faults-ha'];
    const a = start('ha-a', lease);
    await waitLogged(a, 'starting workers');
    const b = start('ha-b', lease);
    await waitLogged(b, 'caches synced');
    await sleep(2 * 2000); // two retry periods: B has seen A renew, and holds back
    expect(loggedAt(b.logs, 'became leader')).toBeUndefined();

    // Work for the leader: every ConfigMap and PodDisruptionBudget of the 50 stacks deleted; A is
    // killed as soon as it is repairing, while kubectl is still deleting.
    const tDelete = Date.now();
    const deleting = cp.kubectlAsync(['delete', 'configmaps,poddisruptionbudgets', '-A', '-l', MANAGED, '--wait=false']);
    const writesOf = (id: string) => audit.requests((e) => e.userAgent.includes(`(${id})`) && WRITE_VERBS.has(e.verb) && e.received >= tDelete);
    await eventually('A repairing', () => (writesOf('ha-a').length >= 5 ? true : undefined), 60_000, 20);
    const tKill = Date.now();
    await a.kill();
    const tDead = Date.now();
    const repairedByA = writesOf('ha-a').length;
    expect((await deleting).code).toBe(0);

    const tLead = await waitLogged(b, 'became leader', 60_000);
    const takeoverMs = tLead - tKill;
    const expected = expectedChildren(lightCluster('x'));
    await eventually('every child back', () => {
      const byNs = childrenByNamespace(managedObjects(cp));
      return live.every((ns) => JSON.stringify(byNs.get(ns)) === JSON.stringify(expected)) ? true : undefined;
    }, 120_000, 500);
    const repairedMs = Date.now() - tLead;

    const fromA = writesOf('ha-a'), fromB = writesOf('ha-b');
    const lastA = Math.max(...fromA.map((e) => e.received)), firstB = Math.min(...fromB.map((e) => e.received));
    console.log(
      `failover: A made ${repairedByA} repairs before SIGKILL; B led ${takeoverMs} ms after it (lease ${LEASE_SECONDS} s), ` +
        `B's first write ${firstB - tKill} ms after the kill, every child back ${repairedMs} ms after B took over; ` +
        `A's last write ${lastA - tKill} ms after the kill signal (${tDead - tKill} ms to die); A ${fromA.length} writes, B ${fromB.length}`,
    );
    // The standby waits a whole lease duration without renewals (minus the retry period, 2 s, by
    // which the last renewal may precede the kill, and some slack for a loaded machine), not much more.
    expect(takeoverMs).toBeGreaterThanOrEqual((LEASE_SECONDS - 5) * 1000);
    expect(takeoverMs).toBeLessThan((LEASE_SECONDS + 10) * 1000);
    // No write from both: A's all reached the server before it died, B's all after it led.
    expect(lastA).toBeLessThanOrEqual(tDead);
    expect(fromB.length).toBeGreaterThan(0);
    expect(firstB).toBeGreaterThanOrEqual(tLead);
    expect(firstB - lastA).toBeGreaterThanOrEqual((LEASE_SECONDS - 5) * 1000);
    const leaseObj = cp.getJson('lease', 'faults-ha', '-n', 'default');
    expect(leaseObj.spec).toMatchObject({ holderIdentity: 'ha-b', leaseTransitions: 1 });
    expect(orphans(cp)).toEqual([]);
  }, 240_000);
});
