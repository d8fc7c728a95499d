// Prometheus metrics of one macd process (its own Registry).

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Allocator } from './allocator.ts';

export interface MacdMetrics {
  registry: Registry;
  allocations: Counter;
  releases: Counter;
  errors: Counter<'reason'>;
  latency: Histogram<'route'>;
}

export function createMetrics(allocator: () => Allocator | null): MacdMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'alcor_macd_' });
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
  const perRange = (name: string, help: string, value: (r: ReturnType<Allocator['ranges']>[number]) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['range'],
      registers: [registry],
      collect() {
        this.reset();
        for (const r of allocator()?.ranges() ?? []) this.set({ range: r.id }, value(r));
      },
    });
  };
  perRange('alcor_macd_range_capacity', 'Addresses of a range that may be handed out (size minus exclusions)', (r) => r.capacity);
  perRange('alcor_macd_range_allocated', 'Allocated MACs per range', (r) => r.allocated);
  perRange('alcor_macd_range_available', 'Free MACs per range', (r) => r.available);
  return { registry, allocations, releases, errors, latency };
}
