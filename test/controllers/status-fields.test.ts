// Status figures from the servers' reports, never from the spec.
import { describe, expect, it } from 'vitest';
import { DHCP_SERVER_LABEL, MAC_POOL_LABEL, SERVED_ANNOTATION, reportText, type DhcpdReport, type MacdReport } from '../../src/api/leases.ts';
import { dhcpSubnetKind } from '../../src/controllers/dhcpsubnet.ts';
import { macPoolKind } from '../../src/controllers/macpool.ts';
import type { ReconcileContext } from '../../src/controllers/reconcile.ts';
import type { KubeObject } from '../../src/runtime/client.ts';
import { alcorEngineExample, dhcpSubnetExample, macPoolExample, NAMESPACE, nodeLocalExample } from '../render/fixtures.ts';

const lease = (name: string, label: string, owner: string, report: MacdReport | DhcpdReport): KubeObject => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name, namespace: NAMESPACE, labels: { [label]: owner }, annotations: { [SERVED_ANNOTATION]: reportText(report) } },
});
const ctx = (leases: KubeObject[]) => ({ leases: () => leases }) as unknown as ReconcileContext;
const none = new Map<string, KubeObject>();

describe('MacPool status from the replicas’ reports', () => {
  const pool = macPoolExample(); // two replicas: tenant-macs-macd-0 and -1
  const macd = (name: string, r: Partial<MacdReport>) => lease(name, MAC_POOL_LABEL, 'tenant-macs', { generation: 1, refused: [], capacity: 1000, allocated: 0, ...r });
  const endpoint = `http://tenant-macs-macd.${NAMESPACE}.svc:9005`;

  it('nothing reported, nothing claimed: no capacity, no counts', () => {
    expect(macPoolKind.statusFields(pool, ctx([]), none)).toEqual({ endpoint });
  });

  it('capacity as served (the least while replicas disagree), allocated summed over every replica that has any', () => {
    const leases = [macd('tenant-macs-macd-0', { capacity: 1000, allocated: 7 }), macd('tenant-macs-macd-1', { capacity: 600, allocated: 3 }), macd('tenant-macs-macd-5', { capacity: 5, allocated: 2 })];
    expect(macPoolKind.statusFields(pool, ctx(leases), none)).toEqual({ capacity: 600, allocated: 12, available: 588, endpoint });
  });

  it('a refusal and a replica behind become the verdict the conditions use', () => {
    const leases = [macd('tenant-macs-macd-0', { refused: ['ranges[0] (range0): not served: why'] }), macd('tenant-macs-macd-1', { generation: 0 })];
    expect(macPoolKind.served!(pool, ctx(leases), none)).toEqual({
      refused: 'tenant-macs-macd-0: ranges[0] (range0): not served: why',
      pending: 'waiting for tenant-macs-macd-1 to report serving generation 1',
    });
  });

  it("engine alcor: Alcor's MAC manager reports nothing, so status claims nothing", () => {
    expect(macPoolKind.statusFields(alcorEngineExample(), ctx([]), none)).toEqual({ endpoint: expect.stringMatching(/^http:\/\//) });
    expect(macPoolKind.served!(alcorEngineExample(), ctx([]), none)).toEqual({});
  });
});

describe('DhcpSubnet status from the servers’ reports', () => {
  const dhcpd = (name: string, share: number, shares: number, capacity: number, leased: number, generation = 1) =>
    lease(name, DHCP_SERVER_LABEL, 'tenant-net', { generation, refused: [], share, shares, subnets: { 'tenant-net': { capacity, leased } } });

  it('relay: the shares summed', () => {
    const leases = [dhcpd('tenant-net-dhcpd-0', 0, 2, 45, 3), dhcpd('tenant-net-dhcpd-1', 1, 2, 44, 1)];
    expect(dhcpSubnetKind.statusFields(dhcpSubnetExample(), ctx(leases), none)).toEqual({ capacity: 89, leased: 4, available: 85, quarantined: 0, recentConflicts: 0 });
    expect(dhcpSubnetKind.served!(dhcpSubnetExample(), ctx(leases), none)).toEqual({});
  });

  it('relay: a share nobody reports is not served', () => {
    const leases = [dhcpd('tenant-net-dhcpd-0', 0, 2, 45, 3)];
    expect(dhcpSubnetKind.statusFields(dhcpSubnetExample(), ctx(leases), none)).toEqual({ capacity: 45, leased: 3, available: 42, quarantined: 0, recentConflicts: 0 });
    expect(dhcpSubnetKind.served!(dhcpSubnetExample(), ctx(leases), none)).toEqual({ pending: 'waiting for tenant-net-dhcpd-1 to report serving generation 1' });
  });

  it('nodeLocal: each node serves the one share to its own clients; leases add up', () => {
    const ds: KubeObject = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'tenant-net-dhcpd' }, status: { desiredNumberScheduled: 3 } };
    const leases = [dhcpd('tenant-net-dhcpd-node-a', 0, 1, 89, 5), dhcpd('tenant-net-dhcpd-node-b', 0, 1, 89, 2)];
    const children = new Map([['DaemonSet/tenant-net-dhcpd', ds]]);
    expect(dhcpSubnetKind.statusFields(nodeLocalExample(), ctx(leases), children)).toEqual({ capacity: 89, leased: 7, available: 82, quarantined: 0, recentConflicts: 0 });
    expect(dhcpSubnetKind.served!(nodeLocalExample(), ctx(leases), children)).toEqual({ pending: '2 of 3 servers report serving generation 1' });
  });
});
