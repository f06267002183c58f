// The API server's audit log (JSON lines; the policy in hack/ logs writes, and the reads some tests
// ask for), read one way by every test and benchmark that checks what was really sent: the suites'
// helpers and bench/reconcile.mjs (which imports this file as is: Node strips the types, so keep to
// erasable TypeScript here). Incremental: each read() parses only what the server appended since.
import { closeSync, openSync, readSync } from 'node:fs';

export interface AuditEvent {
  auditID: string;
  /** ResponseComplete, or ResponseStarted for a watch still open. */
  stage: string;
  verb: string;
  user: string;
  userAgent: string;
  resource?: string;
  namespace?: string;
  name?: string;
  subresource?: string;
  code?: number;
  /** requestReceivedTimestamp, ms since the epoch. */
  received: number;
  /** stageTimestamp as logged (RFC 3339, microseconds): compares as a string. */
  completed: string;
}

/** One line of the log, or undefined for a stage we skip or a line cut short (a mark mid-line). */
export function parseAuditLine(line: string): AuditEvent | undefined {
  let e;
  try {
    e = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (e.stage !== 'ResponseComplete' && e.stage !== 'ResponseStarted') return undefined;
  return {
    auditID: e.auditID,
    stage: e.stage,
    verb: e.verb,
    user: e.user?.username,
    userAgent: e.userAgent ?? '',
    resource: e.objectRef?.resource,
    namespace: e.objectRef?.namespace,
    name: e.objectRef?.name,
    subresource: e.objectRef?.subresource,
    code: e.responseStatus?.code,
    received: Date.parse(e.requestReceivedTimestamp),
    completed: e.stageTimestamp,
  };
}

export class AuditReader {
  readonly events: AuditEvent[] = [];
  private readonly path: string;
  private offset: number;
  private partial = '';

  /** `from`: a byte offset (auditMark()) to ignore what the log held before it. */
  constructor(path: string, from = 0) {
    this.path = path;
    this.offset = from;
  }

  /** All events so far, in log order. */
  read(): AuditEvent[] {
    const fd = openSync(this.path, 'r');
    try {
      const buf = Buffer.alloc(1 << 20);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, this.offset);
        if (n <= 0) break;
        this.offset += n;
        this.partial += buf.subarray(0, n).toString('utf8');
      }
    } finally {
      closeSync(fd);
    }
    const lines = this.partial.split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) {
      const e = line ? parseAuditLine(line) : undefined;
      if (e) this.events.push(e);
    }
    return this.events;
  }

  /** Completed requests (a watch still open is not one yet). */
  completed(filter: (e: AuditEvent) => boolean = () => true): AuditEvent[] {
    return this.read().filter((e) => e.stage === 'ResponseComplete' && filter(e));
  }

  /** One event per request, open watches included (a watch logs ResponseStarted, then ResponseComplete). */
  requests(filter: (e: AuditEvent) => boolean = () => true): AuditEvent[] {
    const seen = new Set<string>();
    return this.read().filter((e) => filter(e) && !seen.has(e.auditID) && (seen.add(e.auditID), true));
  }
}
