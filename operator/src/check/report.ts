import type { ConnectivitySummary } from '../api/connectivity.js';

// What `meet-operator check` found, and how it is printed: grouped checks, each pass/warn/fail/skip
// with a hint naming the likely cause, as `linkerd check` does; JSON for machines; an exit code.

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /** dns, signalling, sovereignty, stun, turn, media. */
  group: string;
  name: string;
  status: CheckStatus;
  /** What was seen (addresses, node ids, frames received) or what went wrong. */
  detail: string;
  /** The likely cause and what to do, when not a pass. */
  hint?: string;
  ms?: number;
}

export interface ClusterReport {
  namespace: string;
  name: string;
  status: CheckStatus;
  checks: CheckResult[];
}

const RANK: Record<CheckStatus, number> = { pass: 0, skip: 0, warn: 1, fail: 2 };

/** The worst status of the checks (a skip is no failure: its cause failed, and says so). */
export function overall(checks: readonly CheckResult[]): CheckStatus {
  return checks.reduce<CheckStatus>((worst, c) => (RANK[c.status] > RANK[worst] ? c.status : worst), 'pass');
}

export function clusterReport(namespace: string, name: string, checks: CheckResult[]): ClusterReport {
  return { namespace, name, status: overall(checks), checks };
}

/** 1 when any check failed; warnings alone exit 0 (as linkerd check does). */
export const exitCode = (reports: readonly ClusterReport[]): number => (reports.some((r) => r.status === 'fail') ? 1 : 0);

const MARK: Record<CheckStatus, string> = { pass: '√', warn: '‼', fail: '×', skip: '-' };

/** Text output, one check at a time as they end (progress for long calls), then the summary line. */
export class TextPrinter {
  private group = '';

  begin(namespace: string, name: string): string {
    this.group = '';
    return `${namespace}/${name}\n${'='.repeat(namespace.length + name.length + 1)}\n`;
  }

  result(c: CheckResult): string {
    const head = c.group === this.group ? '' : `\n${c.group}\n${'-'.repeat(c.group.length)}\n`;
    this.group = c.group;
    return `${head}${MARK[c.status]} ${c.name}: ${c.detail}\n${c.hint && c.status !== 'pass' ? `    hint: ${c.hint}\n` : ''}`;
  }

  end(r: ClusterReport): string {
    const count = (s: CheckStatus) => r.checks.filter((c) => c.status === s).length;
    return `\n${MARK[r.status]} ${r.namespace}/${r.name}: ${count('pass')} passed, ${count('warn')} warnings, ${count('fail')} failed, ${count('skip')} skipped\n\n`;
  }
}

export function formatText(reports: readonly ClusterReport[]): string {
  const p = new TextPrinter();
  return reports.map((r) => p.begin(r.namespace, r.name) + r.checks.map((c) => p.result(c)).join('') + p.end(r)).join('');
}

export function connectivitySummary(r: ClusterReport, at: Date): ConnectivitySummary {
  const failed = r.checks.filter((c) => c.status === 'fail');
  return {
    at: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    status: r.status === 'skip' ? 'pass' : r.status,
    passed: r.checks.filter((c) => c.status === 'pass').length,
    warnings: r.checks.filter((c) => c.status === 'warn').length,
    failed: failed.slice(0, 8).map((c) => `${c.group}/${c.name}`),
    ...(failed[0]?.hint ? { hint: failed[0].hint } : {}),
  };
}
