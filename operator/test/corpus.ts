// A generator of MeetingCluster manifests across every mode, profile and option, for property
// tests (unit) and for server-side dry-run against the real API server (integration).
import fc from 'fast-check';
import type { Manifest } from './specs.js';

const OUTSCALE_REGIONS = ['eu-west-2', 'cloudgouv-eu-west-1'];
const label = fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/);
const dnsName = fc.tuple(label, label).map(([a, b]) => `${a}.${b}.example`);

const cloud = fc.oneof(
  fc.record({
    profile: fc.constant('outscale'),
    region: fc.constantFrom(...OUTSCALE_REGIONS),
    zoneLetters: fc.subarray(['a', 'b', 'c']),
    nodeCIDRs: fc.subarray(['10.0.0.0/16', '10.1.0.0/16']),
    internal: fc.boolean(),
  }).map(({ region, zoneLetters, internal, ...c }) => ({ ...c, region, zones: zoneLetters.map((z) => `${region}${z}`), loadBalancer: { internal } })),
  fc.record({ profile: fc.constant('generic'), region: fc.constantFrom('fr-par', 'de-fra', 'gra7') }),
);

const turn = fc.oneof(
  fc.record({ mode: fc.constant('coturn'), domain: dnsName, replicas: fc.integer({ min: 1, max: 4 }), tls: fc.boolean() }).map(({ tls, ...t }) =>
    tls ? { ...t, tlsSecretName: 'turn-tls' } : { ...t, certificate: 'orn:ows:idauth::1:server-certificate/turn' },
  ),
  fc.record({ mode: fc.constant('embedded'), domain: dnsName, certificate: fc.constant('orn:ows:idauth::1:server-certificate/turn') }),
  fc.record({
    mode: fc.constant('external'),
    external: fc.record({ host: dnsName, port: fc.integer({ min: 1024, max: 65535 }), protocol: fc.constantFrom('udp', 'tcp'), secretRef: fc.constant({ name: 'turn-ext', key: 'secret' }) }),
  }),
  fc.constant({ mode: 'disabled' }),
);

const redis = fc.oneof(
  fc.record({ mode: fc.constant('managed'), storage: fc.record({ size: fc.constantFrom('1Gi', '512Mi', '10Gi'), deletePolicy: fc.constantFrom('Retain', 'Delete') }) }),
  fc.record({ mode: fc.constant('external'), external: fc.record({ address: dnsName.map((d) => `${d}:6379`), tls: fc.boolean(), passwordSecretRef: fc.constant({ name: 'redis-ext', key: 'password' }) }) }),
);

const autoscaling = fc
  .record({ enabled: fc.boolean(), metric: fc.constantFrom('participants', 'cpu'), min: fc.integer({ min: 1, max: 5 }), extra: fc.integer({ min: 0, max: 20 }) })
  .map(({ min, extra, ...a }) => ({ ...a, minReplicas: min, maxReplicas: min + extra }));

export const manifestArb: fc.Arbitrary<Manifest> = fc
  .record({
    name: fc.stringMatching(/^[a-z][a-z0-9-]{0,49}[a-z0-9]$/),
    namespace: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}[a-z0-9]$/),
    ministry: fc.option(fc.string({ maxLength: 60 }), { nil: undefined }),
    cloud,
    domain: dnsName,
    turn,
    redis,
    autoscaling,
    replicas: fc.integer({ min: 0, max: 50 }),
    drainSeconds: fc.integer({ min: 0, max: 86400 }),
    stun: fc.boolean(),
    monitoring: fc.boolean(),
  })
  .map((r) => ({
    apiVersion: 'meet.sovereign.io/v1alpha1',
    kind: 'MeetingCluster',
    metadata: { name: r.name, namespace: r.namespace },
    spec: {
      ...(r.ministry === undefined ? {} : { ministry: r.ministry }),
      cloud: r.cloud,
      domain: r.domain,
      sfu: { replicas: r.replicas, drainSeconds: r.drainSeconds },
      turn: r.turn,
      redis: r.redis,
      autoscaling: r.autoscaling,
      sovereignty: r.stun || r.turn.mode === 'embedded' || r.turn.mode === 'disabled' ? { stunServers: ['stun.ministere.example:3478'] } : {},
      monitoring: { serviceMonitor: r.monitoring },
    },
  }));

/** A fixed, reproducible sample of the corpus (seeded), e.g. to dry-run against an API server. */
export const corpusSample = (n: number, seed = 42): Manifest[] => fc.sample(manifestArb, { numRuns: n, seed });
