import { describe, expect, it } from 'vitest';
import { DhcpSubnet } from '../../src/api/index.ts';
import { DHCP_CONFLICTS_ANNOTATION, DHCP_SERVER_LABEL } from '../../src/api/leases.ts';
import { conflictStatus, conflictWarning, serverLeases } from '../../src/controllers/dhcp-reports.ts';
import type { KubeObject } from '../../src/runtime/client.ts';

const subnet = (server: Record<string, unknown> = {}) =>
  DhcpSubnet.parse({
    apiVersion: 'alcor.dev/v1alpha1',
    kind: 'DhcpSubnet',
    metadata: { name: 'net', namespace: 'ns' },
    spec: { cidr: '10.1.0.0/24', pools: [{ start: '10.1.0.10', end: '10.1.0.99' }], server },
  });

const lease = (name: string, report: unknown, labels: Record<string, string> = { [DHCP_SERVER_LABEL]: 'net' }, namespace = 'ns'): KubeObject => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name, namespace, labels, annotations: { [DHCP_CONFLICTS_ANNOTATION]: typeof report === 'string' ? report : JSON.stringify(report) } },
});

const q = (ip: string, reason: 'decline' | 'ping', until: string) => ({ ip, reason, until });

describe('conflict reports of a DhcpSubnet', () => {
  const replicas = [
    lease('net-dhcpd-0', { net: { quarantined: 2, recent: 4, windowSeconds: 600, addresses: [q('10.1.0.12', 'ping', '2026-01-01T02:00:00Z'), q('10.1.0.10', 'decline', '2026-01-01T01:00:00Z')] } }),
    lease('net-dhcpd-1', { net: { quarantined: 1, recent: 3, windowSeconds: 600, addresses: [q('10.1.0.11', 'decline', '2026-01-01T01:30:00Z')] } }),
    // Not this subnet's servers, or not a report at all: ignored.
    lease('other-dhcpd-0', { net: { quarantined: 9, recent: 9, windowSeconds: 600, addresses: [] } }, { [DHCP_SERVER_LABEL]: 'other' }),
    lease('net-dhcpd-0', { net: { quarantined: 9, recent: 9, windowSeconds: 600, addresses: [] } }, { [DHCP_SERVER_LABEL]: 'net' }, 'elsewhere'),
    lease('net-dhcpd-2', '{not json'),
    lease('net-dhcpd-3', { net: { quarantined: 'many' } }),
  ];

  it('sums the replicas, lists addresses by when they return', () => {
    const s = conflictStatus(serverLeases(replicas, subnet()), 'net');
    expect(s).toEqual({
      quarantined: 3,
      recentConflicts: 7,
      quarantinedAddresses: [q('10.1.0.10', 'decline', '2026-01-01T01:00:00Z'), q('10.1.0.11', 'decline', '2026-01-01T01:30:00Z'), q('10.1.0.12', 'ping', '2026-01-01T02:00:00Z')],
    });
  });

  it.each([
    ['more conflicts than the threshold', {}, 6, undefined, 'AddressConflicts'],
    ['exactly the threshold', {}, 5, undefined, undefined],
    ['a higher threshold', { conflictThreshold: { conflicts: 10 } }, 7, undefined, undefined],
    ['ping asked for but impossible', { conflictDetection: 'ping' }, 0, 'no ICMP socket', 'PingUnavailable'],
    ['a ping failure is no matter without ping', {}, 0, 'no ICMP socket', undefined],
  ])('%s', (_name, server, recent, pingUnavailable, reason) => {
    const w = conflictWarning(subnet(server), { quarantined: 1, quarantinedAddresses: [q('10.1.0.10', 'ping', '2026-01-01T01:00:00Z')], recentConflicts: recent, ...(pingUnavailable ? { pingUnavailable } : {}) });
    expect(w?.reason).toBe(reason);
    if (reason === 'AddressConflicts') expect(w?.message).toMatch(/^6 address conflicts in the last 10m \(more than 5\): usually a rogue DHCP server .* 10\.1\.0\.10 \(ping\)/);
  });
});
