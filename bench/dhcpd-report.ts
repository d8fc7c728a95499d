// bench:dhcpd's tables: each server's figures beside the others' from the
// same run, the issue's targets with the ratios measured, and for each
// server what its first rate past the limit shows (CPU per message by
// thread, how busy each thread was, where the drops happened).

import { availableParallelism, loadavg } from 'node:os';
import { worst, type LeaseChecks, type RunResult, type ServerKind } from './dhcpd-lab.ts';
import type { CoreCost } from './dhcpd-core.ts';

const DROP_LIMIT = 0.1;
const ISC_LIMIT = 2.5;

export interface Rss {
  rssMiB: number;
  leases: number;
}

export interface Saturation {
  rate: number;
  seconds: number;
  acks: Record<'with' | 'without', number[]>;
  cpuPerMessage: Record<'with' | 'without', number[]>;
}

export interface Header {
  quick: boolean;
  seconds: number;
  repeat: number;
  rates: number[];
  loadStart: number;
  keaQueue: number;
}

const knee = (rs: RunResult[], limit = DROP_LIMIT): RunResult | undefined => rs.filter((r) => worst(r) <= limit).sort((a, b) => b.rate - a.rate)[0];
const sum = (o: Record<string, number>): number => Object.values(o).reduce((a, v) => a + (Number.isFinite(v) ? v : 0), 0);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
}

function table(rows: string[][]): string {
  const cols = Math.max(...rows.map((r) => r.length));
  const widths = Array.from({ length: cols }, (_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]): string => widths.map((w, c) => (r[c] ?? '').padEnd(w)).join(' | ');
  return [line(rows[0] as string[]), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.slice(1).map(line)].join('\n') + '\n';
}

/** CPU per message by thread group, e.g. "main 9.1 + socket 11.0 + gc+jit 4.2 + fs 0.8 = 25.1 µs". */
function cpuText(r: RunResult): string {
  const parts = Object.entries(r.serverCpu).filter(([, v]) => v >= 0.05);
  if (parts.length === 1) return `${(parts[0]?.[1] ?? NaN).toFixed(1)} µs`;
  return `${parts.map(([g, v]) => `${g} ${v.toFixed(1)}`).join(' + ')} = ${sum(r.serverCpu).toFixed(1)} µs`;
}

/** How busy each thread group was, in cores (1.00 = one core all the time). */
function busyText(r: RunResult, seconds: number): string {
  const perSecond = (r.discover.sent + r.request.sent) / seconds;
  const parts = Object.entries(r.serverCpu).filter(([, v]) => v >= 0.05);
  const cores = (us: number): string => ((us * perSecond) / 1e6).toFixed(2);
  return `${parts.map(([g, v]) => `${g} ${cores(v)}`).join(', ')}; perfdhcp ${cores(r.perfdhcpCpu)}`;
}

