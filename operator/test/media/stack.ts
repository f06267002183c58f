// Shared pieces of the media tests: render an example the way the operator does, start a pod of
// it in the sandbox, wait for it as its readinessProbe would, and drive the probe client.
import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { validateMeetingCluster } from '../../src/api/validate.js';
import type { MeetingCluster } from '../../src/api/types.js';
import { renderCluster } from '../../src/render/index.js';
import type { RenderedObject as KubeObject } from '../../src/kube/object.js';
import { TEST_SECRETS } from '../specs.js';
import { mediaBinaries } from './binaries.js';
import { localImages, materialise, type MaterialiseOptions, type PodProcess } from './pods.js';
import { sleep, type Proc, type Sandbox } from './sandbox.js';

export const PROBE = join(import.meta.dirname, 'probe.ts');

/** coturn's use-auth-secret (TURN REST) credentials, as LiveKit mints them for rtc.turn_servers[].secret. */
export function turnRestCredentials(secret: string, identity: string, ttlSeconds = 600): { username: string; password: string } {
  const username = `${Math.floor(Date.now() / 1000) + ttlSeconds}:${identity}`;
  return { username, password: createHmac('sha1', secret).update(username).digest('base64') };
}

export interface Rendered {
  mc: MeetingCluster;
  objects: KubeObject[];
}

/** validate + render an example with the fixed test credentials (as the controller would). */
export function renderExample(file: string): Rendered {
  const manifest = parse(readFileSync(join('examples', file), 'utf8'));
  const { cluster, errors } = validateMeetingCluster(manifest);
  if (!cluster) throw new Error(`examples/${file} is invalid: ${JSON.stringify(errors)}`);
  return { mc: cluster, objects: renderCluster(cluster, TEST_SECRETS) };
}

export const secretValue = (objects: KubeObject[], name: string, key: string): string => {
  const s = objects.find((o) => o.kind === 'Secret' && o.metadata.name === name) as any;
  if (!s?.data?.[key]) throw new Error(`Secret ${name} has no key ${key}`);
  return Buffer.from(s.data[key], 'base64').toString('utf8');
};

export const configFile = (objects: KubeObject[], name: string, key: string): string => {
  const c = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name) as any;
  if (!c?.data?.[key]) throw new Error(`ConfigMap ${name} has no key ${key}`);
  return c.data[key];
};

/** A kubernetes.io/tls Secret with a throw-away self-signed certificate (what a user would create). */
export function tlsSecret(dir: string, name: string, namespace: string, cn: string): KubeObject {
  mkdirSync(dir, { recursive: true });
  const crt = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  if (!existsSync(crt)) {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn}`, '-keyout', key, '-out', crt], { stdio: 'ignore' });
  }
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name, namespace },
    data: { 'tls.crt': readFileSync(crt).toString('base64'), 'tls.key': readFileSync(key).toString('base64') },
  };
}

/** An Opaque Secret a user would have created. */
export function userSecret(name: string, namespace: string, data: Record<string, string>): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name, namespace },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

export interface StartedPod {
  pod: PodProcess;
  proc: Proc;
}

/** Materialises one pod of a workload in sb.dir/pods/<podName> and starts it. */
export function startPod(sb: Sandbox, o: Omit<MaterialiseOptions, 'dir' | 'images' | 'hostIP'> & { hostIP?: string }): StartedPod {
  const bins = mediaBinaries();
  const pod = materialise({ ...o, hostIP: o.hostIP ?? '127.0.0.1', dir: join(sb.dir, 'pods', o.podName), images: localImages(sb.dir, bins) });
  const proc = sb.spawn({ name: o.podName, argv: pod.argv, env: pod.env, cwd: pod.cwd, user: pod.user, ...(pod.readOnlyRoot ? { readOnlyRoot: pod.readOnlyRoot } : {}) });
  return { pod, proc };
}

/** One attempt of a tcpSocket / httpGet probe, from inside the namespace (bash /dev/tcp). */
async function probeOnce(sb: Sandbox, probe: any, portMap: Record<number, number>): Promise<string | undefined> {
  const port = (p: number) => portMap[p] ?? p;
  if (probe.tcpSocket) {
    const r = await sb.run({ name: 'probe-tcp', argv: ['/bin/bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${port(probe.tcpSocket.port)}`], timeoutMs: 5000 });
    return r.code === 0 ? undefined : `tcp ${port(probe.tcpSocket.port)}: ${r.stderr.trim()}`;
  }
  if (probe.httpGet) {
    const script = `exec 3<>/dev/tcp/127.0.0.1/${port(probe.httpGet.port)} && printf 'GET ${probe.httpGet.path} HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' >&3 && head -n 1 <&3`;
    const r = await sb.run({ name: 'probe-http', argv: ['/bin/bash', '-c', script], timeoutMs: 5000 });
    const status = Number(r.stdout.split(' ')[1]);
    return r.code === 0 && status >= 200 && status < 400 ? undefined : `GET ${probe.httpGet.path} on ${port(probe.httpGet.port)}: ${r.stdout.trim() || r.stderr.trim()}`;
  }
  throw new Error(`unsupported probe ${JSON.stringify(probe)}`);
}

