import { ConflictReport, DHCP_CONFLICTS_ANNOTATION, DHCP_SERVER_LABEL, readReport, type QuarantinedAddress } from '../api/leases.ts';
import type { DhcpSubnet } from '../api/index.ts';
import type { KubeObject } from '../runtime/client.ts';

// What a DhcpSubnet's servers report on their status Leases beyond the lease
// count: quarantined addresses and recent conflicts (src/api/leases.ts),
// summed over the replicas. Pure: the Leases in, status fields out.

/** The status Leases of the subnet's servers. */
export function serverLeases(leases: KubeObject[], subnet: DhcpSubnet): KubeObject[] {
  return leases.filter((l) => l.metadata.namespace === subnet.metadata.namespace && l.metadata.labels?.[DHCP_SERVER_LABEL] === subnet.metadata.name);
}

export interface ConflictStatus {
  quarantined: number;
  quarantinedAddresses: QuarantinedAddress[];
  recentConflicts: number;
  /** A server's reason why conflictDetection: ping cannot work. */
  pingUnavailable?: string;
}

const MAX_STATUS_ADDRESSES = 64;

export function conflictStatus(leases: KubeObject[], subnet: string): ConflictStatus {
  const out: ConflictStatus = { quarantined: 0, quarantinedAddresses: [], recentConflicts: 0 };
  for (const lease of leases) {
    const mine = readReport(ConflictReport, lease.metadata.annotations, DHCP_CONFLICTS_ANNOTATION)?.[subnet];
    if (!mine) continue;
    out.quarantined += mine.quarantined;
    out.recentConflicts += mine.recent;
    out.quarantinedAddresses.push(...mine.addresses);
    if (mine.pingUnavailable !== undefined && out.pingUnavailable === undefined) out.pingUnavailable = `${lease.metadata.name}: ${mine.pingUnavailable}`;
  }
  out.quarantinedAddresses.sort((a, b) => a.until.localeCompare(b.until) || a.ip.localeCompare(b.ip));
  out.quarantinedAddresses = out.quarantinedAddresses.slice(0, MAX_STATUS_ADDRESSES);
  return out;
}

/** Degraded while serving: frequent conflicts, or ping asked for but impossible. */
export function conflictWarning(subnet: DhcpSubnet, s: ConflictStatus): { reason: string; message: string } | undefined {
  const { conflicts, window } = subnet.spec.server.conflictThreshold;
  if (s.recentConflicts > conflicts) {
    const listed = s.quarantinedAddresses.slice(0, 8).map((q) => `${q.ip} (${q.reason})`).join(', ');
    return {
      reason: 'AddressConflicts',
      message:
        `${s.recentConflicts} address conflicts in the last ${window} (more than ${conflicts}): usually a rogue DHCP server or hosts with static addresses inside the pool. ` +
        `Conflicting addresses are quarantined for ${subnet.spec.server.quarantineTime}${listed ? `: ${listed}` : ''}; exclude the statically used ones (spec.excludes) or find the other DHCP server.`,
    };
  }
  if (subnet.spec.server.conflictDetection === 'ping' && s.pingUnavailable !== undefined) {
    return { reason: 'PingUnavailable', message: `conflictDetection is ping, but the server cannot ping, so new addresses are offered unchecked: ${s.pingUnavailable}` };
  }
  return undefined;
}
