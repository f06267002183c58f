// MeetingCluster v1alpha1: the TypeScript view of the API. The JSON schema in schema.ts is the
// source of truth for the CRD (descriptions, defaults, enums, CEL rules); these types describe the
// same shape after defaulting, so renderers can rely on every defaulted field being present.
import type { CloudProfileName, LoadBalancerSettings } from '../cloud/profile.js';

export type { CloudProfileName } from '../cloud/profile.js';

export const GROUP = 'meet.sovereign.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = 'MeetingCluster';
export const PLURAL = 'meetingclusters';
export const SINGULAR = 'meetingcluster';
export const SHORT_NAMES = ['mc'];

export type TurnMode = 'coturn' | 'embedded' | 'external' | 'disabled';
export type RedisMode = 'managed' | 'external';
export type TurnProtocol = 'udp' | 'tcp' | 'tls';
export type ScalingMetric = 'participants' | 'cpu';
export type DeletePolicy = 'Retain' | 'Delete';

export interface PortRange {
  start: number;
  end: number;
}

export interface SecretKeyRef {
  name: string;
  key: string;
}

export interface ResourceRequirements {
  requests?: Record<string, string | number>;
  limits?: Record<string, string | number>;
}

export interface Toleration {
  key?: string;
  operator?: 'Exists' | 'Equal';
  value?: string;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  tolerationSeconds?: number;
}

export type LoadBalancerSpec = LoadBalancerSettings;

export interface CloudSpec {
  profile: CloudProfileName;
  region?: string;
  zones: string[];
  nodeCIDRs: string[];
  loadBalancer: LoadBalancerSpec;
}

export interface SignallingSpec {
  port: number;
  certificate?: string;
}

export interface RtcSpec {
  tcpPort: number;
  udpPortRange: PortRange;
}

export type UpgradeStrategy = 'SideBySide' | 'RollingUpdate';

/** Ports of the second SFU pod on a node during a side-by-side upgrade. */
export interface AlternatePorts {
  port: number;
  rtcTcpPort: number;
  metricsPort: number;
  turnUdpPort: number;
  turnTlsPort: number;
}

export interface SfuUpgradeSpec {
  /** Always set after defaulting (RollingUpdate with CPU autoscaling, SideBySide otherwise). */
  strategy: UpgradeStrategy;
  alternatePorts: AlternatePorts;
  maintenanceWindow?: { start: string; durationMinutes: number };
  deadlineSeconds?: number;
  noticeSeconds: number;
}

export interface SfuSpec {
  image: string;
  replicas: number;
  resources: ResourceRequirements;
  rtc: RtcSpec;
  port: number;
  metricsPort: number;
  drainSeconds: number;
  maxParticipantsPerRoom: number;
  emptyRoomTimeoutSeconds: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  apiKeysSecretName?: string;
  nodeSelector: Record<string, string>;
  tolerations: Toleration[];
  upgrade: SfuUpgradeSpec;
}

export interface ExternalTurnSpec {
  host: string;
  port: number;
  protocol: TurnProtocol;
  secretRef: SecretKeyRef;
}

/** A cert-manager Issuer or ClusterIssuer (cert-manager's own issuerRef shape). */
export interface IssuerRef {
  name: string;
  kind: 'Issuer' | 'ClusterIssuer';
  group: string;
}

export interface TurnSpec {
  mode: TurnMode;
  domain?: string;
  udpDomain?: string;
  image: string;
  resources: ResourceRequirements;
  replicas: number;
  udpPort: number;
  tlsPort: number;
  tlsSecretName?: string;
  issuerRef?: IssuerRef;
  certificate?: string;
  relayPortRange: PortRange;
  sharedSecretName?: string;
  external?: ExternalTurnSpec;
}

export interface RedisStorageSpec {
  size: string | number;
  storageClassName?: string;
  deletePolicy: DeletePolicy;
}

export interface ExternalRedisSpec {
  address: string;
  passwordSecretRef?: SecretKeyRef;
  tls: boolean;
}

export interface RedisSpec {
  mode: RedisMode;
  image: string;
  resources: ResourceRequirements;
  storage: RedisStorageSpec;
  passwordSecretName?: string;
  external?: ExternalRedisSpec;
}

export interface AutoscalingSpec {
  enabled: boolean;
  metric: ScalingMetric;
  minReplicas: number;
  maxReplicas: number;
  targetParticipantsPerNode: number;
  targetCPUUtilizationPercentage: number;
  scaleDownDelaySeconds: number;
}

export interface SovereigntySpec {
  allowedRegistries: string[];
  stunServers: string[];
}

export interface MonitoringSpec {
  serviceMonitor: boolean;
}

export interface GpuSpec {
  resourceName: string;
  count: number;
}

/** The ministry's own storage of a model's files: a claim, or an object store (exactly one). */
export interface ModelSource {
  pvc?: { claimName: string; subPath?: string };
  objectStore?: { url: string; secretRef?: { name: string } };
}

interface PoolPlacement {
  image: string;
  minPods: number;
  maxPods: number;
  gpu: GpuSpec;
  nodeSelector: Record<string, string>;
  tolerations: Toleration[];
  resources: ResourceRequirements;
  model: ModelSource;
}

export interface SubtitlesSpec {
  stt: PoolPlacement & { slotsPerPod: number; freeSlots: number; scaleDownDelaySeconds: number };
  agent: { image: string; replicas: number; drainSeconds: number; resources: ResourceRequirements };
}

export type SpeakerSeparationSpec = PoolPlacement;

/** spec.checks: meet-operator check as a CronJob the operator keeps. */
export interface ChecksSpec {
  schedule: string;
  timeoutSeconds: number;
  url?: string;
  caConfigMap?: string;
}

export interface MeetingClusterSpec {
  ministry?: string;
  cloud: CloudSpec;
  domain: string;
  signalling: SignallingSpec;
  sfu: SfuSpec;
  turn: TurnSpec;
  redis: RedisSpec;
  autoscaling: AutoscalingSpec;
  sovereignty: SovereigntySpec;
  monitoring: MonitoringSpec;
  checks?: ChecksSpec;
  subtitles?: SubtitlesSpec;
  speakerSeparation?: SpeakerSeparationSpec;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  observedGeneration?: number;
  lastTransitionTime: string;
  reason: string;
  message: string;
}

export interface MeetingClusterStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  replicas?: number;
  readyReplicas?: number;
  desiredReplicas?: number;
  selector?: string;
  participants?: number;
  rooms?: number;
  endpoints?: { signalling?: string; turn?: string[] };
  turnCertificate?: TurnCertificateStatus;
}

/** The certificate the TURN server terminates TLS with, as last read from its Secret. */
export interface TurnCertificateStatus {
  secretName: string;
  notAfter: string;
  serialNumber: string;
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
}

/** A MeetingCluster after defaulting: every defaulted field is present. */
export interface MeetingCluster {
  apiVersion: typeof API_VERSION;
  kind: typeof KIND;
  metadata: ObjectMeta;
  spec: MeetingClusterSpec;
  status?: MeetingClusterStatus;
}

