// `npm run bench:operator [-- --quick] [--sizes 100,1000,2000] [--operator-log FILE]`
//
// On a fresh local cluster, for each N: the time until N resources (MacPools
// and DhcpSubnets, mixed) are all Ready=True through the operator, beside the
// API server's own limit for the same work: the same rendered children applied
// directly with server-side apply at the same concurrency and client QPS,
// waiting for the same workload readiness. Beside each: the writes per
// resource (creates, children, status, Events), and where the time went
// (bound.ts: CPU of every process of the cluster, of the operator and of this
// benchmark; how busy the machine was; the API server's write latency; etcd's
// fsync and commit durations; the time requests waited for the client's QPS).
// Then a full resync with nothing changed, counting the operator's writes
// (must be zero); RSS (at the end and peak), CPU time and reconcile latency.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { loadRestConfig } from '../src/runtime/restconfig.ts';
import { DhcpSubnet, MacPool } from '../src/api/index.ts';
import { defaultRenderSettings, renderDhcpSubnet, renderMacPool } from '../src/render/index.ts';
import { KubeClient, resourcePath, type KubeObject, type ResourceType } from '../src/runtime/client.ts';
import { Informer } from '../src/runtime/informer.ts';
import { createLogger } from '../src/process/log.ts';
import { childTypes, DhcpSubnetType, MacPoolType } from '../src/controllers/resources.ts';
import { startCluster } from '../e2e/cluster/cluster.ts';
import { freePort } from '../e2e/cluster/net.ts';
import { metricSum, WRITE_METHODS } from '../e2e/prometheus.ts';
import { apiRequestsBetween, BoundMeter, type Bound } from './bound.ts';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    sizes: { type: 'string' },
    workers: { type: 'string', default: '4' },
    /** The operator's info-level log goes to this file (what it applied and wrote, and why). */
    'operator-log': { type: 'string' },
  },
});
const sizes = values.sizes ? values.sizes.split(',').map(Number) : values.quick ? [50] : [100, 1000, 2000];
const workers = Number(values.workers);
const resyncSeconds = values.quick ? 15 : 30;
const root = join(import.meta.dirname, '..');
// The Node flags the chart runs the operator with (values.yaml nodeOptions).
const chartValues = parse(readFileSync(join(root, 'charts/alcor-operator/values.yaml'), 'utf8')) as { nodeOptions?: string; mallocArenaMax?: number };
const nodeOptions = String(chartValues.nodeOptions ?? '').split(/\s+/).filter(Boolean);
// And its environment: glibc's arenas (values.yaml mallocArenaMax).
const operatorEnv = { ...process.env, ...(chartValues.mallocArenaMax ? { MALLOC_ARENA_MAX: String(chartValues.mallocArenaMax) } : {}) };
const log = (s: string) => process.stderr.write(`[bench] ${s}\n`);
const silent = createLogger('bench', 'silent');

const cluster = await startCluster({ log });
// Same client settings as the operator's defaults (QPS 100, burst 200).
const client = new KubeClient(await loadRestConfig(cluster.kubeconfig), { qps: 100, burst: 200 });
// Unthrottled, for watching progress: its requests must not take the baseline's tokens.
const watcher = new KubeClient(await loadRestConfig(cluster.kubeconfig));
const meter = new BoundMeter(cluster);

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

/**
 * Resolves when `count` objects of the types in `ns` pass `ready`, seen
 * through watches (the moment it happens, and no list of thousands of
 * objects every half second loading the API server).
 */
