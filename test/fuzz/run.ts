// One fuzz run against one target: fast-check draws cases (fixed seed,
// bounded count), each is sent on its own connection, and after each:
// no 5xx; the process alive; a refused (4xx) or unanswered request left the
// state as it was; a success breaks no rule. Every 25 cases /readyz must be
// ok and RSS is sampled. The report counts statuses and gives RSS at the
// start (after a warm-up), its peak and at the end.

import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { rssMiB, type Target } from './targets.ts';
import { broken, cut, send, type WireAnswer, type WireRequest } from './wire.ts';

export interface FuzzOptions {
  seed: number;
  runs: number;
  /** Largest RSS growth over the run allowed, MiB. */
  rssBoundMiB: number;
  /** Largest growth of the RSS peak in the run's second half over the first half's, MiB: memory that keeps growing. */
  lateGrowthMiB?: number;
  /** How long a complete request may take to be answered. */
  answerMs?: number;
  /** How long to wait for an answer to a broken request (it may get none). */
  brokenMs?: number;
  progress?: (done: number, report: FuzzReport) => void;
  /** Called with each request, its one-line summary and its answer (to see what a run sent). */
  trace?: (line: string, req: WireRequest, answer: WireAnswer) => void;
}

export interface FuzzReport {
  target: string;
  seed: number;
  requests: number;
  /** Count per status ("0": no answer, a broken request). */
  statuses: Record<string, number>;
  serverErrors: number;
  /** Refused or unanswered requests after which the state differed. */
  stateChangesAfterRefusal: number;
  /** Refused or unanswered requests whose state was compared. */
  refusalsChecked: number;
  rssStartMiB: number;
  rssPeakMiB: number;
  /** The peak over the first half of the run. */
  rssFirstHalfPeakMiB: number;
  rssEndMiB: number;
  ms: number;
  /** The first broken rule and the case that broke it; null when none. */
  failure: string | null;
}

export async function fuzz(t: Target, o: FuzzOptions): Promise<FuzzReport> {
  const answerMs = o.answerMs ?? 15_000;
  const brokenMs = o.brokenMs ?? 3000;
  const t0 = performance.now();
  // Warm-up: the routes' code loaded and the heap settled before RSS counts.
  for (let i = 0; i < 20; i++) await t.ready();
  const report: FuzzReport = {
    target: t.name,
    seed: o.seed,
    requests: 0,
    statuses: {},
    serverErrors: 0,
    stateChangesAfterRefusal: 0,
    refusalsChecked: 0,
    rssStartMiB: rssMiB(t.pid),
    rssPeakMiB: 0,
    rssFirstHalfPeakMiB: 0,
    rssEndMiB: 0,
    ms: 0,
    failure: null,
  };
  report.rssPeakMiB = report.rssStartMiB;
  const sampleRss = (): number => {
    const rss = rssMiB(t.pid);
    report.rssPeakMiB = Math.max(report.rssPeakMiB, rss);
    if (report.requests <= o.runs / 2) report.rssFirstHalfPeakMiB = report.rssPeakMiB;
    return rss;
  };

  const property = fc.asyncProperty(t.cases, async (c) => {
    const { req, names } = t.resolve(c);
    const before = await t.state(names);
    const a = await send(t.port, req, broken(req) || cut(req) ? brokenMs : answerMs);
    report.requests++;
    report.statuses[a.status] = (report.statuses[a.status] ?? 0) + 1;
    const headerNames = req.headers.length > 0 ? `, headers ${req.headers.slice(0, 8).map(([k]) => k).join(' ')}${req.headers.length > 8 ? ` +${req.headers.length - 8}` : ''}` : '';
    const what = `${req.raw ? `raw ${JSON.stringify(req.raw.toString('latin1').slice(0, 80))}` : `${req.method} ${req.target.slice(0, 120)} (${req.framing}, ${req.body.length} bytes${headerNames})`} → ${a.status}`;
    o.trace?.(what, req, a);
    if (!t.alive()) throw new Error(`${t.name} exited after ${what}`);
    if (a.status >= 500) {
      report.serverErrors++;
      throw new Error(`${what}: a server error: ${a.body.slice(0, 300)}`);
    }
    if (a.status === 0 && !broken(req) && !cut(req)) throw new Error(`${what}: no answer in ${answerMs} ms`);
    if (a.status >= 200 && a.status < 300) {
      const problem = await t.learn(req, a);
      if (problem) throw new Error(`${what}: ${problem}`);
    } else if (a.status >= 400 || a.status === 0) {
      report.refusalsChecked++;
      const after = await t.state(names);
      if (!isDeepStrictEqual(before, after)) {
        report.stateChangesAfterRefusal++;
        throw new Error(`${what}: the state changed:\nbefore ${JSON.stringify(before).slice(0, 600)}\nafter  ${JSON.stringify(after).slice(0, 600)}`);
      }
    }
    if (report.requests % 25 === 0) {
      if (!(await t.ready())) throw new Error(`${t.name}: /readyz not ok after ${what}`);
      const rss = sampleRss();
      if (rss - report.rssStartMiB > o.rssBoundMiB) throw new Error(`${t.name}: RSS ${rss.toFixed(1)} MiB, ${(rss - report.rssStartMiB).toFixed(1)} MiB over the start (bound ${o.rssBoundMiB})`);
      o.progress?.(report.requests, report);
    }
  });

  const result = await fc.check(property, { seed: o.seed, numRuns: o.runs, endOnFailure: true });
  if (result.failed) {
    report.failure = `${result.errorInstance instanceof Error ? result.errorInstance.message : String(result.errorInstance)}\n(seed ${o.seed}, path ${result.counterexamplePath}: rerun with { seed, path, endOnFailure } to replay)`;
  } else {
    const problem = await t.final();
    if (problem) report.failure = `at the end: ${problem}`;
    else if (!(await t.ready())) report.failure = `${t.name}: /readyz not ok at the end`;
  }
  report.rssEndMiB = sampleRss();
  const late = report.rssPeakMiB - report.rssFirstHalfPeakMiB;
  if (!report.failure && o.lateGrowthMiB !== undefined && late > o.lateGrowthMiB) {
    report.failure = `${t.name}: RSS kept growing: peak ${report.rssFirstHalfPeakMiB.toFixed(1)} MiB over the first half, ${report.rssPeakMiB.toFixed(1)} over the second (bound +${o.lateGrowthMiB})`;
  }
  report.ms = performance.now() - t0;
  return report;
}

export function formatReport(r: FuzzReport): string {
  const statuses = Object.entries(r.statuses)
    .sort(([a], [b]) => Number(a) - Number(b))
    .map(([s, n]) => `${s === '0' ? 'none' : s}:${n}`)
    .join(' ');
  return [
    `${r.target}: ${r.requests} requests in ${(r.ms / 1000).toFixed(1)} s (seed ${r.seed})`,
    `  statuses ${statuses}`,
    `  5xx: ${r.serverErrors}; state changed after a refusal: ${r.stateChangesAfterRefusal} of ${r.refusalsChecked} checked`,
    `  RSS ${r.rssStartMiB.toFixed(1)} MiB at the start, peak ${r.rssFirstHalfPeakMiB.toFixed(1)} over the first half and ${r.rssPeakMiB.toFixed(1)} overall, ${r.rssEndMiB.toFixed(1)} MiB at the end`,
    ...(r.failure ? [`  FAILED: ${r.failure}`] : []),
  ].join('\n');
}
