// Credentials for the API server, without @kubernetes/client-node in the long-running process.
// client-node stays the one that understands kubeconfigs (exec plugins, auth providers, in-cluster
// service accounts, token files), but importing it keeps its whole generated API in memory (~80 MB
// RSS on Node 24, for a few hundred lines of kubeconfig logic). So a short-lived child process
// (kubeconfig-child.ts) resolves the credentials and hands them over as JSON; it runs again only when
// they are about to expire (exec plugin expiry, JWT `exp`) or when invalidate() says the server
// refused them. Material that lives in files (the rotating in-cluster service-account token, CA and
// client certificate files) is re-read here every minute, as client-node would.
import { execFile, execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import type https from 'node:https';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

/** What KubeHttp needs from its credentials; a client-node KubeConfig has this shape too. */
export interface CredentialSource {
  getCurrentCluster(): { server: string } | null;
  applyToHTTPSOptions(opts: https.RequestOptions): Promise<void>;
}

/** What the child prints (Buffers as base64). */
export interface Resolved {
  server: string;
  ca?: string;
  cert?: string;
  key?: string;
  headers: Record<string, string>;
  auth?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
  /** Files the material above came from, to be re-read as they rotate. */
  files?: MaterialFiles;
  expiresAt?: number;
}

export interface MaterialFiles {
  token?: string;
  ca?: string;
  cert?: string;
  key?: string;
}

export interface CredentialTiming {
  /** Resolve again this long before the credentials expire (KubeHttp reuses options for 60 s). */
  refreshMarginMs: number;
  /** Never run the child more often than this. */
  minResolveIntervalMs: number;
  /** The child gave credentials that had already expired: ask again only this often. */
  staleRetryMs: number;
  /** Re-read token, CA and certificate files older than this (client-node and client-go: 60 s). */
  fileMaxAgeMs: number;
  /** Time the child may take (exec plugins of cloud CLIs can be slow). */
  childTimeoutMs: number;
}

const DEFAULT_TIMING: CredentialTiming = { refreshMarginMs: 90_000, minResolveIntervalMs: 60_000, staleRetryMs: 10 * 60_000, fileMaxAgeMs: 60_000, childTimeoutMs: 60_000 };

// Next to this module: dist/kube/kubeconfig-child.js, or the .ts source when run by vitest.
const CHILD = fileURLToPath(new URL(`./kubeconfig-child${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
const childArgs = (kubeconfig?: string) => [CHILD, kubeconfig ?? ''];

function parse(stdout: string): Resolved {
  const r = JSON.parse(stdout) as Resolved;
  if (!r.server) throw new Error('kubeconfig has no current cluster');
  return r;
}

function childError(e: unknown): Error {
  const stderr = String((e as { stderr?: unknown }).stderr ?? '').trim();
  return new Error(`loading kubeconfig credentials: ${stderr || (e as Error).message}`);
}

/** `exp` of a JWT bearer token, in ms; undefined for opaque tokens. */
export function jwtExpiry(authorization: string | undefined): number | undefined {
  const m = /^Bearer [\w-]+\.([\w-]+)\.[\w-]*$/.exec(authorization ?? '');
  if (!m) return undefined;
  try {
    const exp = (JSON.parse(Buffer.from(m[1]!, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
    return typeof exp === 'number' ? exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}

export class ChildProcessCredentials implements CredentialSource {
  private r: Resolved;
  private tls: Pick<https.RequestOptions, 'ca' | 'cert' | 'key'> = {};
  private resolvedAt: number;
  /** How many times the child has run (for tests and logs). */
  resolutions = 1;
  private pending?: Promise<void>;
  private invalidated = false;
  private fromFiles?: { readAt: number; token?: string; ca?: Buffer; cert?: Buffer; key?: Buffer };
  private readonly timing: CredentialTiming;

  /** Resolves synchronously once (the server URL is needed at construction), then asynchronously. */
  constructor(
    private readonly kubeconfig?: string,
    timing: Partial<CredentialTiming> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.timing = { ...DEFAULT_TIMING, ...timing };
    let out: string;
    try {
      out = execFileSync(process.execPath, childArgs(kubeconfig), { encoding: 'utf8', timeout: this.timing.childTimeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (e) {
      throw childError(e);
    }
    this.r = this.accept(parse(out));
    this.resolvedAt = this.now();
  }

  getCurrentCluster(): { server: string } {
    return { server: this.r.server };
  }

  /** The server refused the credentials (401): resolve them again before the next request. */
  invalidate(): void {
    this.invalidated = true;
    this.fromFiles = undefined;
  }

  async applyToHTTPSOptions(opts: https.RequestOptions): Promise<void> {
    if (this.due()) await (this.pending ??= this.resolve().finally(() => (this.pending = undefined)));
    const headers = (opts.headers ??= {}) as Record<string, string>;
    Object.assign(headers, this.r.headers);
    Object.assign(opts, this.tls);
    const files = await this.fileMaterial();
    if (files?.token) headers.Authorization = `Bearer ${files.token}`;
    for (const k of ['ca', 'cert', 'key'] as const) if (files?.[k]) opts[k] = files[k];
    if (this.r.auth) opts.auth = this.r.auth;
    if (this.r.rejectUnauthorized !== undefined) opts.rejectUnauthorized = this.r.rejectUnauthorized;
    if (this.r.servername) (opts as { servername?: string }).servername = this.r.servername;
  }

  /** When the current credentials stop being good: the earliest expiry known, if any. */
  get expiresAt(): number | undefined {
    // A token file's token is re-read, not re-resolved.
    const jwt = this.r.files?.token ? undefined : jwtExpiry(this.r.headers.Authorization);
    const all = [this.r.expiresAt, jwt].filter((t): t is number => t !== undefined);
    return all.length ? Math.min(...all) : undefined;
  }

  private due(): boolean {
    const since = this.now() - this.resolvedAt;
    if (since < this.timing.minResolveIntervalMs) return false;
    if (this.invalidated) return true;
    const exp = this.expiresAt;
    if (exp === undefined) return false;
    // Already expired when resolved (a static token): asking every minute will not make it better.
    if (this.resolvedAt >= exp && since < this.timing.staleRetryMs) return false;
    return this.now() >= exp - this.timing.refreshMarginMs;
  }

  private async resolve(): Promise<void> {
    const out = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, childArgs(this.kubeconfig), { encoding: 'utf8', timeout: this.timing.childTimeoutMs }, (e, stdout, stderr) =>
        e ? reject(childError(Object.assign(e, { stderr }))) : resolve(stdout),
      ),
    );
    this.resolutions++;
    this.r = this.accept(parse(out));
    this.resolvedAt = this.now();
    this.invalidated = false;
    this.fromFiles = undefined;
  }

  private accept(r: Resolved): Resolved {
    const buf = (s?: string) => (s ? Buffer.from(s, 'base64') : undefined);
    this.tls = Object.fromEntries(Object.entries({ ca: buf(r.ca), cert: buf(r.cert), key: buf(r.key) }).filter(([, v]) => v));
    return r;
  }

  private async fileMaterial(): Promise<ChildProcessCredentials['fromFiles']> {
    const f = this.r.files;
    if (!f || !(f.token || f.ca || f.cert || f.key)) return undefined;
    if (!this.fromFiles || this.now() - this.fromFiles.readAt > this.timing.fileMaxAgeMs) {
      const read = (path?: string) => (path ? readFile(path) : Promise.resolve(undefined));
      const [token, ca, cert, key] = await Promise.all([read(f.token), read(f.ca), read(f.cert), read(f.key)]);
      this.fromFiles = { readAt: this.now(), token: token?.toString('utf8').trim(), ca, cert, key };
    }
    return this.fromFiles;
  }
}
