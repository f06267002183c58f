// A thin HTTP layer over the API server. @kubernetes/client-node supplies the credentials (kubeconfig,
// in-cluster service account, exec plugins); requests and watch streams are plain HTTPS so that
// server-side apply, the status subresource and watch bookmarks are used exactly as the API defines
// them, and every write can be counted.
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { ChildProcessCredentials, type CredentialSource } from './credentials.js';
import { jittered, sleep } from './backoff.js';

/** The operator's version: package.json's and the chart's appVersion (a unit test holds them equal). */
export const VERSION = '0.1.0';
export const USER_AGENT = `meet-operator/${VERSION}`;
/** The User-Agent of one part of the operator (a replica's identity, the CLI's token command): the API server's audit log names it. */
export const userAgent = (who: string): string => `${USER_AGENT} (${who})`;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof ApiError && e.status === 404;
export const isConflict = (e: unknown): boolean => e instanceof ApiError && e.status === 409;
export const isGone = (e: unknown): boolean => e instanceof ApiError && e.status === 410;

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /**
   * How often a request the server turned away unprocessed (429, or 503 with Retry-After) is sent
   * again, each time after the Retry-After the server asked for (default 3; 0 for callers that
   * must not wait, e.g. a lease renewal racing its deadline).
   */
  throttleRetries?: number;
  /** The body as text, not parsed as JSON (a pod's /metrics through the API server's proxy). */
  text?: boolean;
}

export type WriteObserver = (verb: string, path: string, status: number) => void;

const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Server-side apply bodies are JSON read by a YAML parser (application/apply-patch+yaml), which folds
 * NEL and the Unicode line/paragraph separators inside strings (measured: NEL became a space). JSON
 * escapes for them mean the same to a JSON parser and survive the YAML one; they can only occur
 * inside strings, so the replacement is safe.
 */
