// Hostile input for MeetingCluster specs: strings that try to inject a key into livekit.yaml, a
// directive into turnserver.conf or redis.conf, a command into coturn's `sh -c` start script, or
// that stress names and encodings; numbers and types the schema must refuse; and the fast-check
// arbitrary of whole hostile manifests the integration suite sends to a real API server.
import fc from 'fast-check';
import { manifestArb } from './corpus.js';
import type { Manifest } from './specs.js';

/** Strings aimed at the config file formats and the start script, by what they try. */
export const HOSTILE_STRINGS: Record<string, string> = {
  'YAML key after a newline': 'x\nport: 1',
  'YAML key after CR LF': 'x\r\nkey_file: /tmp/keys.yaml',
  'YAML document marker': '---\nport: 1',
  'YAML document end': 'x\n...\nport: 1',
  'YAML comment': 'x #port: 1',
  'YAML flow mapping': '{port: 1}',
  'YAML alias': '*port',
  'YAML tag': '!!binary AAAA',
  'key: value': 'port: 1',
  quotes: `"'x'"`,
  'INI directive after a newline': 'x\nexternal-ip=6.6.6.6',
  'INI directive after CR': 'x\rno-auth',
  'INI key=value': 'realm=evil.example',
  'INI comment': 'x#no-auth',
  'template expansion': '${LIVEKIT_KEYS}',
  'Kubernetes expansion': '$(TURN_STATIC_AUTH_SECRET)',
  'shell command substitution': '$(touch /tmp/meet-hostile-canary)',
  'shell backquotes': '`touch /tmp/meet-hostile-canary`',
  'shell separator': 'x; touch /tmp/meet-hostile-canary',
  'shell quote break': '"; touch /tmp/meet-hostile-canary; "',
  'shell glob': '* ? [a-z]',
  NUL: 'x\u0000y',
  'Unicode line separator': 'x\u2028port: 1',
  'next line (NEL)': 'x\u0085port: 1',
  'right-to-left override': 'x\u202eelpmaxe',
  'accented letters': 'ministère-de-l-intérieur',
  'Cyrillic homoglyph': 'vіsio.example',
  emoji: '🇫🇷',
  'leading and trailing spaces': ' x ',
  empty: '',
  'very long': 'a'.repeat(5000),
};

/** A hostile value in its raw form and glued to a legitimate one (where a pattern anchors on it). */
export function hostileVariants(legit: string): [string, string][] {
  return Object.entries(HOSTILE_STRINGS).flatMap(([what, h]): [string, string][] => [
    [what, h],
    [`${what} after a valid value`, `${legit}${h}`],
  ]);
}

// --- Whole manifests for the real API server. -------------------------------------------------

type Mutation = { label: string; apply: (m: Manifest) => void };

/** Sets a dotted path (creating objects on the way); `[0]` segments index arrays. */
export function setPath(m: Manifest, path: string, value: unknown): void {
  const segs = path.split('.').flatMap((s) => s.split(/\[(\d+)\]/).filter(Boolean)).map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  let o: any = m;
  segs.slice(0, -1).forEach((s, i) => {
    if (o[s] === null || typeof o[s] !== 'object') o[s] = typeof segs[i + 1] === 'number' ? [] : {};
    o = o[s];
  });
  o[segs[segs.length - 1]!] = value;
}

