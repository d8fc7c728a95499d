// A work queue of keys with client-go's semantics: a key waiting in the queue
// is held once however often it is added; a key being processed is never
// handed to a second worker (if it is added meanwhile it runs again after);
// failures back off exponentially per key.

export interface QueueMetrics {
  depth(n: number): void;
  added(): void;
  retried(): void;
  queued(seconds: number): void;
}

export interface WorkQueueOptions {
  /** First retry delay, doubled per failure (controller-runtime: 5 ms). */
  baseDelayMs?: number;
  /** Longest retry delay (controller-runtime: 1000 s; we cap lower). */
  maxDelayMs?: number;
  metrics?: QueueMetrics;
  now?: () => number;
}

export class WorkQueue {
  private readonly order: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly delayed = new Map<string, { timer: ReturnType<typeof setTimeout>; at: number }>();
  private readonly addedAt = new Map<string, number>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly metrics: QueueMetrics | undefined;
  private readonly now: () => number;
  private shuttingDown = false;

  constructor(opts: WorkQueueOptions = {}) {
    this.baseDelayMs = opts.baseDelayMs ?? 5;
    this.maxDelayMs = opts.maxDelayMs ?? 300_000;
    this.metrics = opts.metrics;
    this.now = opts.now ?? Date.now;
  }

  get length(): number {
    return this.order.length;
  }

  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.metrics?.added();
    this.dirty.add(key);
    this.addedAt.set(key, this.now());
    if (this.processing.has(key)) return; // re-queued by done()
    this.enqueue(key);
  }

  private enqueue(key: string): void {
    const waiter = this.waiters.shift();
    if (waiter) {
      this.take(key);
      waiter(key);
      return;
    }
    this.order.push(key);
    this.metrics?.depth(this.order.length);
  }

  /** Adds the key after a delay; of several pending delays the earliest wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = this.now() + delayMs;
    const existing = this.delayed.get(key);
    if (existing) {
      if (existing.at <= at) return;
      clearTimeout(existing.timer);
    }
    const timer = setTimeout(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { timer, at });
  }

  /** Retry after a failure: per-key exponential backoff. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = Math.min(this.baseDelayMs * 2 ** n, this.maxDelayMs);
    this.metrics?.retried();
    this.addAfter(key, delay);
    return delay;
  }

  /** The key succeeded: forget its failures. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Next key to process; undefined once shut down. */
  get(): Promise<string | undefined> {
    const key = this.order.shift();
    if (key !== undefined) {
      this.metrics?.depth(this.order.length);
      this.take(key);
      return Promise.resolve(key);
    }
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private take(key: string): void {
    this.dirty.delete(key);
    this.processing.add(key);
    const at = this.addedAt.get(key);
    if (at !== undefined) this.metrics?.queued((this.now() - at) / 1000);
    this.addedAt.delete(key);
  }

  /** Processing of the key finished; if it was added meanwhile, queue it again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key) && !this.shuttingDown) this.enqueue(key);
  }

  shutDown(): void {
    this.shuttingDown = true;
    for (const d of this.delayed.values()) clearTimeout(d.timer);
    this.delayed.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }
}
