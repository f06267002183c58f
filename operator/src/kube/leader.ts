// Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it: the
// holder renews every retry period; a candidate takes over when it has seen no renewal for a whole
// lease duration (measured on its own clock, so clock skew between replicas does not matter);
// every write is a compare-and-swap on resourceVersion, so two replicas can never both win.
import type { Logger } from '../log.js';
import { isConflict, isNotFound, type KubeHttp } from './http.js';
import { jittered, sleep } from './backoff.js';
import { LEASE, resourcePath } from './resources.js';

export interface LeaderOptions {
  http: KubeHttp;
  namespace: string;
  name: string;
  identity: string;
  log: Logger;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
/** Lease requests never wait out a Retry-After: a renewal must fail fast and retry before its deadline. */
const NO_WAIT = { throttleRetries: 0 } as const;

const microTime = (d = new Date()): string => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export class LeaderElector {
  private leading = false;
  private observed = { record: '', at: 0 };
  private lastRenew = 0;
  private readonly stopped = new AbortController();
  readonly stats = { acquisitions: 0, renewals: 0 };

  constructor(private readonly o: LeaderOptions) {}

  get isLeader(): boolean {
    return this.leading;
  }

  private path(name?: string): string {
    return resourcePath(LEASE, this.o.namespace, name);
  }

  async run(): Promise<void> {
    const retry = this.o.retryPeriodMs ?? 2000;
    while (!this.stopped.signal.aborted) {
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (e) {
        this.o.log.warn('leader election request failed', { error: (e as Error).message });
      }
      if (ok) {
        this.lastRenew = Date.now();
        if (!this.leading) {
          this.leading = true;
          this.stats.acquisitions++;
          this.o.log.info('became leader', { lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity });
          this.o.onStartedLeading();
        }
      } else if (this.leading && Date.now() - this.lastRenew > (this.o.renewDeadlineMs ?? 10_000)) {
        this.leading = false;
        this.o.log.error('lost leadership: could not renew the lease in time', { identity: this.o.identity });
        this.o.onStoppedLeading();
      }
      // Jittered as client-go's JitterUntil: standbys started together do not ask in step.
      await sleep(jittered(retry, 0.2), this.stopped.signal);
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const { identity } = this.o;
    let lease: any;
    try {
      lease = await this.o.http.request('GET', this.path(this.o.name), NO_WAIT);
    } catch (e) {
      if (!isNotFound(e)) throw e;
      try {
        await this.o.http.request('POST', this.path(), {
          ...NO_WAIT,
          body: {
            apiVersion: LEASE.apiVersion,
            kind: LEASE.kind,
            metadata: { name: this.o.name, namespace: this.o.namespace },
            spec: { holderIdentity: identity, leaseDurationSeconds: this.o.leaseDurationSeconds ?? 15, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
          },
        });
        return true;
      } catch (err) {
        if (isConflict(err)) return false;
        throw err;
      }
    }
    const spec = lease.spec ?? {};
    const record = `${spec.holderIdentity ?? ''}|${spec.renewTime ?? ''}`;
    if (record !== this.observed.record) this.observed = { record, at: Date.now() };
    const holder: string = spec.holderIdentity ?? '';
    const expired = holder === '' || Date.now() - this.observed.at > (spec.leaseDurationSeconds ?? 15) * 1000;
    if (holder !== identity && !expired) return false;
    const next = {
      ...lease,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: this.o.leaseDurationSeconds ?? 15,
        renewTime: microTime(now),
        ...(holder === identity ? {} : { acquireTime: microTime(now), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
      },
    };
    try {
      const written = await this.o.http.request('PUT', this.path(this.o.name), { ...NO_WAIT, body: next });
      this.observed = { record: `${identity}|${written.spec.renewTime}`, at: Date.now() };
      if (holder === identity) this.stats.renewals++;
      return true;
    } catch (e) {
      if (isConflict(e)) return false;
      throw e;
    }
  }

  /** Gives the lease up (graceful shutdown) so a standby takes over at once instead of after expiry. */
  async release(): Promise<void> {
    this.stopped.abort();
    if (!this.leading) return;
    this.leading = false;
    try {
      const lease = await this.o.http.request('GET', this.path(this.o.name), NO_WAIT);
      if (lease.spec?.holderIdentity !== this.o.identity) return;
      await this.o.http.request('PUT', this.path(this.o.name), {
        ...NO_WAIT,
        body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime() } },
      });
      this.o.log.info('released leadership', { identity: this.o.identity });
    } catch (e) {
      this.o.log.warn('could not release the lease', { error: (e as Error).message });
    }
  }
}
