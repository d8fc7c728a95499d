// `npm run bench:operator [-- --quick] [--sizes 100,500,1000]`
//
// On a fresh local cluster, for each N: the time until N resources (MacPools
// and DhcpSubnets, mixed) are all Ready=True through the operator, beside the
// API server's own limit for the same work: the same rendered children applied
// directly with server-side apply at the same concurrency, waiting for the
// same workload readiness. Then a full resync with nothing changed, counting
// the operator's writes (must be zero); RSS, CPU time and reconcile latency.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadRestConfig } from '../src/runtime/restconfig.ts';
import { DhcpSubnet, MacPool } from '../src/api/index.ts';
import { defaultRenderSettings, renderDhcpSubnet, renderMacPool } from '../src/render/index.ts';
import { KubeClient, resourcePath, type KubeObject } from '../src/runtime/client.ts';
import { childTypes, DhcpSubnetType, MacPoolType } from '../src/controllers/resources.ts';
import { startCluster } from '../e2e/cluster/cluster.ts';
import { freePort } from '../e2e/cluster/net.ts';
import { metricSum, WRITE_METHODS } from '../e2e/prometheus.ts';

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, sizes: { type: 'string' }, workers: { type: 'string', default: '4' } } });
const sizes = values.sizes ? values.sizes.split(',').map(Number) : values.quick ? [50] : [100, 500, 1000];
const workers = Number(values.workers);
const resyncSeconds = values.quick ? 15 : 30;
const root = join(import.meta.dirname, '..');
const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);

const cluster = await startCluster({ log });
// Same client settings as the operator's defaults (QPS 100, burst 200).
const client = new KubeClient(await loadRestConfig(cluster.kubeconfig), { qps: 100, burst: 200 });

async function kubectl(args: string[]): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const p = spawn(join(cluster.binDir, 'kubectl'), ['--kubeconfig', cluster.kubeconfig, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`kubectl ${args.join(' ')}: ${code}`))));
  });
}

function resources(n: number, ns: string): KubeObject[] {
  return Array.from({ length: n }, (_, i) =>
    i % 2 === 0
      ? { apiVersion: 'alcor.dev/v1alpha1', kind: 'MacPool', metadata: { name: `pool-${i}`, namespace: ns }, spec: { oui: '02:00:00', ranges: [{ name: 'r0', from: `02:00:00:${hex(i >> 8)}:${hex(i & 255)}:00`, to: `02:00:00:${hex(i >> 8)}:${hex(i & 255)}:ff` }], allocator: { replicas: 1 } } }
      : { apiVersion: 'alcor.dev/v1alpha1', kind: 'DhcpSubnet', metadata: { name: `net-${i}`, namespace: ns }, spec: { cidr: `10.${(i >> 8) & 255}.${i & 255}.0/24`, gateway: `10.${(i >> 8) & 255}.${i & 255}.1`, pools: [{ start: `10.${(i >> 8) & 255}.${i & 255}.10`, end: `10.${(i >> 8) & 255}.${i & 255}.250` }], server: { replicas: 1 } } },
  );
}
const hex = (n: number) => n.toString(16).padStart(2, '0');

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

