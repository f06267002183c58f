// What spec.autoscaling means, said once: who decides the SFU replica count, and the bounds every
// count stays within. The renderer, the autoscaler, the reconciler and status all ask here.
import type { AutoscalingSpec } from './types.js';

/**
 * Who sets the SFU Deployment's replicas: the spec (spec.sfu.replicas, `kubectl scale`), a CPU
 * HorizontalPodAutoscaler, or the operator's own autoscaler from the participants LiveKit reports.
 */
export type ScalingMode = 'fixed' | 'cpu' | 'participants';

export const scalingMode = (a: Pick<AutoscalingSpec, 'enabled' | 'metric'>): ScalingMode => (!a.enabled ? 'fixed' : a.metric === 'cpu' ? 'cpu' : 'participants');

/** n within spec.autoscaling's minReplicas..maxReplicas. */
export const withinBounds = (a: Pick<AutoscalingSpec, 'minReplicas' | 'maxReplicas'>, n: number): number => Math.min(a.maxReplicas, Math.max(a.minReplicas, n));