function dropsText(r: RunResult): string {
  const parts = [`kernel receive buffer: server ${r.rcvbufDrops.server}, perfdhcp ${r.rcvbufDrops.client}`];
  if (r.serverDrops) parts.push(`dhcpd: ${Object.entries(r.serverDrops).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
  const lost = r.discover.sent - r.discover.received + (r.request.sent - r.request.received);
  parts.push(`unanswered within 1 s: ${lost}`);
  return parts.join('; ');
}

function flushText(r: RunResult | undefined): string {
  const f = r?.flushes;
  if (!f || f.count === 0) return '-';
  return `${f.count} O_DSYNC writes (${(f.acks / f.count).toFixed(1)} ACKs each), mean ${f.meanMs.toFixed(2)} ms, ${f.over10ms} over 10 ms`;
}

export function reportComparison(kinds: ServerKind[], results: Map<string, RunResult[]>, rss: Map<string, Rss>, h: Header): void {
  const at = new Map(kinds.map((k) => [k.id, knee(results.get(k.id) ?? [])]));
  const isc = new Map(kinds.map((k) => [k.id, knee(results.get(k.id) ?? [], ISC_LIMIT)]));
  const cell = (id: string, f: (r: RunResult) => string): string => {
    const r = at.get(id);
    return r ? f(r) : '-';
  };
  const rows: string[][] = [
    ['', ...kinds.map((k) => k.label)],
    [`drop-free rate (<= ${DROP_LIMIT} %)`, ...kinds.map((k) => (at.get(k.id) ? `${at.get(k.id)?.rate}/s` : 'none'))],
    [`highest rate with <= ${ISC_LIMIT} % drops`, ...kinds.map((k) => (isc.get(k.id) ? `${isc.get(k.id)?.rate}/s` : 'none'))],
    ['at the drop-free rate: drops D-O / R-A', ...kinds.map((k) => cell(k.id, (r) => `${r.discover.dropPct.toFixed(3)} % / ${r.request.dropPct.toFixed(3)} %`))],
    ['  avg latency D-O / R-A', ...kinds.map((k) => cell(k.id, (r) => `${r.discover.avgMs.toFixed(2)} / ${r.request.avgMs.toFixed(2)} ms`))],
    ['  max latency D-O / R-A', ...kinds.map((k) => cell(k.id, (r) => `${r.discover.maxMs.toFixed(1)} / ${r.request.maxMs.toFixed(1)} ms`))],
    ['  server CPU per message', ...kinds.map((k) => cell(k.id, (r) => `${sum(r.serverCpu).toFixed(1)} µs`))],
    ['  machine load average (1 min)', ...kinds.map((k) => cell(k.id, (r) => r.load.toFixed(1)))],
    ['lease durability', ...kinds.map((k) => (k.engine === 'dhcpd' ? 'O_DSYNC write before each ACK' : 'appended, never fsynced'))],
    [`RSS with ${65_536} leases`, ...kinds.map((k) => (rss.get(k.id) ? `${rss.get(k.id)?.rssMiB.toFixed(1)} MiB (${rss.get(k.id)?.leases} ACKed)` : '-'))],
  ];
  process.stdout.write(`\nDHCPv4 benchmark (${h.quick ? 'quick' : 'full'}: ${h.seconds} s per rate, best of ${h.repeat}, rates ${h.rates.join(', ')}; perfdhcp on core 1, relaying 1,000,000 simulated clients)\n`);
  process.stdout.write(
    `machine load average (1 min) at start ${h.loadStart.toFixed(2)}, at end ${(loadavg()[0] ?? 0).toFixed(2)} on ${availableParallelism()} cores: other work on the machine shows up as drops for every server\n` +
      `Kea MT: multi-threading with thread-pool-size 2, packet-queue-size ${h.keaQueue}\n\n`,
  );
  process.stdout.write(table(rows));

  const ratio = (a: string, b: string, limit: number): string => {
    const x = (limit === DROP_LIMIT ? at : isc).get(a);
    const y = (limit === DROP_LIMIT ? at : isc).get(b);
    return x && y ? `${(x.rate / y.rate).toFixed(2)}x` : 'n/a (no rate met the limit)';
  };
  const verdict = (a: string, b: string, target: number): string => {
    const x = at.get(a);
    const y = at.get(b);
    if (!x || !y) return 'not measured';
    return x.rate / y.rate >= target ? 'met' : 'NOT met';
  };
  process.stdout.write(
    `\ntargets, drop-free rates of the same run:\n` +
      `  dhcpd (socket thread) / Kea 1 thread: ${ratio('dhcpd', 'kea', DROP_LIMIT)} (target >= 1.5x: ${verdict('dhcpd', 'kea', 1.5)}); at ${ISC_LIMIT} %: ${ratio('dhcpd', 'kea', ISC_LIMIT)}\n` +
      `  dhcpd (socket thread) / Kea MT:       ${ratio('dhcpd', 'kea-mt', DROP_LIMIT)} (target >= 1.0x: ${verdict('dhcpd', 'kea-mt', 1.0)}); at ${ISC_LIMIT} %: ${ratio('dhcpd', 'kea-mt', ISC_LIMIT)}\n` +
      `  dhcpd one thread / Kea 1 thread:      ${ratio('dhcpd-1', 'kea', DROP_LIMIT)} (the same cores)\n` +
      `  fsync before ACK: dhcpd at its drop-free rate: ${flushText(at.get('dhcpd'))}\n`,
  );

  process.stdout.write(`\nwhat bounds each server: its drop-free rate, then the first rate past it\n`);
  for (const k of kinds) {
    const rs = results.get(k.id) ?? [];
    const ok = at.get(k.id);
    const past = rs.find((r) => r.rate > (ok?.rate ?? 0) && worst(r) > DROP_LIMIT);
    process.stdout.write(`  ${k.label}\n`);
    for (const r of [ok, past]) {
      if (!r) continue;
      process.stdout.write(
        `    ${String(r.rate).padStart(6)}/s: drops ${r.discover.dropPct.toFixed(3)} / ${r.request.dropPct.toFixed(3)} %, load ${r.load.toFixed(1)}\n` +
          `      CPU per message: ${cpuText(r)}; perfdhcp ${r.perfdhcpCpu.toFixed(1)} µs\n` +
          `      busy (cores): ${busyText(r, h.seconds)}\n` +
          `      drops: ${dropsText(r)}\n` +
          (r.flushes ? `      lease log: ${flushText(r)}\n` : ''),
      );
    }
  }

  process.stdout.write(`\nall steps (worst of D-O and R-A drops, %):\n`);
  const steps: string[][] = [['rate', ...kinds.map((k) => k.id)]];
  for (const rate of h.rates) {
    const row = [`${rate}/s`, ...kinds.map((k) => {
      const r = results.get(k.id)?.find((x) => x.rate === rate);
      return r ? worst(r).toFixed(3) : '-';
    })];
    if (row.slice(1).some((c) => c !== '-')) steps.push(row);
  }
  process.stdout.write(table(steps));
}

/** trustedRelays against the same run without. */
export function reportTrustedRelays(s: Saturation, core: CoreCost, cidrs: number): void {
  const pct = (a: number, b: number): string => `${a / b - 1 >= 0 ? '+' : ''}${(100 * (a / b - 1)).toFixed(1)} %`;
  const list = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(', ');
  const best = (xs: number[]): number => Math.min(...xs.filter((x) => Number.isFinite(x)));
  const satW = median(s.acks.with);
  const satO = median(s.acks.without);
  const msgW = median(s.cpuPerMessage.with);
  const msgO = median(s.cpuPerMessage.without);
  process.stdout.write(
    `\ntrustedRelays (${cidrs} CIDRs, every packet checked) against the same run without (dhcpd with its socket thread):\n` +
      `  saturated (${s.rate}/s offered, ${s.acks.with.length} alternating rounds of ${s.seconds} s): median ${satW.toFixed(0)} ACK/s with, ${satO.toFixed(0)} without (${pct(satW, satO)}) (rounds with: ${list(s.acks.with)}; without: ${list(s.acks.without)})\n` +
      `  server CPU per message handled: median ${msgW.toFixed(1)} µs with, ${msgO.toFixed(1)} without (${pct(msgW, msgO)}); least ${best(s.cpuPerMessage.with).toFixed(1)} with, ${best(s.cpuPerMessage.without).toFixed(1)} without (${pct(best(s.cpuPerMessage.with), best(s.cpuPerMessage.without))})\n` +
      `  codec + core alone, in process (${core.exchanges} exchanges per round, ${core.with.length} alternating rounds): median ${median(core.with).toFixed(0)} ns CPU per exchange with, ` +
      `${median(core.without).toFixed(0)} without (${pct(median(core.with), median(core.without))}); least ${best(core.with).toFixed(0)} with, ${best(core.without).toFixed(0)} without (${pct(best(core.with), best(core.without))})\n` +
      `  past its limit a server's throughput is its CPU per message: a throughput loss of more than 5 % would show as more than +5.3 % CPU per message handled and per exchange in process.\n`,
  );
}

/** The duplicate check over every dhcpd run, at every rate, overloaded ones included. */
export function reportLeaseChecks(c: LeaseChecks): void {
  const twice = c.givenTwice.length === 0 ? 'none' : `${c.givenTwice.length} (${c.givenTwice.slice(0, 5).join('; ')})`;
  process.stdout.write(
    `
no address given twice, checked on dhcpd's lease log after each of its ${c.runs} runs (both threads, every rate, overloaded runs included): ` +
      `${c.binds} bind records, ${c.acks} ACKs received by perfdhcp; addresses bound to a second client while the first held them: ${twice}; ` +
      `runs with more ACKs than bind records (an ACK before its record): ${c.acksBeforeRecord}\n`,
  );
}
