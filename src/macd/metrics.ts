// Prometheus metrics of one macd process (its own Registry). The pool a macd
// serves is the target's identity (its pod and namespace), so no metric
// repeats it as a label. Per-range figures are this replica's: in replica mode
// each replica allocates only in the blocks it holds, so sum the allocated
// counts over replicas; capacity is the range's, the same on every replica.
// The pool as a whole (allocated and available over all replicas) is the
// operator's alcor_pool_*_addresses{kind="MacPool"}.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from '../process/process-metrics.ts';
import type { Allocator } from './allocator.ts';
import type { RangeStats } from './layout.ts';

export interface MacdMetrics {
  registry: Registry;
  allocations: Counter;
  releases: Counter;
  errors: Counter<'reason'>;
  latency: Histogram<'route'>;
  logFlush: Histogram;
}

export function createMetrics(allocator: () => Allocator | null): MacdMetrics {
  const registry = new Registry();
  // process_* and nodejs_* under their standard names, as dhcpd and the operator export them.
  collectProcessMetrics(registry);
  const allocations = new Counter({ name: 'alcor_macd_allocations_total', help: 'MACs allocated', registers: [registry] });
  const releases = new Counter({ name: 'alcor_macd_releases_total', help: 'MACs released', registers: [registry] });
  const errors = new Counter({ name: 'alcor_macd_errors_total', help: 'Refused or failed requests by reason', labelNames: ['reason'], registers: [registry] });
  const latency = new Histogram({
    name: 'alcor_macd_request_duration_seconds',
    help: 'API request latency, including the log fsync',
    labelNames: ['route'],
    buckets: [0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const logFlush = new Histogram({
    name: 'alcor_macd_log_flush_seconds',
    help: 'Duration of one group commit of the allocation log (write + fdatasync); every acknowledged request waits for one.',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const perRange = (name: string, help: string, value: (r: RangeStats) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['range'],
      registers: [registry],
      collect() {
        this.reset();
        const a = allocator();
        for (const r of a?.ranges() ?? []) this.set({ range: r.id }, value(a!.stats(r)));
      },
    });
  };
  perRange('alcor_macd_range_capacity', 'Addresses of a range that may be handed out (size minus exclusions); the same on every replica', (r) => r.capacity);
  perRange('alcor_macd_range_allocated', 'MACs this replica has allocated in a range, through whichever range they were asked for (sum over replicas for the pool)', (r) => r.used);
  return { registry, allocations, releases, errors, latency, logFlush };
}
