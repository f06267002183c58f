// The sovereignty audit (ANSSI SecNumCloud, section 19, as it applies to this stack): a pure
// function over the MeetingCluster and the objects the operator would apply for it.
import { formatFieldError } from '../api/errors.js';
import { imagesOf, isNonEUStun, modelSourcesOf } from '../api/semantic.js';
import type { MeetingCluster } from '../api/types.js';
import { validateMeetingCluster } from '../api/validate.js';
import { profileFor } from '../cloud/profiles.js';
import { renderContext, type GeneratedSecrets } from '../render/context.js';
import { livekitConfig } from '../render/config/livekit.js';
import { endpointsOf } from '../render/endpoints.js';
import { renderCluster } from '../render/index.js';
import type { RenderedObject } from '../kube/object.js';

export type Verdict = 'pass' | 'warn' | 'fail';

export interface Finding {
  check: 'region' | 'images' | 'stun' | 'turn' | 'secrets' | 'encryption' | 'load-balancers' | 'network' | 'models' | 'spec';
  verdict: Verdict;
  message: string;
}

export interface AuditReport {
  cluster: string;
  ministry?: string;
  findings: Finding[];
  passed: boolean;
}

/** Every value a rendered ConfigMap holds, to prove no credential was written into one. */
function configMapText(objects: RenderedObject[]): string {
  return objects
    .filter((o) => o.kind === 'ConfigMap')
    .map((o) => Object.values((o.data as Record<string, string>) ?? {}).join('\n'))
    .join('\n');
}

function regionFinding(mc: MeetingCluster): Finding {
  const { profile, region } = mc.spec.cloud;
  if (!region) return { check: 'region', verdict: 'warn', message: `no region declared for profile ${profile}; the operator cannot prove the stack runs in the EU` };
  return { check: 'region', verdict: 'pass', message: `${profile} region ${region} is in the EU` };
}

/** Every image the rendered pods run (workloads and the check's CronJob), in order, once each. */
function renderedImages(objects: RenderedObject[]): string[] {
  const podSpecs = objects.map((o) => {
    const spec = o.spec as { template?: { spec?: PodLike }; jobTemplate?: { spec?: { template?: { spec?: PodLike } } } } | undefined;
    return spec?.template?.spec ?? spec?.jobTemplate?.spec?.template?.spec;
  });
  const images = podSpecs.flatMap((p) => [...(p?.initContainers ?? []), ...(p?.containers ?? [])].map((c) => c.image));
  return [...new Set(images)];
}
type PodLike = { containers?: { image: string }[]; initContainers?: { image: string }[] };

function imageFindings(mc: MeetingCluster, objects: RenderedObject[]): Finding[] {
  const allowed = mc.spec.sovereignty.allowedRegistries;
  // The spec's images are refused at validation when outside allowedRegistries; what else runs (the
  // check's CronJob runs the operator's own image) is judged here.
  const images = [...new Set([...imagesOf(mc).map((i) => i.image), ...renderedImages(objects)])];
  const outside = images.filter((image) => allowed.length && !allowed.some((prefix) => image.startsWith(prefix)));
  if (outside.length) {
    return [{ check: 'images', verdict: 'fail', message: `images outside spec.sovereignty.allowedRegistries (${allowed.join(', ')}): ${outside.join(', ')}; mirror them (the operator's own image, which spec.checks runs, is the chart's image value)` }];
  }
  if (allowed.length === 0) {
    return [{ check: 'images', verdict: 'warn', message: `registries are not restricted (spec.sovereignty.allowedRegistries is empty); images: ${images.join(', ')}` }];
  }
  return [{ check: 'images', verdict: 'pass', message: `all images come from ${allowed.join(', ')}: ${images.join(', ')}` }];
}

