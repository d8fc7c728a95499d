// Where a server's time goes during one load run, read from outside: its
// /metrics before and after (event-loop delay from
// perf_hooks.monitorEventLoopDelay, which prom-client resets at each scrape;
// GC pauses from PerformanceObserver 'gc'; macd's log group commits, each a
// write + fdatasync every acknowledged request waits for) and the CPU time of
// its threads from /proc (the main thread is the bound of a Node server).

import { readdirSync, readFileSync } from 'node:fs';

export type Metrics = Map<string, number>;

/** The server's /metrics as series → value ("name{labels}" → number). */
export async function scrape(port: number): Promise<Metrics> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const m: Metrics = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    m.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return m;
}

/** CPU seconds of a process's threads by name (main thread: "main"; libuv's threadpool, V8's helpers: their names). */
export function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended
    }
    const name = tid === String(pid) ? 'main' : stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')).replace(/[\d-]+$/, '');
    const f = stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
    out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / 100);
  }
  return out;
}


export interface Diagnosis {
  /** Event-loop delay over the run (ms). */
  lag: { p50: number; p99: number; max: number };
  gc: { minor: number; minorMs: number; major: number; majorMs: number; runMs: number };
  /** Log group commits (macd only). */
  flushes: { count: number; perRequest: number; meanMs: number; p50: number; p99: number } | null;
  /** CPU µs per request: the main thread and the other threads (libuv's threadpool, V8's GC and compiler helpers). */
  cpu: { main: number; others: number };
}

/** histogram_quantile over the difference of two scrapes of a histogram. */
function quantile(before: Metrics, after: Metrics, name: string, q: number): number {
  const buckets: [number, number][] = [];
  for (const [k, v] of after) {
    const m = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\}$`).exec(k);
    if (m) buckets.push([m[1] === '+Inf' ? Infinity : Number(m[1]), v - (before.get(k) ?? 0)]);
  }
  buckets.sort((a, b) => a[0] - b[0]);
  const total = buckets[buckets.length - 1]?.[1] ?? 0;
  if (total === 0) return NaN;
  let prevLe = 0;
  let prevCount = 0;
  for (const [le, count] of buckets) {
    if (count >= q * total) {
      if (le === Infinity) return prevLe * 1000;
      return (prevLe + ((le - prevLe) * (q * total - prevCount)) / Math.max(1, count - prevCount)) * 1000;
    }
    prevLe = le;
    prevCount = count;
  }
  return NaN;
}

/** prom-client's eventLoopMonitoringPrecision (its default). */
const LAG_RESOLUTION_MS = 10;

const diff = (a: Metrics, b: Metrics, k: string): number => (b.get(k) ?? 0) - (a.get(k) ?? 0);

export function diagnose(o: { before: Metrics; after: Metrics; cpuBefore: Map<string, number>; cpuAfter: Map<string, number>; requests: number; runMs: number }): Diagnosis {
  const { before, after } = o;
  const gcCount = (kind: string) => diff(before, after, `nodejs_gc_duration_seconds_count{kind="${kind}"}`);
  const gcMs = (kind: string) => 1000 * diff(before, after, `nodejs_gc_duration_seconds_sum{kind="${kind}"}`);
  const flushes = diff(before, after, 'alcor_macd_log_flush_seconds_count');
  let main = 0;
  let others = 0;
  for (const [name, s] of o.cpuAfter) {
    const d = s - (o.cpuBefore.get(name) ?? 0);
    if (name === 'main') main += d;
    else others += d;
  }
  const per = (s: number) => (1e6 * s) / Math.max(1, o.requests);
  // prom-client samples the delay with a 10 ms timer and reports the whole interval: the delay is what exceeds it.
  const lag = (q: string) => Math.max(0, 1000 * (after.get(`nodejs_eventloop_lag_${q}_seconds`) ?? NaN) - LAG_RESOLUTION_MS);
  return {
    lag: { p50: lag('p50'), p99: lag('p99'), max: lag('max') },
    gc: { minor: gcCount('minor'), minorMs: gcMs('minor'), major: gcCount('major') + gcCount('incremental'), majorMs: gcMs('major') + gcMs('incremental'), runMs: o.runMs },
    flushes: after.has('alcor_macd_log_flush_seconds_count')
      ? {
          count: flushes,
          perRequest: o.requests / Math.max(1, flushes),
          meanMs: (1000 * diff(before, after, 'alcor_macd_log_flush_seconds_sum')) / Math.max(1, flushes),
          p50: quantile(before, after, 'alcor_macd_log_flush_seconds', 0.5),
          p99: quantile(before, after, 'alcor_macd_log_flush_seconds', 0.99),
        }
      : null,
    cpu: { main: per(main), others: per(others) },
  };
}
