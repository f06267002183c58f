// A cloud profile is pure data plus small functions: everything that differs between clouds
// (regions, load balancer annotations, storage, how a node learns its public IP) lives here, so
// renderers never branch on a cloud name.
/** The cloud profiles there are; spec.cloud.profile names one (api/schema.ts takes its enum from here). */
export const CLOUD_PROFILE_NAMES = ['outscale', 'generic'] as const;
export type CloudProfileName = (typeof CLOUD_PROFILE_NAMES)[number];

/** The load balancer settings a profile turns into annotations (spec.cloud.loadBalancer has this shape). */
export interface LoadBalancerSettings {
  internal: boolean;
  idleTimeoutSeconds: number;
  ipPool?: string;
  accessLogBucket?: string;
  annotations: Record<string, string>;
}

/** How a pod on hostNetwork learns the public IP its node is reached at. */
export type ExternalIPSource =
  /** The node's own address is public (status.hostIP). */
  | { kind: 'hostIP' }
  /** A link-local metadata service answers the public IP (EC2-compatible clouds behind 1:1 NAT). */
  | { kind: 'metadata'; url: string };

export interface LoadBalancerOptions {
  lb: LoadBalancerSettings;
  /** Public port the LB listens on. */
  port: number;
  /** Certificate the LB terminates TLS with, when it does. */
  certificate?: string;
}

export interface CloudProfile {
  name: CloudProfileName;
  /** Regions accepted; undefined: any region that is not recognisably outside the EU. */
  allowedRegions?: readonly string[];
  /** Node label holding the zone. */
  zoneLabel: string;
  /** Zones a region has, when the profile knows them. */
  zonesOf(region: string): string[] | undefined;
  /** Whether LoadBalancer Services may carry UDP ports (Outscale rejects the whole Service). */
  loadBalancerSupportsUdp: boolean;
  /** Annotations of a TCP LoadBalancer Service. */
  loadBalancerAnnotations(opts: LoadBalancerOptions): Record<string, string>;
  /** StorageClass for the managed Redis volume when the spec names none. */
  redisStorageClassName?: string;
  /** Whether the default StorageClass encrypts at rest (for the sovereignty audit). */
  defaultStorageEncrypted: boolean;
  externalIP: ExternalIPSource;
}

/** Region prefixes of the big clouds' non-EU regions: refused whatever the profile. */
const NON_EU_REGION = /^(us|ca|sa|ap|me|af|il|cn|mx|uk|au|jp|kr|in|sg|br)[-_]/;

export const isRecognisablyNonEU = (region: string): boolean => NON_EU_REGION.test(region);
