import { MacPool } from '../api/index.ts';
import { macPoolCapacity, macPoolEndpoint, renderMacPool } from '../render/index.ts';
import { ALLOCATED_ANNOTATION, MAC_POOL_LABEL } from '../api/leases.ts';
import { MacPoolType } from './resources.ts';
import type { KindDefinition, ReconcileContext } from './reconcile.ts';

// MacPool: the allocator's objects, and counts summed from the block Leases
// the allocator replicas keep (see docs/macd.md): each block's Lease carries
// how many of its addresses are allocated.

export function allocatedFromLeases(ctx: ReconcileContext, pool: MacPool): number {
  let total = 0;
  for (const lease of ctx.leases()) {
    if (lease.metadata.namespace !== pool.metadata.namespace || lease.metadata.labels?.[MAC_POOL_LABEL] !== pool.metadata.name) continue;
    const n = Number(lease.metadata.annotations?.[ALLOCATED_ANNOTATION] ?? 0);
    if (Number.isSafeInteger(n) && n > 0) total += n;
  }
  return total;
}

export const macPoolKind: KindDefinition<MacPool> = {
  type: MacPoolType,
  schema: MacPool,
  render: renderMacPool,
  statusFields(pool, ctx) {
    const capacity = macPoolCapacity(pool.spec);
    if (pool.spec.engine === 'alcor') {
      // Alcor's own MAC manager keeps its allocations in Ignite, out of our sight.
      return { capacity, endpoint: macPoolEndpoint(pool) };
    }
    const allocated = allocatedFromLeases(ctx, pool);
    return { capacity, allocated, available: Math.max(0, capacity - allocated), endpoint: macPoolEndpoint(pool) };
  },
};
