// What a valid MeetingCluster's children look like when the operator applies them (rendered,
// owned, stamped with their digest) and the sovereignty audit of exactly those objects.
import type { MeetingCluster } from '../api/types.js';
import { auditRendered } from '../audit/audit.js';
import type { GeneratedSecrets } from '../render/context.js';
import { renderCluster } from '../render/index.js';
import type { RenderedObject } from '../kube/object.js';
import { prepareChild, type OwnerReference } from './diff.js';

export interface RenderedChildren {
  desired: RenderedObject[];
  sovereignty: { ok: boolean; message: string };
}

/** Pure: the same inputs give the same objects (the caller keeps the credentials stable). */
export function renderChildren(cluster: MeetingCluster, values: GeneratedSecrets, sfuReplicas: number | undefined, owner: OwnerReference): RenderedChildren {
  const desired = renderCluster(cluster, values, sfuReplicas === undefined ? {} : { sfuReplicas }).map((o) => prepareChild(o, owner));
  const findings = auditRendered(cluster, desired, values);
  const failed = findings.filter((f) => f.verdict === 'fail');
  const warned = findings.filter((f) => f.verdict === 'warn');
  const sovereignty = failed.length
    ? { ok: false, message: failed.map((f) => f.message).join('; ') }
    : { ok: true, message: warned.length ? `compliant; to review: ${warned.map((f) => f.message).join('; ')}` : 'compliant' };
  return { desired, sovereignty };
}
