// The write requests of one reconcile. Children are independent objects, so they are sent in
// parallel, within one limit shared by every worker: the operator never has more than
// `--concurrency` writes in flight, however many clusters it reconciles at once (the API server sees
// the same load whether one cluster or a hundred are converging). The first write goes alone: when
// the server is down or throttling, a reconcile then costs it one request, not one per child; and
// after a server-side failure, writes not yet started are not sent (the queue's backoff retries).
import type { LimitFunction } from 'p-limit';

export type WriteTask = () => Promise<void>;

export class ReconcileWrites {
  /** A write of this reconcile has been answered without a server-side failure. */
  private answered = false;
  private failure?: { error: unknown };

  /** `limit`: shared by all reconciles. Tasks handle errors of their own object and rethrow the
   * server-side ones (5xx, 429, no connection), which stop this reconcile. */
  constructor(private readonly limit: LimitFunction) {}

  /** Runs the tasks (the first alone until a write was answered); rethrows the first server-side failure. */
  async run(tasks: WriteTask[]): Promise<void> {
    let rest = tasks;
    if (!this.answered && rest.length) {
      await this.one(rest[0]!);
      rest = rest.slice(1);
    }
    await Promise.all(rest.map((t) => this.one(t)));
  }

  private async one(task: WriteTask): Promise<void> {
    await this.limit(async () => {
      if (this.failure) return;
      try {
        await task();
        this.answered = true;
      } catch (error) {
        this.failure ??= { error };
      }
    });
    if (this.failure) throw this.failure.error;
  }
}