/** Every string field of the spec, with the mode it matters in. */
const STRING_FIELDS: { path: string; setup?: (m: Manifest) => void }[] = [
  { path: 'spec.ministry' },
  { path: 'spec.domain' },
  { path: 'spec.cloud.region' },
  { path: 'spec.cloud.zones[0]' },
  { path: 'spec.cloud.nodeCIDRs[0]' },
  { path: 'spec.cloud.loadBalancer.ipPool' },
  { path: 'spec.cloud.loadBalancer.accessLogBucket' },
  { path: 'spec.signalling.certificate' },
  { path: 'spec.sfu.image' },
  { path: 'spec.sfu.logLevel' },
  { path: 'spec.sfu.apiKeysSecretName' },
  { path: 'spec.sfu.tolerations[0].key' },
  { path: 'spec.sfu.tolerations[0].value' },
  { path: 'spec.sfu.resources.requests.cpu' },
  { path: 'spec.turn.domain', setup: (m) => (m.spec.turn = { mode: 'coturn', domain: 'turn.x.example', certificate: 'orn:x' }) },
  { path: 'spec.turn.udpDomain', setup: (m) => (m.spec.turn = { mode: 'coturn', domain: 'turn.x.example', certificate: 'orn:x' }) },
  { path: 'spec.turn.certificate' },
  { path: 'spec.turn.tlsSecretName' },
  { path: 'spec.turn.sharedSecretName' },
  { path: 'spec.turn.image' },
  { path: 'spec.turn.external.host', setup: (m) => ((m.spec.turn = { mode: 'external', external: { host: 'turn.x.example', secretRef: { name: 'turn-ext', key: 'secret' } } }), (m.spec.sovereignty = { stunServers: ['stun.x.example:3478'] })) },
  { path: 'spec.turn.external.secretRef.name', setup: (m) => ((m.spec.turn = { mode: 'external', external: { host: 'turn.x.example', secretRef: { name: 'turn-ext', key: 'secret' } } }), (m.spec.sovereignty = { stunServers: ['stun.x.example:3478'] })) },
  { path: 'spec.turn.external.secretRef.key', setup: (m) => ((m.spec.turn = { mode: 'external', external: { host: 'turn.x.example', secretRef: { name: 'turn-ext', key: 'secret' } } }), (m.spec.sovereignty = { stunServers: ['stun.x.example:3478'] })) },
  { path: 'spec.redis.external.address', setup: (m) => (m.spec.redis = { mode: 'external', external: { address: 'redis.x.example:6379' } }) },
  { path: 'spec.redis.external.passwordSecretRef.key', setup: (m) => (m.spec.redis = { mode: 'external', external: { address: 'redis.x.example:6379', passwordSecretRef: { name: 'redis-ext', key: 'password' } } }) },
  { path: 'spec.redis.passwordSecretName' },
  { path: 'spec.redis.storage.size' },
  { path: 'spec.redis.storage.storageClassName' },
  { path: 'spec.sovereignty.stunServers[0]' },
  { path: 'spec.sovereignty.allowedRegistries[0]' },
];

const INT_FIELDS = [
  'spec.sfu.replicas', 'spec.sfu.port', 'spec.sfu.metricsPort', 'spec.sfu.rtc.tcpPort', 'spec.sfu.rtc.udpPortRange.start',
  'spec.sfu.drainSeconds', 'spec.sfu.maxParticipantsPerRoom', 'spec.sfu.emptyRoomTimeoutSeconds', 'spec.turn.udpPort',
  'spec.turn.tlsPort', 'spec.turn.replicas', 'spec.turn.relayPortRange.end', 'spec.autoscaling.minReplicas',
  'spec.autoscaling.targetParticipantsPerNode', 'spec.cloud.loadBalancer.idleTimeoutSeconds', 'spec.signalling.port',
  'spec.sfu.tolerations[0].tolerationSeconds',
];

const OBJECT_PATHS = ['spec', 'spec.cloud', 'spec.sfu', 'spec.sfu.rtc', 'spec.turn', 'spec.redis', 'spec.redis.storage', 'spec.autoscaling', 'spec.sovereignty', 'spec.cloud.loadBalancer'];

const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...Object.values(HOSTILE_STRINGS)) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('a', 'Z', '0', '-', '.', '_', '/', ':', '=', '#', ' ', '\n', '"', "'", '$', '{', '}', '`', ';'), maxLength: 30 }) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('turn.x.example', 'stun.x.example:3478', '10.0.0.0/16', '500m', 'visio'), fc.constantFrom(...Object.values(HOSTILE_STRINGS))).map(([a, b]) => a + b) },
);

const hostileNumber: fc.Arbitrary<unknown> = fc.constantFrom(-1, 0, 1, 1023, 65535, 65536, 2 ** 31, 2 ** 53, 1e20, 1.5, -0.5, '80', '1e3', true, null);

const wrongType: fc.Arbitrary<unknown> = fc.constantFrom({}, [], null, true, 12, 'text', [{}], { a: { b: 1 } });