/** Waits until the container's rendered readinessProbe passes (ports mapped as rewritten). */
export async function waitReady(sb: Sandbox, started: StartedPod, timeoutMs: number, portMap: Record<number, number> = {}): Promise<void> {
  const probe = (started.pod.container as any).readinessProbe;
  if (!probe) throw new Error(`${started.pod.podName} has no readinessProbe`);
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    if (!started.proc.running) throw new Error(`${started.pod.podName} exited (${JSON.stringify(started.proc.exitStatus)}) before it was ready; log tail:\n${started.proc.tail()}`);
    const failed = await probeOnce(sb, probe, portMap);
    if (failed === undefined) return;
    last = failed;
    if (Date.now() > deadline) throw new Error(`${started.pod.podName} not ready within ${timeoutMs} ms (${last}); log tail:\n${started.proc.tail()}`);
    await sleep(200);
  }
}

const MARK = '@@probe ';

function probeLines(stdout: string): any[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith(MARK))
    .map((l) => JSON.parse(l.slice(MARK.length)));
}

/** Runs a one-shot probe command in the namespace; returns its last result (throws on error). */
export async function probe(sb: Sandbox, command: string, args: unknown, timeoutMs = 20_000): Promise<any> {
  const r = await sb.run({ name: `probe-${command}`, argv: [mediaBinaries().node, PROBE, command, JSON.stringify(args)], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' }, timeoutMs });
  const out = probeLines(r.stdout);
  const err = out.find((o) => o.event === 'error');
  if (err || r.code !== 0) throw new Error(`probe ${command} failed (exit ${r.code}): ${err?.error ?? ''}\n${r.stderr.slice(-2000)}`);
  return out[out.length - 1];
}

/** A long-running probe (a participant, the DNS recorder): its events arrive as they are printed. */
export class LiveProbe {
  readonly events: any[] = [];
  private buf = '';

  constructor(
    readonly sb: Sandbox,
    readonly name: string,
    command: string,
    args: unknown,
  ) {
    const { child, proc } = sb.spawnPiped({ name, argv: [mediaBinaries().node, PROBE, command, JSON.stringify(args)], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' } });
    this.proc = proc;
    this.stdin = child.stdin!;
    child.stdout!.on('data', (d) => {
      this.buf += d;
      const lines = this.buf.split('\n');
      this.buf = lines.pop()!;
      for (const l of lines) {
        if (l.startsWith(MARK)) this.events.push(JSON.parse(l.slice(MARK.length)));
        appendFileSync(proc.logPath, l + '\n'); // SDK logs (pino writes to stdout) and events, in order
      }
    });
  }

  readonly proc: Proc;
  private readonly stdin: NodeJS.WritableStream;

  async waitFor(pred: (e: any) => boolean, timeoutMs: number, what: string): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.events.find(pred);
      if (hit) return hit;
      const err = this.events.find((e) => e.event === 'error');
      if (err) throw new Error(`${this.name}: ${err.error} (waiting for ${what}); stderr tail:\n${this.proc.tail(20)}`);
      if (!this.proc.running) throw new Error(`${this.name} exited before ${what}; events: ${JSON.stringify(this.events.slice(-5))}; stderr tail:\n${this.proc.tail(20)}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: no ${what} within ${timeoutMs} ms; events: ${JSON.stringify(this.events.slice(-5))}; stderr tail:\n${this.proc.tail(20)}`);
      await sleep(100);
    }
  }

  /** Asks the participant to leave (closes its stdin) and waits for it to exit. */
  async leave(timeoutMs = 10_000): Promise<void> {
    this.stdin.end();
    const timer = setTimeout(() => void this.proc.stop(), timeoutMs);
    await this.proc.exited;
    clearTimeout(timer);
  }
}

/** DNS recorder for the sandbox's resolv.conf (127.0.0.1:53); returns the names queried so far. */
export async function startDnsRecorder(sb: Sandbox): Promise<() => { name: string; type: number }[]> {
  const log = join(sb.logsDir, 'dns-queries.jsonl');
  const p = new LiveProbe(sb, 'dns', 'dns', { log });
  await p.waitFor((e) => e.event === 'ready', 10_000, 'DNS recorder ready');
  return () =>
    existsSync(log)
      ? readFileSync(log, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
      : [];
}

/** Parses Prometheus text format into {name, labels, value} samples. */
export function parsePrometheus(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[4]) });
  }
  return out;
}