async function whenReady(what: string, types: ResourceType[], ns: string, count: number, ready: (o: KubeObject) => boolean, timeoutMs: number): Promise<void> {
  const informers = types.map((type) => new Informer({ type, client: watcher, log: silent, namespace: ns }));
  const done = new Set<string>();
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out: ${what} (${done.size} of ${count})`)), timeoutMs);
      const check = (o: KubeObject) => {
        const key = `${o.kind}/${o.metadata.name}`;
        if (ready(o)) done.add(key);
        else done.delete(key);
        if (done.size >= count) {
          clearTimeout(timer);
          resolve();
        }
      };
      for (const i of informers) {
        for (const ev of ['add', 'update'] as const) i.on(ev, check);
        i.on('delete', (o) => done.delete(`${o.kind}/${o.metadata.name}`));
        i.start();
      }
    });
  } finally {
    for (const i of informers) i.stop();
  }
}

/** Seconds from each StatefulSet's creation in `ns` until it was first ready; `stop()` ends the watch and returns them. */
function rolloutTimes(ns: string): { stop(): number[] } {
  const informer = new Informer({ type: childTypes['StatefulSet']!, client: watcher, log: silent, namespace: ns });
  const seconds = new Map<string, number>();
  const check = (o: KubeObject) => {
    if (seconds.has(o.metadata.name) || !workloadReady(o) || !o.metadata.creationTimestamp) return;
    seconds.set(o.metadata.name, (Date.now() - Date.parse(o.metadata.creationTimestamp)) / 1000);
  };
  informer.on('add', check);
  informer.on('update', check);
  informer.start();
  return {
    stop() {
      informer.stop();
      return [...seconds.values()].sort((a, b) => a - b);
    },
  };
}

const pick = (sorted: number[], q: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN);

const workloadReady = (s: KubeObject) => {
  const w = s as KubeObject & { spec: { replicas?: number }; status?: { readyReplicas?: number } };
  return (w.status?.readyReplicas ?? 0) >= (w.spec.replicas ?? 1);
};
const resourceReady = (r: KubeObject) => {
  const s = r['status'] as { observedGeneration?: number; conditions?: { type: string; status: string }[] } | undefined;
  return s?.observedGeneration === r.metadata.generation && (s?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
};

/** Writes per resource, by what they were. */
interface Writes {
  create: number;
  children: number;
  status: number;
  events: number;
}
const total = (w: Writes) => w.create + w.children + w.status + w.events;

/** How long the requests waited for the client's QPS: summed, and how many requests. */
interface Throttled {
  seconds: number;
  requests: number;
}

interface BaselineRun {
  seconds: number;
  writes: Writes;
  throttled: Throttled;
  bound: Bound;
  /** Seconds from each StatefulSet's creation until it was ready, sorted. */
  rollouts: number[];
}

/** The API server's own limit: create the resources, apply their rendered children directly. */
async function baseline(n: number): Promise<BaselineRun> {
  const ns = `bench-base-${n}`;
  await kubectl(['create', 'namespace', ns]);
  const writes0 = client.writes;
  const throttled0 = client.throttledSeconds;
  const requests0 = client.requestsMade;
  const s0 = await meter.snapshot({ bench: process.pid });
  const t0 = performance.now();
  const rollouts = rolloutTimes(ns);
  const ready = whenReady(`baseline ${n} workloads ready`, [childTypes['StatefulSet']!], ns, n, workloadReady, 1_800_000);
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
  await ready;
  const seconds = (performance.now() - t0) / 1000;
  const s1 = await meter.snapshot({ bench: process.pid });
  const result = {
    seconds,
    writes: { create: 1, children: (client.writes - writes0 - n) / n, status: 0, events: 0 },
    throttled: { seconds: client.throttledSeconds - throttled0, requests: client.requestsMade - requests0 },
    bound: meter.measure(s0, s1),
    rollouts: rollouts.stop(),
  };
  // Gone before the operator starts, so it has only its own N to reconcile.
  await kubectl(['delete', 'namespace', ns, '--timeout=1200s']);
  return result;
}

interface OperatorRun {
  seconds: number;
  writes: Writes;
  throttled: Throttled;
  bound: Bound;
  rollouts: number[];
  /** RSS with its caches synced and no resource yet (the floor the resources add to), at the end, and peak. */
  idleRssMiB: number;
  rssMiB: number;
  peakRssMiB: number;
  /** V8's heap at the end: used and total (the rest of RSS is code, stacks, buffers and allocator slack). */
  heapUsedMiB: number;
  heapTotalMiB: number;
  /** CPU seconds until convergence, and in all (with the resync). */
  cpuSeconds: number;
  cpuSecondsTotal: number;
  p50: number;
  p99: number;
  noopWrites: number;
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

/** The operator of the run under way. */
let running: ChildProcess | undefined;

/** Peak resident set of a process (VmHWM), MiB. */
function peakRssMiB(p: ChildProcess): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function operatorRun(n: number): Promise<OperatorRun> {
  const ns = `bench-op-${n}`;
  await kubectl(['create', 'namespace', ns]);
  const port = await freePort();
  const op = spawn(process.execPath, [...nodeOptions, join(root, 'dist/cli/main.js'), 'run', '--kubeconfig', cluster.kubeconfig, '--metrics-bind-address', `127.0.0.1:${port}`, '--health-probe-bind-address', '0', '--workers', String(workers), '--resync-period', `${resyncSeconds}s`, '--log-level', values['operator-log'] ? 'info' : 'warn'], { env: operatorEnv, stdio: ['ignore', values['operator-log'] ? openSync(`${values['operator-log']}.${n}`, 'w') : 'ignore', 'inherit'] });
  running = op;
  const metrics = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  await until('operator up', 30_000, async () => metrics().then(() => true, () => false));
  const pids = { operator: op.pid!, bench: process.pid };
  const opWrites = (t: string) => WRITE_METHODS.reduce((s, method) => s + metricSum(t, 'rest_client_requests_total', { method }), 0);
  const throttled = (t: string): Throttled => ({ seconds: metricSum(t, 'rest_client_rate_limiter_duration_seconds_sum'), requests: metricSum(t, 'rest_client_rate_limiter_duration_seconds_count') });
  const m0 = await metrics();
  const idleRssMiB = metricSum(m0, 'process_resident_memory_bytes') / 2 ** 20;
  const s0 = await meter.snapshot(pids);
  const t0 = performance.now();
  const rollouts = rolloutTimes(ns);
  const ready = whenReady(`operator ${n} Ready`, [MacPoolType, DhcpSubnetType], ns, n, resourceReady, 1_800_000);
  await createAll(resources(n, ns));
  await ready;
  const seconds = (performance.now() - t0) / 1000;
  const s1 = await meter.snapshot(pids);
  const m1 = await metrics();
  const rolloutSeconds = rollouts.stop();
  // Let the last status writes and Events settle, then count them and watch one full resync.
  await new Promise((r) => setTimeout(r, 3_000));
  const s2 = await meter.snapshot(pids);
  const m2 = await metrics();
  const ours = new Set(['macpools', 'dhcpsubnets']);
  const statusWrites = apiRequestsBetween(s0, s2, (l) => ours.has(l['resource'] ?? '') && l['subresource'] === 'status' && ['APPLY', 'PATCH', 'PUT'].includes(l['verb'] ?? ''));
  const events = (await watcher.get<{ items: unknown[] }>(`/api/v1/namespaces/${ns}/events?fieldSelector=${encodeURIComponent('source=alcor-operator')}`)).items.length;
  const written = opWrites(m2) - opWrites(m0);
  const resyncsBefore = metricSum(m2, 'controller_runtime_reconcile_total');
  await new Promise((r) => setTimeout(r, (resyncSeconds + 5) * 1000));
  const text = await metrics();
  const resyncPasses = metricSum(text, 'controller_runtime_reconcile_total') - resyncsBefore;
  if (resyncPasses < n) log(`warning: only ${resyncPasses} passes during the resync window (expected ≥ ${n})`);
  const result: OperatorRun = {
    seconds,
    writes: { create: 1, children: (written - statusWrites - events) / n, status: statusWrites / n, events: events / n },
    throttled: { seconds: throttled(m1).seconds - throttled(m0).seconds, requests: throttled(m1).requests - throttled(m0).requests },
    bound: meter.measure(s0, s1),
    rollouts: rolloutSeconds,
    idleRssMiB,
    rssMiB: metricSum(text, 'process_resident_memory_bytes') / 2 ** 20,
    peakRssMiB: peakRssMiB(op),
    heapUsedMiB: metricSum(text, 'nodejs_heap_size_used_bytes') / 2 ** 20,
    heapTotalMiB: metricSum(text, 'nodejs_heap_size_total_bytes') / 2 ** 20,
    cpuSeconds: metricSum(m1, 'process_cpu_seconds_total') - metricSum(m0, 'process_cpu_seconds_total'),
    cpuSecondsTotal: metricSum(text, 'process_cpu_seconds_total'),
    p50: quantile(text, 0.5),
    p99: quantile(text, 0.99),
    noopWrites: opWrites(text) - opWrites(m2),
    errors: metricSum(text, 'controller_runtime_reconcile_errors_total'),
  };
  op.kill('SIGTERM');
  await new Promise((r) => op.once('exit', r));
  await kubectl(['delete', 'namespace', ns, '--timeout=1200s']);
  return result;
}

async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out: ${what}`);
}

