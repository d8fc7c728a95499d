import { Gauge, type Registry } from 'prom-client';
import { GROUP } from '../api/index.ts';
import type { KubeObject } from '../runtime/client.ts';
import type { Informer } from '../runtime/informer.ts';
import { WORKLOAD_KINDS, workloadState } from './workload.ts';

// Per-resource gauges a user can alert on without kube-state-metrics, read at
// scrape time from the informer caches (so they are as fresh as the cache and
// cost nothing between scrapes). Every replica keeps its caches warm and so
// exports them, leader or not: aggregate with max by (kind, namespace, name).
// The `namespace` label is the resource's: scrape with honor_labels.

/** Status field holding the addresses in use, per kind with a pool of addresses. */
const USED_FIELD: Record<string, string> = { MacPool: 'allocated', DhcpSubnet: 'leased' };
const CONDITION_STATUSES = ['True', 'False', 'Unknown'] as const;

interface Status {
  capacity?: unknown;
  available?: unknown;
  conditions?: { type?: unknown; status?: unknown }[];
  [field: string]: unknown;
}

type Labels = { kind: string; namespace: string; name: string };

const count = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined);

function resourceLabels(obj: KubeObject): Labels {
  return { kind: obj.kind, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name };
}

/** What is read of an informer: its type and its cache. */
export type CacheView = Pick<Informer, 'type' | 'list'>;

export function registerResourceMetrics(registry: Registry, informers: ReadonlyMap<string, CacheView>): void {
  const registers = [registry];
  // Every kind of ours the manager watches (a new kind gets its conditions exported too).
  const own = () =>
    [...informers.values()].filter((i) => i.type.group === GROUP).flatMap((i) => i.list().map((obj) => ({ obj, status: (obj['status'] ?? {}) as Status })));

  new Gauge({
    name: 'alcor_resource_condition',
    help: 'Condition of an alcor.dev resource from its status: 1 for the status it has, 0 for the others (as kube-state-metrics does).',
    labelNames: ['kind', 'namespace', 'name', 'type', 'status'],
    registers,
    collect() {
      this.reset();
      for (const { obj, status } of own()) {
        for (const c of status.conditions ?? []) {
          if (typeof c.type !== 'string') continue;
          for (const s of CONDITION_STATUSES) this.set({ ...resourceLabels(obj), type: c.type, status: s }, c.status === s ? 1 : 0);
        }
      }
    },
  });

  const poolGauge = (name: string, help: string, value: (status: Status, kind: string) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['kind', 'namespace', 'name'],
      registers,
      collect() {
        this.reset();
        for (const { obj, status } of own()) {
          if (!(obj.kind in USED_FIELD)) continue;
          const v = value(status, obj.kind);
          if (v !== undefined) this.set(resourceLabels(obj), v);
        }
      },
    });
  poolGauge('alcor_pool_capacity_addresses', 'Addresses a MacPool or DhcpSubnet can hand out (status.capacity).', (s) => count(s.capacity));
  poolGauge('alcor_pool_allocated_addresses', 'Addresses in use: MacPool status.allocated, DhcpSubnet status.leased.', (s, kind) => count(s[USED_FIELD[kind]!]));
  poolGauge('alcor_pool_available_addresses', 'Addresses free to hand out (status.available).', (s) => count(s.available));

  // Replicas of the workloads a resource owns (macd, dhcpd, DPM, Alcor's MAC manager).
  const replicas = () => {
    const byOwner = new Map<string, Labels & { desired: number; ready: number }>();
    for (const kind of WORKLOAD_KINDS) {
      for (const child of informers.get(kind)?.list() ?? []) {
        const ref = (child.metadata.ownerReferences ?? []).find((r) => r.controller && r.apiVersion.startsWith(`${GROUP}/`));
        if (!ref) continue;
        const w = workloadState(child as Parameters<typeof workloadState>[0]);
        const key = `${ref.kind}/${child.metadata.namespace}/${ref.name}`;
        const entry = byOwner.get(key) ?? { kind: ref.kind, namespace: child.metadata.namespace ?? '', name: ref.name, desired: 0, ready: 0 };
        entry.desired += w.desired;
        entry.ready += w.ready;
        byOwner.set(key, entry);
      }
    }
    return [...byOwner.values()];
  };
  const replicaGauge = (name: string, help: string, pick: (e: { desired: number; ready: number }) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['kind', 'namespace', 'name'],
      registers,
      collect() {
        this.reset();
        for (const e of replicas()) this.set({ kind: e.kind, namespace: e.namespace, name: e.name }, pick(e));
      },
    });
  replicaGauge('alcor_resource_replicas', 'Desired pods of the workloads an alcor.dev resource owns (StatefulSet, Deployment, DaemonSet).', (e) => e.desired);
  replicaGauge('alcor_resource_ready_replicas', 'Ready pods of the workloads an alcor.dev resource owns.', (e) => e.ready);
}
