// Every object name and label of a MeetingCluster's children, derived from its name, in one place:
// explicit names (no construct-path hashes), so the controller can find, diff and prune them. In api/:
// the labels, the paused annotation and the name limits are part of the contract users rely on.
import type { MeetingCluster } from './types.js';

export type Component = 'sfu' | 'turn' | 'redis' | 'signalling' | 'connectivity-check' | 'stt' | 'subtitle-agent';

/** Suffix of each object name; the longest bounds the MeetingCluster name (Service names <= 63). */
export const SUFFIX = {
  sfu: '-sfu',
  sfuConfig: '-sfu-config',
  /** The second SFU slot (alternate ports), used during side-by-side upgrades. */
  sfuB: '-sfu-b',
  sfuConfigB: '-sfu-b-config',
  livekitKeys: '-livekit-keys',
  signalling: '-signalling',
  turn: '-turn',
  turnConfig: '-turn-config',
  turnSecret: '-turn-secret',
  turnTls: '-turn-tls',
  redis: '-redis',
  redisAuth: '-redis-auth',
  redisConfig: '-redis-config',
  netpolRedis: '-redis-ingress',
  metrics: '-sfu-metrics',
  stt: '-stt',
  sttConfig: '-stt-config',
  sttApiKey: '-stt-api-key',
  netpolStt: '-stt-ingress',
  subtitleAgent: '-subtitle-agent',
} as const;

/** Services need DNS-1035 labels (<= 63 characters); every other object allows 253. */
export const MAX_SERVICE_NAME = 63;
const SERVICE_SUFFIXES = [SUFFIX.signalling, SUFFIX.turnTls, SUFFIX.redis, SUFFIX.metrics];
/** The longest Service suffix, which bounds the MeetingCluster name. */
export const LONGEST_SERVICE_SUFFIX = SERVICE_SUFFIXES.reduce((a, b) => (b.length > a.length ? b : a));
export const MAX_CLUSTER_NAME = MAX_SERVICE_NAME - LONGEST_SERVICE_SUFFIX.length;

export const objectName = (mc: MeetingCluster, suffix: keyof typeof SUFFIX): string => `${mc.metadata.name}${SUFFIX[suffix]}`;

/**
 * The kubernetes.io/tls Secret the TURN server terminates TLS with: the user's, or where the
 * Certificate kept for spec.turn.issuerRef writes (named like that Certificate). None: no TLS in
 * the TURN server (the load balancer terminates it, or modes external/disabled).
 */
export function turnTlsSecretName(mc: MeetingCluster): string | undefined {
  const { turn } = mc.spec;
  if (turn.mode !== 'coturn' && turn.mode !== 'embedded') return undefined;
  return turn.tlsSecretName ?? (turn.issuerRef ? objectName(mc, 'turnTls') : undefined);
}

export const MANAGED_BY = 'meet-operator';
export const LABEL_INSTANCE = 'app.kubernetes.io/instance';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_PART_OF = 'app.kubernetes.io/part-of';
/** Carries the owning MeetingCluster's name: the controller lists and prunes children by it. */
export const LABEL_CLUSTER = 'meet.sovereign.io/cluster';
export const ANNOTATION_CONFIG_HASH = 'meet.sovereign.io/config-hash';
/** Which SFU slot (a: primary ports, b: alternate ports) a pod belongs to. */
export const LABEL_SFU_SLOT = 'meet.sovereign.io/sfu-slot';
/** On an SFU Deployment: the revision (digest of the slot-independent pod template) its pods run. */
/** On embedded TURN's SFU pods: the TURN certificate they loaded (RenderOptions.turnTlsRevision). */
export const ANNOTATION_TURN_TLS_REVISION = 'meet.sovereign.io/turn-tls-revision';
export const ANNOTATION_SFU_REVISION = 'meet.sovereign.io/sfu-revision';
/** On a MeetingCluster, "true" starts a waiting SFU upgrade outside the maintenance window. */
export const ANNOTATION_UPGRADE_NOW = 'meet.sovereign.io/upgrade-now';
/** On a MeetingCluster, "true" stops every reconcile and scaling decision for it. */
export const ANNOTATION_PAUSED = 'meet.sovereign.io/paused';
/** The last `meet-operator check --report` result (JSON, check/report.ts), read into ConnectivityVerified. */
export const ANNOTATION_CONNECTIVITY = 'meet.sovereign.io/connectivity-check';

const APP_NAME: Record<Component, string> = { sfu: 'livekit-server', turn: 'coturn', redis: 'redis', signalling: 'livekit-server', 'connectivity-check': 'meet-operator-check', stt: 'moshi-server', 'subtitle-agent': 'subtitle-agent' };

/** Labels that select a component's pods: stable forever (selectors are immutable). */
export function selectorLabels(mc: MeetingCluster, component: Component): Record<string, string> {
  return { [LABEL_INSTANCE]: mc.metadata.name, [LABEL_COMPONENT]: component };
}

/** Standard labels of every rendered object. */
export function standardLabels(mc: MeetingCluster, component: Component): Record<string, string> {
  return {
    [LABEL_NAME]: APP_NAME[component],
    ...selectorLabels(mc, component),
    [LABEL_PART_OF]: 'meet-operator',
    [LABEL_MANAGED_BY]: MANAGED_BY,
    [LABEL_CLUSTER]: mc.metadata.name,
  };
}

export const selectorString = (labels: Record<string, string>): string =>
  Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
