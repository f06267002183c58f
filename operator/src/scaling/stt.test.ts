// The STT pool's decision: slots, not participants, through the same rules as the SFU (core.ts).
import { describe, expect, it } from 'vitest';
import type { ScalingState } from './core.js';
import { decideStt, parseModulesInfo, type SttPodSlots } from './stt.js';

const policy = { minPods: 1, maxPods: 5, slotsPerPod: 8, freeSlots: 2, scaleDownDelaySeconds: 300 };
const T0 = 1_000_000_000;
/** Pods with these slots in use (8 each); undefined: /api/modules_info unreadable. */
const pods = (...used: (number | undefined)[]): SttPodSlots[] => used.map((u, i) => ({ name: `stt-${i}`, ...(u === undefined ? {} : { used: u, total: 8 }) }));
const lowFor = (seconds: number, replicas: number): ScalingState => ({ since: T0 - seconds * 1000, window: [{ at: T0 - seconds * 1000, replicas }] });
const run = (current: number, p: SttPodSlots[], state?: ScalingState) => decideStt({ policy, current, pods: p, now: T0, ...(state ? { state } : {}) });

describe('the STT pool decision', () => {
  it('scales up before the pool is full: the free slots kept are part of the need', () => {
    // 7 of 8 used: 7 + 2 free > 8 -> a second pod now, not when the 9th participant is refused.
    const d = run(1, pods(7));
    expect(d).toMatchObject({ replicas: 2, reason: 'ScaledUp', usedSlots: 7, totalSlots: 8, saturated: true });
    expect(d.message).toBe('7 of 8 slots in use on 1 pod need 2 STT pods at 8 slots per pod with 2 kept free (max 5)');
    expect(run(2, pods(8, 8))).toMatchObject({ replicas: 3, saturated: true });
    expect(run(2, pods(3, 3))).toMatchObject({ replicas: 2, reason: 'Stable', saturated: false });
  });

  it('counts the streams a full pool refused as demand: otherwise it would never grow past full', () => {
    const full = [{ name: 'stt-0', used: 8, total: 8, refused: 5 }];
    const d = run(1, full);
    // 8 used + 5 refused + 2 free = 15 slots: 2 pods.
    expect(d).toMatchObject({ replicas: 2, reason: 'ScaledUp', refusedStreams: 5, saturated: true });
    expect(d.message).toMatch(/^8 of 8 slots in use on 1 pod, 5 streams refused need 2 STT pods/);
    expect(decideStt({ policy: { ...policy, freeSlots: 0 }, current: 1, pods: [{ name: 'stt-0', used: 8, total: 8 }], now: T0 })).toMatchObject({ replicas: 1, reason: 'Stable' });
  });

  it('never removes a pod with an open stream; removes the idle ones once low for the delay', () => {
    // 2 streams on 2 different pods of 4: they need 1 pod (2 + 2 free <= 8), but 2 pods hold streams.
    const d = run(4, pods(1, 1, 0, 0), lowFor(400, 1));
    expect(d).toMatchObject({ replicas: 2, reason: 'ScaledDown', busyPods: 2 });
    expect(d.message).toMatch(/2 pods hold open subtitle streams$/);
    expect(run(2, pods(1, 1), lowFor(400, 1))).toMatchObject({ replicas: 2, reason: 'PodsHoldStreams' });
    expect(run(4, pods(0, 0, 0, 0), lowFor(120, 1))).toMatchObject({ replicas: 4, reason: 'ScaleDownPending' });
  });

  it('does not shrink while a pod cannot be read, and stays within minPods and maxPods', () => {
    expect(run(3, pods(0, 0, undefined), lowFor(400, 1))).toMatchObject({ replicas: 3, reason: 'MetricsUnknown', unknownPods: 1 });
    expect(run(5, pods(8, 8, 8, 8, 8))).toMatchObject({ replicas: 5, reason: 'Stable', saturated: true });
    expect(run(0, [])).toMatchObject({ replicas: 1, reason: 'BelowMinimum' });
  });
});

describe('moshi-server /api/modules_info', () => {
  it('reads the batched ASR module\'s slots (strings in its JSON)', () => {
    const body = [{ type: 'batched_asr', path: '/api/asr-streaming', lm: '/models/lm.safetensors', audio_tokenizer: '/models/mimi.safetensors', used_slots: '3', total_slots: '8' }];
    expect(parseModulesInfo(body)).toEqual({ used: 3, total: 8 });
    expect(parseModulesInfo([{ type: 'py', used_slots: '1', total_slots: '4' }])).toBeUndefined();
    expect(parseModulesInfo([{ type: 'batched_asr', used_slots: 'x', total_slots: '8' }])).toBeUndefined();
    expect(parseModulesInfo({ used_slots: '1' })).toBeUndefined();
  });
});
