// The write requests of the operator. Children are independent objects, so a reconcile sends them in
// parallel, within one limit shared by every worker: the operator never has more than
// `--concurrency` writes in flight, however many clusters it reconciles at once (the API server sees
// the same load whether one cluster or a hundred are converging). After a server-side failure (down,
// throttling) the next write of each reconcile goes alone until one is answered again: a reconcile
// then costs that server one request, not one per child; and within a reconcile, writes not yet
// started when one fails that way are not sent (the queue's backoff retries).
import { ApiError } from '../kube/http.js';
import type { LimitFunction } from 'p-limit';

export type WriteTask = () => Promise<void>;

/** The server, not the object written, is the problem: no answer, throttled (429) or 5xx. */
export const isServerSideFailure = (e: unknown): boolean => !(e instanceof ApiError) || e.status === 429 || e.status >= 500;

/**
 * A Service that allocates node ports (LoadBalancer, NodePort) is by far the slowest write of a
 * cluster: 40-120 ms on the local control plane against 5-25 ms for the others, as the API server
 * takes its ports from an allocator in etcd, one after another. Started last, it alone decides when
 * the batch ends; started first, it runs while the other writes share the remaining slots.
 * Nothing else is moved: workloads written earlier set kube-controller-manager's reactions
 * (ReplicaSets, Pods, endpoints) going while the batch still runs, and those cost more than they
 * save (K=10, 6 pairs each: 1.45-1.50x of the floor with workloads moved first, 1.08-1.23x without).
 */
const allocatesNodePorts = (o: { kind?: string; spec?: { type?: string } }): boolean =>
  o.kind === 'Service' && (o.spec?.type === 'LoadBalancer' || o.spec?.type === 'NodePort');

/** Indices of `objects`: node-port Services first, then the rest, each in their given order. */
export function nodePortServicesFirst(objects: { kind?: string; spec?: { type?: string } }[]): number[] {
  const first = objects.flatMap((o, i) => (allocatesNodePorts(o) ? [i] : []));
  return [...first, ...objects.flatMap((o, i) => (allocatesNodePorts(o) ? [] : [i]))];
}

/** The limit on writes in flight and what the last answered write says of the server; shared by every reconcile. */
export class WriteBudget {
  /** False from a server-side failure until a write is answered again. The informers have just
   * listed from this server when the first reconcile writes, so it starts answering. */
  private answering = true;

  constructor(private readonly limit: LimitFunction) {}

  get serverAnswering(): boolean {
    return this.answering;
  }

  /** One write request within the limit; notes whether the server answered it. */
  send<T>(request: () => Promise<T>): Promise<T> {
    return this.limit(() => this.observed(request));
  }

  /** As `send`, but `unless` is asked when the request's turn comes: true, and nothing is sent. */
  sendUnless(unless: () => boolean, request: () => Promise<void>): Promise<void> {
    return this.limit(async () => {
      if (!unless()) await this.observed(request);
    });
  }

  private async observed<T>(request: () => Promise<T>): Promise<T> {
    try {
      const answer = await request();
      this.answering = true;
      return answer;
    } catch (e) {
      // A 404 or 422 is an answer too: the server is fine, the object is not.
      this.answering = !isServerSideFailure(e);
      throw e;
    }
  }
}

/** The writes of one reconcile. */
export class ReconcileWrites {
  private failure?: { error: unknown };

  constructor(private readonly budget: WriteBudget) {}

  /** Runs the tasks in parallel (the first alone while the server is not answering); rethrows the
   * first failure. Tasks handle errors of their own object and rethrow only server-side ones. */
  async run(tasks: WriteTask[]): Promise<void> {
    let rest = tasks;
    if (!this.budget.serverAnswering && rest.length) {
      await this.one(rest[0]!);
      rest = rest.slice(1);
    }
    await Promise.all(rest.map((t) => this.one(t)));
  }

  private async one(task: WriteTask): Promise<void> {
    const noted = async () => {
      try {
        await task();
      } catch (error) {
        // Noted before the slot is freed, so the write queued behind it is not sent.
        this.failure ??= { error };
        throw error;
      }
    };
    await this.budget.sendUnless(() => this.failure !== undefined, noted).catch(() => undefined);
    if (this.failure) throw this.failure.error;
  }
}
