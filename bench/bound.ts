// Where a benchmark phase's time went, from the machine's and the control
// plane's own figures: CPU seconds of each process of the local cluster (from
// /proc), how busy the whole machine was (of its cores), the load average, the
// API server's request latency for writes (apiserver_request_duration_seconds
// from its /metrics) and etcd's WAL fsync and backend commit durations (from
// etcd's /metrics). A snapshot at the start of a phase, another at its end.
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import type { Cluster } from '../e2e/cluster/cluster.ts';
import { httpsJson } from '../e2e/cluster/net.ts';

/** Linux's USER_HZ: /proc reports CPU time in these ticks. */
const TICKS_PER_SECOND = 100;
const WRITE_VERBS = new Set(['APPLY', 'POST', 'PATCH', 'PUT', 'DELETE']);

export interface Snapshot {
  at: number;
  load1: number;
  machineBusyTicks: number;
  cpuTicks: Record<string, number>;
  apiserver: string;
  etcd: string;
}

export interface Bound {
  wallSeconds: number;
  /** The whole machine, every process (ours and anyone else's), in cores busy on average. */
  machineBusyCores: number;
  cores: number;
  load1Start: number;
  load1End: number;
  /** CPU seconds by process name (the cluster's components plus the extra pids given). */
  cpuSeconds: Record<string, number>;
  /** Cores busy on average with processes not named here (other people's tests, the kernel). */
  otherCores: number;
  apiWrites: number;
  apiWriteP50: number;
  apiWriteP99: number;
  etcdFsyncs: number;
  etcdFsyncP99: number;
  etcdCommits: number;
  etcdCommitP99: number;
}

function machineBusyTicks(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal: busy is all but idle and iowait.
  return cpu.slice(0, 8).reduce((a, b) => a + b, 0) - (cpu[3] ?? 0) - (cpu[4] ?? 0);
}

function processTicks(pid: number): number {
  try {
    // Fields after the command's closing parenthesis: utime is the 12th, stime the 13th (children's are not included).
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch {
    return 0;
  }
}

/** Histogram buckets summed over the series of `name` whose labels pass `keep`. */
function buckets(text: string, name: string, keep: (labels: Record<string, string>) => boolean): Map<number, number> {
  const out = new Map<number, number>();
  const prefix = `${name}_bucket{`;
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const close = line.lastIndexOf('}');
    const labels = Object.fromEntries([...line.slice(prefix.length, close).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    if (!keep(labels)) continue;
    const le = labels['le'] === '+Inf' ? Infinity : Number(labels['le']);
    out.set(le, (out.get(le) ?? 0) + Number(line.slice(close + 1).trim().split(' ')[0]));
  }
  return out;
}

/** Count and quantiles of the observations made between two scrapes, interpolated within buckets as histogram_quantile does. */
function between(before: Map<number, number>, after: Map<number, number>, qs: number[]): { count: number; q: number[] } {
  const sorted = [...after.entries()].map(([le, n]) => [le, n - (before.get(le) ?? 0)] as const).sort((a, b) => a[0] - b[0]);
  const count = sorted.at(-1)?.[1] ?? 0;
  const q = qs.map((quantile) => {
    if (count === 0) return NaN;
    const rank = quantile * count;
    let prevLe = 0;
    let prevCount = 0;
    for (const [le, n] of sorted) {
      if (n >= rank) {
        if (le === Infinity) return prevLe;
        return prevLe + ((le - prevLe) * (rank - prevCount)) / Math.max(1, n - prevCount);
      }
      prevLe = le;
      prevCount = n;
    }
    return prevLe;
  });
  return { count, q };
}

export class BoundMeter {
  private readonly cluster: Cluster;
  private readonly cores = availableParallelism();

  constructor(cluster: Cluster) {
    this.cluster = cluster;
  }

  /** `extra`: more processes to count by name (the operator, this benchmark). */
  async snapshot(extra: Record<string, number> = {}): Promise<Snapshot> {
    const pids = { ...this.cluster.pids(), ...extra };
    const [apiserver, etcd] = await Promise.all([
      httpsJson(this.cluster.tls, 'GET', `${this.cluster.server}/metrics`).then((r) => r.text),
      fetch(`${this.cluster.etcdUrl}/metrics`).then((r) => r.text()),
    ]);
    return {
      at: performance.now(),
      load1: loadavg()[0]!,
      machineBusyTicks: machineBusyTicks(),
      cpuTicks: Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processTicks(pid)])),
      apiserver,
      etcd,
    };
  }

  measure(a: Snapshot, b: Snapshot): Bound {
    const wallSeconds = (b.at - a.at) / 1000;
    const cpuSeconds = Object.fromEntries(Object.keys(b.cpuTicks).map((k) => [k, ((b.cpuTicks[k] ?? 0) - (a.cpuTicks[k] ?? 0)) / TICKS_PER_SECOND]));
    const machineBusyCores = (b.machineBusyTicks - a.machineBusyTicks) / TICKS_PER_SECOND / wallSeconds;
    const ours = Object.values(cpuSeconds).reduce((x, y) => x + y, 0) / wallSeconds;
    const writes = (l: Record<string, string>) => WRITE_VERBS.has(l['verb'] ?? '');
    const api = between(buckets(a.apiserver, 'apiserver_request_duration_seconds', writes), buckets(b.apiserver, 'apiserver_request_duration_seconds', writes), [0.5, 0.99]);
    const all = () => true;
    const fsync = between(buckets(a.etcd, 'etcd_disk_wal_fsync_duration_seconds', all), buckets(b.etcd, 'etcd_disk_wal_fsync_duration_seconds', all), [0.99]);
    const commit = between(buckets(a.etcd, 'etcd_disk_backend_commit_duration_seconds', all), buckets(b.etcd, 'etcd_disk_backend_commit_duration_seconds', all), [0.99]);
    return {
      wallSeconds,
      machineBusyCores,
      cores: this.cores,
      load1Start: a.load1,
      load1End: b.load1,
      cpuSeconds,
      otherCores: Math.max(0, machineBusyCores - ours),
      apiWrites: api.count,
      apiWriteP50: api.q[0]!,
      apiWriteP99: api.q[1]!,
      etcdFsyncs: fsync.count,
      etcdFsyncP99: fsync.q[0]!,
      etcdCommits: commit.count,
      etcdCommitP99: commit.q[0]!,
    };
  }
}

/** apiserver_request_total summed over the series whose labels pass `keep`, between two snapshots. */
export function apiRequestsBetween(a: Pick<Snapshot, 'apiserver'>, b: Pick<Snapshot, 'apiserver'>, keep: (labels: Record<string, string>) => boolean): number {
  const sum = (text: string) => {
    let n = 0;
    for (const line of text.split('\n')) {
      if (!line.startsWith('apiserver_request_total{')) continue;
      const close = line.lastIndexOf('}');
      const labels = Object.fromEntries([...line.slice('apiserver_request_total{'.length, close).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
      if (keep(labels)) n += Number(line.slice(close + 1).trim());
    }
    return n;
  };
  return sum(b.apiserver) - sum(a.apiserver);
}
