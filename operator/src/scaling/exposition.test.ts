import { describe, expect, it } from 'vitest';
import { parseExposition, sumOf } from './exposition.js';
import { LIVEKIT_METRICS } from './metric-names.js';

// Shape of livekit-server v1.13.5's output (client_golang), trimmed.
const TEXT = `# HELP livekit_participant_total
# TYPE livekit_participant_total gauge
livekit_participant_total{node_id="ND_abc",node_type="SERVER"} 7
# HELP livekit_room_total
# TYPE livekit_room_total gauge
livekit_room_total{node_id="ND_abc",node_type="SERVER"} 2
livekit_track_published_total{kind="AUDIO",node_id="ND_abc",node_type="SERVER"} 3
livekit_track_published_total{kind="VIDEO",node_id="ND_abc",node_type="SERVER"} 4
process_cpu_seconds_total 12.5
go_gc_duration_seconds{quantile="0.5"} 1.2e-05
weird{a="x\\"y,z=\\\\",b="2"} +Inf
broken{a="x" 1
not a sample line
`;

describe('parseExposition', () => {
  it('reads labelled and bare samples', () => {
    const s = parseExposition(TEXT);
    expect(sumOf(s, LIVEKIT_METRICS.participants)).toBe(7);
    expect(sumOf(s, LIVEKIT_METRICS.rooms)).toBe(2);
    expect(sumOf(s, LIVEKIT_METRICS.publishedTracks)).toBe(7);
    expect(sumOf(s, 'process_cpu_seconds_total')).toBe(12.5);
    expect(s.find((x) => x.name === 'go_gc_duration_seconds')?.value).toBeCloseTo(1.2e-5);
  });

  it('unescapes label values and skips malformed lines', () => {
    const s = parseExposition(TEXT);
    expect(s.find((x) => x.name === 'weird')).toEqual({ name: 'weird', labels: { a: 'x"y,z=\\', b: '2' }, value: Infinity });
    expect(s.some((x) => x.name === 'broken' || x.name === 'not')).toBe(false);
  });

  it('keeps only the named metrics when asked; absent metric -> undefined', () => {
    const s = parseExposition(TEXT, [LIVEKIT_METRICS.rooms]);
    expect(s.map((x) => x.name)).toEqual([LIVEKIT_METRICS.rooms]);
    expect(sumOf(s, LIVEKIT_METRICS.participants)).toBeUndefined();
  });
});
