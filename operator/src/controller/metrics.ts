// Prometheus metrics of the operator itself (prom-client), served on /metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'meet_operator_' });
  }
}
