// `npm run bench:macd [-- --quick] [-- --alcor-only]`: macd on loopback against the HTTP floor
// (a minimal node:http server with a constant JSON body), measured in the
// same run by the same load generator, and, where Alcor's jars are present,
// against Alcor's real MAC manager (bench/macd-alcor.ts). The servers are
// child processes; this process only generates load. Prints the tables;
// asserts nothing.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fdatasyncSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { Agent } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { allocationBody, load, rssMiB, send, type LoadResult } from './http-load.ts';
import { alcorSideBySide } from './macd-alcor.ts';

const quick = process.argv.includes('--quick');
/** Only the side-by-side run against Alcor's MAC manager (bench/macd-alcor.ts). */
const alcorOnly = process.argv.includes('--alcor-only');
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'node_modules/.cache/macd-bench-dist');

/**
 * Measure what the image runs: the compiled JavaScript (Node's type stripping
 * of the .ts sources costs ~30 MiB of RSS and some start-up time).
 */
function build(): string {
  const tsc = join(ROOT, 'node_modules/.bin/tsc');
  spawnSync(tsc, ['-p', join(ROOT, 'tsconfig.build.json'), '--outDir', DIST], { stdio: 'ignore' });
  const main = join(DIST, 'cli/main.js');
  if (!existsSync(main)) throw new Error(`build failed: ${main} missing`);
  return main;
}
const MAIN = build();
const FLOOR = fileURLToPath(new URL('./http-floor.ts', import.meta.url));
const seconds = quick ? 1 : 3;
const FILL = quick ? 1_000_000 : 8_388_608;

interface Server {
  child: ChildProcess;
  port: number;
  startMs: number;
  lines: string[];
}

