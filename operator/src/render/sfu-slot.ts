// The two SFU slots. A node can run one SFU pod per slot: slot a on the spec's ports, slot b on
// spec.sfu.upgrade.alternatePorts. A side-by-side upgrade starts the new pods in the idle slot, next
// to the old ones on the same nodes (their host ports differ), so no spare node is needed. Services
// reach either slot by port name. The UDP media and relay ranges are shared: pion binds a free port
// of the range for each connection, so two processes on one node do not collide.
import { LABEL_SFU_SLOT, objectName, selectorLabels, SUFFIX } from '../api/names.js';
import type { MeetingCluster } from '../api/types.js';
import { TURN_TLS_LISTEN_PORT } from './config/paths.js';

export type SfuSlot = 'a' | 'b';
export const SFU_SLOTS: readonly SfuSlot[] = ['a', 'b'];
export const otherSlot = (slot: SfuSlot): SfuSlot => (slot === 'a' ? 'b' : 'a');

/** Host ports of one slot's pods (TURN ones with embedded TURN only). */
export interface SlotPorts {
  http: number;
  rtcTcp: number;
  metrics: number;
  turnUdp: number;
  turnTls: number;
}

export function slotPorts(mc: MeetingCluster, slot: SfuSlot): SlotPorts {
  const { sfu, turn } = mc.spec;
  if (slot === 'a') return { http: sfu.port, rtcTcp: sfu.rtc.tcpPort, metrics: sfu.metricsPort, turnUdp: turn.udpPort, turnTls: TURN_TLS_LISTEN_PORT };
  const alt = sfu.upgrade.alternatePorts;
  return { http: alt.port, rtcTcp: alt.rtcTcpPort, metrics: alt.metricsPort, turnUdp: alt.turnUdpPort, turnTls: alt.turnTlsPort };
}

/** Object names of a slot: slot a keeps the names clusters had before slots existed. */
export const slotObjects = (slot: SfuSlot): { deployment: keyof typeof SUFFIX; config: keyof typeof SUFFIX } =>
  slot === 'a' ? { deployment: 'sfu', config: 'sfuConfig' } : { deployment: 'sfuB', config: 'sfuConfigB' };

export const slotDeploymentName = (mc: MeetingCluster, slot: SfuSlot): string => objectName(mc, slotObjects(slot).deployment);

/** Kind/name of the objects one slot owns alone (its Deployment and its livekit.yaml). */
export const slotObjectIds = (mc: MeetingCluster, slot: SfuSlot): string[] => [`Deployment/${slotDeploymentName(mc, slot)}`, `ConfigMap/${objectName(mc, slotObjects(slot).config)}`];

/** The labels that tell one slot's pods from the other's (anti-affinity, spreading). */
export const slotLabels = (mc: MeetingCluster, slot: SfuSlot): Record<string, string> => ({ ...selectorLabels(mc, 'sfu'), [LABEL_SFU_SLOT]: slot });

/**
 * The Deployment's selector. Slot a keeps the selector it always had (selectors are immutable); it
 * also matches slot b's pods, which the ReplicaSet controller leaves alone as another controller owns them.
 */
export const slotSelector = (mc: MeetingCluster, slot: SfuSlot): Record<string, string> => (slot === 'a' ? selectorLabels(mc, 'sfu') : slotLabels(mc, 'b'));

/** Which slot a Deployment or pod belongs to, from its name or its label. */
export const slotOfPod = (pod: { metadata: { labels?: Record<string, string> } }): SfuSlot => (pod.metadata.labels?.[LABEL_SFU_SLOT] === 'b' ? 'b' : 'a');

/**
 * The slot that takes new work: the newer of the two SFU Deployments (a side-by-side upgrade creates
 * the new slot's; the old one is removed once drained), slot a when there is none.
 */
export function servingSlot(deployments: Partial<Record<SfuSlot, { metadata: { creationTimestamp?: string } } | undefined>>): SfuSlot {
  const { a, b } = deployments;
  if (!a || !b) return b ? 'b' : 'a';
  return Date.parse(b.metadata.creationTimestamp ?? '') > Date.parse(a.metadata.creationTimestamp ?? '') ? 'b' : 'a';
}
