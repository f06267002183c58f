// The chart's alert rules, checked and unit-tested by promtool (built from the Go module proxy:
// `make prometheus-binaries`). Each alert gets a fault that starts at minute 2 and heals later:
// promtool must see it not yet firing before its `for`, firing after, with the labels and the
// annotations (runbook included) a person would read, and cleared once the fault heals.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { alertRules, RULES_FILE } from '../monitoring.js';

const RULES = resolve(RULES_FILE);
const PROMTOOL = `${execFileSync('bash', ['hack/build-prometheus.sh', '--print-dir'], { encoding: 'utf8' }).trim()}/promtool`;
const rules = alertRules();
const dir = mkdtempSync(join(tmpdir(), 'meet-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const promtool = (...args: string[]) => spawnSync(PROMTOOL, args, { encoding: 'utf8' });
const minutes = (d: string) => Number(/^(\d+)m$/.exec(d)?.[1] ?? NaN);

const CLUSTER = { namespace: 'interieur', name: 'visio' };
const OPERATOR = { namespace: 'meet-system', pod: 'meet-operator-7d9c-x2' };
const sel = (labels: Record<string, string>) => `{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')}}`;

interface Scenario {
  alert: string;
  /** The series at fault for `n` minutes from minute 2, healthy before and after. */
  series: (n: number) => { series: string; values: string }[];
  /** The labels the alert carries (beside the rule's own). */
  labels: Record<string, string>;
  /** Minutes after the fault heals until the expression is false (a rate's window). */
  clearsAfter?: number;
}

/** A condition series present only during the fault (its status label is the fault), then stale. */
const conditionFault = (type: string, status: string, reason: string) => (n: number) => [
  { series: `meet_meetingcluster_status_condition${sel({ ...CLUSTER, type, status, reason })}`, values: `_ _ 1x${n - 1} stale` },
];

const SCENARIOS: Scenario[] = [
  { alert: 'MeetingClusterSFUUnavailable', labels: CLUSTER, series: (n) => [{ series: `meet_meetingcluster_sfu_pods${sel({ ...CLUSTER, state: 'ready' })}`, values: `2 2 0x${n - 1} 2x10` }] },
  { alert: 'MeetingClusterSFUDegraded', labels: CLUSTER, series: conditionFault('SFUAvailable', 'False', 'PartiallyAvailable') },
  { alert: 'MeetingClusterTURNUnavailable', labels: CLUSTER, series: conditionFault('TURNAvailable', 'False', 'Unavailable') },
  { alert: 'MeetingClusterRedisUnavailable', labels: CLUSTER, series: conditionFault('RedisAvailable', 'False', 'Unschedulable') },
  { alert: 'MeetingClusterNotSovereign', labels: CLUSTER, series: conditionFault('Sovereign', 'False', 'NotCompliant') },
  { alert: 'MeetingClusterConnectivityCheckFailing', labels: CLUSTER, series: conditionFault('ConnectivityVerified', 'False', 'ChecksFailed') },
  { alert: 'MeetingClusterApplyFailing', labels: CLUSTER, series: conditionFault('Degraded', 'True', 'ApplyFailed') },
  {
    alert: 'MeetingClusterTURNCertificateExpiring',
    labels: { ...CLUSTER, secret: 'visio-turn-tls' },
    // Renewed 30 days ahead normally; during the fault the renewal failed and 10 days are left.
    series: (n) => [{ series: `meet_meetingcluster_turn_certificate_expiry_timestamp_seconds${sel({ ...CLUSTER, secret: 'visio-turn-tls' })}`, values: `2592000 2592000 864000x${n - 1} 2592000x10` }],
  },
  { alert: 'MeetingClusterScalingMetricsUnknown', labels: CLUSTER, series: conditionFault('ScalingActive', 'True', 'MetricsUnknown') },
  { alert: 'MeetingClusterScalingCapped', labels: CLUSTER, series: conditionFault('ScalingActive', 'True', 'CapacityLimited') },
  { alert: 'MeetingClusterScaleDownPendingTooLong', labels: CLUSTER, series: conditionFault('ScalingActive', 'True', 'ScaleDownPending') },
  {
    alert: 'MeetingClusterLoadAboveMaxReplicas',
    labels: CLUSTER,
    // 700 participants for 6 pods of 100 at most; 600 exactly fits (min = max alone fires nothing).
    series: (n) => [
      { series: `meet_meetingcluster_participants${sel(CLUSTER)}`, values: `600 600 700x${n - 1} 600x10` },
      { series: `meet_meetingcluster_sfu_max_pods${sel(CLUSTER)}`, values: `6x${n + 12}` },
      { series: `meet_meetingcluster_target_participants_per_pod${sel(CLUSTER)}`, values: `100x${n + 12}` },
    ],
  },
  { alert: 'MeetOperatorNoLeader', labels: {}, series: (n) => [{ series: `meet_operator_leader${sel(OPERATOR)}`, values: `1 1 0x${n - 1} 1x10` }] },
  {
    alert: 'MeetOperatorReconcileErrors',
    labels: OPERATOR,
    // A counter that grows during the fault; its 5-minute rate is 0 again 5 minutes after.
    series: (n) => [{ series: `meet_operator_reconcile_errors_total${sel(OPERATOR)}`, values: `0 0 1+1x${n - 1} ${n}x15` }],
    clearsAfter: 6,
  },
];

/** Go's text/template as the rules use it: only {{ $labels.x }}. */
const expand = (text: string, labels: Record<string, string>) => text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, k: string) => labels[k] ?? '<no value>');

