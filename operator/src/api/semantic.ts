// Rules no schema can express. Each returns errors naming the field and what is expected.
import { isRecognisablyNonEU } from '../cloud/profile.js';
import { profileFor } from '../cloud/profiles.js';
import { LONGEST_SERVICE_SUFFIX, MAX_CLUSTER_NAME, turnTlsSecretName } from './names.js';
import type { FieldError } from './errors.js';
import { DNS_LABEL, cidrError, labelValueError, qualifiedNameError, short } from './k8s-syntax.js';
import { parseQuantity } from './quantity.js';
import type { MeetingCluster, ModelSource, ResourceRequirements, Toleration } from './types.js';

/** Public STUN services run by non-EU companies: a sovereign stack never depends on them. */
const NON_EU_STUN = /(^|\.)(google\.com|googleapis\.com|twilio\.com|cloudflare\.com|stunprotocol\.org|mozilla\.com|ekiga\.net|voip\.blackberry\.com)$/i;

const DNS_1035 = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

function nameErrors(mc: MeetingCluster): FieldError[] {
  const { name, namespace } = mc.metadata;
  // The API server only stores objects in DNS-label namespaces; files given to `meet-operator render` are not checked by it.
  if (namespace !== undefined && (namespace.length > 63 || !new RegExp(DNS_LABEL).test(namespace))) {
    return [{ path: 'metadata.namespace', message: `${short(namespace)} must be a DNS label (at most 63 lower case letters, digits and '-')` }];
  }
  if (!DNS_1035.test(name)) {
    return [{ path: 'metadata.name', message: `"${name}" must be a DNS-1035 label (lower case letters, digits and '-', starting with a letter): it names Services` }];
  }
  if (name.length > MAX_CLUSTER_NAME) {
    return [{ path: 'metadata.name', message: `"${name}" is ${name.length} characters; at most ${MAX_CLUSTER_NAME} so that derived Service names such as "${name}${LONGEST_SERVICE_SUFFIX}" fit 63` }];
  }
  return [];
}

function regionErrors(mc: MeetingCluster): FieldError[] {
  const { profile: profileName, region, zones } = mc.spec.cloud;
  const profile = profileFor(profileName);
  if (!profile) return [{ path: 'spec.cloud.profile', message: `unknown profile "${profileName}"` }];
  const errs: FieldError[] = [];
  if (region !== undefined) {
    const allowed = profile.allowedRegions;
    if (isRecognisablyNonEU(region)) {
      errs.push({
        path: 'spec.cloud.region',
        message: `"${region}" is outside the EU; ${allowed ? `the ${profile.name} profile allows ${allowed.join(', ')}` : 'only EU regions are allowed'}`,
      });
    } else if (allowed && !allowed.includes(region)) {
      errs.push({ path: 'spec.cloud.region', message: `"${region}" is not an EU region of ${profile.name}; the ${profile.name} profile allows ${allowed.join(', ')}` });
    }
  }
  const known = region === undefined ? undefined : profile.zonesOf(region);
  zones.forEach((zone, i) => {
    if (known && !known.includes(zone)) {
      errs.push({ path: `spec.cloud.zones[${i}]`, message: `"${zone}" is not a zone of ${region}; expected one of ${known.join(', ')}` });
    }
  });
  return errs;
}

/** Images the stack will run, with the field each comes from. */
export function imagesOf(mc: MeetingCluster): { path: string; image: string }[] {
  const out = [{ path: 'spec.sfu.image', image: mc.spec.sfu.image }];
  if (mc.spec.turn.mode === 'coturn') out.push({ path: 'spec.turn.image', image: mc.spec.turn.image });
  if (mc.spec.redis.mode === 'managed') out.push({ path: 'spec.redis.image', image: mc.spec.redis.image });
  const { subtitles, speakerSeparation } = mc.spec;
  if (subtitles) out.push({ path: 'spec.subtitles.stt.image', image: subtitles.stt.image }, { path: 'spec.subtitles.agent.image', image: subtitles.agent.image });
  if (speakerSeparation) out.push({ path: 'spec.speakerSeparation.image', image: speakerSeparation.image });
  return out;
}

