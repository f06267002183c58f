// What a valid MeetingCluster should have (pure): its children as the operator applies them
// (rendered, owned, stamped with their digest) and the sovereignty verdict on exactly those objects.
import { ANNOTATION_SFU_REVISION } from '../api/names.js';
import type { MeetingCluster } from '../api/types.js';
import { auditRendered, sovereigntyVerdict } from '../audit/audit.js';
import type { GeneratedSecrets } from '../credentials/generate.js';
import type { RenderedObject } from '../kube/object.js';
import { renderCluster, type RenderOptions } from '../render/index.js';
import { slotDeploymentName, type SfuSlot } from '../render/sfu-slot.js';
import { digest, prepareChild, type OwnerReference } from './diff.js';

export interface DesiredState {
  children: RenderedObject[];
  sovereignty: { ok: boolean; message: string };
  /** The SFU pod template the spec asks for, whatever the slot (sfu-upgrade.ts compares it). */
  sfuRevision: string;
}

/** The digest of slot a's SFU pod template: slot b's differs only by the ports its slot implies. */
export const sfuRevisionOf = (cluster: MeetingCluster, slotA: RenderedObject[]): string =>
  digest((slotA.find((o) => o.kind === 'Deployment' && o.metadata.name === slotDeploymentName(cluster, 'a'))?.spec as { template?: unknown })?.template ?? null);

/** The same inputs give the same objects (the caller keeps the credentials stable). */
export function desiredState(cluster: MeetingCluster, values: GeneratedSecrets, owner: OwnerReference, options: RenderOptions = {}): DesiredState {
  const sfuSlot: SfuSlot = options.sfuSlot ?? 'a';
  const rendered = renderCluster(cluster, values, { ...options, sfuSlot });
  // Slot a with the same inputs: what the pods would run (the TURN certificate they loaded included).
  const sfuRevision = sfuRevisionOf(cluster, sfuSlot === 'a' ? rendered : renderCluster(cluster, values, { ...options, sfuSlot: 'a' }));
  const sfuName = slotDeploymentName(cluster, sfuSlot);
  const stamped = rendered.map((o) => (o.kind === 'Deployment' && o.metadata.name === sfuName ? { ...o, metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, [ANNOTATION_SFU_REVISION]: sfuRevision } } } : o));
  const children = stamped.map((o) => prepareChild(o, owner));
  return { children, sovereignty: sovereigntyVerdict(auditRendered(cluster, children, values)), sfuRevision };
}