async function createAll(objs: KubeObject[]): Promise<KubeObject[]> {
  const created: KubeObject[] = [];
  await pool(objs, 16, async (o) => {
    const type = o.kind === 'MacPool' ? MacPoolType : DhcpSubnetType;
    created.push(await client.create<KubeObject>(resourcePath(type, o.metadata.namespace), o));
  });
  return created;
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out: ${what}`);
}

async function workloadsReady(ns: string, n: number): Promise<boolean> {
  let ready = 0;
  for (const t of [childTypes['StatefulSet']!]) {
    const list = await client.get<{ items: { spec: { replicas?: number }; status?: { readyReplicas?: number } }[] }>(resourcePath(t, ns));
    ready += list.items.filter((s) => (s.status?.readyReplicas ?? 0) >= (s.spec.replicas ?? 1)).length;
  }
  return ready === n;
}

async function allReady(ns: string, n: number): Promise<boolean> {
  let ready = 0;
  for (const t of [MacPoolType, DhcpSubnetType]) {
    const list = await client.get<{ items: { metadata: { generation?: number }; status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] } }[] }>(resourcePath(t, ns));
    ready += list.items.filter((r) => r.status?.observedGeneration === r.metadata.generation && r.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
  }
  return ready === n;
}

/** The API server's own limit: create the resources, apply their rendered children directly. */
async function baseline(n: number): Promise<number> {
  const ns = `bench-base-${n}`;
  await kubectl(['create', 'namespace', ns]);
  const t0 = performance.now();
  const created = await createAll(resources(n, ns));
  const children = created.flatMap((o) =>
    o.kind === 'MacPool' ? renderMacPool(MacPool.parse(o), defaultRenderSettings) : renderDhcpSubnet(DhcpSubnet.parse(o), defaultRenderSettings),
  );
  // The operator runs `workers` reconciles per kind, each applying its children at once.
  const byOwner = new Map<string, KubeObject[]>();
  for (const c of children) {
    const owner = c.metadata.ownerReferences?.[0]?.uid ?? '';
    byOwner.set(owner, [...(byOwner.get(owner) ?? []), c]);
  }
  await pool([...byOwner.values()], workers * 2, async (set) => {
    await Promise.all(set.map((c) => client.apply(resourcePath(childTypes[c.kind]!, ns, c.metadata.name), c)));
  });
  await until(`baseline ${n} workloads ready`, 900_000, () => workloadsReady(ns, n));
  const seconds = (performance.now() - t0) / 1000;
  // Gone before the operator starts, so it has only its own N to reconcile.
  await kubectl(['delete', 'namespace', ns, '--timeout=300s']);
  return seconds;
}

interface OperatorRun {
  seconds: number;
  rssMiB: number;
  cpuSeconds: number;
  p50: number;
  p99: number;
  noopWrites: number;
  /** Writes until convergence (children, status, events). */
  writes: number;
  errors: number;
}

function quantile(text: string, q: number): number {
  const buckets = new Map<number, number>();
  for (const line of text.split('\n')) {
    const m = /^controller_runtime_reconcile_time_seconds_bucket\{.*le="([^"]+)".*\}\s+(\S+)$/.exec(line);
    if (!m) continue;
    const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
    buckets.set(le, (buckets.get(le) ?? 0) + Number(m[2]));
  }
  const sorted = [...buckets.entries()].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  for (const [le, count] of sorted) if (count >= q * total) return le;
  return Infinity;
}

async function operatorRun(n: number): Promise<OperatorRun> {
  const ns = `bench-op-${n}`;
  await kubectl(['create', 'namespace', ns]);
  const port = await freePort();
  // The Node flags the chart sets (values.yaml nodeOptions).
  const op = spawn(process.execPath, ['--max-semi-space-size=1', join(root, 'dist/cli/main.js'), 'run', '--kubeconfig', cluster.kubeconfig, '--metrics-bind-address', `127.0.0.1:${port}`, '--health-probe-bind-address', '0', '--workers', String(workers), '--resync-period', `${resyncSeconds}s`, '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  await until('operator up', 30_000, async () => metrics().then(() => true, () => false));
  const t0 = performance.now();
  await createAll(resources(n, ns));
  await until(`operator ${n} Ready`, 900_000, () => allReady(ns, n));
  const seconds = (performance.now() - t0) / 1000;
  // Let the last status writes and events settle, then watch one full resync.
  await new Promise((r) => setTimeout(r, 3_000));
  const writes = (t: string) => WRITE_METHODS.reduce((s, method) => s + metricSum(t, 'rest_client_requests_total', { method }), 0);
  const before = writes(await metrics());
  const resyncsBefore = metricSum(await metrics(), 'controller_runtime_reconcile_total');
  await new Promise((r) => setTimeout(r, (resyncSeconds + 5) * 1000));
  const text = await metrics();
  const resyncPasses = metricSum(text, 'controller_runtime_reconcile_total') - resyncsBefore;
  if (resyncPasses < n) log(`warning: only ${resyncPasses} passes during the resync window (expected ≥ ${n})`);
  const result = {
    seconds,
    rssMiB: metricSum(text, 'process_resident_memory_bytes') / 2 ** 20,
    cpuSeconds: metricSum(text, 'process_cpu_seconds_total'),
    p50: quantile(text, 0.5),
    p99: quantile(text, 0.99),
    noopWrites: writes(text) - before,
    writes: before,
    errors: metricSum(text, 'controller_runtime_reconcile_errors_total'),
  };
  op.kill('SIGTERM');
  await new Promise((r) => op.once('exit', r));
  await kubectl(['delete', 'namespace', ns, '--timeout=300s']);
  return result;
}

try {
  await kubectl(['apply', '--server-side', '-f', join(root, 'crds')]);
  await kubectl(['wait', '--for=condition=Established', 'crd/macpools.alcor.dev', 'crd/dhcpsubnets.alcor.dev', '--timeout=60s']);
  const rows: string[] = [];
  for (const n of sizes) {
    log(`N=${n}: baseline (direct server-side apply)`);
    const base = await baseline(n);
    log(`N=${n}: operator`);
    const run = await operatorRun(n);
    rows.push(
      [
        String(n).padStart(5),
        base.toFixed(1).padStart(9),
        run.seconds.toFixed(1).padStart(9),
        (run.seconds / base).toFixed(2).padStart(6),
        String(run.noopWrites).padStart(11),
        run.rssMiB.toFixed(0).padStart(8),
        run.cpuSeconds.toFixed(1).padStart(8),
        `${(run.p50 * 1000).toFixed(0)}/${(run.p99 * 1000).toFixed(0)}`.padStart(13),
        String(run.writes).padStart(7),
        String(run.errors).padStart(7),
      ].join(' '),
    );
    log(`N=${n}: baseline ${base.toFixed(1)}s, operator ${run.seconds.toFixed(1)}s, no-op writes ${run.noopWrites}, RSS ${run.rssMiB.toFixed(0)} MiB`);
  }
  process.stdout.write(
    [
      '',
      `Operator convergence vs the API server's own limit (${workers} workers per kind, QPS 100/burst 200 for both; targets: ratio ≤ 1.5, 0 writes on a no-op resync, RSS < 200 MiB at 1,000)`,
      '    N  base (s)    op (s)  ratio  noop writes  RSS MiB  CPU (s)  p50/p99 (ms)  writes  errors',
      ...rows,
      '',
    ].join('\n'),
  );
} finally {
  client.close();
  await cluster.stop();
}