/**
 * Object stores a model may not come from: model hubs and the storage of non-EU providers (reachable
 * by their home jurisdiction wherever the bucket sits: SecNumCloud 19). Not a complete list: the audit
 * also warns on any host it cannot place.
 */
const NON_EU_MODEL_HOSTS = /(^|\.)(huggingface\.co|hf\.co|amazonaws\.com|googleapis\.com|googleusercontent\.com|core\.windows\.net|cloudflarestorage\.com|r2\.dev|backblazeb2\.com|digitaloceanspaces\.com|wasabisys\.com|modelscope\.cn)$/i;
export const isNonEUModelHost = (host: string): boolean => NON_EU_MODEL_HOSTS.test(host);

/** The model sources of the AI pools, with their field. */
export function modelSourcesOf(mc: MeetingCluster): { path: string; source: ModelSource }[] {
  const out: { path: string; source: ModelSource }[] = [];
  if (mc.spec.subtitles) out.push({ path: 'spec.subtitles.stt.model', source: mc.spec.subtitles.stt.model });
  if (mc.spec.speakerSeparation) out.push({ path: 'spec.speakerSeparation.model', source: mc.spec.speakerSeparation.model });
  return out;
}

function modelErrors(mc: MeetingCluster): FieldError[] {
  return modelSourcesOf(mc).flatMap(({ path, source }) => {
    const url = source.objectStore?.url;
    const host = url ? new URL(url).hostname : undefined;
    return host && isNonEUModelHost(host)
      ? [{ path: `${path}.objectStore.url`, message: `"${host}" is a model hub or a non-EU provider's storage; serve the model files from the ministry's own storage (a PVC, or an EU object store such as Outscale OOS)` }]
      : [];
  });
}

/** Pools (STT, speaker separation) whose placement the pass-through checks cover, with their field. */
function aiPools(mc: MeetingCluster): { path: string; nodeSelector: Record<string, string>; tolerations: Toleration[]; resources: ResourceRequirements }[] {
  const { subtitles, speakerSeparation } = mc.spec;
  return [
    ...(subtitles ? [{ path: 'spec.subtitles.stt', ...subtitles.stt }] : []),
    ...(speakerSeparation ? [{ path: 'spec.speakerSeparation', ...speakerSeparation }] : []),
  ];
}

function registryErrors(mc: MeetingCluster): FieldError[] {
  const allowed = mc.spec.sovereignty.allowedRegistries;
  if (allowed.length === 0) return [];
  return imagesOf(mc)
    .filter(({ image }) => !allowed.some((prefix) => image.startsWith(prefix)))
    .map(({ path, image }) => ({
      path,
      message: `"${image}" is not from an allowed registry; spec.sovereignty.allowedRegistries allows ${allowed.join(', ')}`,
    }));
}

export const isNonEUStun = (hostPort: string): boolean => NON_EU_STUN.test(hostPort.replace(/:\d+$/, ''));

function stunErrors(mc: MeetingCluster): FieldError[] {
  const { stunServers } = mc.spec.sovereignty;
  const errs: FieldError[] = stunServers.flatMap((s, i) =>
    isNonEUStun(s)
      ? [{ path: `spec.sovereignty.stunServers[${i}]`, message: `"${s}" is a public STUN service run outside the EU; list a STUN server you run (coturn answers STUN)` }]
      : [],
  );
  if (stunServers.length > 0) return errs;
  const { turn, cloud } = mc.spec;
  // LiveKit learns the node's public IP through STUN at start-up; these modes leave it no server of ours.
  if (turn.mode === 'embedded') {
    errs.push({ path: 'spec.sovereignty.stunServers', message: 'required when turn.mode is embedded: LiveKit asks STUN for the node public IP before its embedded TURN starts; list a STUN server you run' });
  } else if (turn.mode === 'external' && turn.external?.protocol === 'tls') {
    errs.push({ path: 'spec.sovereignty.stunServers', message: 'required when the external TURN server is reached over TLS (STUN needs UDP or TCP); list a STUN server you run' });
  } else if (turn.mode === 'disabled' && profileFor(cloud.profile)?.externalIP.kind === 'metadata' && !cloud.loadBalancer.internal) {
    errs.push({ path: 'spec.sovereignty.stunServers', message: `required when turn.mode is disabled on ${cloud.profile}: nodes sit behind 1:1 NAT and LiveKit must learn their public IP through a STUN server you run` });
  } else if (turn.mode === 'disabled') {
    // Measured with livekit-server v1.13.5: with no STUN and no TURN server configured, the SFU's
    // own ICE uses LiveKit's built-in Google/Twilio STUN servers and hands them to every client.
    errs.push({ path: 'spec.sovereignty.stunServers', message: 'required when turn.mode is disabled: with neither STUN nor TURN configured, LiveKit falls back to its Google/Twilio STUN servers for itself and its clients; list a STUN server you run' });
  }
  return errs;
}

