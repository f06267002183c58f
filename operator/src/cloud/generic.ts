import type { CloudProfile } from './profile.js';

/** Any conformant cluster whose nodes carry their public IP on their own interface. */
export const generic: CloudProfile = {
  name: 'generic',
  zoneLabel: 'topology.kubernetes.io/zone',
  zonesOf: () => undefined,
  loadBalancerSupportsUdp: true,
  loadBalancerAnnotations: ({ lb }) => ({ ...lb.annotations }),
  defaultStorageEncrypted: false,
  externalIP: { kind: 'hostIP' },
};