const f = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '-');
const ms = (seconds: number) => (Number.isFinite(seconds) ? (seconds * 1000).toFixed(seconds < 0.01 ? 2 : 0) : '-');
const perResource = (w: Writes) => `${f(total(w))} (${f(w.create, 0)}+${f(w.children)}+${f(w.status)}+${f(w.events)})`;

function boundRow(n: number, phase: string, b: Bound, throttled: Throttled, rollouts: number[]): string {
  const cpu = (k: string) => f(b.cpuSeconds[k] ?? NaN);
  return [
    String(n).padStart(5),
    phase.padEnd(8),
    f(b.wallSeconds).padStart(7),
    `${f(b.load1Start)}-${f(b.load1End)}`.padStart(10),
    `${f(b.machineBusyCores, 2)}/${b.cores}`.padStart(10),
    f(b.otherCores, 2).padStart(7),
    cpu('kube-apiserver').padStart(7),
    cpu('etcd').padStart(6),
    cpu('kube-controller-manager').padStart(6),
    cpu('kube-scheduler').padStart(6),
    cpu('kwok').padStart(6),
    cpu('operator').padStart(6),
    cpu('bench').padStart(6),
    ms(throttled.seconds / Math.max(1, throttled.requests)).padStart(9),
    `${ms(b.apiWriteP50)}/${ms(b.apiWriteP99)}`.padStart(13),
    `${b.etcdFsyncs}: ${ms(b.etcdFsyncP99)}`.padStart(14),
    `${b.etcdCommits}: ${ms(b.etcdCommitP99)}`.padStart(14),
    `${f(pick(rollouts, 0.5))}/${f(pick(rollouts, 0.9))}/${f(rollouts.at(-1) ?? NaN)}`.padStart(16),
  ].join(' ');
}