function tlsErrors(mc: MeetingCluster): FieldError[] {
  const { turn } = mc.spec;
  if (turn.udpDomain !== undefined && turn.mode !== 'coturn') {
    return [{ path: 'spec.turn.udpDomain', message: `is only used with turn.mode coturn (got ${turn.mode}); LiveKit's embedded TURN announces turn.domain for every transport` }];
  }
  if (turn.mode !== 'coturn' && turn.mode !== 'embedded') return [];
  const errs: FieldError[] = [];
  if (turn.mode === 'embedded' && turn.tlsPort !== 443) {
    errs.push({ path: 'spec.turn.tlsPort', message: `must be 443 with embedded TURN (got ${turn.tlsPort}): LiveKit always tells clients turns:<domain>:443` });
  }
  if (turn.issuerRef && turn.certificate) {
    errs.push({ path: 'spec.turn.certificate', message: 'must be empty when spec.turn.issuerRef is set: the TURN server terminates TLS with the issued certificate, so the load balancer must pass TCP through' });
  }
  if (turnTlsSecretName(mc) || turn.certificate) return errs;
  errs.push({ path: 'spec.turn.certificate', message: `TURN/TLS on port ${turn.tlsPort} needs spec.turn.tlsSecretName (the TURN server terminates TLS), spec.turn.issuerRef (the same, with a certificate cert-manager keeps) or spec.turn.certificate (the load balancer does)` });
  return errs;
}

function resourceErrors(path: string, r: ResourceRequirements): FieldError[] {
  const errs: FieldError[] = [];
  for (const part of ['requests', 'limits'] as const) {
    for (const [name, q] of Object.entries(r[part] ?? {})) {
      if ((parseQuantity(q) ?? 0) < 0) errs.push({ path: `${path}.${part}.${name}`, message: `must not be negative (got ${JSON.stringify(q)})` });
    }
  }
  for (const [name, req] of Object.entries(r.requests ?? {})) {
    const lim = r.limits?.[name];
    if (lim === undefined) continue;
    const a = parseQuantity(req), b = parseQuantity(lim);
    if (a !== undefined && b !== undefined && a > b) {
      errs.push({ path: `${path}.requests.${name}`, message: `request ${req} exceeds limit ${lim}` });
    }
  }
  return errs;
}

/**
 * What the API server checks on the children but the CRD schema can only approximate (the length of
 * a key prefix, CIDR forms, quantity signs): caught here, the spec is reported InvalidSpec instead of
 * being applied half-way, up to the first child the API server refuses.
 */
function passThroughErrors(mc: MeetingCluster): FieldError[] {
  const { sfu, cloud, redis } = mc.spec;
  const errs: FieldError[] = [];
  for (const pool of [{ path: 'spec.sfu', ...sfu }, ...aiPools(mc)]) {
    for (const [k, v] of Object.entries(pool.nodeSelector)) {
      const e = qualifiedNameError(k) ?? labelValueError(v);
      if (e) errs.push({ path: `${pool.path}.nodeSelector`, message: `label ${short(k)}: ${e}` });
    }
    pool.tolerations.forEach((t, i) => {
      const e = t.key ? qualifiedNameError(t.key) : undefined;
      if (e) errs.push({ path: `${pool.path}.tolerations[${i}].key`, message: e });
    });
  }
  for (const k of Object.keys(cloud.loadBalancer.annotations)) {
    // The API server lower-cases annotation keys before it checks them.
    const e = qualifiedNameError(k.toLowerCase());
    if (e) errs.push({ path: 'spec.cloud.loadBalancer.annotations', message: `key ${short(k)}: ${e}` });
  }
  cloud.nodeCIDRs.forEach((c, i) => {
    const e = cidrError(c);
    if (e) errs.push({ path: `spec.cloud.nodeCIDRs[${i}]`, message: e });
  });
  if (redis.mode === 'managed' && !((parseQuantity(redis.storage.size) ?? 0) > 0)) {
    errs.push({ path: 'spec.redis.storage.size', message: `must be greater than zero (got ${JSON.stringify(redis.storage.size)})` });
  }
  return errs;
}