export function toJson(body: unknown, contentType?: string): string {
  const json = JSON.stringify(body);
  return contentType === 'application/apply-patch+yaml' ? json.replace(/[\u0085\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : json;
}

/** A Retry-After longer than this is cut short: the caller's own backoff takes over from there. */
export const MAX_RETRY_AFTER_MS = 30_000;

/**
 * How long to wait before sending a throttled request again: the server's Retry-After (seconds or an
 * HTTP date; 1 s when absent or unreadable), capped, plus up to 50% jitter so that workers throttled
 * at the same moment do not come back in step and collide again.
 */
export function retryAfterMs(header: string | string[] | undefined, random = Math.random): number {
  const v = Array.isArray(header) ? header[0] : header;
  let ms = 1000;
  if (v !== undefined && /^\s*\d+\s*$/.test(v)) ms = Number(v) * 1000;
  else if (v !== undefined && !Number.isNaN(Date.parse(v))) ms = Date.parse(v) - Date.now();
  ms = Math.min(Math.max(ms, 1000), MAX_RETRY_AFTER_MS);
  return jittered(ms, 0.5, random);
}

function queryString(q: Query = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v !== undefined) p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

/**
 * What most of the operator needs of the API server: one request at a time. Parts take this rather
 * than KubeHttp, so a test hands them a plain object that answers requests, without a cast.
 */
export interface Requester {
  request(method: string, path: string, opts?: RequestOptions): Promise<any>;
}

/** What a reflector needs: lists (requests) and watches (streams of events). */
export interface ListWatcher extends Requester {
  stream(path: string, query: Query, onLine: (obj: any) => void, signal: AbortSignal): Promise<void>;
}

export class KubeHttp implements ListWatcher {
  private base: URL;
  private options?: https.RequestOptions;
  private optionsAt = 0;
  private readonly agent = new https.Agent({ keepAlive: true, maxSockets: 32 });
  private readonly observers: WriteObserver[] = [];

  constructor(
    readonly kc: CredentialSource,
    private readonly userAgent = USER_AGENT,
  ) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    this.base = new URL(cluster.server);
  }

  /** A kubeconfig file, else client-node's defaults (KUBECONFIG, ~/.kube/config, in-cluster). */
  static fromKubeconfig(path?: string, userAgent?: string): KubeHttp {
    return new KubeHttp(new ChildProcessCredentials(path), userAgent);
  }

  /** Called for every write request (for metrics): verb, path, HTTP status. */
  onWrite(observer: WriteObserver): void {
    this.observers.push(observer);
  }

  /** TLS material and auth headers; refreshed every minute so rotated tokens are picked up. */
  private async requestOptions(): Promise<https.RequestOptions> {
    if (!this.options || Date.now() - this.optionsAt > 60_000) {
      const opts: https.RequestOptions = { headers: {} };
      await this.kc.applyToHTTPSOptions(opts);
      const { ca, cert, key, rejectUnauthorized, servername } = opts as https.RequestOptions & { servername?: string };
      this.options = {
        headers: { ...(opts.headers as Record<string, string>) },
        ca, cert, key,
        ...(opts.auth ? { auth: opts.auth } : {}),
        ...(rejectUnauthorized === undefined ? {} : { rejectUnauthorized }),
        ...(servername ? { servername } : {}),
      };
      this.optionsAt = Date.now();
    }
    return this.options;
  }

  private async open(method: string, path: string, opts: RequestOptions): Promise<IncomingMessage> {
    const base = await this.requestOptions();
    const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : toJson(opts.body, opts.contentType);
    const headers: Record<string, string> = {
      ...(base.headers as Record<string, string>),
      Accept: 'application/json',
      'User-Agent': this.userAgent,
    };
    if (body !== undefined) {
      headers['Content-Type'] = opts.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    return new Promise((resolve, reject) => {
      const req = https.request(
        {
          ...base,
          agent: this.agent,
          protocol: this.base.protocol,
          hostname: this.base.hostname,
          port: this.base.port,
          method,
          path: `${this.base.pathname.replace(/\/$/, '')}${path}${queryString(opts.query)}`,
          headers,
          ...(opts.signal ? { signal: opts.signal } : {}),
        },
        resolve,
      );
      req.on('error', reject);
      if (opts.timeoutMs) req.setTimeout(opts.timeoutMs, () => req.destroy(new Error(`${method} ${path}: no response within ${opts.timeoutMs} ms`)));
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  /**
   * One request; JSON in, JSON out; a non-2xx answer becomes an ApiError with the server's message.
   * A request the server turned away unprocessed (429; 503 with Retry-After) is sent again after the
   * Retry-After it asked for, a few times, whatever the verb: nothing was done, so it is safe, and
   * the waiting worker sends nothing meanwhile (client-go does the same).
   */
  async request<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const retries = opts.throttleRetries ?? 3;
    for (let attempt = 0; ; attempt++) {
      let res: IncomingMessage;
      try {
        res = await this.open(method, path, { timeoutMs: 30_000, ...opts });
      } catch (e) {
        // A kept-alive socket the server has just closed fails at once; idempotent requests
        // (everything but POST) are safely sent again, once, on a fresh socket.
        const code = (e as NodeJS.ErrnoException).code;
        if (method === 'POST' || (code !== 'ECONNRESET' && code !== 'EPIPE')) throw e;
        res = await this.open(method, path, { timeoutMs: 30_000, ...opts });
      }
      const status = res.statusCode ?? 0;
      const throttled = status === 429 || (status === 503 && res.headers['retry-after'] !== undefined);
      if (throttled && attempt < retries && !opts.signal?.aborted) {
        res.resume();
        if (WRITE_VERBS.has(method)) for (const o of this.observers) o(method, path, status);
        await sleep(retryAfterMs(res.headers['retry-after']), opts.signal);
        continue;
      }
      return this.finish<T>(method, path, res, opts.text);
    }
  }

  private async finish<T>(method: string, path: string, res: IncomingMessage, asText = false): Promise<T> {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const status = res.statusCode ?? 0;
    if (WRITE_VERBS.has(method)) for (const o of this.observers) o(method, path, status);
    const parsed = text ? safeJson(text) : undefined;
    if (status >= 400) {
      const s = parsed as { reason?: string; message?: string; details?: unknown } | undefined;
      throw new ApiError(status, s?.reason ?? String(status), `${method} ${path}: ${s?.message ?? text.slice(0, 500)}`, s?.details);
    }
    return (asText ? text : parsed) as T;
  }

  /** A streaming GET (watch): calls onLine for every JSON line until the stream ends or is aborted. */
  async stream(path: string, query: Query, onLine: (obj: any) => void, signal: AbortSignal): Promise<void> {
    const res = await this.open('GET', path, { query, signal });
    if ((res.statusCode ?? 0) >= 400) {
      const chunks: Buffer[] = [];
      for await (const c of res) chunks.push(c as Buffer);
      const s = safeJson(Buffer.concat(chunks).toString('utf8')) as { reason?: string; message?: string } | undefined;
      throw new ApiError(res.statusCode ?? 0, s?.reason ?? '', `watch ${path}: ${s?.message ?? res.statusCode}`);
    }
    let buffered = '';
    for await (const chunk of res) {
      buffered += (chunk as Buffer).toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) onLine(JSON.parse(line));
      }
    }
  }

  close(): void {
    this.agent.destroy();
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