// Interrupted: the cluster's processes (process groups of their own) and the operator go too.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    running?.kill('SIGKILL');
    void cluster.stop().finally(() => process.exit(130));
  });
}

try {
  await kubectl(['apply', '--server-side', '-f', join(root, 'crds')]);
  await kubectl(['wait', '--for=condition=Established', 'crd/macpools.alcor.dev', 'crd/dhcpsubnets.alcor.dev', '--timeout=60s']);
  const rows: string[] = [];
  const bounds: string[] = [];
  const tableHeader = [
    `Operator convergence vs the API server's own limit (${workers} workers per kind, client QPS 100/burst 200 for both; operator's Node flags: ${nodeOptions.join(' ') || 'none'}, MALLOC_ARENA_MAX ${operatorEnv['MALLOC_ARENA_MAX'] ?? 'unset'}; targets: ratio ≤ 1.5, writes per resource ≤ the baseline's, 0 writes on a no-op resync, RSS < 200 MiB at 2,000)`,
    'writes/res: total (create + children + status + events) per resource; noop: the operator\'s writes during a full resync with nothing changed (baseline: 0);',
    'RSS of the operator: idle (caches synced, no resource yet: the baseline it grows from) / at the end / peak; V8 heap used/total at the end;',
    'CPU: the baseline\'s client (this process: renders, applies, watches) until all ready, beside the operator\'s until Ready / with the resync; load: 1-min load average at the start of the baseline and at the operator\'s convergence',
    '    N  base (s)    op (s)  ratio  writes/res baseline      writes/res operator   noop  RSS MiB i/e/p  heap MiB  CPU base   CPU op (s)  p50/p99 ms  errors       load',
  ];
  const boundsHeader = [
    'Where the time went, per phase (until all Ready): CPU seconds per process of the local cluster, the operator and this benchmark (its PV provisioner and watches);',
    'busy: the whole machine, cores busy on average (of all); others: cores busy with processes not listed (other people\'s work); QPS wait: milliseconds a request of the operator (or of the baseline client) waited for its QPS limit on average;',
    'API server write latency (apiserver_request_duration_seconds, APPLY/POST/PATCH/PUT/DELETE); etcd WAL fsyncs and backend commits (count: p99 ms; the local etcd runs --unsafe-no-fsync);',
    'rollout: seconds from a StatefulSet\'s creation until it was ready, p50/p90/max (a new resource on its way has no status yet, for up to 30 s)',
    '    N phase       wall       load       busy  others apiserv   etcd    kcm  sched   kwok     op  bench  QPS wait  API p50/p99 ms   etcd fsync     etcd commit  rollout s p50/90/max',
  ];
  for (const n of sizes) {
    log(`N=${n}: baseline (direct server-side apply)`);
    const base = await baseline(n);
    log(`N=${n}: operator`);
    const run = await operatorRun(n);
    rows.push(
      [
        String(n).padStart(5),
        f(base.seconds).padStart(9),
        f(run.seconds).padStart(9),
        (run.seconds / base.seconds).toFixed(2).padStart(6),
        perResource(base.writes).padStart(21),
        perResource(run.writes).padStart(23),
        String(run.noopWrites).padStart(6),
        `${f(run.idleRssMiB, 0)}/${f(run.rssMiB, 0)}/${f(run.peakRssMiB, 0)}`.padStart(13),
        `${f(run.heapUsedMiB, 0)}/${f(run.heapTotalMiB, 0)}`.padStart(9),
        f(base.bound.cpuSeconds['bench'] ?? NaN).padStart(9),
        `${f(run.cpuSeconds)}/${f(run.cpuSecondsTotal)}`.padStart(11),
        `${(run.p50 * 1000).toFixed(0)}/${(run.p99 * 1000).toFixed(0)}`.padStart(11),
        String(run.errors).padStart(6),
        `${f(base.bound.load1Start)}-${f(run.bound.load1End)}`.padStart(10),
      ].join(' '),
    );
    bounds.push(boundRow(n, 'baseline', base.bound, base.throttled, base.rollouts), boundRow(n, 'operator', run.bound, run.throttled, run.rollouts));
    // Each N's rows as soon as they are measured: a run cut short keeps what it measured.
    log(`N=${n} measured:\n${[...tableHeader, rows.at(-1)!, ...boundsHeader, ...bounds.slice(-2)].join('\n')}`);
  }
  process.stdout.write(['', ...tableHeader, ...rows, '', ...boundsHeader, ...bounds, ''].join('\n'));
} finally {
  client.close();
  watcher.close();
  await cluster.stop();
}
