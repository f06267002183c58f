// What status says about scaling (pure): the ScalingActive condition and the load figures, from
// the spec's mode and the autoscaler's latest outcome.
import { scalingMode } from '../api/autoscaling.js';
import type { MeetingCluster, MeetingClusterStatus } from '../api/types.js';
import { objectName } from '../api/names.js';
import type { ScalingOutcome } from '../scaling/autoscaler.js';

export interface ScalingReport {
  condition: { status: 'True' | 'False' | 'Unknown'; reason: string; message: string };
  participants?: number;
  rooms?: number;
  desiredReplicas?: number;
}

export function scalingReport(mc: MeetingCluster, outcome: ScalingOutcome | undefined, maxTotalSfuNodes?: number, previous?: MeetingClusterStatus): ScalingReport {
  const a = mc.spec.autoscaling;
  const mode = scalingMode(a);
  if (mode === 'fixed') {
    return { condition: { status: 'False', reason: 'Disabled', message: `fixed at spec.sfu.replicas=${mc.spec.sfu.replicas} (kubectl scale meetingcluster/${mc.metadata.name} --replicas=N)` } };
  }
  if (mode === 'cpu') {
    return { condition: { status: 'True', reason: 'HorizontalPodAutoscaler', message: `HorizontalPodAutoscaler ${objectName(mc, 'sfu')} keeps SFU CPU near ${a.targetCPUUtilizationPercentage}% with ${a.minReplicas}-${a.maxReplicas} pods` } };
  }
  if (!outcome) {
    // A restarted (or newly elected) operator keeps what the last one reported until its first
    // round: the load did not change because the operator did, and status must not flap.
    const last = previous?.conditions?.find((c) => c.type === 'ScalingActive');
    if (last && last.reason !== 'Disabled' && last.reason !== 'HorizontalPodAutoscaler') {
      return {
        condition: { status: last.status, reason: last.reason, message: last.message },
        ...(previous!.participants === undefined ? {} : { participants: previous!.participants }),
        ...(previous!.rooms === undefined ? {} : { rooms: previous!.rooms }),
        ...(previous!.desiredReplicas === undefined ? {} : { desiredReplicas: previous!.desiredReplicas }),
      };
    }
    return { condition: { status: 'Unknown', reason: 'AwaitingMetrics', message: 'the autoscaler has not read the SFU pods yet' } };
  }
  const d = outcome.decision;
  const report = { participants: d.participants, rooms: d.rooms, desiredReplicas: d.replicas };
  if (outcome.shortfall > 0) {
    return {
      ...report,
      condition: { status: 'True', reason: 'CapacityLimited', message: `${d.message}; wants ${d.replicas} SFU pods, ${outcome.replicas} granted: --max-total-sfu-nodes=${maxTotalSfuNodes} is shared by load across clusters (${outcome.shortfall} short)` },
    };
  }
  return { ...report, condition: { status: 'True', reason: d.reason, message: d.message } };
}