function stunFinding(mc: MeetingCluster, secrets: GeneratedSecrets): Finding {
  const ctx = renderContext(mc, secrets);
  const rtc = livekitConfig(ctx).rtc as { stun_servers: string[]; use_external_ip: boolean };
  const bad = rtc.stun_servers.filter(isNonEUStun);
  if (bad.length) return { check: 'stun', verdict: 'fail', message: `LiveKit would hand clients non-EU STUN servers: ${bad.join(', ')}` };
  if (!rtc.stun_servers.length) {
    return { check: 'stun', verdict: 'fail', message: 'no STUN server of ours: LiveKit hands clients its Google/Twilio STUN servers; set spec.sovereignty.stunServers' };
  }
  const own = ctx.profile.externalIP.kind === 'metadata' ? 'the cloud metadata service' : "the node's address";
  return { check: 'stun', verdict: 'pass', message: `clients are offered only ${rtc.stun_servers.join(', ')} (never Google/Twilio); the SFU takes its public IP from ${own}, without STUN or DNS` };
}

function turnFinding(mc: MeetingCluster): Finding {
  const urls = endpointsOf(mc).turn;
  if (urls.length === 0) return { check: 'turn', verdict: 'warn', message: 'no TURN server: clients behind strict firewalls cannot join' };
  const bad = urls.filter((u) => isNonEUStun(u.replace(/^turns?:/, '').replace(/\?.*$/, '')));
  if (bad.length) return { check: 'turn', verdict: 'fail', message: `clients would be handed non-EU TURN servers: ${bad.join(', ')}` };
  const { turn, cloud } = mc.spec;
  if (turn.mode === 'coturn' && turn.udpDomain === turn.domain && !profileFor(cloud.profile)?.loadBalancerSupportsUdp) {
    return {
      check: 'turn',
      verdict: 'warn',
      message: `clients are handed only ${urls.join(', ')}; but ${cloud.profile} load balancers carry no UDP, so ${turn.domain} cannot point at both the TURN/TLS load balancer and the nodes: set spec.turn.udpDomain to a name resolving to the TURN nodes`,
    };
  }
  return { check: 'turn', verdict: 'pass', message: `clients are handed only ${urls.join(', ')}` };
}

function secretFinding(objects: RenderedObject[], secrets: GeneratedSecrets): Finding {
  const text = configMapText(objects);
  const leaked = Object.entries(secrets).filter(([, v]) => text.includes(v)).map(([k]) => k);
  if (leaked.length) return { check: 'secrets', verdict: 'fail', message: `credentials found in a ConfigMap: ${leaked.join(', ')}` };
  const secretNames = objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name);
  return {
    check: 'secrets',
    verdict: 'pass',
    message: `no credential in any ConfigMap; generated credentials live only in Secrets${secretNames.length ? ` (${secretNames.join(', ')})` : ''}, mounted as 0440 files or secretKeyRef env`,
  };
}

function encryptionFinding(mc: MeetingCluster): Finding {
  const { redis, cloud } = mc.spec;
  if (redis.mode !== 'managed') return { check: 'encryption', verdict: 'pass', message: 'no volume is created (external Redis): encryption at rest is the Redis owner\'s' };
  const profile = profileFor(cloud.profile);
  const cls = redis.storage.storageClassName;
  if (profile?.redisStorageClassName && cls === profile.redisStorageClassName && profile.defaultStorageEncrypted) {
    return { check: 'encryption', verdict: 'pass', message: `Redis volume uses ${cls} (encrypted at rest by the ${profile.name} profile)` };
  }
  return { check: 'encryption', verdict: 'warn', message: `Redis volume uses StorageClass ${cls ?? '(cluster default)'}: make sure it encrypts at rest` };
}

function loadBalancerFinding(mc: MeetingCluster, objects: RenderedObject[]): Finding {
  const lbs = objects.filter((o) => o.kind === 'Service' && (o.spec as { type?: string }).type === 'LoadBalancer');
  const udp = lbs.filter((o) => ((o.spec as { ports?: { protocol?: string }[] }).ports ?? []).some((p) => p.protocol === 'UDP'));
  const profile = profileFor(mc.spec.cloud.profile);
  if (udp.length && !profile?.loadBalancerSupportsUdp) {
    return { check: 'load-balancers', verdict: 'fail', message: `${udp.map((o) => o.metadata.name).join(', ')} carry UDP ports, which ${mc.spec.cloud.profile} load balancers reject` };
  }
  return { check: 'load-balancers', verdict: 'pass', message: `load balancers carry TCP only: ${lbs.map((o) => o.metadata.name).join(', ')}` };
}

