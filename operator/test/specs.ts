// Shared test data: a valid base MeetingCluster and the table of invalid specs with the exact
// error each must produce. Unit tests check the offline validator against it; integration tests
// send the `admission` rows to the real API server and expect it to refuse them the same way.
import type { FieldError } from '../src/api/errors.js';

export type Manifest = Record<string, any>;

export function baseManifest(): Manifest {
  return {
    apiVersion: 'meet.sovereign.io/v1alpha1',
    kind: 'MeetingCluster',
    metadata: { name: 'visio', namespace: 'justice' },
    spec: {
      cloud: { profile: 'outscale', region: 'cloudgouv-eu-west-1', zones: ['cloudgouv-eu-west-1a'] },
      domain: 'visio.justice.example',
      turn: { mode: 'coturn', domain: 'turn.justice.example', certificate: 'orn:ows:idauth::1:server-certificate/turn' },
    },
  };
}

export interface InvalidCase {
  name: string;
  mutate: (m: Manifest) => void;
  errors: FieldError[];
  /** Rejected at admission by the CRD schema/CEL; the string is what the API server says. */
  apiserver?: string;
}

export const INVALID: InvalidCase[] = [
  {
    name: 'minReplicas above maxReplicas',
    mutate: (m) => (m.spec.autoscaling = { enabled: true, minReplicas: 5, maxReplicas: 3 }),
    errors: [{ path: 'spec.autoscaling.minReplicas', message: 'minReplicas must be less than or equal to maxReplicas' }],
    apiserver: 'minReplicas must be less than or equal to maxReplicas',
  },
  {
    name: 'UDP range start not below end',
    mutate: (m) => (m.spec.sfu = { rtc: { udpPortRange: { start: 60000, end: 50000 } } }),
    errors: [{ path: 'spec.sfu.rtc.udpPortRange', message: 'start must be lower than end' }],
    apiserver: 'start must be lower than end',
  },
  {
    name: 'UDP range in privileged ports',
    mutate: (m) => (m.spec.sfu = { rtc: { udpPortRange: { start: 80, end: 5000 } } }),
    errors: [{ path: 'spec.sfu.rtc.udpPortRange.start', message: 'must be >= 1024 (got 80)' }],
    apiserver: 'should be greater than or equal to 1024',
  },
  {
    name: 'relay range overlaps media range',
    mutate: (m) => (m.spec.turn.relayPortRange = { start: 55000, end: 56000 }),
    errors: [{ path: 'spec.turn.relayPortRange', message: 'turn.relayPortRange must not overlap sfu.rtc.udpPortRange (both bind UDP ports on the same nodes)' }],
    apiserver: 'turn.relayPortRange must not overlap sfu.rtc.udpPortRange',
  },
  {
    name: 'external TURN without a host',
    mutate: (m) => (m.spec.turn = { mode: 'external', external: { secretRef: { name: 'turn', key: 'secret' } } }),
    errors: [{ path: 'spec.turn.external.host', message: 'is required' }],
    apiserver: 'spec.turn.external.host: Required value',
  },
  {
    name: 'external TURN without a secretRef',
    mutate: (m) => (m.spec.turn = { mode: 'external', external: { host: 'turn.partner.example' } }),
    errors: [{ path: 'spec.turn.external.secretRef', message: 'is required' }],
    apiserver: 'spec.turn.external.secretRef: Required value',
  },
  {
    name: 'TURN mode external without its settings',
    mutate: (m) => (m.spec.turn = { mode: 'external' }),
    errors: [{ path: 'spec.turn.external', message: 'external (host, port, protocol, secretRef) is required when mode is external' }],
    apiserver: 'external (host, port, protocol, secretRef) is required when mode is external',
  },
  {
    name: 'external Redis without an address',
    mutate: (m) => (m.spec.redis = { mode: 'external' }),
    errors: [{ path: 'spec.redis.external', message: 'external.address is required when mode is external' }],
    apiserver: 'external.address is required when mode is external',
  },
  {
    name: 'managed Redis with external settings',
    mutate: (m) => (m.spec.redis = { mode: 'managed', external: { address: 'redis.example:6379' } }),
    errors: [{ path: 'spec.redis.external', message: 'external may only be set when mode is external' }],
    apiserver: 'external may only be set when mode is external',
  },
  {
    name: 'coturn without a TURN domain',
    mutate: (m) => delete m.spec.turn.domain,
    errors: [{ path: 'spec.turn.domain', message: 'domain is required when mode is coturn or embedded' }],
    apiserver: 'domain is required when mode is coturn or embedded',
  },
  {
    name: 'TURN domain equal to the signalling domain',
    mutate: (m) => (m.spec.turn.domain = m.spec.domain),
    errors: [{ path: 'spec.turn.domain', message: 'turn.domain must differ from domain (TURN/TLS and signalling each need their own load balancer on port 443)' }],
    apiserver: 'turn.domain must differ from domain',
  },
  {
    name: 'unknown TURN mode',
    mutate: (m) => (m.spec.turn.mode = 'stunner'),
    errors: [{ path: 'spec.turn.mode', message: 'must be one of coturn, embedded, external, disabled (got "stunner")' }],
    apiserver: 'Unsupported value: "stunner"',
  },
  {
    name: 'outscale without a region',
    mutate: (m) => delete m.spec.cloud.region,
    errors: [{ path: 'spec.cloud.region', message: 'region is required with the outscale profile' }],
    apiserver: 'region is required with the outscale profile',
  },
  {
    name: 'SFU ports colliding on the node',
    mutate: (m) => (m.spec.sfu = { port: 7881 }),
    errors: [{ path: 'spec.sfu', message: 'port, metricsPort and rtc.tcpPort must all differ (they share the node network)' }],
    apiserver: 'port, metricsPort and rtc.tcpPort must all differ',
  },
  {
    name: 'signalling domain that is not a DNS name',
    mutate: (m) => (m.spec.domain = 'Visio_Justice'),
    errors: [{ path: 'spec.domain', message: 'must match ^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$ (got "Visio_Justice")' }],
    apiserver: 'spec.domain: Invalid value: "Visio_Justice"',
  },
  {
    name: 'CPU request that is not a quantity',
    mutate: (m) => (m.spec.sfu = { resources: { requests: { cpu: 'lots' } } }),
    errors: [{ path: 'spec.sfu.resources.requests.cpu', message: 'must be a resource quantity such as 500m, 2 or 4Gi (got "lots")' }],
    apiserver: 'spec.sfu.resources.requests.cpu',
  },
  {
    name: 'cert-manager issuer for an external TURN server',
    mutate: (m) => (m.spec.turn = { mode: 'external', issuerRef: { name: 'ministry-ca' }, external: { host: 'turn.partner.example', secretRef: { name: 's', key: 'k' } } }),
    errors: [{ path: 'spec.turn.issuerRef', message: 'issuerRef is only used when mode is coturn or embedded (the TURN server this operator runs terminates TLS)' }],
    apiserver: 'issuerRef is only used when mode is coturn or embedded',
  },
  {
    name: 'issuer kind that cert-manager does not have',
    mutate: (m) => ((m.spec.turn.issuerRef = { name: 'ministry-ca', kind: 'CertificateAuthority' }), delete m.spec.turn.certificate),
    errors: [{ path: 'spec.turn.issuerRef.kind', message: 'must be one of Issuer, ClusterIssuer (got "CertificateAuthority")' }],
    apiserver: 'spec.turn.issuerRef.kind',
  },
  {
    name: 'misspelt field',
    mutate: (m) => (m.spec.sfu = { replics: 3 }),
    errors: [{ path: 'spec.sfu.replics', message: 'unknown field' }],
    apiserver: 'unknown field "spec.sfu.replics"',
  },
  // Rules only the operator can check: accepted at admission, reported as InvalidSpec.
  {
    name: 'region outside the EU',
    mutate: (m) => ((m.spec.cloud.region = 'us-east-2'), (m.spec.cloud.zones = [])),
    errors: [{ path: 'spec.cloud.region', message: '"us-east-2" is outside the EU; the outscale profile allows eu-west-2, cloudgouv-eu-west-1' }],
  },
  {
    name: 'unknown Outscale region',
    mutate: (m) => ((m.spec.cloud.region = 'eu-north-9'), (m.spec.cloud.zones = [])),
    errors: [{ path: 'spec.cloud.region', message: '"eu-north-9" is not an EU region of outscale; the outscale profile allows eu-west-2, cloudgouv-eu-west-1' }],
  },
  {
    name: 'generic profile in a non-EU region',
    mutate: (m) => (m.spec.cloud = { profile: 'generic', region: 'ap-northeast-1' }),
    errors: [{ path: 'spec.cloud.region', message: '"ap-northeast-1" is outside the EU; only EU regions are allowed' }],
  },
  {
    name: 'zone of another region',
    mutate: (m) => (m.spec.cloud.zones = ['cloudgouv-eu-west-1a', 'eu-west-2b']),
    errors: [{ path: 'spec.cloud.zones[1]', message: '"eu-west-2b" is not a zone of cloudgouv-eu-west-1; expected one of cloudgouv-eu-west-1a, cloudgouv-eu-west-1b, cloudgouv-eu-west-1c' }],
  },
  {
    name: 'subtitles model fetched from Hugging Face',
    mutate: (m) => (m.spec.subtitles = { stt: { model: { objectStore: { url: 'https://huggingface.co/kyutai/stt-1b-en_fr-candle/resolve/main' } } } }),
    errors: [{ path: 'spec.subtitles.stt.model.objectStore.url', message: '"huggingface.co" is a model hub or a non-EU provider\'s storage; serve the model files from the ministry\'s own storage (a PVC, or an EU object store such as Outscale OOS)' }],
  },
  {
    name: 'subtitles model named hf://',
    mutate: (m) => (m.spec.subtitles = { stt: { model: { objectStore: { url: 'hf://kyutai/stt-1b-en_fr-candle' } } } }),
    errors: [{ path: 'spec.subtitles.stt.model.objectStore.url', message: 'must be an https:// URL of the ministry\'s object store (hf:// and other model hubs are refused) (got "hf://kyutai/stt-1b-en_fr-candle")' }],
    apiserver: 'spec.subtitles.stt.model.objectStore.url',
  },
  {
    name: 'speaker-separation model from two places',
    mutate: (m) => {
      m.spec.subtitles = { stt: { model: { pvc: { claimName: 'stt-models' } } } };
      m.spec.speakerSeparation = { model: { pvc: { claimName: 'pyannote' }, objectStore: { url: 'https://oos.eu-west-2.outscale.com/models/pyannote' } } };
    },
    errors: [{ path: 'spec.speakerSeparation.model', message: 'exactly one of pvc and objectStore must be set' }],
    apiserver: 'exactly one of pvc and objectStore must be set',
  },
  {
    name: 'speaker separation without subtitles',
    mutate: (m) => (m.spec.speakerSeparation = { model: { pvc: { claimName: 'pyannote' } } }),
    errors: [{ path: 'spec.speakerSeparation', message: 'speakerSeparation labels subtitles: it needs spec.subtitles' }],
    apiserver: 'speakerSeparation labels subtitles: it needs spec.subtitles',
  },
  {
    name: 'STT pool bounds reversed',
    mutate: (m) => (m.spec.subtitles = { stt: { minPods: 5, maxPods: 2, model: { pvc: { claimName: 'stt-models' } } } }),
    errors: [{ path: 'spec.subtitles.stt.minPods', message: 'minPods must be less than or equal to maxPods' }],
    apiserver: 'minPods must be less than or equal to maxPods',
  },
  {
    name: 'STT image outside the allowed registries',
    mutate: (m) => {
      m.spec.sovereignty = { allowedRegistries: ['localhost/meet-operator/'] };
      m.spec.subtitles = { stt: { image: 'ghcr.io/kyutai-labs/moshi-server:latest', model: { pvc: { claimName: 'stt-models' } } } };
    },
    errors: [{ path: 'spec.subtitles.stt.image', message: '"ghcr.io/kyutai-labs/moshi-server:latest" is not from an allowed registry; spec.sovereignty.allowedRegistries allows localhost/meet-operator/' }],
  },
  {
    name: 'check schedule in words',
    mutate: (m) => (m.spec.checks = { schedule: 'every 15 minutes' }),
    errors: [{ path: 'spec.checks.schedule', message: 'must be a CronJob schedule: five fields such as "*/15 * * * *", or @hourly, @daily, @weekly, @monthly, @yearly (got "every 15 minutes")' }],
    apiserver: 'spec.checks.schedule',
  },
  {
    name: 'check URL over plain HTTP',
    mutate: (m) => (m.spec.checks = { schedule: '*/15 * * * *', url: 'http://visio.justice.example' }),
    errors: [{ path: 'spec.checks.url', message: 'must be a ws:// or wss:// URL (got "http://visio.justice.example")' }],
    apiserver: 'spec.checks.url',
  },
  {
    name: 'image outside the allowed registries',
    mutate: (m) => ((m.spec.sovereignty = { allowedRegistries: ['registry.justice.example/'] }), (m.spec.sfu = { image: 'registry.justice.example/livekit:v1.13.5' })),
    errors: [
      { path: 'spec.turn.image', message: '"localhost/meet-operator/coturn:4.6.1" is not from an allowed registry; spec.sovereignty.allowedRegistries allows registry.justice.example/' },
      { path: 'spec.redis.image', message: '"localhost/meet-operator/redis:7.0.15" is not from an allowed registry; spec.sovereignty.allowedRegistries allows registry.justice.example/' },
    ],
  },
  {
    name: 'Google STUN server',
    mutate: (m) => (m.spec.sovereignty = { stunServers: ['stun.l.google.com:19302'] }),
    errors: [{ path: 'spec.sovereignty.stunServers[0]', message: '"stun.l.google.com:19302" is a public STUN service run outside the EU; list a STUN server you run (coturn answers STUN)' }],
  },
  {
    name: 'embedded TURN without a STUN server',
    mutate: (m) => (m.spec.turn.mode = 'embedded'),
    errors: [{ path: 'spec.sovereignty.stunServers', message: 'required when turn.mode is embedded: LiveKit asks STUN for the node public IP before its embedded TURN starts; list a STUN server you run' }],
  },
  {
    name: 'embedded TURN on another TLS port',
    mutate: (m) => ((m.spec.turn.mode = 'embedded'), (m.spec.turn.tlsPort = 8443), (m.spec.sovereignty = { stunServers: ['stun.justice.example:3478'] })),
    errors: [{ path: 'spec.turn.tlsPort', message: 'must be 443 with embedded TURN (got 8443): LiveKit always tells clients turns:<domain>:443' }],
  },
  {
    name: 'TURN/TLS with no certificate anywhere',
    mutate: (m) => delete m.spec.turn.certificate,
    errors: [{ path: 'spec.turn.certificate', message: 'TURN/TLS on port 443 needs spec.turn.tlsSecretName (the TURN server terminates TLS), spec.turn.issuerRef (the same, with a certificate cert-manager keeps) or spec.turn.certificate (the load balancer does)' }],
  },
  {
    name: 'a cert-manager issuer and a load balancer certificate for TURN/TLS',
    mutate: (m) => (m.spec.turn.issuerRef = { name: 'ministry-ca' }),
    errors: [{ path: 'spec.turn.certificate', message: 'must be empty when spec.turn.issuerRef is set: the TURN server terminates TLS with the issued certificate, so the load balancer must pass TCP through' }],
  },
  {
    name: 'TURN disabled on Outscale without STUN',
    mutate: (m) => (m.spec.turn = { mode: 'disabled' }),
    errors: [{ path: 'spec.sovereignty.stunServers', message: 'required when turn.mode is disabled on outscale: nodes sit behind 1:1 NAT and LiveKit must learn their public IP through a STUN server you run' }],
  },
  {
    name: 'name too long for derived Service names',
    mutate: (m) => (m.metadata.name = 'visioconference-ministere-justice-paris-centre-ville'),
    errors: [{ path: 'metadata.name', message: '"visioconference-ministere-justice-paris-centre-ville" is 52 characters; at most 51 so that derived Service names such as "visioconference-ministere-justice-paris-centre-ville-sfu-metrics" fit 63' }],
  },
  {
    name: 'name that cannot name a Service',
    mutate: (m) => (m.metadata.name = '1visio'),
    errors: [{ path: 'metadata.name', message: '"1visio" must be a DNS-1035 label (lower case letters, digits and \'-\', starting with a letter): it names Services' }],
  },
  {
    name: 'UDP TURN name with embedded TURN',
    mutate: (m) => ((m.spec.turn.mode = 'embedded'), (m.spec.turn.udpDomain = 'turn-udp.justice.example'), (m.spec.sovereignty = { stunServers: ['stun.justice.example:3478'] })),
    errors: [{ path: 'spec.turn.udpDomain', message: "is only used with turn.mode coturn (got embedded); LiveKit's embedded TURN announces turn.domain for every transport" }],
  },
  {
    name: 'memory request above its limit',
    mutate: (m) => (m.spec.sfu = { resources: { requests: { memory: '8Gi' }, limits: { memory: '4Gi' } } }),
    errors: [{ path: 'spec.sfu.resources.requests.memory', message: 'request 8Gi exceeds limit 4Gi' }],
  },  // What the children's own validation would refuse half-way through an apply (issue 8, hostile
  // input): refused at admission where the schema can say it, else reported InvalidSpec.
  {
    name: 'node selector value that is not a label value',
    mutate: (m) => (m.spec.sfu = { nodeSelector: { pool: 'media pool' } }),
    errors: [{ path: 'spec.sfu.nodeSelector.pool', message: 'must match ^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$ (got "media pool")' }],
    apiserver: 'spec.sfu.nodeSelector.pool in body should match',
  },
  {
    name: 'node selector key that is not a label key',
    mutate: (m) => (m.spec.sfu = { nodeSelector: { 'media pool': 'true' } }),
    errors: [{ path: 'spec.sfu.nodeSelector', message: "node label keys must be qualified names ([prefix/]name, name at most 63 alphanumerics, '-', '_' or '.')" }],
    apiserver: 'node label keys must be qualified names',
  },
  {
    name: 'toleration seconds without effect NoExecute',
    mutate: (m) => (m.spec.sfu = { tolerations: [{ key: 'media', operator: 'Exists', effect: 'NoSchedule', tolerationSeconds: 60 }] }),
    errors: [{ path: 'spec.sfu.tolerations[0].tolerationSeconds', message: 'tolerationSeconds may only be set with effect NoExecute' }],
    apiserver: 'tolerationSeconds may only be set with effect NoExecute',
  },
  {
    name: 'toleration without a key that is not Exists',
    mutate: (m) => (m.spec.sfu = { tolerations: [{ operator: 'Equal', value: 'media' }] }),
    errors: [{ path: 'spec.sfu.tolerations[0].operator', message: 'operator must be Exists when key is empty (it then matches every taint)' }],
    apiserver: 'operator must be Exists when key is empty',
  },
  {
    name: 'Exists toleration with a value',
    mutate: (m) => (m.spec.sfu = { tolerations: [{ key: 'media', operator: 'Exists', value: 'true' }] }),
    errors: [{ path: 'spec.sfu.tolerations[0].value', message: 'value must be empty when operator is Exists' }],
    apiserver: 'value must be empty when operator is Exists',
  },
  {
    name: 'load balancer annotation key with a space',
    mutate: (m) => (m.spec.cloud.loadBalancer = { annotations: { 'owner team': 'visio' } }),
    errors: [{ path: 'spec.cloud.loadBalancer.annotations', message: "annotation keys must be qualified names ([prefix/]name, name at most 63 alphanumerics, '-', '_' or '.')" }],
    apiserver: 'annotation keys must be qualified names',
  },
  {
    name: 'extended resource request',
    mutate: (m) => (m.spec.sfu = { resources: { requests: { 'nvidia.com/gpu': '1' } } }),
    errors: [{ path: 'spec.sfu.resources.requests', message: 'resource names must be cpu, memory, ephemeral-storage' }],
    apiserver: 'resource names must be cpu, memory, ephemeral-storage',
  },
  {
    name: 'Redis password Secret name that no Secret can have',
    mutate: (m) => (m.spec.redis = { mode: 'external', external: { address: 'redis.justice.example:6379', passwordSecretRef: { name: 'Redis_Password', key: 'password' } } }),
    errors: [{ path: 'spec.redis.external.passwordSecretRef.name', message: 'must match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ (got "Redis_Password")' }],
    apiserver: 'spec.redis.external.passwordSecretRef.name in body should match',
  },
  {
    name: 'zone that is not a label value',
    mutate: (m) => (m.spec.cloud.zones = ['-cloudgouv-eu-west-1a']),
    errors: [{ path: 'spec.cloud.zones[0]', message: 'must match ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ (got "-cloudgouv-eu-west-1a")' }],
    apiserver: 'spec.cloud.zones[0] in body should match',
  },
  {
    name: 'allowed registry that no image can start with',
    mutate: (m) => (m.spec.sovereignty = { allowedRegistries: ['Registry.Justice.example/ '] }),
    errors: [{ path: 'spec.sovereignty.allowedRegistries[0]', message: 'must match ^[a-z0-9][a-z0-9._/:@-]*$ (got "Registry.Justice.example/ ")' }],
    apiserver: 'spec.sovereignty.allowedRegistries[0] in body should match',
  },
  {
    name: 'ministry on two lines',
    mutate: (m) => (m.spec.ministry = 'Ministère\nde la Justice'),
    errors: [{ path: 'spec.ministry', message: 'must match ^[^\\p{Cc}\\p{Zl}\\p{Zp}]*$ (got "Ministère\\nde la Justice")' }],
    apiserver: 'spec.ministry in body should match',
  },
  {
    name: 'STUN server port above 65535',
    mutate: (m) => (m.spec.sovereignty = { stunServers: ['stun.justice.example:65536'] }),
    errors: [{ path: 'spec.sovereignty.stunServers[0]', message: 'must match ^[a-zA-Z0-9]([-a-zA-Z0-9.]{0,251}[a-zA-Z0-9])?:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$ (got "stun.justice.example:65536")' }],
    apiserver: 'spec.sovereignty.stunServers[0] in body should match',
  },
  {
    name: 'node CIDR with bits set beyond its prefix',
    mutate: (m) => (m.spec.cloud.nodeCIDRs = ['10.0.0.1/16']),
    errors: [{ path: 'spec.cloud.nodeCIDRs[0]', message: '"10.0.0.1/16" has bits set beyond its /16 prefix' }],
  },
  {
    name: 'negative CPU request',
    mutate: (m) => (m.spec.sfu = { resources: { requests: { cpu: '-500m' } } }),
    errors: [{ path: 'spec.sfu.resources.requests.cpu', message: 'must not be negative (got "-500m")' }],
  },
  {
    name: 'empty Redis volume',
    mutate: (m) => (m.spec.redis = { storage: { size: '0Gi' } }),
    errors: [{ path: 'spec.redis.storage.size', message: 'must be greater than zero (got "0Gi")' }],
  },
  {
    name: 'annotation key prefix over 253 characters',
    mutate: (m) => (m.spec.cloud.loadBalancer = { annotations: { [`${'ops.'.repeat(63)}justice.example/owner`]: 'visio' } }),
    errors: [{ path: 'spec.cloud.loadBalancer.annotations', message: `key "${'ops.'.repeat(15)}…": its prefix has 267 characters; at most 253` }],
  },
];

export function invalidManifest(c: InvalidCase): Manifest {
  const m = baseManifest();
  c.mutate(m);
  return m;
}

/** Fixed credentials for deterministic renders (golden files); never used outside tests. */
export const TEST_SECRETS = {
  livekitApiKey: 'APItestkey00001',
  livekitApiSecret: 'test-api-secret-0123456789abcdefghijklmnop',
  turnSharedSecret: 'test-turn-secret-0123456789abcdefghijklmno',
  redisPassword: 'test-redis-password-0123456789abcdefghijkl',
  sttApiKey: 'test-stt-api-key-0123456789abcdefghijklmnop',
};
