// Issue 19, item 2, on the real node: a real Prometheus (built from the Go module proxy) scrapes the
// operator's pod and the SFU pod's livekit-server while a call runs, with the chart's alert rules
// loaded. Every dashboard query must return data, and two alerts must fire under their injected fault
// and clear once it heals: a managed-Redis pod that cannot be scheduled, and no operator replica leading. The
// rules are loaded with `for: 0s` (the same expressions, labels and annotations): how long each
// waits is promtool's test (alert-rules.test.ts); this one proves the series and the PromQL meet.
// coturn is not scraped: Debian's coturn 4.6.1 is built without Prometheus support.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { stringify } from 'yaml';
import { eventually, eventuallyAsync, kubectlOk } from '../integration/kubectl.js';
import { getJson } from '../integration/meetingcluster.js';
import { LiveProbe } from '../media/stack.js';
import { alertRules, panelQueries } from '../monitoring.js';
import { OPERATOR_NS, podsOf, realNode } from './cluster.js';
import { LiveStack } from './live-stack.js';

const NS = 'sports-prom';
const PROMETHEUS = `${execFileSync('bash', ['hack/build-prometheus.sh', '--print-dir'], { encoding: 'utf8' }).trim()}/prometheus`;
const PORT = 19091;
const api = async (path: string): Promise<any> => {
  const res = await fetch(`http://127.0.0.1:${PORT}${path}`, { signal: AbortSignal.timeout(5000) });
  const body: any = await res.json();
  if (body.status !== 'success') throw new Error(`${path}: ${JSON.stringify(body)}`);
  return body.data;
};
const firing = async (alert: string): Promise<any[]> => ((await api('/api/v1/alerts')).alerts as any[]).filter((a) => a.labels.alertname === alert && a.state === 'firing');

