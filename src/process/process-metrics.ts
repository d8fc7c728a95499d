// The process metrics every server exports under their standard names
// (prom-client's process_* and nodejs_*), with the GC histogram counting
// every collection: prom-client's own observer reads only the first entry of
// each list Node delivers, so under allocation-heavy load it misses most of
// the scavenges. nodejs_eventloop_lag_* (perf_hooks.monitorEventLoopDelay)
// are reset at each scrape, so they describe the time since the last one.

import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import { Histogram, collectDefaultMetrics, type Registry } from 'prom-client';

const GC_METRIC = 'nodejs_gc_duration_seconds';

const kinds: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  registry.removeSingleMetric(GC_METRIC);
  const gc = new Histogram({
    name: GC_METRIC,
    help: 'Garbage collection duration by kind, one of major, minor, incremental or weakcb.',
    labelNames: ['kind'],
    // Scavenges take tens of microseconds to a few milliseconds.
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1],
    registers: [registry],
  });
  const children = new Map<string, ReturnType<typeof gc.labels>>();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries() as (PerformanceEntry & { detail?: { kind?: number } })[]) {
      const kind = kinds[e.detail?.kind ?? -1] ?? 'unknown';
      let child = children.get(kind);
      if (!child) children.set(kind, (child = gc.labels(kind)));
      child.observe(e.duration / 1000);
    }
  }).observe({ entryTypes: ['gc'] });
}
