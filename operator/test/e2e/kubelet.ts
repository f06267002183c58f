// The kubelet of the loopback nodes (nodes.ts). kwok fakes every pod's status; for the pods kwok
// runs on a loopback node, this runs the real process too, with a kubelet's lifecycle:
//   - start the container once the pod is Running on one of its nodes (kwok marks it so at once:
//     a real kubelet would report Running only after the start, which does not matter here since
//     the operator treats an unreachable pod as unknown load);
//   - restart it (back-off 1, 2, 4 ... 10 s) when it exits while the pod lives: restartPolicy Always;
//   - stop it only when the pod is terminating (deletionTimestamp) or gone: SIGTERM, then SIGKILL
//     after the pod's terminationGracePeriodSeconds. kwok deletes a terminating pod at once, where
//     a real API server would keep it Terminating until the kubelet reports the container gone.
// Each step is recorded with its time (events), so a test can print how long things took.
import { connect } from 'node:net';
import type { KubeHttp } from '../../src/kube/http.js';
import { Reflector, type EventType } from '../../src/kube/reflector.js';
import type { KubeObject } from '../../src/kube/object.js';
import { POD } from '../../src/kube/resources.js';
import { silentLogger } from '../../src/log.js';
import { sleep, type Proc } from '../media/sandbox.js';
import type { LoopbackNode } from './nodes.js';

export type KubeletEventKind = 'started' | 'start-failed' | 'ready' | 'exited' | 'terminating';

export interface KubeletEvent {
  at: number;
  pod: string;
  node: string;
  what: KubeletEventKind;
  detail?: string;
}

/** Materialises and starts the pod's one container on the node; throws when it cannot (yet). */
export type StartContainer = (pod: KubeObject, node: LoopbackNode) => Promise<Proc>;

interface Run {
  pod: KubeObject;
  node: LoopbackNode;
  proc?: Proc;
  terminating: boolean;
  graceMs: number;
  stopping?: Promise<void>;
  done: Promise<void>;
}

export class LoopbackKubelet {
  readonly events: KubeletEvent[] = [];
  private readonly runs = new Map<string, Run>();
  private readonly reflector: Reflector;
  private stopped = false;

  constructor(
    private readonly o: {
      http: KubeHttp;
      namespace: string;
      nodes: LoopbackNode[];
      start: StartContainer;
    },
  ) {
    this.reflector = new Reflector({ http: o.http, type: POD, namespace: o.namespace, log: silentLogger, onEvent: (t, p) => this.onEvent(t, p), watchdogMs: 60_000 });
  }

  async start(): Promise<void> {
    this.reflector.start();
    await this.reflector.synced;
  }

  private record(run: Run, what: KubeletEventKind, detail?: string): void {
    this.events.push({ at: Date.now(), pod: run.pod.metadata.name, node: run.node.name, what, ...(detail ? { detail } : {}) });
  }

  private onEvent(type: EventType, pod: KubeObject): void {
    const node = this.o.nodes.find((n) => n.name === pod.spec?.nodeName);
    const uid = pod.metadata.uid!;
    if (!node) return;
    const run = this.runs.get(uid);
    if (type === 'DELETED' || pod.metadata.deletionTimestamp) {
      if (run) this.terminate(run, type === 'DELETED' ? 'pod deleted' : 'deletionTimestamp set');
      return;
    }
    if (!run && pod.status?.phase === 'Running' && !this.stopped) {
      const r: Run = { pod, node, terminating: false, graceMs: 1000 * (pod.spec?.terminationGracePeriodSeconds ?? 30), done: Promise.resolve() };
      this.runs.set(uid, r);
      r.done = this.keepRunning(r);
    }
  }

  private terminate(run: Run, why: string): void {
    if (run.terminating) return;
    run.terminating = true;
    this.record(run, 'terminating', why);
    run.stopping = run.proc?.stop(run.graceMs);
  }

  private async keepRunning(run: Run): Promise<void> {
    let backoffMs = 1000;
    while (!run.terminating && !this.stopped) {
      let proc: Proc;
      try {
        proc = await this.o.start(run.pod, run.node);
      } catch (e) {
        this.record(run, 'start-failed', (e as Error).message.split('\n')[0]);
        await sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 10_000);
        continue;
      }
      run.proc = proc;
      this.record(run, 'started', `pid ${proc.pid}`);
      if (run.terminating || this.stopped) {
        // Deleted while it was being set up.
        run.stopping = proc.stop(run.graceMs);
        break;
      }
      void this.probeReadiness(run, proc);
      const status = await proc.exited;
      this.record(run, 'exited', `${status.signal ?? `code ${status.code}`}`);
      if (run.terminating || this.stopped) break;
      await sleep(backoffMs);
      backoffMs = Math.min(backoffMs * 2, 10_000);
    }
    await run.stopping;
  }

  /** The container's readinessProbe (httpGet or tcpSocket) against the pod IP (the node's), until it first passes. */
  private async probeReadiness(run: Run, proc: Proc): Promise<void> {
    const probe = run.pod.spec.containers[0]?.readinessProbe;
    if (!probe) return;
    const ip = run.node.ip;
    const once = async (): Promise<boolean> => {
      try {
        if (probe.httpGet) {
          const res = await fetch(`http://${ip}:${probe.httpGet.port}${probe.httpGet.path ?? '/'}`, { signal: AbortSignal.timeout(2000) });
          await res.arrayBuffer();
          return res.status >= 200 && res.status < 400;
        }
        if (probe.tcpSocket) return await tcpOpen(ip, probe.tcpSocket.port);
      } catch {
        return false;
      }
      return false;
    };
    while (proc.running && !run.terminating && !this.stopped) {
      if (await once()) {
        this.record(run, 'ready');
        return;
      }
      await sleep(200);
    }
  }

  /** The running process of a pod, by pod name. */
  processOf(podName: string): Proc | undefined {
    return [...this.runs.values()].find((r) => r.pod.metadata.name === podName)?.proc;
  }

  eventsOf(podName: string, what?: KubeletEventKind): KubeletEvent[] {
    return this.events.filter((e) => e.pod === podName && (!what || e.what === what));
  }

  /** Stops watching and stops every process (SIGTERM, SIGKILL after 2 s: the test is over). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.reflector.stop();
    await Promise.all([...this.runs.values()].map(async (r) => {
      await r.proc?.stop(2000);
      await r.done;
    }));
  }
}

/** Whether a TCP connection to ip:port opens within 2 s (a tcpSocket probe). */
export function tcpOpen(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, ip);
    s.setTimeout(2000, () => (s.destroy(), resolve(false)));
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
}