/** A rule and the fields it reads: it is not run on a field admission refused (its value is not what it expects). */
interface Rule {
  reads: string[];
  check: (mc: MeetingCluster) => FieldError[];
}

const RULES: Rule[] = [
  { reads: ['metadata.name', 'metadata.namespace'], check: nameErrors },
  {
    reads: ['spec.sfu.nodeSelector', 'spec.sfu.tolerations', 'spec.cloud.loadBalancer.annotations', 'spec.cloud.nodeCIDRs', 'spec.redis.mode', 'spec.redis.storage.size', 'spec.subtitles', 'spec.speakerSeparation'],
    check: passThroughErrors,
  },
  { reads: ['spec.subtitles.stt.model', 'spec.speakerSeparation.model'], check: modelErrors },
  {
    reads: ['spec.subtitles', 'spec.speakerSeparation'],
    check: (mc) => [
      ...aiPools(mc).flatMap((p) => resourceErrors(`${p.path}.resources`, p.resources)),
      ...(mc.spec.subtitles ? resourceErrors('spec.subtitles.agent.resources', mc.spec.subtitles.agent.resources) : []),
    ],
  },
  { reads: ['spec.cloud.profile', 'spec.cloud.region', 'spec.cloud.zones'], check: regionErrors },
  { reads: ['spec.sovereignty.allowedRegistries', 'spec.sfu.image', 'spec.turn.mode', 'spec.turn.image', 'spec.redis.mode', 'spec.redis.image', 'spec.subtitles.stt.image', 'spec.subtitles.agent.image', 'spec.speakerSeparation.image'], check: registryErrors },
  { reads: ['spec.sovereignty.stunServers', 'spec.turn.mode', 'spec.turn.external', 'spec.cloud.profile', 'spec.cloud.loadBalancer.internal'], check: stunErrors },
  { reads: ['spec.turn.udpDomain', 'spec.turn.mode', 'spec.turn.tlsPort', 'spec.turn.tlsSecretName', 'spec.turn.issuerRef', 'spec.turn.certificate'], check: tlsErrors },
  { reads: ['spec.sfu.resources'], check: (mc) => resourceErrors('spec.sfu.resources', mc.spec.sfu.resources) },
  { reads: ['spec.turn.mode', 'spec.turn.resources'], check: (mc) => (mc.spec.turn.mode === 'coturn' ? resourceErrors('spec.turn.resources', mc.spec.turn.resources) : []) },
  { reads: ['spec.redis.mode', 'spec.redis.resources'], check: (mc) => (mc.spec.redis.mode === 'managed' ? resourceErrors('spec.redis.resources', mc.spec.redis.resources) : []) },
];

/** Whether two field paths overlap: one is the other or inside it (spec.turn and spec.turn.domain). */
const inside = (x: string, y: string) => x.startsWith(`${y}.`) || x.startsWith(`${y}[`);
export const overlaps = (a: string, b: string): boolean => a === b || inside(a, b) || inside(b, a);

/**
 * The operator's own checks. `refused`: the fields admission refused; a rule reading one of them is
 * not run (its value is not what the rule expects, and admission's error already names the field),
 * so the user sees every independent problem at once and no error that follows from another.
 */
export function semanticErrors(mc: MeetingCluster, refused: readonly string[] = []): FieldError[] {
  return RULES.filter((r) => !r.reads.some((f) => refused.some((p) => overlaps(f, p)))).flatMap((r) => r.check(mc));
}
