// A control plane owned by one test file (hack/controlplane-up.sh in a temp dir), for faults the
// shared one must not suffer: restarting kube-apiserver, throttling it, many kwok nodes. The shared
// helpers (kubectl.ts, operator-process.ts) are bound to the shared control plane; these take the
// kubeconfig and audit log of this one.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { KUBECTL, kubectl, type Result } from './kubectl.js';
import { spawnNode, type OperatorProcess } from './operator-process.js';

export interface ControlPlaneOptions {
  nodes?: number;
  /** Extra client identities (no group, no rights until bound): kubeconfigs/<user>.kubeconfig. */
  users?: string[];
  /** Users whose read requests are audited too (the default policy audits writes only). */
  auditReadUsers?: string[];
  /** Extra kube-apiserver flags (kept when it is restarted). */
  apiserverArgs?: string[];
}

function runHack(script: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join('hack', script), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (c) => (out += c));
    child.stderr.on('data', (c) => (out += c));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`hack/${script} ${args.join(' ')} failed (${code}):\n${out.slice(-3000)}`))));
  });
}

export class ControlPlane {
  readonly kubeconfig: string;
  readonly auditLog: string;
  readonly env: Record<string, string>;

  private constructor(readonly dir: string) {
    this.kubeconfig = join(dir, 'kubeconfig');
    this.auditLog = join(dir, 'audit.log');
    this.env = Object.fromEntries(
      readFileSync(join(dir, 'env'), 'utf8')
        .split('\n')
        .map((l) => /^([A-Z_]+)='(.*)'$/.exec(l))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => [m[1], m[2]]),
    );
  }

  /** Starts one in a fresh temp dir; a watchdog stops it if this worker dies without down(). */
  static async start(o: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const dir = mkdtempSync(join(process.env.CONTROLPLANE_TMPDIR ?? tmpdir(), 'meet-operator-faults-'));
    const keep = process.env.CONTROLPLANE_KEEP === '1';
    await runHack(
      'controlplane-up.sh',
      ['--watch-pid', String(process.pid), ...(keep ? [] : ['--watch-clean']), ...(o.users ?? []).flatMap((u) => ['--user', u]), dir],
      { NODES: String(o.nodes ?? 4), AUDIT_READ_USERS: (o.auditReadUsers ?? []).join(','), APISERVER_EXTRA_ARGS: (o.apiserverArgs ?? []).join(' ') },
    );
    return new ControlPlane(dir);
  }

  async down(): Promise<void> {
    const keep = process.env.CONTROLPLANE_KEEP === '1';
    await runHack('controlplane-down.sh', [...(keep ? [] : ['--clean']), this.dir], { DOWN_GRACE: '2' });
    if (keep) console.log(`[faults] kept control plane ${this.dir}`);
  }

  /** Stops one component abruptly (SIGTERM, then SIGKILL after 1 s), as a crash or a node loss would. */
  stopComponent(name: string): Promise<void> {
    return runHack('controlplane-down.sh', ['--only', name, this.dir], { DOWN_GRACE: '1' });
  }

  /** Starts it again with its original command line and waits until it is healthy. */
  startComponent(name: string): Promise<void> {
    return runHack('controlplane-up.sh', ['--only', name, this.dir]);
  }

  userKubeconfig(user: string): string {
    return join(this.dir, 'kubeconfigs', `${user}.kubeconfig`);
  }

  /** A copy of a kubeconfig whose server is `server` (e.g. a proxy in front of the API server). */
  kubeconfigVia(kubeconfig: string, server: string, name: string): string {
    const kc = parse(readFileSync(kubeconfig, 'utf8'));
    for (const c of kc.clusters) c.cluster.server = server;
    const path = join(this.dir, 'kubeconfigs', `${name}.kubeconfig`);
    writeFileSync(path, stringify(kc), { mode: 0o600 });
    return path;
  }

  kubectl(args: string[], input?: string): Result {
    return kubectl(['--kubeconfig', this.kubeconfig, ...args], input);
  }

  kubectlOk(args: string[], input?: string): string {
    const r = this.kubectl(args, input);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}): ${r.stderr || r.stdout}`);
    return r.stdout;
  }

  /** kubectl in the background, for a long command the test must watch while it runs. */
  kubectlAsync(args: string[]): Promise<Result> {
    return new Promise((resolve, reject) => {
      const child = spawn(KUBECTL, ['--kubeconfig', this.kubeconfig, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '', stderr = '';
      child.stdout.on('data', (c) => (stdout += c));
      child.stderr.on('data', (c) => (stderr += c));
      child.on('error', reject);
      child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
  }

  getJson(...args: string[]): any {
    return JSON.parse(this.kubectlOk(['get', ...args, '-o', 'json']));
  }

  tryGet(...args: string[]): any {
    const r = this.kubectl(['get', ...args, '-o', 'json']);
    return r.code === 0 ? JSON.parse(r.stdout) : undefined;
  }

  /** Server-side apply of any number of objects in one request stream. */
  apply(objects: any[]): void {
    this.kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  }

  /**
   * The operator as a process against this control plane (`kubeconfig`: whose identity it uses).
   * With CONTROLPLANE_KEEP=1 its log is written into the kept dir when it exits. FAULTS_OPERATOR_BIN
   * runs another build (e.g. one without a fix, to see the test fail).
   */
  startOperator(identity: string, args: string[], kubeconfig = this.kubeconfig): OperatorProcess {
    const argv = [process.env.FAULTS_OPERATOR_BIN ?? 'dist/cli/bin.js', 'run', '--kubeconfig', kubeconfig, '--listen', '127.0.0.1:0', '--leader-election-namespace', 'default', '--identity', identity, ...args];
    const op = { identity, ...spawnNode(argv, { ...process.env, LOG_LEVEL: 'debug' }) };
    if (process.env.CONTROLPLANE_KEEP === '1') void op.exited.then(() => appendFileSync(join(this.dir, 'logs', `operator-${identity}.log`), op.logs.join('\n') + '\n'));
    return op;
  }

  /** Compacts etcd up to its current revision: every older resourceVersion is gone (410 on watch). */
  async compactEtcd(): Promise<number> {
    const post = async (path: string, body: unknown) => {
      const r = await fetch(`${this.env.ETCD_URL}${path}`, { method: 'POST', body: JSON.stringify(body) });
      if (!r.ok) throw new Error(`etcd ${path}: ${r.status} ${await r.text()}`);
      return r.json() as Promise<any>;
    };
    const revision = Number((await post('/v3/kv/range', { key: Buffer.from('/').toString('base64'), limit: 1 })).header.revision);
    await post('/v3/kv/compaction', { revision: String(revision), physical: true });
    return revision;
  }
}

export { AuditReader, type AuditEvent } from '../audit-log.js';

export const WRITE_VERBS = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** Most requests within any `windowMs` window, and the mean rate over [from, to] (per second). */
export function rates(times: number[], from: number, to: number, windowMs = 1000): { peak: number; mean: number; total: number } {
  const t = times.filter((x) => x >= from && x <= to).sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; i < t.length; i++) {
    while (t[i]! - t[j]! >= windowMs) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return { peak, mean: t.length / Math.max((to - from) / 1000, 0.001), total: t.length };
}
