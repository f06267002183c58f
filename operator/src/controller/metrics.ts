// Prometheus metrics of the operator itself (prom-client), served on /metrics: its own work, and
// each MeetingCluster's status as series, which the chart's alert rules and dashboards read
// (charts/meet-operator/rules). Only the leader reconciles, so only the leader exports the latter.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ConnectivitySummary } from '../api/connectivity.js';
import type { MeetingClusterStatus } from '../api/types.js';

/** One series of a MeetingCluster (namespace and name are added by the exporter). */
export interface ClusterSeries {
  metric: keyof typeof CLUSTER_GAUGES;
  labels: Record<string, string>;
  value: number;
}

/** What each cluster gauge holds; the names are the ones the rules use. */
const CLUSTER_GAUGES = {
  condition: { name: 'meet_meetingcluster_status_condition', help: 'A MeetingCluster condition: 1 for its current status and reason', labels: ['type', 'status', 'reason'] },
  sfuPods: { name: 'meet_meetingcluster_sfu_pods', help: 'SFU pods of a MeetingCluster: desired (the autoscaler\'s count), running and ready (both upgrade slots)', labels: ['state'] },
  sfuMaxPods: { name: 'meet_meetingcluster_sfu_max_pods', help: 'The most SFU pods the autoscaler may run for a MeetingCluster (spec.autoscaling.maxReplicas)', labels: [] },
  targetParticipants: { name: 'meet_meetingcluster_target_participants_per_pod', help: 'Participants the autoscaler plans per SFU pod (spec.autoscaling.targetParticipantsPerNode)', labels: [] },
  participants: { name: 'meet_meetingcluster_participants', help: 'Participants on a MeetingCluster\'s SFU pods, as the autoscaler last read them', labels: [] },
  rooms: { name: 'meet_meetingcluster_rooms', help: 'Rooms on a MeetingCluster\'s SFU pods, as the autoscaler last read them', labels: [] },
  turnCertificateExpiry: { name: 'meet_meetingcluster_turn_certificate_expiry_timestamp_seconds', help: 'When the certificate the TURN server terminates TLS with expires (Unix time)', labels: ['secret'] },
  connectivityChecks: { name: 'meet_meetingcluster_connectivity_checks', help: 'Checks of the last meet-operator check --report of a MeetingCluster, by result (passed, warnings, failed)', labels: ['result'] },
  connectivityCheckTime: { name: 'meet_meetingcluster_connectivity_check_timestamp_seconds', help: 'When the last meet-operator check --report of a MeetingCluster ended (Unix time)', labels: [] },
} as const;

/** The participants autoscaler's bounds, when it runs (the rules compare the load with them). */
export interface AutoscalerBounds {
  maxSfuPods: number;
  targetParticipantsPerPod: number;
}

/** A MeetingCluster's status as series: pure, so what the rules read is tested without a server. */
export function clusterSeries(status: MeetingClusterStatus, bounds?: AutoscalerBounds, connectivity?: ConnectivitySummary): ClusterSeries[] {
  const series: ClusterSeries[] = (status.conditions ?? []).map((c) => ({ metric: 'condition', labels: { type: c.type, status: c.status, reason: c.reason }, value: 1 }));
  const pods = { desired: status.desiredReplicas, running: status.replicas, ready: status.readyReplicas };
  for (const [state, value] of Object.entries(pods)) if (value !== undefined) series.push({ metric: 'sfuPods', labels: { state }, value });
  if (bounds) series.push({ metric: 'sfuMaxPods', labels: {}, value: bounds.maxSfuPods }, { metric: 'targetParticipants', labels: {}, value: bounds.targetParticipantsPerPod });
  if (status.participants !== undefined) series.push({ metric: 'participants', labels: {}, value: status.participants });
  if (status.rooms !== undefined) series.push({ metric: 'rooms', labels: {}, value: status.rooms });
  const cert = status.turnCertificate;
  if (cert) series.push({ metric: 'turnCertificateExpiry', labels: { secret: cert.secretName }, value: Date.parse(cert.notAfter) / 1000 });
  if (connectivity) {
    const counts = { passed: connectivity.passed, warnings: connectivity.warnings, failed: connectivity.failed.length };
    for (const [result, value] of Object.entries(counts)) series.push({ metric: 'connectivityChecks', labels: { result }, value });
    series.push({ metric: 'connectivityCheckTime', labels: {}, value: Date.parse(connectivity.at) / 1000 });
  }
  return series;
}

export class OperatorMetrics {
  readonly registry = new Registry();
  readonly reconcileTotal = new Counter({ name: 'meet_operator_reconcile_total', help: 'Reconciles by result', labelNames: ['result'] as const, registers: [this.registry] });
  readonly reconcileErrors = new Counter({ name: 'meet_operator_reconcile_errors_total', help: 'Reconciles that failed', registers: [this.registry] });
  readonly reconcileDuration = new Histogram({
    name: 'meet_operator_reconcile_duration_seconds',
    help: 'Time to reconcile one MeetingCluster',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({ name: 'meet_operator_workqueue_depth', help: 'MeetingClusters waiting to be reconciled', registers: [this.registry] });
  readonly apiWrites = new Counter({ name: 'meet_operator_api_writes_total', help: 'Write requests sent to the API server', labelNames: ['verb', 'code'] as const, registers: [this.registry] });
  readonly leader = new Gauge({ name: 'meet_operator_leader', help: '1 while this replica holds the leader Lease', registers: [this.registry] });
  readonly scrapeErrors = new Counter({ name: 'meet_operator_sfu_scrape_errors_total', help: 'SFU pod metric reads that failed (load counted as unknown)', registers: [this.registry] });
  readonly managedClusters = new Gauge({ name: 'meet_operator_meetingclusters', help: 'MeetingClusters in the cache', registers: [this.registry] });
  private readonly clusterGauges = Object.fromEntries(
    Object.entries(CLUSTER_GAUGES).map(([k, g]) => [k, new Gauge({ name: g.name, help: g.help, labelNames: ['namespace', 'name', ...g.labels], registers: [this.registry] })]),
  ) as Record<ClusterSeries['metric'], Gauge<string>>;
  /** The series last set per cluster, to remove those that no longer hold (a condition's old reason). */
  private readonly published = new Map<string, { metric: ClusterSeries['metric']; labels: Record<string, string> }[]>();

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'meet_operator_' });
  }

  /** Replaces a MeetingCluster's series with those of its status. */
  observeCluster(namespace: string, name: string, status: MeetingClusterStatus, bounds?: AutoscalerBounds, connectivity?: ConnectivitySummary): void {
    this.forgetCluster(namespace, name);
    const set = clusterSeries(status, bounds, connectivity).map((s) => ({ ...s, labels: { namespace, name, ...s.labels } }));
    for (const s of set) this.clusterGauges[s.metric].set(s.labels, s.value);
    this.published.set(`${namespace}/${name}`, set);
  }

  /** Removes a MeetingCluster's series (it was deleted). */
  forgetCluster(namespace: string, name: string): void {
    for (const s of this.published.get(`${namespace}/${name}`) ?? []) this.clusterGauges[s.metric].remove(s.labels);
    this.published.delete(`${namespace}/${name}`);
  }
}