function networkFinding(mc: MeetingCluster): Finding {
  if (mc.spec.redis.mode !== 'managed') return { check: 'network', verdict: 'pass', message: 'no managed Redis to fence' };
  if (mc.spec.cloud.nodeCIDRs.length === 0) {
    return { check: 'network', verdict: 'warn', message: 'Redis admits only SFU pods; on CNIs that see host-network traffic as node traffic, set spec.cloud.nodeCIDRs or the SFU cannot reach Redis' };
  }
  return { check: 'network', verdict: 'pass', message: `Redis admits only this cluster's SFU pods and nodes ${mc.spec.cloud.nodeCIDRs.join(', ')}` };
}

/** The findings for a valid cluster and the objects rendered for it (also the operator's Sovereign condition). */
export function auditRendered(cluster: MeetingCluster, objects: RenderedObject[], secrets: GeneratedSecrets): Finding[] {
  return [
    regionFinding(cluster),
    ...imageFindings(cluster, objects),
    stunFinding(cluster, secrets),
    turnFinding(cluster),
    secretFinding(objects, secrets),
    encryptionFinding(cluster),
    loadBalancerFinding(cluster, objects),
    networkFinding(cluster),
    ...modelFindings(cluster),
  ];
}

/** Object stores recognisably in the EU and run by EU providers (Outscale, Scaleway, OVHcloud regions). */
const EU_MODEL_STORE = /(^|\.)((eu-west-2|cloudgouv-eu-west-1)\.outscale\.com|(fr-par|nl-ams|pl-waw)\.scw\.cloud|(gra|sbg|rbx|de|waw)\.io\.cloud\.ovh\.net)$/i;

/** Where the AI pools' models come from (spec.subtitles, spec.speakerSeparation); hubs and non-EU stores are refused at validation. */
function modelFindings(mc: MeetingCluster): Finding[] {
  const sources = modelSourcesOf(mc);
  if (!sources.length) return [];
  const placed = sources.map(({ path, source }) => {
    if (source.pvc) return { path, ok: true, where: `PersistentVolumeClaim ${source.pvc.claimName}` };
    const host = new URL(source.objectStore!.url).hostname;
    return { path, ok: EU_MODEL_STORE.test(host), where: host };
  });
  const unknown = placed.filter((p) => !p.ok);
  if (unknown.length) {
    return [{ check: 'models', verdict: 'warn', message: `cannot prove these model stores are in the EU: ${unknown.map((p) => `${p.where} (${p.path})`).join(', ')}; prefer a PVC or an EU provider's object store` }];
  }
  return [{ check: 'models', verdict: 'pass', message: `model files come from the ministry's storage, never a model hub: ${placed.map((p) => `${p.where} (${p.path})`).join(', ')}` }];
}

/** The Sovereign condition from the findings: failures make it false; warnings are listed to review. */
export function sovereigntyVerdict(findings: readonly Finding[]): { ok: boolean; message: string } {
  const failed = findings.filter((f) => f.verdict === 'fail');
  const warned = findings.filter((f) => f.verdict === 'warn');
  if (failed.length) return { ok: false, message: failed.map((f) => f.message).join('; ') };
  return { ok: true, message: warned.length ? `compliant; to review: ${warned.map((f) => f.message).join('; ')}` : 'compliant' };
}

/** Audits a raw manifest; secrets are only used to render and are never printed. */
export function auditManifest(raw: unknown, secrets: GeneratedSecrets): AuditReport {
  const name = (raw as { metadata?: { namespace?: string; name?: string } })?.metadata;
  const id = `${name?.namespace ?? '?'}/${name?.name ?? '?'}`;
  const { errors, cluster } = validateMeetingCluster(raw);
  if (!cluster) {
    return { cluster: id, findings: errors.map((e) => ({ check: 'spec', verdict: 'fail', message: formatFieldError(e) })), passed: false };
  }
  const findings = auditRendered(cluster, renderCluster(cluster, secrets), secrets);
  return { cluster: id, ...(cluster.spec.ministry ? { ministry: cluster.spec.ministry } : {}), findings, passed: findings.every((f) => f.verdict !== 'fail') };
}
