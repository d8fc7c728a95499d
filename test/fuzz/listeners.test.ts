import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatReport, fuzz, type FuzzOptions } from './run.ts';
import { startDhcpdTargets, startMacdTargets, type Target } from './targets.ts';

// Issue 19: random methods, paths, headers and bodies, seeded from the APIs'
// real shapes, against real macd and dhcpd processes on loopback, with a
// fixed seed and budget: never a 5xx, the process alive and ready, a refused
// request changes nothing, RSS bounded. `npm run bench:fuzz` runs the same
// with a longer budget. On a failure the message names the request and the
// seed and path that replay it.

const SEED = 19;
let macd: { api: Target; probes: Target };
let dhcpd: { api: Target; probes: Target };

beforeAll(async () => {
  [macd, dhcpd] = await Promise.all([startMacdTargets(), startDhcpdTargets()]);
});
afterAll(async () => {
  await Promise.all([macd?.api.stop(), dhcpd?.api.stop()]);
});

async function check(t: () => Target, o: Omit<FuzzOptions, 'seed'>): Promise<void> {
  const r = await fuzz(t(), { seed: SEED, ...o });
  process.stdout.write(`${formatReport(r)}\n`);
  expect(r.failure).toBeNull();
  expect(r.serverErrors).toBe(0);
  expect(r.stateChangesAfterRefusal).toBe(0);
  expect(r.requests).toBe(o.runs);
}

describe('fuzz: every listener answers hostile input with a 4xx and changes nothing', () => {
  it("macd: Alcor's MAC manager API", () => check(() => macd.api, { runs: 1500, rssBoundMiB: 128 }), 120_000);
  it('macd: metrics and probe port', () => check(() => macd.probes, { runs: 300, rssBoundMiB: 64 }), 60_000);
  it("dhcpd: the lease API", () => check(() => dhcpd.api, { runs: 800, rssBoundMiB: 96 }), 120_000);
  it('dhcpd: metrics and probe port', () => check(() => dhcpd.probes, { runs: 300, rssBoundMiB: 64 }), 60_000);
});