/** A promtool unit test: silent before `for` is over, firing after, cleared after the fault. */
function unitTest(s: Scenario, rule: any): object {
  const hold = minutes(rule.for);
  const n = hold + 5; // fault minutes
  const expected = { exp_labels: { ...s.labels, ...rule.labels }, exp_annotations: Object.fromEntries(Object.entries(rule.annotations).map(([k, v]) => [k, expand(String(v), s.labels)])) };
  return {
    name: s.alert,
    interval: '1m',
    input_series: s.series(n),
    alert_rule_test: [
      { eval_time: '1m', alertname: s.alert, exp_alerts: [] },
      ...(hold > 0 ? [{ eval_time: `${2 + hold - 1}m`, alertname: s.alert, exp_alerts: [] }] : []),
      { eval_time: `${2 + hold + 1}m`, alertname: s.alert, exp_alerts: [expected] },
      { eval_time: `${2 + n + (s.clearsAfter ?? 1)}m`, alertname: s.alert, exp_alerts: [] },
    ],
  };
}

function runTests(name: string, tests: object[]): ReturnType<typeof promtool> {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify({ rule_files: [RULES], evaluation_interval: '1m', tests }, { lineWidth: 0 }));
  return promtool('test', 'rules', file);
}

describe('the chart\'s alert rules (promtool)', () => {
  it('promtool checks the rule file: valid PromQL, every rule found', () => {
    const r = promtool('check', 'rules', RULES);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('every alert has a scenario (a new rule must come with its test)', () => {
    expect(SCENARIOS.map((s) => s.alert).sort()).toEqual(rules.map((r) => r.alert).sort());
  });

  it('each alert stays silent until its `for` is over, fires with its labels and runbook, and clears when the fault heals', () => {
    const tests = SCENARIOS.map((s) => unitTest(s, rules.find((r) => r.alert === s.alert)));
    const r = runTests('all', tests);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
  });

  it('and the test can fail: an alert expected on the wrong cluster, or too early, is reported', () => {
    const s = SCENARIOS[0]!;
    const rule = rules.find((r) => r.alert === s.alert);
    const wrongCluster = unitTest({ ...s, labels: { ...CLUSTER, name: 'other' } }, rule);
    const early: any = unitTest(s, rule);
    early.alert_rule_test[1].exp_alerts = early.alert_rule_test[2].exp_alerts;
    for (const [name, test] of [['wrong-cluster', wrongCluster], ['early', early]] as const) {
      const r = runTests(name, [test]);
      expect(r.status, name).not.toBe(0);
      expect(r.stdout + r.stderr).toContain('FAILED');
    }
  });
});
