// npm run bench:fuzz [-- --runs N --seed S --target macd|dhcpd|all]
// (npm run fuzz:macd: macd's API and metrics port only)
//
// The fuzz suite of test/fuzz with a longer budget: random methods, paths,
// headers and bodies, seeded from the APIs' shapes, against real macd and
// dhcpd processes on loopback, one request at a time. Prints, per listener,
// the statuses seen, the 5xx count and the state changes after a refused
// request (both must be 0), and RSS at the start, its peak and at the end.
// Exits 1 when a rule broke.

import { parseArgs } from 'node:util';
import { formatReport, fuzz, type FuzzReport } from '../test/fuzz/run.ts';
import { startDhcpdTargets, startMacdTargets, type Target } from '../test/fuzz/targets.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20000' },
    seed: { type: 'string', default: String(Date.now() % 1_000_000) },
    target: { type: 'string', default: 'all' },
    'rss-bound-mib': { type: 'string', default: '200' },
  },
});
const runs = Number(values.runs);
const seed = Number(values.seed);
const which = values.target;
if (!['macd', 'dhcpd', 'all'].includes(which)) throw new Error(`--target must be macd, dhcpd or all, got ${which}`);

const groups: { targets: Target[]; share: number[] }[] = [];
if (which === 'macd' || which === 'all') {
  const m = await startMacdTargets();
  groups.push({ targets: [m.api, m.probes], share: [0.9, 0.1] });
}
if (which === 'dhcpd' || which === 'all') {
  const d = await startDhcpdTargets();
  groups.push({ targets: [d.api, d.probes], share: [0.9, 0.1] });
}

process.stdout.write(`fuzz: seed ${seed}, ${runs} requests per server, one at a time, on loopback\n`);
const reports: FuzzReport[] = [];
try {
  for (const g of groups) {
    for (const [i, t] of g.targets.entries()) {
      const n = Math.max(50, Math.round(runs * g.share[i]!));
      const r = await fuzz(t, {
        seed: seed + i,
        runs: n,
        rssBoundMiB: Number(values['rss-bound-mib']),
        progress: (done, rep) => {
          if (done % 1000 === 0) process.stdout.write(`  ${t.name}: ${done}/${n}, 5xx ${rep.serverErrors}, RSS ${rep.rssPeakMiB.toFixed(0)} MiB peak\n`);
        },
      });
      reports.push(r);
      process.stdout.write(`${formatReport(r)}\n`);
    }
  }
} finally {
  for (const g of groups) await g.targets[0]!.stop();
}
const bad = reports.filter((r) => r.failure !== null || r.serverErrors > 0 || r.stateChangesAfterRefusal > 0);
process.stdout.write(`\n${bad.length === 0 ? 'OK' : 'FAILED'}: ${reports.reduce((n, r) => n + r.requests, 0)} requests, ${reports.reduce((n, r) => n + r.serverErrors, 0)} 5xx, ${reports.reduce((n, r) => n + r.stateChangesAfterRefusal, 0)} state changes after a refusal\n`);
process.exit(bad.length === 0 ? 0 : 1);
