// The STT pool's scaling decision (spec.subtitles.stt): the load is the slots in use, as each
// moshi-server pod reports them (/api/modules_info), and a pod with an open stream carries a subtitle
// session. The pool keeps freeSlots free so that a participant who joins finds a slot: a full
// moshi-server refuses a new stream ("no free channels"), and subtitles stop for that person. The
// rules are the SFU's (core.ts).
import type { SubtitlesSpec } from '../api/types.js';
import { decideReplicas, plural, type PoolWords, type ScalingState } from './core.js';

/** One STT pod's slots; undefined when /api/modules_info could not be read. */
export interface SttPodSlots {
  name: string;
  used?: number;
  total?: number;
  /**
   * Streams this pod refused for lack of a slot since the previous round ("no free channels"). They
   * hold no slot, so without them a full pool would never see the demand it turns away.
   */
  refused?: number;
}

export type SttPolicy = Pick<SubtitlesSpec['stt'], 'minPods' | 'maxPods' | 'slotsPerPod' | 'freeSlots' | 'scaleDownDelaySeconds'>;

export interface SttDecision {
  replicas: number;
  reason: string;
  message: string;
  /** Over the pods that answered. */
  usedSlots: number;
  totalSlots: number;
  /** Streams refused since the previous round, over the pods that answered. */
  refusedStreams: number;
  /** Fewer than freeSlots free slots across the ready pods: a participant joining now may find none. */
  saturated: boolean;
  unknownPods: number;
  busyPods: number;
  state: ScalingState;
}

const STT_WORDS: PoolWords = {
  pods: 'STT pods',
  min: 'minPods',
  max: 'maxPods',
  busy: (n) => `${plural(n, 'pod')} ${n === 1 ? 'holds' : 'hold'} open subtitle streams`,
  busyReason: 'PodsHoldStreams',
};

/**
 * The slots of moshi-server's batched ASR module from its /api/modules_info answer (a JSON list of
 * modules whose counts are strings); undefined when the answer holds no such module.
 */
export function parseModulesInfo(body: unknown): { used: number; total: number } | undefined {
  if (!Array.isArray(body)) return undefined;
  const asr = body.find((m) => m && typeof m === 'object' && (m as Record<string, unknown>).type === 'batched_asr') as Record<string, unknown> | undefined;
  const used = Number(asr?.used_slots);
  const total = Number(asr?.total_slots);
  return asr && Number.isInteger(used) && Number.isInteger(total) && used >= 0 && total > 0 ? { used, total } : undefined;
}

export function decideStt(i: { policy: SttPolicy; current: number; pods: readonly SttPodSlots[]; state?: ScalingState; now: number }): SttDecision {
  const { policy, current, pods } = i;
  const bounds = { min: policy.minPods, max: policy.maxPods };
  const known = pods.filter((p) => p.used !== undefined && p.total !== undefined);
  const usedSlots = known.reduce((a, p) => a + p.used!, 0);
  const totalSlots = known.reduce((a, p) => a + p.total!, 0);
  const unknown = pods.length - known.length;
  const refused = known.reduce((a, p) => a + (p.refused ?? 0), 0);
  const core = decideReplicas({
    bounds,
    current,
    pods: pods.map((p) => ({ known: p.used !== undefined && p.total !== undefined, busy: (p.used ?? 0) > 0 })),
    demand: usedSlots + refused + policy.freeSlots,
    perPod: policy.slotsPerPod,
    delaySeconds: policy.scaleDownDelaySeconds,
    ...(i.state ? { state: i.state } : {}),
    now: i.now,
    words: STT_WORDS,
    load: `${usedSlots} of ${plural(totalSlots, 'slot')} in use on ${plural(known.length, 'pod')}${refused ? `, ${plural(refused, 'stream')} refused` : ''}${unknown ? ` (${unknown} unreadable)` : ''}`,
    wantedBecause: `at ${policy.slotsPerPod} slots per pod with ${policy.freeSlots} kept free (max ${bounds.max})`,
    fitBecause: `${policy.slotsPerPod} slots per pod, ${policy.freeSlots} kept free`,
  });
  return { ...core, usedSlots, totalSlots, refusedStreams: refused, saturated: refused > 0 || totalSlots - usedSlots < policy.freeSlots };
}
