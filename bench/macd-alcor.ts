// bench:macd's side-by-side part: Alcor's real MAC manager (prebuilt jars,
// Apache Ignite 2.10, the properties the operator renders, Alcor's default
// JVM settings) and macd (fsync before every answer), driven by the same
// client (bench/http-load.ts) with the same connections and duration, one
// after the other. Skipped with one line when Alcor's jars are absent.

import { missingReason, startAlcorStack, MiB } from '../test/alcor/harness.ts';
import { macManagerProperties } from '../test/alcor/mac-manager.ts';
import { allocationBody, load, rssMiB, type LoadResult } from './http-load.ts';

export interface MacdUnderTest {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const mark = (ok: boolean) => (ok ? 'met' : 'NOT met');

/** Runs the comparison; returns the lines to print. */
export async function alcorSideBySide(o: { quick: boolean; startMacd: () => Promise<MacdUnderTest> }): Promise<string[]> {
  const reason = missingReason();
  if (reason) return [`Side by side with Alcor's MAC manager: skipped (${reason})`];
  const secs = o.quick ? 3 : 10;
  // The JVM compiles its hot paths during the first seconds: both servers get the same warm-up.
  const warmupMs = o.quick ? 3000 : 10_000;
  const stack = await startAlcorStack();
  let macd: MacdUnderTest | null = null;
  try {
    const alcor = await stack.boot('macmanager', macManagerProperties());
    const alcorPort = Number(new URL(alcor.url).port);
    macd = await o.startMacd();
    const rows: string[][] = [];
    const results: { conns: number; a: LoadResult; m: LoadResult }[] = [];
    for (const conns of [16, 64]) {
      const a = await load(alcorPort, conns, secs, '/macs', allocationBody, warmupMs);
      const m = await load(macd.port, conns, secs, '/macs', allocationBody, warmupMs);
      results.push({ conns, a, m });
      rows.push([
        `POST /macs, ${conns} connections`,
        `${fmt(a.okRps)}/s`,
        `${fmt(a.p50, 1)} / ${fmt(a.p99, 1)} ms`,
        `${fmt(m.okRps)}/s`,
        `${fmt(m.p50, 2)} / ${fmt(m.p99, 2)} ms`,
        `${fmt(m.okRps / a.okRps, 1)}x`,
        `throughput >= 10x: ${mark(m.okRps >= 10 * a.okRps)}; macd p99 < Alcor p50: ${mark(m.p99 < a.p50)}${a.errors + m.errors ? `; failed answers: Alcor ${a.errors}, macd ${m.errors}` : ''}`,
      ]);
    }
    const alcorRss = alcor.jvm.rssBytes() / MiB;
    const igniteRss = stack.ignite.jvm.rssBytes() / MiB;
    const macdRss = rssMiB(macd.pid);
    rows.push(['RSS after the runs', `${fmt(alcorRss)} + Ignite ${fmt(igniteRss)} MiB`, '', `${fmt(macdRss)} MiB`, '', `${fmt((alcorRss + igniteRss) / macdRss, 1)}x less`, `macd <= 1/4 of Alcor + Ignite: ${mark(macdRss * 4 <= alcorRss + igniteRss)}`]);
    // Durability is not traded for speed: every acknowledged allocation waited for a write + fdatasync of its log record.
    const metrics = await (await fetch(`http://127.0.0.1:${macd.port}/metrics`)).text();
    const flushes = Number(/^alcor_macd_log_flush_seconds_count (\d+)/m.exec(metrics)?.[1] ?? NaN);
    const allocations = Number(/^alcor_macd_allocations_total (\d+)/m.exec(metrics)?.[1] ?? NaN);
    const head = ['measure', 'Alcor MAC manager', 'Alcor p50 / p99', 'macd', 'macd p50 / p99', 'macd / Alcor', 'targets'];
    const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
    const line = (r: string[]) => '| ' + r.map((x, c) => (x ?? '').padEnd(widths[c]!)).join(' | ') + ' |';
    return [
      `Side by side with Alcor's MAC manager (${stack.jars.macManager.split('/').pop()}, Apache Ignite 2.10 in memory, Alcor's default JVM settings; Ignite and the MAC manager booted in ${fmt(stack.ignite.bootMs / 1000, 1)} s and ${fmt(alcor.bootMs / 1000, 1)} s): the same client, ${secs} s per run after ${warmupMs / 1000} s of warm-up, Alcor first; allocations/s count answers with a MAC.`,
      '',
      line(head),
      '|' + widths.map((w) => '-'.repeat(w + 2)).join('|') + '|',
      ...rows.map(line),
      '',
      `macd durability kept: ${fmt(allocations)} allocations acknowledged after ${fmt(flushes)} group commits (write + fdatasync of the log before each answer); Alcor keeps its state in Ignite's memory only.`,
    ];
  } finally {
    await macd?.stop();
    await stack.stop();
  }
}
