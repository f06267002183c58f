// What every renderer receives: the defaulted MeetingCluster, its cloud profile, and the secret
// values the controller generated (render/ never creates randomness itself).
import { profileFor, type CloudProfile } from '../cloud/profiles.js';
import type { MeetingCluster, SecretKeyRef } from '../api/types.js';
import { objectName } from '../api/names.js';
import type { GeneratedSecrets } from '../credentials/generate.js';
import type { SfuSlot } from './sfu-slot.js';

export type { GeneratedSecrets } from '../credentials/generate.js';

export interface RenderOptions {
  /** Participants mode: the SFU replicas the operator's autoscaler decided (default: minReplicas). */
  autoscaledReplicas?: number;
  /** Which SFU slot to render (default a: the spec's ports; b: spec.sfu.upgrade.alternatePorts). */
  sfuSlot?: SfuSlot;
  /** The operator's own pods, let through the Redis NetworkPolicy (they read LiveKit's room placement). */
  operatorPeer?: OperatorPeer;
  /**
   * Digest of the certificate in the TURN TLS Secret, as the controller last read it. LiveKit's
   * embedded TURN loads its certificate once, at start: its pods carry this digest, so a renewal
   * rolls them (side by side, no meeting cut). coturn reloads in place and needs none.
   */
  turnTlsRevision?: string;
  /** The operator's own image (spec.checks runs `meet-operator check` in it); unknown: no CronJob. */
  operatorImage?: string;
}

export interface OperatorPeer {
  namespace: string;
  podLabels: Record<string, string>;
}

export interface RenderContext {
  mc: MeetingCluster;
  profile: CloudProfile;
  secrets: GeneratedSecrets;
  refs: SecretRefs;
  options: RenderOptions;
}

/** Where each credential lives: a user-supplied Secret wins over the generated one. */
export interface SecretRefs {
  livekitKeys: SecretKeyRef & { generated: boolean };
  turn?: SecretKeyRef & { generated: boolean };
  redis?: SecretKeyRef & { generated: boolean };
  /** The STT pool's API key (spec.subtitles): always generated. */
  stt?: SecretKeyRef & { generated: boolean };
}

export const LIVEKIT_KEYS_FILE = 'keys.yaml';

export function secretRefs(mc: MeetingCluster): SecretRefs {
  const { sfu, turn, redis } = mc.spec;
  const ref = (user: string | undefined, generatedName: string, key: string) =>
    user ? { name: user, key, generated: false } : { name: generatedName, key, generated: true };
  const refs: SecretRefs = { livekitKeys: ref(sfu.apiKeysSecretName, objectName(mc, 'livekitKeys'), LIVEKIT_KEYS_FILE) };
  if (turn.mode === 'coturn') refs.turn = ref(turn.sharedSecretName, objectName(mc, 'turnSecret'), 'secret');
  if (turn.mode === 'external' && turn.external) refs.turn = { ...turn.external.secretRef, generated: false };
  if (redis.mode === 'managed') refs.redis = ref(redis.passwordSecretName, objectName(mc, 'redisAuth'), 'password');
  if (redis.mode === 'external' && redis.external?.passwordSecretRef) refs.redis = { ...redis.external.passwordSecretRef, generated: false };
  if (mc.spec.subtitles) refs.stt = { name: objectName(mc, 'sttApiKey'), key: 'api-key', generated: true };
  return refs;
}

export function renderContext(mc: MeetingCluster, secrets: GeneratedSecrets, options: RenderOptions = {}): RenderContext {
  const profile = profileFor(mc.spec.cloud.profile);
  if (!profile) throw new Error(`spec.cloud.profile: unknown profile "${mc.spec.cloud.profile}"`);
  return { mc, profile, secrets, refs: secretRefs(mc), options };
}
