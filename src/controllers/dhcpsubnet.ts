import { DhcpSubnet } from '../api/index.ts';
import { dhcpSubnetCapacity, renderDhcpSubnet } from '../render/index.ts';
import { DHCP_LEASES_ANNOTATION, DHCP_SERVER_LABEL } from '../api/leases.ts';
import { DhcpSubnetType } from './resources.ts';
import type { KindDefinition, ReconcileContext } from './reconcile.ts';
import { cidrsOverlap } from '../api/cidr.ts';
import { conflictStatus, conflictWarning, serverLeases } from './dhcp-reports.ts';
import { judgeReservations, reservationsOf } from './reservations.ts';

// DhcpSubnet: the DHCP server's objects; leases counted from the status Leases
// the dhcpd replicas keep (annotation: JSON map subnet name -> active leases).
// Two DhcpSubnets of one namespace are answered by the same relays, so their
// CIDRs must not overlap: the newer one is refused with a condition naming the
// older, and the older keeps working.

export function leasedFromLeases(ctx: ReconcileContext, subnet: DhcpSubnet): number {
  let total = 0;
  for (const lease of ctx.leases()) {
    if (lease.metadata.namespace !== subnet.metadata.namespace || lease.metadata.labels?.[DHCP_SERVER_LABEL] !== subnet.metadata.name) continue;
    const raw = lease.metadata.annotations?.[DHCP_LEASES_ANNOTATION];
    if (!raw) continue;
    try {
      const counts = JSON.parse(raw) as Record<string, unknown>;
      const n = counts[subnet.metadata.name];
      if (typeof n === 'number' && Number.isSafeInteger(n) && n > 0) total += n;
    } catch {
      // a malformed annotation counts as nothing
    }
  }
  return total;
}

/** Older first: creation time, then name, so every pass picks the same winner. */
function olderThan(a: { metadata: { creationTimestamp?: string; name: string } }, b: { metadata: { creationTimestamp?: string; name: string } }): boolean {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  return ta === tb ? a.metadata.name < b.metadata.name : ta < tb;
}

/** The subnet's DhcpReservations that its servers serve (the rest get a Rejected status of their own). */
export function acceptedReservations(subnet: DhcpSubnet, ctx: ReconcileContext) {
  const all = ctx.informers.get('DhcpReservation')?.list() ?? [];
  return judgeReservations(subnet, reservationsOf(all, subnet.metadata.namespace, subnet.metadata.name)).accepted;
}

export const dhcpSubnetKind: KindDefinition<DhcpSubnet> = {
  type: DhcpSubnetType,
  schema: DhcpSubnet,
  render: (subnet, settings, ctx) => renderDhcpSubnet(subnet, settings, acceptedReservations(subnet, ctx)),
  conflict(subnet, ctx) {
    for (const other of ctx.informers.get('DhcpSubnet')?.list() ?? []) {
      if (other.metadata.namespace !== subnet.metadata.namespace || other.metadata.name === subnet.metadata.name) continue;
      if (other.metadata.deletionTimestamp) continue;
      const otherCidr = (other['spec'] as { cidr?: unknown } | undefined)?.cidr;
      if (typeof otherCidr !== 'string' || !cidrsOverlap(subnet.spec.cidr, otherCidr)) continue;
      if (olderThan(other, subnet)) {
        return { reason: 'OverlappingSubnet', message: `cidr ${subnet.spec.cidr} overlaps DhcpSubnet ${other.metadata.name} (${otherCidr}), which was there first` };
      }
    }
    return undefined;
  },
  warning(subnet, ctx) {
    return conflictWarning(subnet, conflictStatus(serverLeases(ctx.leases(), subnet), subnet.metadata.name));
  },
  statusFields(subnet, ctx) {
    const capacity = dhcpSubnetCapacity(subnet.spec);
    const leased = leasedFromLeases(ctx, subnet);
    const c = conflictStatus(serverLeases(ctx.leases(), subnet), subnet.metadata.name);
    return {
      capacity,
      leased,
      available: Math.max(0, capacity - leased - c.quarantined),
      quarantined: c.quarantined,
      ...(c.quarantinedAddresses.length > 0 ? { quarantinedAddresses: c.quarantinedAddresses } : {}),
      recentConflicts: c.recentConflicts,
    };
  },
};
