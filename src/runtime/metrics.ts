import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from '../process/process-metrics.ts';
import type { QueueMetrics } from './queue.ts';

// Metric names and labels as controller-runtime exposes them, so dashboards
// and alerts written for Go operators work unchanged.

export interface ControllerMetrics {
  registry: Registry;
  reconcileTotal: Counter<'controller' | 'result'>;
  reconcileErrors: Counter<'controller'>;
  reconcileTime: Histogram<'controller'>;
  activeWorkers: Gauge<'controller'>;
  maxConcurrentReconciles: Gauge<'controller'>;
  leaderStatus: Gauge<'name'>;
  /** client-go's rest_client_requests_total, for the KubeClient (its `requests` option). */
  restClientRequests: Counter<'code' | 'method' | 'host'>;
  /** client-go's rest_client_rate_limiter_duration_seconds: time waited for the client-side QPS limit (its `rateLimiterWait` option). */
  restClientRateLimiterDuration: Histogram<'verb' | 'host'>;
  queueMetrics(controller: string): QueueMetrics;
}

export function createControllerMetrics(registry = new Registry()): ControllerMetrics {
  collectProcessMetrics(registry);
  const r = [registry];
  const reconcileTotal = new Counter({ name: 'controller_runtime_reconcile_total', help: 'Total number of reconciliations per controller', labelNames: ['controller', 'result'], registers: r });
  const reconcileErrors = new Counter({ name: 'controller_runtime_reconcile_errors_total', help: 'Total number of reconciliation errors per controller', labelNames: ['controller'], registers: r });
  const reconcileTime = new Histogram({
    name: 'controller_runtime_reconcile_time_seconds',
    help: 'Length of time per reconciliation per controller',
    labelNames: ['controller'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2, 5, 10, 30, 60],
    registers: r,
  });
  const activeWorkers = new Gauge({ name: 'controller_runtime_active_workers', help: 'Number of currently used workers per controller', labelNames: ['controller'], registers: r });
  const maxConcurrentReconciles = new Gauge({ name: 'controller_runtime_max_concurrent_reconciles', help: 'Maximum number of concurrent reconciles per controller', labelNames: ['controller'], registers: r });
  const leaderStatus = new Gauge({ name: 'leader_election_master_status', help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master.', labelNames: ['name'], registers: r });
  const restClientRequests = new Counter({
    name: 'rest_client_requests_total',
    help: 'Number of HTTP requests, partitioned by status code, method, and host.',
    labelNames: ['code', 'method', 'host'],
    registers: r,
  });
  const restClientRateLimiterDuration = new Histogram({
    name: 'rest_client_rate_limiter_duration_seconds',
    help: 'Client side rate limiter latency in seconds. Broken down by verb, and host.',
    labelNames: ['verb', 'host'],
    buckets: [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60],
    registers: r,
  });
  const depth = new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['name', 'controller'], registers: r });
  const adds = new Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue', labelNames: ['name', 'controller'], registers: r });
  const retries = new Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue', labelNames: ['name', 'controller'], registers: r });
  const queueDuration = new Histogram({
    name: 'workqueue_queue_duration_seconds',
    help: 'How long in seconds an item stays in workqueue before being requested',
    labelNames: ['name', 'controller'],
    buckets: [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 0.1, 1, 10, 100, 1000],
    registers: r,
  });
  return {
    registry,
    reconcileTotal,
    reconcileErrors,
    reconcileTime,
    activeWorkers,
    maxConcurrentReconciles,
    leaderStatus,
    restClientRequests,
    restClientRateLimiterDuration,
    queueMetrics(controller: string): QueueMetrics {
      const labels = { name: controller, controller };
      // Every series from the start (an idle queue hands keys straight to a
      // waiting worker and would never report its depth of 0).
      depth.set(labels, 0);
      adds.inc(labels, 0);
      retries.inc(labels, 0);
      return {
        depth: (n) => depth.set(labels, n),
        added: () => adds.inc(labels),
        retried: () => retries.inc(labels),
        queued: (s) => queueDuration.observe(labels, s),
      };
    },
  };
}
