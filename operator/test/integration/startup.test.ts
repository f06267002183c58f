// Start-up against a cluster where the operator may not list what it watches (its ServiceAccount
// without the chart's ClusterRole): it must not sit unready and silent forever. As controller-
// runtime does, it gives its caches a deadline and exits naming each kind and the server's answer.
import { afterAll, describe, expect, it } from 'vitest';
import { tokenKubeconfig } from './chart-helpers.js';
import { ensureNamespace, kubectl, kubectlOk } from './kubectl.js';
import { startOperator, type OperatorProcess } from './operator-process.js';

const NS = 'it-no-rbac';
let op: OperatorProcess | undefined;

afterAll(async () => {
  await op?.kill();
  kubectl(['delete', 'namespace', NS, '--ignore-not-found', '--wait=false']);
});

describe('meet-operator run without RBAC', () => {
  it('exits after --cache-sync-timeout-seconds, naming the kinds it could not list and why', async () => {
    ensureNamespace(NS);
    kubectlOk(['create', 'serviceaccount', 'meet-operator', '-n', NS]);
    const { path } = tokenKubeconfig('meet-operator', NS);
    const started = Date.now();
    op = startOperator('no-rbac', ['--kubeconfig', path, '--no-leader-elect', '--cache-sync-timeout-seconds', '4']);
    const code = await Promise.race([op.exited, new Promise((r) => setTimeout(() => r('still running'), 60_000))]);
    expect(code).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(4000);
    const line = op.logs.find((l) => l.includes('"msg":"could not start"'));
    expect(line).toBeDefined();
    const { error } = JSON.parse(line!);
    expect(error).toMatch(/^caches not synced after 4s: /);
    expect(error).toMatch(/MeetingCluster \([^)]*forbidden/);
    expect(error).toMatch(/Deployment \([^)]*forbidden/);
    expect(error).toContain("check the operator's RBAC");
  });
});
