// The contract between `meet-operator check --report` (which writes it) and the operator (which reads
// it into the ConnectivityVerified condition): a small JSON annotation on the MeetingCluster.
export type ConnectivityStatus = 'pass' | 'warn' | 'fail';

export interface ConnectivitySummary {
  /** When the check ended (RFC 3339). */
  at: string;
  status: ConnectivityStatus;
  passed: number;
  warnings: number;
  /** "group/name" of each failed check (at most 8). */
  failed: string[];
  /** The first failure's hint. */
  hint?: string;
}

/** The annotation read back; undefined when it is not a summary (hand-edited, truncated). */
export function parseConnectivity(text: string | undefined): ConnectivitySummary | undefined {
  if (!text) return undefined;
  let v: any;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  const ok =
    v && typeof v.at === 'string' && !Number.isNaN(Date.parse(v.at)) && ['pass', 'warn', 'fail'].includes(v.status) &&
    Number.isInteger(v.passed) && Number.isInteger(v.warnings) && Array.isArray(v.failed) && v.failed.every((f: unknown) => typeof f === 'string') &&
    (v.hint === undefined || typeof v.hint === 'string');
  return ok ? (v as ConnectivitySummary) : undefined;
}
