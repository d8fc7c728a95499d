// kubectl alcor status: every MacPool and DhcpSubnet with how full it is, its
// replicas ready and its conditions. Exit code 3 when one is Degraded.

import type { Condition, DhcpSubnet, MacPool } from '../../api/index.ts';
import { dhcpdName, macManagerName, macdName } from '../../api/services.ts';
import { listPools, listSubnets, kubeError, PluginError, type Connection } from '../cluster.ts';
import type { Ctx } from '../context.ts';
import { bar, document, table } from '../output.ts';
import { nsOf } from '../resources.ts';

export const DEGRADED_EXIT = 3;

interface Workload {
  metadata: { name: string; namespace?: string };
  spec?: { replicas?: number };
  status?: { readyReplicas?: number; numberReady?: number; desiredNumberScheduled?: number };
}

export interface StatusRow {
  kind: 'MacPool' | 'DhcpSubnet';
  namespace: string;
  name: string;
  replicas: { ready: number; desired: number } | null;
  capacity: number | null;
  used: number | null;
  available: number | null;
  conditions: Condition[];
}

/** Ready replicas of the workloads in scope, by "namespace/name" of workload; null where RBAC hides them. */
async function workloads(c: Connection): Promise<Map<string, { ready: number; desired: number }> | null> {
  const scope = c.all ? '' : `/namespaces/${encodeURIComponent(c.namespace)}`;
  const selector = `?labelSelector=${encodeURIComponent('app.kubernetes.io/managed-by=alcor-operator')}`;
  try {
    const [sts, deploy, ds] = await Promise.all(
      ['statefulsets', 'deployments', 'daemonsets'].map((p) => c.client.get<{ items: Workload[] }>(`/apis/apps/v1${scope}/${p}${selector}`)),
    );
    const out = new Map<string, { ready: number; desired: number }>();
    for (const w of [...sts!.items, ...deploy!.items]) out.set(`${nsOf(w)}/${w.metadata.name}`, { ready: w.status?.readyReplicas ?? 0, desired: w.spec?.replicas ?? 1 });
    for (const w of ds!.items) out.set(`${nsOf(w)}/${w.metadata.name}`, { ready: w.status?.numberReady ?? 0, desired: w.status?.desiredNumberScheduled ?? 0 });
    return out;
  } catch (err) {
    if (err instanceof Error && 'status' in err && (err as { status: number }).status === 403) return null;
    throw kubeError(err, 'workloads');
  }
}

export function rows(pools: MacPool[], subnets: DhcpSubnet[], ready: Map<string, { ready: number; desired: number }> | null): StatusRow[] {
  const replicas = (ns: string, name: string) => (ready ? (ready.get(`${ns}/${name}`) ?? { ready: 0, desired: 0 }) : null);
  const out: StatusRow[] = [];
  for (const p of pools) {
    const ns = nsOf(p);
    const workload = p.spec.engine === 'alcor' ? macManagerName(p.metadata.name) : macdName(p.metadata.name);
    out.push({ kind: 'MacPool', namespace: ns, name: p.metadata.name, replicas: replicas(ns, workload), capacity: p.status?.capacity ?? null, used: p.status?.allocated ?? null, available: p.status?.available ?? null, conditions: p.status?.conditions ?? [] });
  }
  for (const s of subnets) {
    const ns = nsOf(s);
    out.push({ kind: 'DhcpSubnet', namespace: ns, name: s.metadata.name, replicas: replicas(ns, dhcpdName(s.metadata.name)), capacity: s.status?.capacity ?? null, used: s.status?.leased ?? null, available: s.status?.available ?? null, conditions: s.status?.conditions ?? [] });
  }
  return out.sort((a, b) => a.namespace.localeCompare(b.namespace) || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
}

const condition = (r: StatusRow, type: string): Condition | undefined => r.conditions.find((c) => c.type === type);

export const isDegraded = (r: StatusRow): boolean => condition(r, 'Degraded')?.status === 'True';

/** "Ready", "NotReady(ReplicasNotReady)", plus ",Progressing" and ",Degraded(Reason)" when true. */
export function conditionsText(r: StatusRow): string {
  const ready = condition(r, 'Ready');
  const parts = [ready === undefined ? 'Unknown' : ready.status === 'True' ? 'Ready' : `NotReady(${ready.reason})`];
  if (condition(r, 'Progressing')?.status === 'True') parts.push('Progressing');
  const degraded = condition(r, 'Degraded');
  if (degraded?.status === 'True') parts.push(`Degraded(${degraded.reason})`);
  return parts.join(',');
}

export async function status(ctx: Ctx): Promise<number> {
  if (ctx.args.length > 0) throw new PluginError(`status takes no arguments, got: ${ctx.args.join(' ')}`);
  const c = await ctx.conn();
  const [pools, subnets, ready] = await Promise.all([listPools(c), listSubnets(c), workloads(c)]);
  const all = rows(pools, subnets, ready);
  if (ctx.output !== 'table') {
    const items = all.map((r) => ({ ...r, utilization: r.capacity ? (r.used ?? 0) / r.capacity : null }));
    ctx.out.write(await document(ctx.output, { apiVersion: 'v1', kind: 'List', items }));
  } else if (all.length === 0) {
    process.stderr.write(`No MacPools or DhcpSubnets found ${c.all ? 'in any namespace' : `in namespace ${c.namespace}`}.\n`);
  } else {
    const header = [...(c.all ? ['NAMESPACE'] : []), 'KIND', 'NAME', 'READY', 'USED', 'CAPACITY', 'UTILIZATION', 'CONDITIONS'];
    const n = (v: number | null): string => (v === null ? '-' : String(v));
    ctx.out.write(
      table(
        header,
        all.map((r) => [
          ...(c.all ? [r.namespace] : []),
          r.kind,
          r.name,
          r.replicas ? `${r.replicas.ready}/${r.replicas.desired}` : '?',
          n(r.used),
          n(r.capacity),
          r.capacity === null ? '-' : bar(r.used ?? 0, r.capacity),
          conditionsText(r),
        ]),
      ),
    );
  }
  return all.some(isDegraded) ? DEGRADED_EXIT : 0;
}
