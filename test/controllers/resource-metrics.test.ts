// The per-resource gauges the operator exports from its caches: conditions as
// kube-state-metrics shapes them, pool figures from status, replicas from the
// owned workloads. Read through prom-client's own text output.
import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import type { KubeObject, ResourceType } from '../../src/runtime/client.ts';
import { registerResourceMetrics, type CacheView } from '../../src/controllers/resource-metrics.ts';
import { childTypes, DataPlaneManagerType, DhcpSubnetType, LeaseType, MacPoolType } from '../../src/controllers/resources.ts';

const conditions = (ready: string, degraded: string) => [
  { type: 'Ready', status: ready, reason: 'R', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' },
  { type: 'Degraded', status: degraded, reason: 'D', message: '', lastTransitionTime: '2026-01-01T00:00:00Z' },
];
const owner = (kind: string, name: string) => [{ apiVersion: 'alcor.dev/v1alpha1', kind, name, uid: `uid-${name}`, controller: true }];

const objects: Record<string, KubeObject[]> = {
  MacPool: [
    { apiVersion: 'alcor.dev/v1alpha1', kind: 'MacPool', metadata: { name: 'tenant', namespace: 'a' }, status: { capacity: 1000, allocated: 900, available: 100, conditions: conditions('True', 'False') } },
    // engine alcor: no allocated/available in status, so none exported.
    { apiVersion: 'alcor.dev/v1alpha1', kind: 'MacPool', metadata: { name: 'java', namespace: 'a' }, status: { capacity: 50 } },
    // Not reconciled yet: no status at all.
    { apiVersion: 'alcor.dev/v1alpha1', kind: 'MacPool', metadata: { name: 'new', namespace: 'b' } },
  ],
  DhcpSubnet: [
    { apiVersion: 'alcor.dev/v1alpha1', kind: 'DhcpSubnet', metadata: { name: 'net', namespace: 'a' }, status: { capacity: 254, leased: 254, available: 0, conditions: conditions('False', 'True') } },
  ],
  DataPlaneManager: [{ apiVersion: 'alcor.dev/v1alpha1', kind: 'DataPlaneManager', metadata: { name: 'dpm', namespace: 'a' }, status: { conditions: conditions('True', 'False') } }],
  StatefulSet: [
    { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'tenant-macd', namespace: 'a', generation: 1, ownerReferences: owner('MacPool', 'tenant') }, spec: { replicas: 3 }, status: { observedGeneration: 1, readyReplicas: 2 } },
    { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'net-dhcpd', namespace: 'a', generation: 1, ownerReferences: owner('DhcpSubnet', 'net') }, spec: { replicas: 2 }, status: { readyReplicas: 2 } },
    // Someone else's StatefulSet: not ours to count.
    { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db', namespace: 'a' }, spec: { replicas: 1 }, status: { readyReplicas: 0 } },
  ],
  Deployment: [{ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'dpm', namespace: 'a', ownerReferences: owner('DataPlaneManager', 'dpm') }, spec: { replicas: 2 }, status: { availableReplicas: 1 } }],
  DaemonSet: [],
  Lease: [{ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'x', namespace: 'a' } }],
};

function caches(): Map<string, CacheView> {
  const types: Record<string, ResourceType> = { MacPool: MacPoolType, DhcpSubnet: DhcpSubnetType, DataPlaneManager: DataPlaneManagerType, ...childTypes, Lease: LeaseType };
  return new Map(Object.entries(types).map(([kind, type]) => [kind, { type, list: () => objects[kind] ?? [] }]));
}

async function scrape(): Promise<Map<string, number>> {
  const registry = new Registry();
  registerResourceMetrics(registry, caches());
  const series = new Map<string, number>();
  for (const line of (await registry.metrics()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

describe('operator resource metrics', () => {
  it('alcor_resource_condition: one series per condition status, 1 for the one it has', async () => {
    const m = await scrape();
    const c = (kind: string, name: string, type: string, status: string) => m.get(`alcor_resource_condition{kind="${kind}",namespace="a",name="${name}",type="${type}",status="${status}"}`);
    expect([c('MacPool', 'tenant', 'Ready', 'True'), c('MacPool', 'tenant', 'Ready', 'False'), c('MacPool', 'tenant', 'Ready', 'Unknown')]).toEqual([1, 0, 0]);
    expect([c('DhcpSubnet', 'net', 'Degraded', 'True'), c('DhcpSubnet', 'net', 'Degraded', 'False')]).toEqual([1, 0]);
    expect(c('DataPlaneManager', 'dpm', 'Ready', 'True')).toBe(1);
    // Only resources with conditions, only our kinds.
    expect([...m.keys()].filter((k) => k.startsWith('alcor_resource_condition{'))).toHaveLength(3 * 2 * 3);
  });

  it('pool figures per MacPool and DhcpSubnet from status; none where status has none', async () => {
    const m = await scrape();
    expect(m.get('alcor_pool_capacity_addresses{kind="MacPool",namespace="a",name="tenant"}')).toBe(1000);
    expect(m.get('alcor_pool_allocated_addresses{kind="MacPool",namespace="a",name="tenant"}')).toBe(900);
    expect(m.get('alcor_pool_available_addresses{kind="MacPool",namespace="a",name="tenant"}')).toBe(100);
    expect(m.get('alcor_pool_allocated_addresses{kind="DhcpSubnet",namespace="a",name="net"}')).toBe(254);
    expect(m.get('alcor_pool_available_addresses{kind="DhcpSubnet",namespace="a",name="net"}')).toBe(0);
    expect(m.get('alcor_pool_capacity_addresses{kind="MacPool",namespace="a",name="java"}')).toBe(50);
    expect(m.has('alcor_pool_allocated_addresses{kind="MacPool",namespace="a",name="java"}')).toBe(false);
    expect([...m.keys()].some((k) => k.includes('name="new"'))).toBe(false);
    expect([...m.keys()].some((k) => k.startsWith('alcor_pool_') && k.includes('DataPlaneManager'))).toBe(false);
  });

  it('replicas and ready replicas of the workloads each resource owns', async () => {
    const m = await scrape();
    expect(m.get('alcor_resource_replicas{kind="MacPool",namespace="a",name="tenant"}')).toBe(3);
    expect(m.get('alcor_resource_ready_replicas{kind="MacPool",namespace="a",name="tenant"}')).toBe(2);
    expect(m.get('alcor_resource_ready_replicas{kind="DhcpSubnet",namespace="a",name="net"}')).toBe(2);
    expect(m.get('alcor_resource_ready_replicas{kind="DataPlaneManager",namespace="a",name="dpm"}')).toBe(1);
    expect([...m.keys()].filter((k) => k.startsWith('alcor_resource_replicas{'))).toHaveLength(3);
  });

  it('follows the cache: a resource gone from it is gone from the next scrape', async () => {
    const saved = objects['DhcpSubnet']!;
    objects['DhcpSubnet'] = [];
    try {
      const m = await scrape();
      expect([...m.keys()].some((k) => k.includes('kind="DhcpSubnet",namespace="a",name="net"') && !k.startsWith('alcor_resource_'))).toBe(false);
      expect(m.has('alcor_resource_condition{kind="DhcpSubnet",namespace="a",name="net",type="Ready",status="False"}')).toBe(false);
    } finally {
      objects['DhcpSubnet'] = saved;
    }
  });
});
