// Reads the few gauges the autoscaler needs from a Prometheus text exposition (format 0.0.4, what
// livekit-server's client_golang serves). Only sample lines are parsed; # HELP/# TYPE are skipped.
// A full client library is not worth it: we read three series and never write any.

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/gy;

const unescape = (v: string) => v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));

function parseLabels(text: string): Record<string, string> | undefined {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  let m: RegExpExecArray | null;
  while (LABEL.lastIndex < text.length && (m = LABEL.exec(text))) labels[m[1]!] = unescape(m[2]!);
  return LABEL.lastIndex === text.length || text.trim() === '' ? labels : undefined;
}

function parseValue(v: string): number {
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  return Number(v);
}

/** Samples of the named metrics (all of them when names is empty); malformed lines are skipped. */
export function parseExposition(text: string, names: readonly string[] = []): Sample[] {
  const wanted = new Set(names);
  const out: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m || (wanted.size && !wanted.has(m[1]!))) continue;
    const labels = parseLabels(m[2] ?? '');
    const value = parseValue(m[3]!);
    if (labels && !Number.isNaN(value)) out.push({ name: m[1]!, labels, value });
  }
  return out;
}

/** Sum of a metric's samples (a gauge without labels has one), or undefined when absent. */
export function sumOf(samples: readonly Sample[], name: string): number | undefined {
  const s = samples.filter((x) => x.name === name);
  return s.length ? s.reduce((a, x) => a + x.value, 0) : undefined;
}
