import type { CloudProfile, LoadBalancerOptions } from './profile.js';

const A = 'service.beta.kubernetes.io/osc-load-balancer-';

/** EU regions of 3DS Outscale; cloudgouv-eu-west-1 is the SecNumCloud-qualified one. */
const EU_REGIONS = ['eu-west-2', 'cloudgouv-eu-west-1'] as const;

function annotations({ lb, port, certificate }: LoadBalancerOptions): Record<string, string> {
  const out: Record<string, string> = {
    // Outscale LBs speak TCP/HTTP/SSL only; a raw TCP (or SSL) listener carries WebSockets and TURN/TLS.
    [`${A}backend-protocol`]: 'tcp',
    [`${A}connection-idle-timeout`]: String(lb.idleTimeoutSeconds),
    [`${A}ingress-address`]: 'both',
  };
  if (lb.internal) out[`${A}internal`] = 'true';
  if (lb.ipPool) out[`${A}ip-pool`] = lb.ipPool;
  if (lb.accessLogBucket) {
    out[`${A}access-log-enabled`] = 'true';
    out[`${A}access-log-oos-bucket-name`] = lb.accessLogBucket;
  }
  if (certificate) {
    out[`${A}ssl-cert`] = certificate;
    out[`${A}ssl-ports`] = String(port);
  }
  return { ...out, ...lb.annotations };
}

export const outscale: CloudProfile = {
  name: 'outscale',
  allowedRegions: EU_REGIONS,
  zoneLabel: 'topology.kubernetes.io/zone',
  zonesOf: (region) => (EU_REGIONS as readonly string[]).includes(region) ? ['a', 'b', 'c'].map((z) => `${region}${z}`) : undefined,
  loadBalancerSupportsUdp: false,
  loadBalancerAnnotations: annotations,
  // Created once per cluster by the platform team (see examples/outscale-storageclass.yaml):
  // bsu.csi.outscale.com, type gp2, encrypted "true", WaitForFirstConsumer.
  redisStorageClassName: 'bsu-gp2-encrypted',
  defaultStorageEncrypted: true,
  // VMs sit behind 1:1 NAT: the NIC holds the private IP, the metadata service knows the public one.
  externalIP: { kind: 'metadata', url: 'http://169.254.169.254/latest/meta-data/public-ipv4' },
};
