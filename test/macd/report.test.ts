// What macd reports of its config (the report its replica Lease carries) and
// its /readyz: a config part it refuses is in the report with its reason, a
// config it serves none of makes it not ready, a fixed config is taken live.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { MacdConfigInput } from '../../src/api/config/macd.ts';
import type { MacdReport } from '../../src/api/leases.ts';
import { RELEASE_VERSION } from '../../src/api/version.ts';
import type { PoolRef } from '../../src/macd/leases.ts';
import { startMacd } from '../../src/macd/server.ts';
import { freePort } from '../../e2e/cluster/net.ts';
import { call, quietLog, startTestMacd, tempDir } from './helpers.ts';

const huge = { id: 'huge', from: '02:00:00:00:00:00', to: '02:ff:ff:ff:ff:ff' };
const small = { id: 'small', from: '02:aa:00:00:00:00', to: '02:aa:00:00:00:ff' };

let stop: (() => Promise<void>) | undefined;
afterEach(async () => {
  await stop?.();
  stop = undefined;
});

async function macdWith(config: MacdConfigInput) {
  const dir = tempDir('macd-report-');
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, stringify(config));
  const m = await startTestMacd({ dataDir: join(dir, 'data'), configFile });
  stop = () => m.close();
  const readyz = async () => (await fetch(`${m.url}/readyz`)).status;
  const write = (c: MacdConfigInput | string) => writeFileSync(configFile, typeof c === 'string' ? c : stringify(c));
  return { m, readyz, write };
}

async function until(what: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await what())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('macd report and readiness', () => {
  it('serves what it can, reports the range it refuses and why, and stays ready', async () => {
    const { m, readyz } = await macdWith({ generation: 5, ranges: [huge, small] });
    const r = m.report();
    expect(r.generation).toBe(5);
    expect(r.capacity).toBe(256);
    expect(r.refused).toHaveLength(1);
    expect(r.refused[0]).toMatch(/^ranges\[0\] \(huge\): not served: .*it holds 1099511627776 addresses; at most 16777216 per range/);
    expect(await readyz()).toBe(200);
  });

  it('is not ready while it serves none of the ranges asked for, and ready once a fixed config arrives', async () => {
    const { m, readyz, write } = await macdWith({ generation: 1, ranges: [huge] });
    expect(m.report()).toMatchObject({ generation: 1, capacity: 0, allocated: 0 });
    expect(await readyz()).toBe(503);
    expect((await call(m.url, 'POST', '/macs', { mac_state: { project_id: 'p', vpc_id: 'v', port_id: 'p' } })).status).toBe(403);

    write({ generation: 2, ranges: [small] });
    await until(async () => (await readyz()) === 200);
    expect(m.report()).toEqual({ generation: 2, refused: [], capacity: 256, allocated: 0, version: RELEASE_VERSION });
    expect((await call(m.url, 'POST', '/macs', { mac_state: { project_id: 'p', vpc_id: 'v', port_id: 'p' } })).status).toBe(201);
    expect(m.report().allocated).toBe(1);
  });

  it('reports a file it cannot read as a config at all, keeping what it serves', async () => {
    const { m, readyz, write } = await macdWith({ generation: 3, ranges: [small] });
    write('ranges: [{id: x, from: nonsense}]\n');
    await until(() => m.report().refused.length > 0);
    expect(m.report().refused[0]).toMatch(/^config: invalid macd config: ranges\.0\.from/);
    expect(m.report()).toMatchObject({ generation: 3, capacity: 256 });
    expect(await readyz()).toBe(200);
  });

  it('waits out a config it cannot parse at startup: alive, not ready, the refusal on its Lease; starts with the first that parses', async () => {
    const dir = tempDir('macd-report-');
    const configFile = join(dir, 'config.yaml');
    const pool = { name: 'pool', namespace: 'ns', uid: 'uid-1' };
    const coordination = { mode: 'kubernetes' as const, pool };
    writeFileSync(configFile, stringify({ generation: 4, ranges: [small], exclusions: ['not-a-mac'], coordination }));
    const port = await freePort();
    const published: [PoolRef, MacdReport][] = [];
    const starting = startMacd({ host: '127.0.0.1', port, dataDir: join(dir, 'data'), configFile, log: quietLog, publishRefusal: async (p, r) => void published.push([p, r]) });
    let started = false;
    void starting.then(() => (started = true));
    const probe = async (path: string) => (await fetch(`http://127.0.0.1:${port}${path}`)).status;

    await until(() => published.length === 1);
    expect(published[0]).toEqual([pool, { generation: 0, refused: [expect.stringMatching(/^config: invalid macd config: exclusions\.0: /)], capacity: 0, allocated: 0, version: RELEASE_VERSION }]);
    expect(await probe('/healthz')).toBe(200);
    expect(await probe('/readyz')).toBe(503);
    expect(await probe('/macs')).toBe(404);

    // Still not a config: the report says the new reason.
    writeFileSync(configFile, stringify({ generation: 5, ranges: [{ ...small, from: 'nonsense' }], coordination }));
    await until(() => published.length === 2);
    expect(published[1]![1].refused[0]).toMatch(/^config: invalid macd config: ranges\.0\.from: /);
    expect(started).toBe(false);

    // One that parses: macd starts with it.
    writeFileSync(configFile, stringify({ generation: 6, ranges: [small] }));
    const m = await starting;
    stop = () => m.close();
    expect(m.report()).toEqual({ generation: 6, refused: [], capacity: 256, allocated: 0, version: RELEASE_VERSION });
    expect(await probe('/readyz')).toBe(200);
    expect((await call(`http://127.0.0.1:${m.port}`, 'POST', '/macs', { mac_state: { project_id: 'p', vpc_id: 'v', port_id: 'p' } })).status).toBe(201);
    expect(published).toHaveLength(2);
  });

  it('refuses new bounds that would leave an allocated MAC outside every range, naming the range', async () => {
    const { m, write } = await macdWith({ generation: 1, ranges: [small] });
    expect((await call(m.url, 'POST', '/macs', { mac_state: { project_id: 'p', vpc_id: 'v', port_id: 'p' } })).status).toBe(201);
    write({ generation: 2, ranges: [{ ...small, from: '02:aa:00:00:01:00', to: '02:aa:00:00:01:ff' }] });
    await until(() => m.report().generation === 2);
    expect(m.report().refused).toEqual([
      'ranges[0] (small): new bounds 02:aa:00:00:01:00-02:aa:00:00:01:ff not applied: 1 allocated MAC of 02:aa:00:00:00:00-02:aa:00:00:00:ff would be outside every range; release them or use a new range',
    ]);
    expect(m.report().capacity).toBe(256);
    // Bounds that keep it inside are taken.
    write({ generation: 3, ranges: [{ ...small, to: '02:aa:00:00:0f:ff' }] });
    await until(() => m.report().generation === 3);
    expect(m.report()).toEqual({ generation: 3, refused: [], capacity: 4096, allocated: 1, version: RELEASE_VERSION });
  });
});
