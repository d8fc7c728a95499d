import { MacPool } from '../api/index.ts';
import { MAC_POOL_LABEL, MacdReport } from '../api/leases.ts';
import { macdName, macPoolEndpoint, renderMacPool } from '../render/index.ts';
import { MacPoolType } from './resources.ts';
import type { KindDefinition, ReconcileContext } from './reconcile.ts';
import { readyServes } from './rollout.ts';
import { currentReports, replicaFromReport, reportsOf, servedVerdict, type Expected, type Reports } from './served.ts';

// MacPool: the allocator's objects, and status from what its replicas report
// on their Leases (src/api/leases.ts, docs/macd.md): the capacity they serve,
// the MACs each handed out, the config generation applied and what of it they
// refused.

function macdReports(ctx: ReconcileContext, pool: MacPool): Reports<MacdReport> {
  return reportsOf(MacdReport, ctx.leases(), pool.metadata, MAC_POOL_LABEL);
}

/** The allocator's pods: the StatefulSet's, named after it and their ordinal. */
function replicas(pool: MacPool): Expected {
  return { names: Array.from({ length: pool.spec.allocator.replicas }, (_, i) => `${macdName(pool)}-${i}`) };
}

export const macPoolKind: KindDefinition<MacPool> = {
  type: MacPoolType,
  schema: MacPool,
  render: renderMacPool,
  statusFields(pool, ctx) {
    const endpoint = macPoolEndpoint(pool);
    // Alcor's own MAC manager reports nothing: its allocations live in Ignite, out of our sight.
    if (pool.spec.engine === 'alcor') return { endpoint };
    const reports = macdReports(ctx, pool);
    // MACs stay allocated on a replica's disk after it is scaled away: every report counts.
    const allocated = [...reports.values()].reduce((n, r) => n + r.allocated, 0);
    // Each replica serves the whole pool (blocks are claimed on demand); while
    // they disagree (a config being applied), the least of them.
    const served = currentReports(reports, replicas(pool)).map(([, r]) => r.capacity);
    if (served.length === 0) return reports.size > 0 ? { allocated, endpoint } : { endpoint };
    const capacity = Math.min(...served);
    return { capacity, allocated, available: Math.max(0, capacity - allocated), endpoint };
  },
  served(pool, ctx) {
    if (pool.spec.engine === 'alcor') return {};
    return servedVerdict(macdReports(ctx, pool), replicas(pool), pool.metadata.generation ?? 1);
  },
  replicaGate(pool, ctx) {
    // Alcor's MAC manager reports nothing: a Ready pod serves.
    if (pool.spec.engine === 'alcor') return readyServes;
    const reports = macdReports(ctx, pool);
    return (pod) => replicaFromReport(reports.get(pod.metadata.name), pod);
  },
};
