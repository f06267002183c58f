// What one reconcile tells the work queue, as controller-runtime's reconcile.Result does: done, or
// come back after a while (a step that waits on another controller schedules its own retry), or an
// error. An error is retried with the queue's backoff unless it is terminal: a problem only a person
// can fix is reported (status, event) and waits for the next change instead of being retried forever.

export interface ReconcileResult {
  /** Reconcile this key again after this long, whatever else happens meanwhile. */
  requeueAfterMs?: number;
}

export const DONE: ReconcileResult = {};

/** Not retried with backoff: the status and an event say what to do; the next change brings the key back. */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

export const isTerminal = (e: unknown): e is TerminalError => e instanceof TerminalError;
