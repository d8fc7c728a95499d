import type { Logger } from 'pino';
import { ApiError, type KubeClient } from './client.ts';
import { leasePath, microTime, type Lease, type LeaseSpec } from './lease.ts';

// Leader election on a coordination.k8s.io Lease, as client-go does it: the
// holder renews every retry period; others take over once the lease has not
// been renewed for its duration. Updates carry the resourceVersion, so two
// candidates can never both win the same term.

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  log: Logger;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

export class LeaderElector {
  private readonly o: Required<Omit<LeaderElectionOptions, 'onStartedLeading' | 'onStoppedLeading'>> & LeaderElectionOptions;
  private leading = false;
  private stopped = false;
  private lastRenew = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private observedRecord = '';
  private observedAt = 0;

  constructor(opts: LeaderElectionOptions) {
    this.o = { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 2, ...opts };
  }

  start(): void {
    void this.tick();
  }

  /** Gives the lease up (so a successor takes over at once) and stops. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.leading) {
      this.leading = false;
      try {
        const lease = await this.o.client.get<Lease>(this.path());
        if (lease.spec?.holderIdentity === this.o.identity) {
          lease.spec = { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime(new Date()) };
          await this.o.client.update(this.path(), lease);
        }
      } catch (err) {
        this.o.log.warn({ err: String(err) }, 'could not release the leader lease');
      }
    }
  }

  private path(): string {
    return leasePath(this.o.namespace, this.o.name);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let ok = false;
    try {
      ok = await this.tryAcquireOrRenew();
    } catch (err) {
      this.o.log.warn({ err: String(err) }, 'leader election request failed');
    }
    const now = Date.now();
    if (ok) {
      this.lastRenew = now;
      if (!this.leading) {
        this.leading = true;
        this.o.log.info({ lease: `${this.o.namespace}/${this.o.name}`, identity: this.o.identity }, 'became leader');
        this.o.onStartedLeading();
      }
    } else if (this.leading && now - this.lastRenew > this.o.renewDeadlineSeconds * 1000) {
      this.leading = false;
      this.o.log.error({ lease: `${this.o.namespace}/${this.o.name}` }, 'leader election lost');
      this.o.onStoppedLeading();
      return;
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.o.retryPeriodSeconds * 1000);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new Date();
    const existing = await this.o.client.getOptional<Lease>(this.path());
    if (!existing) {
      const lease: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.o.name, namespace: this.o.namespace },
        spec: { holderIdentity: this.o.identity, leaseDurationSeconds: this.o.leaseDurationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
      };
      try {
        await this.o.client.create(leasePath(this.o.namespace), lease);
        return true;
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) return false;
        throw err;
      }
    }
    const spec: LeaseSpec = existing.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    // Like client-go, judge expiry by when *we* saw the record change, not by
    // the holder's clock.
    const record = `${holder}|${spec.renewTime ?? ''}`;
    if (record !== this.observedRecord) {
      this.observedRecord = record;
      this.observedAt = now.getTime();
    }
    const duration = (spec.leaseDurationSeconds ?? this.o.leaseDurationSeconds) * 1000;
    const expired = this.observedAt + duration < now.getTime();
    if (holder && holder !== this.o.identity && !expired) return false;
    const takeover = holder !== this.o.identity;
    existing.spec = {
      ...spec,
      holderIdentity: this.o.identity,
      leaseDurationSeconds: this.o.leaseDurationSeconds,
      renewTime: microTime(now),
      ...(takeover ? { acquireTime: microTime(now), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 } : {}),
    };
    try {
      await this.o.client.update(this.path(), existing);
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) return false;
      throw err;
    }
  }
}
