// What a valid MeetingCluster should have (pure): its children as the operator applies them
// (rendered, owned, stamped with their digest) and the sovereignty verdict on exactly those objects.
import type { MeetingCluster } from '../api/types.js';
import { auditRendered, sovereigntyVerdict } from '../audit/audit.js';
import type { GeneratedSecrets } from '../credentials/generate.js';
import type { RenderedObject } from '../kube/object.js';
import { renderCluster } from '../render/index.js';
import { prepareChild, type OwnerReference } from './diff.js';

export interface DesiredState {
  children: RenderedObject[];
  sovereignty: { ok: boolean; message: string };
}

/** The same inputs give the same objects (the caller keeps the credentials stable). */
export function desiredState(cluster: MeetingCluster, values: GeneratedSecrets, autoscaledReplicas: number | undefined, owner: OwnerReference): DesiredState {
  const children = renderCluster(cluster, values, autoscaledReplicas === undefined ? {} : { autoscaledReplicas }).map((o) => prepareChild(o, owner));
  return { children, sovereignty: sovereigntyVerdict(auditRendered(cluster, children, values)) };
}
