// Scrapes one SFU pod's Prometheus endpoint. A pod that does not answer in time, answers with an
// error, or lacks the series is unknown: the caller must not read that as "empty".
import { parseExposition, sumOf, type Sample } from './exposition.js';
import { LIVEKIT_METRICS } from './metric-names.js';
import type { KubeObject } from '../kube/object.js';

export interface PodMetrics {
  participants: number;
  rooms: number;
  /** process_cpu_seconds_total of livekit-server (Go's process collector), when served. */
  cpuSeconds?: number;
  /** LiveKit's id for this node (label node_id): how its rooms are named in LiveKit's Redis state. */
  nodeId?: string;
}

/** The port an SFU pod serves its metrics on: its port named "metrics" (each upgrade slot has its own), else the spec's. */
export const sfuMetricsPort = (pod: KubeObject, specPort: number): number =>
  pod.spec?.containers?.flatMap((c: any) => c.ports ?? []).find((p: any) => p.name === 'metrics')?.containerPort ?? specPort;

/** LiveKit's id for the node that served these samples (label node_id of its participant gauge). */
export const nodeIdOf = (samples: readonly Sample[]): string | undefined => samples.find((s) => s.name === LIVEKIT_METRICS.participants)?.labels.node_id;

const WANTED = [LIVEKIT_METRICS.participants, LIVEKIT_METRICS.rooms, 'process_cpu_seconds_total'];

/** Largest body read: LiveKit's exposition is ~100 KB; anything far bigger is not a LiveKit node. */
const MAX_BYTES = 4 * 1024 * 1024;

export async function scrapePod(url: string, timeoutMs: number): Promise<PodMetrics> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { Accept: 'text/plain;version=0.0.4' } });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  const length = Number(res.headers.get('content-length') ?? 0);
  if (length > MAX_BYTES) throw new Error(`${url}: ${length} bytes is not a LiveKit exposition`);
  const text = await res.text();
  if (text.length > MAX_BYTES) throw new Error(`${url}: ${text.length} bytes is not a LiveKit exposition`);
  const samples = parseExposition(text, WANTED);
  const participants = sumOf(samples, LIVEKIT_METRICS.participants);
  const rooms = sumOf(samples, LIVEKIT_METRICS.rooms);
  // LiveKit registers both gauges at start-up; their absence means this is not a LiveKit node.
  if (participants === undefined || rooms === undefined) throw new Error(`${url}: no ${LIVEKIT_METRICS.participants}/${LIVEKIT_METRICS.rooms} series`);
  const cpuSeconds = sumOf(samples, 'process_cpu_seconds_total');
  const nodeId = nodeIdOf(samples);
  return { participants, rooms, ...(cpuSeconds === undefined ? {} : { cpuSeconds }), ...(nodeId ? { nodeId } : {}) };
}

/** Runs fn over items with at most `limit` in flight; results in input order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
