// A rendered container probe evaluated against a process in the sandbox the way the kubelet's prober
// worker does (pkg/kubelet/prober/worker.go, prober.go): one attempt every periodSeconds, each
// bounded by timeoutSeconds; tcpSocket = a TCP connect to the port, httpGet = an HTTP GET whose
// status must be 200..399 (User-Agent kube-probe/<version>); the result flips to failure after
// failureThreshold consecutive failed attempts and back after successThreshold successes. A
// liveness result of failure is what makes the kubelet kill and restart the container: it is
// recorded as `restartAt`, never acted on.
import type { Sandbox } from './sandbox.js';

export interface ProbeSpec {
  tcpSocket?: { port: number | string; host?: string };
  httpGet?: { path?: string; port: number | string; host?: string; scheme?: string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  successThreshold?: number;
}

export interface Attempt {
  at: number;
  ok: boolean;
  /** HTTP status (httpGet), 0 when no answer came within the timeout. */
  status?: number;
  detail: string;
}

export type ProbeKind = 'liveness' | 'readiness';

/** Defaults of the Kubernetes API (k8s.io/api core/v1 SetDefaults_Probe). */
const DEFAULTS = { periodSeconds: 10, timeoutSeconds: 1, failureThreshold: 3, successThreshold: 1, initialDelaySeconds: 0 };

/** A container port given by name resolves through the container's ports, as the kubelet does. */
function resolvePort(port: number | string, containerPorts: { name?: string; containerPort: number }[]): number {
  if (typeof port === 'number') return port;
  const p = containerPorts.find((c) => c.name === port);
  if (!p) throw new Error(`probe port ${port} is not a container port`);
  return p.containerPort;
}

export class KubeletProber {
  readonly attempts: Attempt[] = [];
  /** Result changes, as the kubelet's results manager sees them. */
  readonly transitions: { at: number; result: 'success' | 'failure' }[] = [];
  /** Liveness only: when the kubelet would have killed the container. */
  restartAt?: number;
  private result: 'success' | 'failure';
  private failures = 0;
  private successes = 0;
  private stopped = false;
  private loop?: Promise<void>;
  private readonly spec: Required<Omit<ProbeSpec, 'tcpSocket' | 'httpGet'>> & Pick<ProbeSpec, 'tcpSocket' | 'httpGet'>;

  constructor(
    private readonly sb: Sandbox,
    readonly kind: ProbeKind,
    probe: ProbeSpec,
    private readonly containerPorts: { name?: string; containerPort: number }[] = [],
    /** The pod's address (hostNetwork: the node's). */
    private readonly podIP = '127.0.0.1',
    /** Kubelet version sent in the User-Agent. */
    private readonly kubeletVersion = '1.36',
  ) {
    if (!probe.tcpSocket && !probe.httpGet) throw new Error(`only tcpSocket and httpGet probes are modelled: ${JSON.stringify(probe)}`);
    this.spec = { ...DEFAULTS, ...probe };
    // The kubelet starts readiness as failure (not ready until a probe passes), liveness as success.
    this.result = kind === 'readiness' ? 'failure' : 'success';
  }

  get current(): 'success' | 'failure' {
    return this.result;
  }

  get periodMs(): number {
    return this.spec.periodSeconds * 1000;
  }

  /** One attempt, bounded by timeoutSeconds, from inside the sandbox's network namespace. */
  async attempt(): Promise<Attempt> {
    const t = this.spec.timeoutSeconds;
    const at = Date.now();
    if (this.spec.tcpSocket) {
      const port = resolvePort(this.spec.tcpSocket.port, this.containerPorts);
      const host = this.spec.tcpSocket.host ?? this.podIP;
      const r = await this.sb.run({ name: `kubelet-${this.kind}`, argv: ['/usr/bin/timeout', String(t), '/bin/bash', '-c', `exec 3<>/dev/tcp/${host}/${port}`], timeoutMs: t * 1000 + 5000 });
      return { at, ok: r.code === 0, detail: r.code === 0 ? `tcp ${host}:${port} connected` : `tcp ${host}:${port}: ${r.code === 124 ? `no connection within ${t} s` : r.stderr.trim()}` };
    }
    const g = this.spec.httpGet!;
    const port = resolvePort(g.port, this.containerPorts);
    const url = `${(g.scheme ?? 'HTTP').toLowerCase()}://${g.host ?? this.podIP}:${port}${g.path ?? '/'}`;
    // The kubelet follows redirects and reads at most 10 KiB of the body.
    const r = await this.sb.run({
      name: `kubelet-${this.kind}`,
      argv: ['/usr/bin/curl', '-sS', '-k', '-L', '--max-time', String(t), '-A', `kube-probe/${this.kubeletVersion}`, '-H', 'Accept: */*', '-w', '\n%{http_code}', url],
      timeoutMs: t * 1000 + 5000,
    });
    const lines = r.stdout.split('\n');
    const status = Number(lines.pop());
    const body = lines.join('\n').slice(0, 10240).trim();
    const ok = r.code === 0 && status >= 200 && status < 400;
    return { at, ok, status, detail: `GET ${url}: ${status || r.stderr.trim()}${body ? ` ${JSON.stringify(body.slice(0, 200))}` : ''}` };
  }

  private record(a: Attempt): void {
    this.attempts.push(a);
    if (a.ok) {
      this.failures = 0;
      this.successes++;
      if (this.result === 'failure' && this.successes >= this.spec.successThreshold) this.flip('success', a.at);
    } else {
      this.successes = 0;
      this.failures++;
      if (this.result === 'success' && this.failures >= this.spec.failureThreshold) {
        this.flip('failure', a.at);
        if (this.kind === 'liveness') this.restartAt ??= a.at;
      }
    }
  }

  private flip(result: 'success' | 'failure', at: number): void {
    this.result = result;
    this.transitions.push({ at, result });
  }

  /** Starts probing every periodSeconds (after initialDelaySeconds). */
  start(): this {
    this.loop = (async () => {
      await sleepUnless(() => this.stopped, this.spec.initialDelaySeconds * 1000);
      while (!this.stopped) {
        const started = Date.now();
        this.record(await this.attempt());
        await sleepUnless(() => this.stopped, Math.max(0, this.periodMs - (Date.now() - started)));
      }
    })();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  /** Resolves with the time of the first transition to `result` after `since`. */
  async waitFor(result: 'success' | 'failure', since: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const t = this.transitions.find((x) => x.result === result && x.at >= since);
      if (t) return t.at;
      if (Date.now() > deadline) {
        throw new Error(`${this.kind} probe did not turn ${result} within ${timeoutMs} ms; last attempts: ${this.attempts.slice(-4).map((a) => a.detail).join(' | ')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  attemptsBetween(from: number, to: number): Attempt[] {
    return this.attempts.filter((a) => a.at >= from && a.at <= to);
  }
}

async function sleepUnless(stop: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!stop() && Date.now() < end) await new Promise((r) => setTimeout(r, Math.min(100, end - Date.now())));
}