/** A label or annotation key: legit, or broken in one of the ways Kubernetes refuses. */
const mapKey = fc.oneof(
  fc.constantFrom('pool', 'example.com/pool', 'Example.com/pool', 'a/b/c', '-pool', 'pool-', 'a'.repeat(63), 'a'.repeat(64), `${'p.'.repeat(126)}p/x`, `${'p.'.repeat(127)}p/x`, 'kubernetes.io/x', 'ÉCOLE', 'a b', ''),
  hostileString,
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 2, arbitrary: fc.constant<Mutation>({ label: 'none', apply: () => {} }) },
  {
    weight: 6,
    arbitrary: fc.tuple(fc.constantFrom(...STRING_FIELDS), hostileString).map(([f, v]): Mutation => ({
      label: `string ${f.path}=${JSON.stringify(v).slice(0, 40)}`,
      apply: (m) => (f.setup?.(m), setPath(m, f.path, v)),
    })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom(...INT_FIELDS), hostileNumber).map(([p, v]): Mutation => ({ label: `number ${p}=${JSON.stringify(v)}`, apply: (m) => setPath(m, p, v) })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom(...STRING_FIELDS.map((f) => f.path), ...INT_FIELDS, ...OBJECT_PATHS.slice(1)), wrongType).map(([p, v]): Mutation => ({ label: `type ${p}=${JSON.stringify(v)}`, apply: (m) => setPath(m, p, v) })),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...OBJECT_PATHS).map((p): Mutation => ({ label: `unknown field ${p}.bogus`, apply: (m) => setPath(m, `${p}.bogus`, 1) })),
  },
  {
    weight: 2,
    arbitrary: fc.tuple(fc.constantFrom('spec.sfu.nodeSelector', 'spec.cloud.loadBalancer.annotations', 'spec.sfu.resources.requests', 'spec.turn.resources.limits'), mapKey, fc.oneof(hostileString, fc.constantFrom('x', '1', '500m', '-1', '0'))).map(
      ([p, k, v]): Mutation => ({ label: `map ${p}[${JSON.stringify(k).slice(0, 30)}]=${JSON.stringify(v).slice(0, 30)}`, apply: (m) => setPath(m, p, { [k]: v }) }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      key: fc.option(fc.constantFrom('dedicated', 'example.com/media', 'bad key', ''), { nil: undefined }),
      operator: fc.option(fc.constantFrom('Exists', 'Equal', 'In'), { nil: undefined }),
      value: fc.option(fc.constantFrom('media', '', 'a b'), { nil: undefined }),
      effect: fc.option(fc.constantFrom('NoSchedule', 'NoExecute', 'Sometimes'), { nil: undefined }),
      tolerationSeconds: fc.option(fc.constantFrom(0, 30, -5), { nil: undefined }),
    }).map((t): Mutation => {
      const tol = Object.fromEntries(Object.entries(t).filter(([, v]) => v !== undefined));
      return { label: `toleration ${JSON.stringify(tol)}`, apply: (m) => setPath(m, 'spec.sfu.tolerations', [tol]) };
    }),
  },
);

/** metadata.name: the lengths and alphabets around Kubernetes' limits (63 for labels/Services, 253 for names). */
const NAME_LENGTHS = [5, 50, 51, 52, 62, 63, 64, 100, 253, 254];
const nameStyle = fc.constantFrom('label', 'subdomain', 'upper', 'unicode', 'digit-first', 'underscore', 'trailing-dash');

/** Builds a name of exactly `len` characters in `style`, ending with `id` (which keeps it unique) when len allows. */
export function styledName(style: string, len: number, id: string): string {
  const fill = (n: number, unit: string) => unit.repeat(Math.ceil(n / unit.length)).slice(0, Math.max(0, n));
  const core = (n: number) => fill(n, style === 'subdomain' ? 'abcdefgh.' : 'abcdefghij');
  const body = (head: string, end = '') => {
    const s = head + core(len - head.length - id.length - end.length) + id + end;
    return s.length > len ? s.slice(s.length - len) : s;
  };
  switch (style) {
    case 'upper':
      return body('N');
    case 'unicode':
      return body('né');
    case 'digit-first':
      return body('7');
    case 'underscore':
      return body('n_');
    case 'trailing-dash':
      return body('n', '-');
    default:
      return body('n').replace(/\.(?=\.)|\.$/g, 'x');
  }
}

export interface HostileCase {
  label: string;
  manifest: Manifest;
  /** When set, `manifest` is created first and then replaced by this (an update of a running stack). */
  update?: Manifest;
}

/**
 * Hostile manifests, starting from the valid corpus: one mutation each (or a name near a limit).
 * `update` cases keep the name and carry the mutation as a later change of a valid cluster.
 */
export const hostileCaseArb = (namespaces: string[]): fc.Arbitrary<(id: string) => HostileCase> =>
  fc
    .record({
      base: manifestArb,
      ns: fc.constantFrom(...namespaces),
      kind: fc.constantFrom('create', 'create', 'create', 'update', 'name'),
      mutation,
      name: fc.record({ len: fc.constantFrom(...NAME_LENGTHS), style: nameStyle }),
    })
    .map(({ base, ns, kind, mutation: mut, name }) => (id: string): HostileCase => {
      const valid = structuredClone(base);
      valid.metadata = { name: id, namespace: ns };
      // No prometheus-operator on the test control plane: its CRD is not ours to install.
      valid.spec.monitoring = { serviceMonitor: false };
      const mutated = structuredClone(valid);
      if (kind === 'name') {
        mutated.metadata.name = styledName(name.style, name.len, id);
        return { label: `name ${name.style} of ${name.len} characters`, manifest: mutated };
      }
      mut.apply(mutated);
      return kind === 'update' ? { label: `update: ${mut.label}`, manifest: valid, update: mutated } : { label: mut.label, manifest: mutated };
    });