describe('a real Prometheus scrapes the operator and livekit-server: dashboards and alerts, on the real node', () => {
  const stack = new LiveStack(NS, 'node-prom');
  // The participants autoscaler (one pod at most: one node) reads the load the dashboards show.
  stack.m.spec.autoscaling = { enabled: true, minReplicas: 1, maxReplicas: 1 };
  delete stack.m.spec.sfu.replicas;
  const dir = mkdtempSync(join(tmpdir(), 'meet-prometheus-'));
  let prometheus: ChildProcess | undefined;
  const probes: LiveProbe[] = [];
  let checkReport: { checks: { status: string }[] } = { checks: [] };

  /** The scrape configuration, with the labels the ServiceMonitors would give (the chart's for the operator, the operator's for the SFU). */
  const writeConfig = (operator: any, sfu: any) =>
    writeFileSync(
      join(dir, 'prometheus.yml'),
      stringify({
        global: { scrape_interval: '2s', evaluation_interval: '2s' },
        rule_files: [join(dir, 'rules.yaml')],
        scrape_configs: [
          { job_name: 'meet-operator', honor_labels: true, static_configs: [{ targets: [`${operator.status.podIP}:8080`], labels: { namespace: OPERATOR_NS, pod: operator.metadata.name } }] },
          { job_name: 'livekit', static_configs: [{ targets: [`${realNode().ip}:${stack.m.spec.sfu.metricsPort ?? 6789}`], labels: { namespace: NS, service: 'visio-sfu-metrics', pod: sfu.metadata.name } }] },
        ],
      }),
    );
  const operatorPod = () => getJson('pods', '-n', OPERATOR_NS, '-l', 'app.kubernetes.io/name=meet-operator').items.find((p: any) => p.status.podIP && !p.metadata.deletionTimestamp);

  beforeAll(async () => {
    await stack.start();
    writeConfig(operatorPod(), podsOf(NS, 'visio', 'sfu')[0]);
    const rules = { groups: [{ name: 'meet-operator (for: 0s)', interval: '2s', rules: alertRules().map((r) => ({ ...r, for: '0s' })) }] };
    writeFileSync(join(dir, 'rules.yaml'), stringify(rules, { lineWidth: 0 }));
    prometheus = spawn(PROMETHEUS, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${PORT}`], { stdio: 'ignore' });
    await eventuallyAsync('Prometheus ready', async () => ((await fetch(`http://127.0.0.1:${PORT}/-/ready`).catch(() => undefined))?.ok ? true : undefined), 30_000, 500);
    // A call: Alice publishes a tone, Bob subscribes (tracks, participants and a room on the SFU).
    const join_ = async (identity: string, publish: boolean) => new LiveProbe(stack.sb, `prom-${identity}`, 'participant', { url: `ws://${realNode().ip}:7880`, token: await stack.token(identity, 'dashboards'), publish, relay: false, seconds: 600 });
    probes.push(await join_('alice', true), await join_('bob', false));
    await probes[1]!.waitFor((e) => e.event === 'frames' && e.peak > 1000, 30_000, 'the tone heard');
    // A real check with --report (no calls: the one above is the dashboards' load): the connectivity
    // panel's series. Its public names resolve nowhere here, so it reports failures, which is data too.
    writeFileSync(join(dir, 'turn-ca.pem'), stack.turnCert);
    const check = spawnSync(process.execPath, ['dist/cli/bin.js', 'check', 'visio', '-n', NS, '--url', `ws://${realNode().ip}:7880`, '--no-media', '--report', '-o', 'json', '--kubeconfig', inject('kubeconfig')], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'turn-ca.pem') },
    });
    checkReport = JSON.parse(check.stdout).clusters[0];
  }, 400_000);

  afterAll(async () => {
    await Promise.all(probes.map((p) => p.leave()));
    prometheus?.kill('SIGTERM');
    await new Promise((r) => (prometheus?.exitCode !== null ? r(undefined) : prometheus.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
    kubectlOk(['scale', 'deployment', '-n', OPERATOR_NS, '-l', 'app.kubernetes.io/name=meet-operator', '--replicas=1']);
    await stack.stop();
  }, 320_000);

  it('both targets are up, and every dashboard query returns data', async () => {
    await eventuallyAsync('both targets up', async () => {
      const targets = (await api('/api/v1/targets')).activeTargets as any[];
      return targets.length === 2 && targets.every((t) => t.health === 'up') ? true : undefined;
    }, 60_000, 1000);
    const queries = panelQueries({ namespace: NS, name: 'visio', rateInterval: '1m' });
    const unanswered = async () => {
      const missing: string[] = [];
      for (const q of queries) if (!(await api(`/api/v1/query?query=${encodeURIComponent(q.expr)}`)).result.length) missing.push(`${q.dashboard} / ${q.panel}: ${q.expr}`);
      return missing;
    };
    // The autoscaler reads the call within its interval; a minute of samples gives every rate two.
    await eventuallyAsync('every dashboard query answered', async () => ((await unanswered()).length ? undefined : true), 120_000, 5000).catch(() => undefined);
    expect(await unanswered()).toEqual([]);
    // The call as the autoscaler read it (its next round at most 15 s on), through the operator's series.
    const seen = async () => Number((await api(`/api/v1/query?query=${encodeURIComponent(`meet_meetingcluster_participants{namespace="${NS}"}`)}`)).result[0]?.value[1]);
    await eventuallyAsync('the call counted', async () => ((await seen()) === 2 ? true : undefined), 60_000, 2000).catch(() => undefined);
    console.log(`Prometheus answered ${queries.length} dashboard queries; the call seen as ${await seen()} participants (meet_meetingcluster_participants)`);
    expect(await seen()).toBe(2);
    // The check's counts as Prometheus has them are the report's.
    const counted = Object.fromEntries(((await api(`/api/v1/query?query=${encodeURIComponent(`meet_meetingcluster_connectivity_checks{namespace="${NS}"}`)}`)).result as any[]).map((r) => [r.metric.result, Number(r.value[1])]));
    const byStatus = (s: string) => checkReport.checks.filter((c) => c.status === s).length;
    expect(counted).toEqual({ passed: byStatus('pass'), warnings: byStatus('warn'), failed: Math.min(8, byStatus('fail')) });
    expect(await firing('MeetingClusterRedisUnavailable')).toEqual([]);
  }, 200_000);

  it('MeetingClusterRedisUnavailable fires while the Redis pod cannot be scheduled, with its runbook, and clears once Redis is back', async () => {
    // The fault: the node cordoned, the Redis pod deleted; its replacement stays Pending.
    // Its node, the real one (the control plane has kwok nodes too, where nothing of ours may run).
    const redis = podsOf(NS, 'visio', 'redis')[0];
    const node = redis.spec.nodeName;
    expect(node).toBe(realNode().name);
    kubectlOk(['cordon', node]);
    try {
      kubectlOk(['delete', 'pod', redis.metadata.name, '-n', NS, '--wait=false']);
      const [alert] = await eventuallyAsync('the alert firing', async () => {
        const alerts = await firing('MeetingClusterRedisUnavailable');
        return alerts.length ? alerts : undefined;
      }, 120_000, 2000).catch(async (e) => {
        const series = (await api(`/api/v1/query?query=${encodeURIComponent(`meet_meetingcluster_status_condition{namespace="${NS}",type="RedisAvailable"}`)}`)).result;
        const mc = getJson('mc', 'visio', '-n', NS).status.conditions.find((c: any) => c.type === 'RedisAvailable');
        throw new Error(`${(e as Error).message}; series ${JSON.stringify(series.map((x: any) => x.metric))}; condition ${JSON.stringify(mc)}; Redis pods ${JSON.stringify(podsOf(NS, 'visio', 'redis').map((p) => [p.metadata.name, p.status.phase, p.spec.nodeName]))}`);
      });
      expect(alert.labels).toMatchObject({ namespace: NS, name: 'visio', severity: 'critical' });
      expect(alert.annotations.runbook).toContain(`kubectl describe mc -n ${NS} visio`);
    } finally {
      kubectlOk(['uncordon', node]);
    }
    await eventuallyAsync('the alert cleared', async () => ((await firing('MeetingClusterRedisUnavailable')).length ? undefined : true), 180_000, 2000);
  }, 400_000);

  it('MeetOperatorNoLeader fires with no operator replica, and clears when one leads again', async () => {
    kubectlOk(['scale', 'deployment', '-n', OPERATOR_NS, '-l', 'app.kubernetes.io/name=meet-operator', '--replicas=0']);
    await eventuallyAsync('the alert firing', async () => ((await firing('MeetOperatorNoLeader')).length ? true : undefined), 120_000, 2000);
    kubectlOk(['scale', 'deployment', '-n', OPERATOR_NS, '-l', 'app.kubernetes.io/name=meet-operator', '--replicas=1']);
    // The new pod has a new address: point the scrape at it (the ServiceMonitor's endpoints would) and reload.
    const operator = await eventually('a new operator pod running', operatorPod, 120_000, 1000);
    writeConfig(operator, podsOf(NS, 'visio', 'sfu')[0]);
    prometheus?.kill('SIGHUP');
    await eventuallyAsync('the alert cleared', async () => ((await firing('MeetOperatorNoLeader')).length ? undefined : true), 120_000, 2000);
  }, 300_000);
});
