import { cidrsOverlap } from '../api/cidr.ts';
import { DhcpSubnet } from '../api/index.ts';
import { DHCP_SERVER_LABEL, DhcpdReport } from '../api/leases.ts';
import { dhcpdName, renderDhcpSubnet } from '../render/index.ts';
import type { KubeObject } from '../runtime/client.ts';
import { DhcpSubnetType } from './resources.ts';
import type { KindDefinition, ReconcileContext } from './reconcile.ts';
import { conflictStatus, conflictWarning, serverLeases } from './dhcp-reports.ts';
import { judgeReservations, reservationsOf } from './reservations.ts';
import { currentReports, replicaFromReport, reportsOf, servedVerdict, type Expected, type Reports } from './served.ts';
import { NAMESPACE_INDEX } from './indexes.ts';

// DhcpSubnet: the DHCP servers' objects, and status from what the servers
// report on their Leases (src/api/leases.ts, docs/dhcpd.md): each its share's
// capacity and bound leases, the config generation applied and whether it
// refused the config. Two DhcpSubnets of one namespace are answered by the
// same relays, so their CIDRs must not overlap: the newer one is refused with
// a condition naming the older, and the older keeps working.

function dhcpdReports(ctx: ReconcileContext, subnet: DhcpSubnet): Reports<DhcpdReport> {
  return reportsOf(DhcpdReport, ctx.leases(), subnet.metadata, DHCP_SERVER_LABEL);
}

/**
 * The servers expected: relay replicas by name (their Leases are named after
 * their pods); node-local servers by count (the DaemonSet's), their Leases
 * named after their nodes.
 */
function servers(subnet: DhcpSubnet, children: Map<string, KubeObject>): Expected {
  if (subnet.spec.server.mode === 'relay') return { names: Array.from({ length: subnet.spec.server.replicas }, (_, i) => `${dhcpdName(subnet)}-${i}`) };
  const ds = [...children.values()].find((c) => c.kind === 'DaemonSet');
  return { count: (ds?.['status'] as { desiredNumberScheduled?: number } | undefined)?.desiredNumberScheduled ?? 0 };
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
    for (const other of ctx.informers.get('DhcpSubnet')?.byIndex(NAMESPACE_INDEX, subnet.metadata.namespace ?? '') ?? []) {
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
  statusFields(subnet, ctx, children) {
    const c = conflictStatus(serverLeases(ctx.leases(), subnet), subnet.metadata.name);
    const conflicts = {
      quarantined: c.quarantined,
      ...(c.quarantinedAddresses.length > 0 ? { quarantinedAddresses: c.quarantinedAddresses } : {}),
      recentConflicts: c.recentConflicts,
    };
    const current = currentReports(dhcpdReports(ctx, subnet), servers(subnet, children)).map(([, r]) => r);
    if (current.length === 0) return conflicts;
    // Relay servers split the pools into shares: capacity is the sum over the
    // shares served. Node-local servers each serve the one share to their own node.
    const byShare = new Map<string, number>();
    let leased = 0;
    for (const r of current) {
      const s = r.subnets[subnet.metadata.name];
      if (!s) continue;
      const key = `${r.share}/${r.shares}`;
      byShare.set(key, Math.max(byShare.get(key) ?? 0, s.capacity));
      leased += s.leased;
    }
    const capacity = [...byShare.values()].reduce((a, b) => a + b, 0);
    return { capacity, leased, available: Math.max(0, capacity - leased - c.quarantined), ...conflicts };
  },
  served(subnet, ctx, children) {
    return servedVerdict(dhcpdReports(ctx, subnet), servers(subnet, children), subnet.metadata.generation ?? 1);
  },
  replicaGate(subnet, ctx) {
    // Relay replicas' Leases are named after their pods (node-local ones roll as a DaemonSet, not through this).
    const reports = dhcpdReports(ctx, subnet);
    return (pod) => replicaFromReport(reports.get(pod.metadata.name), pod);
  },
};
