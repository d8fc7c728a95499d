import type { Logger } from 'pino';
import { WorkQueue } from './queue.ts';
import type { ControllerMetrics } from './metrics.ts';

// The worker side of a controller: keys from the queue go to one reconcile
// function, at most `workers` at a time and never the same key twice at once.
// An error retries the key with backoff; a result may ask to run again later.

export interface ReconcileResult {
  /** Run this key again after so long (e.g. to refresh counts). */
  requeueAfterMs?: number;
}

export type Reconcile = (key: string, log: Logger) => Promise<ReconcileResult | void>;

export interface ControllerOptions {
  name: string;
  reconcile: Reconcile;
  log: Logger;
  metrics: ControllerMetrics;
  workers?: number;
  maxRetryDelayMs?: number;
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly o: ControllerOptions;
  private running: Promise<void>[] = [];
  /** Reconcile passes run, for tests and the benchmark. */
  passes = 0;

  constructor(opts: ControllerOptions) {
    this.o = opts;
    this.name = opts.name;
    this.queue = new WorkQueue({ metrics: opts.metrics.queueMetrics(opts.name), maxDelayMs: opts.maxRetryDelayMs ?? 300_000 });
  }

  enqueue(key: string): void {
    this.queue.add(key);
  }

  start(): void {
    const workers = this.o.workers ?? 4;
    const m = this.o.metrics;
    m.maxConcurrentReconciles.set({ controller: this.name }, workers);
    // As controller-runtime does: every series exists from the start at 0, so
    // rate() and alerts see a value before the first error, not a missing series.
    m.reconcileErrors.inc({ controller: this.name }, 0);
    for (const result of ['success', 'error', 'requeue_after']) m.reconcileTotal.inc({ controller: this.name, result }, 0);
    for (let i = 0; i < workers; i++) this.running.push(this.work());
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await Promise.all(this.running);
    this.running = [];
  }

  private async work(): Promise<void> {
    const m = this.o.metrics;
    const labels = { controller: this.name };
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const [namespace, name] = key.includes('/') ? key.split('/', 2) : ['', key];
      const log = this.o.log.child({ controller: this.name, namespace, name, reconcileID: `${Date.now().toString(36)}-${this.passes}` });
      m.activeWorkers.inc(labels);
      const end = m.reconcileTime.startTimer(labels);
      this.passes++;
      try {
        const result = await this.o.reconcile(key, log);
        this.queue.forget(key);
        if (result?.requeueAfterMs !== undefined) {
          m.reconcileTotal.inc({ ...labels, result: 'requeue_after' });
          this.queue.addAfter(key, result.requeueAfterMs);
        } else {
          m.reconcileTotal.inc({ ...labels, result: 'success' });
        }
      } catch (err) {
        m.reconcileTotal.inc({ ...labels, result: 'error' });
        m.reconcileErrors.inc(labels);
        const delay = this.queue.addRateLimited(key);
        log.error({ err: err instanceof Error ? err.message : String(err), retryInMs: delay }, 'Reconciler error');
      } finally {
        end();
        m.activeWorkers.dec(labels);
        this.queue.done(key);
      }
    }
  }
}
