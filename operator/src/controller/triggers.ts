// Which watch events are worth a reconcile, and how urgently. Pure: the manager asks these on every
// event of every informer. Level-triggered reconciling is correct whatever it is woken for; this only
// spares the work queue the events that cannot change anything, and lets requested work go first.
import type { EventType } from '../kube/reflector.js';
import type { KubeObject } from '../kube/object.js';
import { PRIORITY_HIGH, PRIORITY_LOW } from './queue.js';

/** Child kinds whose status the MeetingCluster's status is computed from (see status.ts). */
const STATUS_READ = new Set(['Deployment', 'StatefulSet']);

/** The object without what only its controllers and the API server move: status, resourceVersion. */
function withoutStatus(o: KubeObject): string {
  const { status: _s, metadata: _m, ...rest } = o as KubeObject & { status?: unknown };
  return `${metadataOf(o)}${JSON.stringify(rest)}`;
}

const metadataOf = (o: KubeObject): string => {
  const { resourceVersion: _rv, managedFields: _mf, ...metadata } = o.metadata as KubeObject['metadata'] & { managedFields?: unknown };
  return JSON.stringify(metadata);
};

/** Did anything but the status change (metadata, spec, data)? */
export function onlyStatusChanged(obj: KubeObject, old: KubeObject): boolean {
  // Kinds with a generation bump it on every spec change: comparing the metadata (generation
  // included) is enough, and much cheaper than serialising a Deployment's whole pod template.
  if (obj.metadata.generation !== undefined && old.metadata.generation !== undefined) return metadataOf(obj) === metadataOf(old);
  return withoutStatus(obj) === withoutStatus(old);
}

/**
 * A MeetingCluster event: new, edited (spec, labels, annotations, deletion) -> high priority;
 * a status-only change someone else made -> low (a reconcile recomputes and, if need be, restores it).
 */
export function clusterEventPriority(type: EventType, obj: KubeObject, old?: KubeObject): number {
  if (type !== 'MODIFIED' || !old) return PRIORITY_HIGH;
  return onlyStatusChanged(obj, old) ? PRIORITY_LOW : PRIORITY_HIGH;
}

/**
 * A child's event: deleted, or changed by someone (a drift to repair) -> high; created (mostly the
 * echo of our own create, racing its response) or a status report of a workload the MeetingCluster's
 * status follows -> low; any other status-only change (a PodDisruptionBudget counting pods, an HPA's
 * metrics) -> undefined: no reconcile.
 */
export function childEventPriority(type: EventType, obj: KubeObject, old?: KubeObject): number | undefined {
  if (type === 'ADDED') return PRIORITY_LOW;
  if (type !== 'MODIFIED' || !old || !onlyStatusChanged(obj, old)) return PRIORITY_HIGH;
  return STATUS_READ.has(obj.kind ?? '') ? PRIORITY_LOW : undefined;
}