function start(args: string[], nodeFlags: string[] = []): Promise<Server> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [...nodeFlags, ...args], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, LOG_LEVEL: 'info' } });
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${lines.join('\n')}`)));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      if (line.includes('"macd listening"')) resolve({ child, port: (JSON.parse(line) as { port: number }).port, startMs: performance.now() - t0, lines });
    });
  });
}

async function stop(s: Server, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  s.child.removeAllListeners('exit');
  const done = new Promise((r) => s.child.once('exit', r));
  s.child.kill(signal);
  await done;
}

const single = allocationBody;
function bulkBody(n: number, tag: number): string {
  const parts: string[] = [];
  for (let k = 0; k < n; k++) parts.push(`{"project_id":"p","vpc_id":"v","port_id":"b${tag}-${k}"}`);
  return `{"mac_states":[${parts.join(',')}]}`;
}

/** Allocates `total` MACs with `conc` streams of bulk requests of `size`; returns MACs/s. */
async function bulk(port: number, total: number, size: number, conc: number, path = '/macs/bulk'): Promise<number> {
  const agent = new Agent({ keepAlive: true, maxSockets: conc });
  const bodies = Array.from({ length: 4 }, (_, k) => bulkBody(size, k));
  let sent = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: conc }, async (_, w) => {
    while (sent < total) {
      sent += size;
      const status = await send(agent, port, path, bodies[(sent / size + w) % 4]!);
      if (status !== 201) throw new Error(`bulk answered ${status}`);
    }
  }));
  agent.destroy();
  return sent / ((performance.now() - t0) / 1000);
}

/** The disk's durable-write latency here (median of 200 × 4 KiB write + fdatasync): the floor of any acknowledged write. */
function fsyncMs(dir: string): number {
  const fd = openSync(join(dir, 'fsync-probe'), 'w');
  const buf = Buffer.alloc(4096, 1);
  const t: number[] = [];
  for (let i = 0; i < 200; i++) {
    const s = performance.now();
    writeSync(fd, buf);
    fdatasyncSync(fd);
    t.push(performance.now() - s);
  }
  closeSync(fd);
  t.sort((a, b) => a - b);
  return t[100]!;
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function main(): Promise<void> {
  if (alcorOnly) {
    const dir = mkdtempSync(join(tmpdir(), 'macd-bench-'));
    await sideBySide(dir);
    return;
  }
  const rows: string[][] = [];
  const loadBefore = loadavg()[0]!;
  const dir = mkdtempSync(join(tmpdir(), 'macd-bench-'));
  const fsync = fsyncMs(dir);
  const macdArgs = (d: string) => [MAIN, 'macd', '--listen', '127.0.0.1:0', '--data-dir', d];

  /** macd's figures with one range, for the overlap case to compare with. */
  let oneRange64: LoadResult | null = null;
  let oneRangeBulk = 0;

  // 1. Single-MAC POST against the floor and macd.
  const floor = await start([FLOOR]);
  const macd = await start(macdArgs(join(dir, 'single')));
  await new Promise((r) => setTimeout(r, 300));
  const idleRss = rssMiB(macd.child.pid!);
  // Floor and macd alternate, twice per level; the better run of each counts
  // (the machine may be shared: this halves the odds that noise hits one side only).
  const best = (a: LoadResult, b: LoadResult): LoadResult => (a.rps >= b.rps ? a : b);
  for (const conns of [1, 16, 64]) {
    let f = await load(floor.port, conns, seconds, '/macs', single);
    let m = await load(macd.port, conns, seconds, '/macs', single);
    f = best(f, await load(floor.port, conns, seconds, '/macs', single));
    m = best(m, await load(macd.port, conns, seconds, '/macs', single));
    if (conns === 64) oneRange64 = m;
    rows.push([`POST /macs, ${conns} conn`, `${fmt(m.rps)}/s`, `${fmt(f.rps)}/s`, `${fmt((100 * m.rps) / f.rps)} %`, `${fmt(m.p50, 2)} / ${fmt(m.p99, 2)} / ${fmt(m.max, 1)} ms`, `${fmt(f.p50, 2)} / ${fmt(f.p99, 2)} / ${fmt(f.max, 1)} ms`, m.errors ? `${m.errors} errors` : '']);
  }
  await stop(floor);
  await stop(macd);

  // 2. Bulk allocation, then fill to FILL allocated for RSS and restart.
  const fillDir = join(dir, 'fill');
  let big = await start(macdArgs(fillDir));
  const bulkRate = await bulk(big.port, quick ? 300_000 : 2_000_000, 10_000, 2);
  oneRangeBulk = bulkRate;
  rows.push(['POST /macs/bulk (10,000 per request, 2 streams)', `${fmt(bulkRate)} MACs/s`, '', '', '', '', '']);
  const already = quick ? 300_000 : 2_000_000;
  // Fill the rest the way clients do: bulk requests of 1,000.
  await bulk(big.port, FILL - already, 1_000, 2);
  await new Promise((r) => setTimeout(r, 500));
  rows.push([`RSS, 16M range, ${fmt(FILL)} allocated, right after the fill`, `${fmt(rssMiB(big.child.pid!), 1)} MiB`, '', '', 'V8 keeps the garbage of the fill as heap headroom', '', '']);

  // 3. Restart after SIGKILL (snapshot + log replay) and after a clean stop.
  await stop(big, 'SIGKILL');
  big = await start(macdArgs(fillDir));
  const loaded = big.lines.map((l) => JSON.parse(l) as { msg: string; ms?: number; records?: number }).find((l) => l.msg === 'state loaded');
  rows.push([`restart after SIGKILL, ${fmt(FILL)} allocated`, `${fmt(big.startMs)} ms to listening`, '', '', `state load ${loaded?.ms ?? '?'} ms, ${loaded?.records ?? '?'} log records`, '', '']);
  rows.push([`RSS, 16M range, ${fmt(FILL)} allocated, after restart`, `${fmt(rssMiB(big.child.pid!), 1)} MiB`, '', '', `idle process with 0 allocated: ${fmt(idleRss, 1)} MiB`, '', '']);
  await stop(big);
  big = await start(macdArgs(fillDir));
  rows.push([`restart after SIGTERM (snapshot), ${fmt(FILL)} allocated`, `${fmt(big.startMs)} ms to listening`, '', '', '', '', '']);
  await stop(big);

  // 4. The same fill with a small V8 young generation (a memory-lean setting for the pod).
  const lean = ['--max-semi-space-size=1'];
  const leanDir = join(dir, 'lean');
  big = await start(macdArgs(leanDir), lean);
  const leanRate = await bulk(big.port, FILL, 1_000, 2);
  await new Promise((r) => setTimeout(r, 500));
  rows.push([`RSS, ${fmt(FILL)} allocated, node ${lean.join(' ')}`, `${fmt(rssMiB(big.child.pid!), 1)} MiB`, '', '', `its fill ran at ${fmt(leanRate)} MACs/s (bulk of 1,000)`, '', '']);
  await stop(big);

  // 5. Overlapping ranges: 1,000 tenant ranges inside the 16M range0 (created
  // through the API, as Alcor's callers do), the same load as above.
  const TENANTS = 1000;
  const ov = await start(macdArgs(join(dir, 'overlap')));
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const base = 0xaabbcc000000;
  const hex = (n: number) => n.toString(16).padStart(12, '0').replace(/(..)(?!$)/g, '$1:');
  const c0 = performance.now();
  for (let t = 0; t < TENANTS; t++) {
    const from = base + t * 4096;
    const status = await send(agent, ov.port, '/macs/ranges', JSON.stringify({ mac_range: { range_id: `t${t}`, from: hex(from), to: hex(from + 1023), state: 'Active' } }));
    if (status !== 201) throw new Error(`creating range t${t} answered ${status}`);
  }
  const createMs = (performance.now() - c0) / TENANTS;
  const ovWide = await load(ov.port, 64, seconds, '/macs', single);
  const ovTenant = await load(ov.port, 64, seconds, (i) => `/macs/range/t${i % TENANTS}`, single);
  const ovBulk = await bulk(ov.port, quick ? 300_000 : 2_000_000, 10_000, 2);
  const g: number[] = [];
  for (let k = 0; k < 20; k++) {
    const t = performance.now();
    await send(agent, ov.port, '/macs/ranges', '', 'GET');
    g.push(performance.now() - t);
  }
  g.sort((x, y) => x - y);
  agent.destroy();
  const vs = (x: number, ref: number) => `${fmt((100 * x) / ref)} % of the one-range figure above`;
  rows.push([`overlap: create ${fmt(TENANTS)} ranges inside range0 (POST /macs/ranges)`, `${fmt(createMs, 2)} ms each`, '', '', '', '', '']);
  rows.push([`overlap: POST /macs (range0 around ${fmt(TENANTS)} sub-ranges), 64 conn`, `${fmt(ovWide.rps)}/s`, '', '', `${fmt(ovWide.p50, 2)} / ${fmt(ovWide.p99, 2)} / ${fmt(ovWide.max, 1)} ms`, '', vs(ovWide.rps, oneRange64!.rps) + (ovWide.errors ? `; ${ovWide.errors} errors` : '')]);
  rows.push([`overlap: POST /macs/range/t{0..${TENANTS - 1}}, 64 conn`, `${fmt(ovTenant.rps)}/s`, '', '', `${fmt(ovTenant.p50, 2)} / ${fmt(ovTenant.p99, 2)} / ${fmt(ovTenant.max, 1)} ms`, '', vs(ovTenant.rps, oneRange64!.rps) + (ovTenant.errors ? `; ${ovTenant.errors} errors` : '')]);
  rows.push([`overlap: POST /macs/bulk into range0 (10,000 per request, 2 streams)`, `${fmt(ovBulk)} MACs/s`, '', '', '', '', vs(ovBulk, oneRangeBulk)]);
  rows.push([`overlap: GET /macs/ranges (${fmt(TENANTS + 1)} ranges with counts)`, `${fmt(g[10]!, 2)} ms median`, '', '', `max ${fmt(g[19]!, 2)} ms`, '', '']);
  await stop(ov);

  const head = ['measure', 'macd', 'HTTP floor', 'macd/floor', 'macd p50 / p99 / max', 'floor p50 / p99 / max', 'notes'];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => '| ' + r.map((x, c) => (x ?? '').padEnd(widths[c]!)).join(' | ') + ' |';
  console.log(`\nmacd benchmark${quick ? ' (--quick)' : ''}: node ${process.version}, ${cpus().length} CPUs,  load average ${loadBefore.toFixed(2)} before / ${loadavg()[0]!.toFixed(2)} after, disk write+fdatasync median ${fmt(fsync, 2)} ms, best of 2 runs of ${seconds} s per level; load generator in this process, servers in child processes (compiled JS, default Node flags)\n`);
  console.log(line(head));
  console.log('|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|');
  for (const r of rows) console.log(line(r));
  console.log('\nTargets: >= 80 % of floor, >= 20,000/s and p99 < 5 ms at 64 connections; bulk >= 1,000,000 MACs/s; RSS < 100 MiB; restart < 2 s.');

  await sideBySide(dir);
}

/** 6. Side by side with Alcor's real MAC manager, where its jars are present. */
async function sideBySide(dir: string): Promise<void> {
  const macdArgs = (d: string) => [MAIN, 'macd', '--listen', '127.0.0.1:0', '--data-dir', d];
  console.log(`\nload average ${loadavg()[0]!.toFixed(2)} before the side-by-side run`);
  const lines = await alcorSideBySide({
    quick,
    startMacd: async () => {
      const s = await start(macdArgs(join(dir, 'vs-alcor')));
      return { port: s.port, pid: s.child.pid!, stop: () => stop(s) };
    },
  });
  console.log(`\n${lines.join('\n')}\nload average ${loadavg()[0]!.toFixed(2)} after`);
  rmSync(dir, { recursive: true, force: true });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
