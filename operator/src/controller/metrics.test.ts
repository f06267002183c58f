import { describe, expect, it } from 'vitest';
import { alertRules } from '../../test/monitoring.js';
import { clusterSeries, OperatorMetrics } from './metrics.js';

const status = {
  conditions: [
    { type: 'Ready', status: 'False' as const, reason: 'ComponentsNotReady', message: 'Redis: 0/1', lastTransitionTime: '2026-12-07T10:00:00Z' },
    { type: 'RedisAvailable', status: 'False' as const, reason: 'Unavailable', message: '0/1 Redis pods ready', lastTransitionTime: '2026-12-07T10:00:00Z' },
  ],
  replicas: 3,
  readyReplicas: 2,
  desiredReplicas: 4,
  participants: 120,
};

describe('MeetingCluster series', () => {
  it('turns a status into series: each condition with its status and reason, the SFU pods, the load', () => {
    expect(clusterSeries(status, { maxSfuPods: 6, targetParticipantsPerPod: 100 })).toEqual([
      { metric: 'condition', labels: { type: 'Ready', status: 'False', reason: 'ComponentsNotReady' }, value: 1 },
      { metric: 'condition', labels: { type: 'RedisAvailable', status: 'False', reason: 'Unavailable' }, value: 1 },
      { metric: 'sfuPods', labels: { state: 'desired' }, value: 4 },
      { metric: 'sfuPods', labels: { state: 'running' }, value: 3 },
      { metric: 'sfuPods', labels: { state: 'ready' }, value: 2 },
      { metric: 'sfuMaxPods', labels: {}, value: 6 },
      { metric: 'targetParticipants', labels: {}, value: 100 },
      { metric: 'participants', labels: {}, value: 120 },
    ]);
  });

  it('adds the last connectivity check: its counts by result, and when it ended', () => {
    const check = { at: '2026-12-08T04:00:00Z', status: 'fail' as const, passed: 11, warnings: 1, failed: ['stun/STUN Binding', 'turn/TURN/UDP allocate'] };
    expect(clusterSeries({}, undefined, check)).toEqual([
      { metric: 'connectivityChecks', labels: { result: 'passed' }, value: 11 },
      { metric: 'connectivityChecks', labels: { result: 'warnings' }, value: 1 },
      { metric: 'connectivityChecks', labels: { result: 'failed' }, value: 2 },
      { metric: 'connectivityCheckTime', labels: {}, value: Date.parse('2026-12-08T04:00:00Z') / 1000 },
    ]);
  });

  it('exports them per cluster, drops a condition\'s old reason when it changes, and all of a deleted cluster', async () => {
    const m = new OperatorMetrics();
    m.observeCluster('interieur', 'visio', status, { maxSfuPods: 6, targetParticipantsPerPod: 100 });
    m.observeCluster('sports', 'visio', status);
    const healed = { ...status, conditions: [{ ...status.conditions[1]!, status: 'True' as const, reason: 'Available' }] };
    m.observeCluster('interieur', 'visio', healed, { maxSfuPods: 6, targetParticipantsPerPod: 100 });
    let text = await m.registry.metrics();
    expect(text).toContain('meet_meetingcluster_status_condition{namespace="interieur",name="visio",type="RedisAvailable",status="True",reason="Available"} 1');
    expect(text).not.toContain('namespace="interieur",name="visio",type="RedisAvailable",status="False"');
    expect(text).not.toContain('namespace="interieur",name="visio",type="Ready"');
    expect(text).toContain('meet_meetingcluster_sfu_pods{namespace="sports",name="visio",state="ready"} 2');
    expect(text).toContain('meet_meetingcluster_sfu_max_pods{namespace="interieur",name="visio"} 6');
    m.forgetCluster('interieur', 'visio');
    text = await m.registry.metrics();
    expect(text).not.toContain('namespace="interieur"');
    expect(text).toContain('namespace="sports"');
  });

  it('every series the alert rules read is one the operator exports, with the labels they use', async () => {
    const m = new OperatorMetrics();
    m.observeCluster('ns', 'mc', status, { maxSfuPods: 6, targetParticipantsPerPod: 100 });
    const exported = new Map((await m.registry.getMetricsAsJSON()).map((x) => [x.name, new Set(x.values.flatMap((v) => Object.keys(v.labels)))]));
    const rules = alertRules();
    expect(rules.length).toBeGreaterThan(5);
    for (const rule of rules) {
      expect(rule.annotations?.runbook, `${rule.alert} has no runbook line`).toMatch(/\S{10,}/);
      for (const [, name, matchers] of rule.expr.matchAll(/\b(meet_[a-z_]+?)(?:_total)?(?:\{([^}]*)\})?(?=[^a-z_]|$)/g) as IterableIterator<string[]>) {
        const metric = [...exported.keys()].find((n) => n === name || n === `${name}_total` || `${n}_total` === name);
        expect(metric, `${rule.alert}: ${name} is not exported`).toBeDefined();
        for (const label of [...(matchers ?? '').matchAll(/([a-z_]+)\s*(?:=~|!=|=)/g)].map((x) => x[1]!)) {
          expect(exported.get(metric!)!.has(label), `${rule.alert}: ${name} has no label ${label}`).toBe(true);
        }
      }
    }
  });
});
