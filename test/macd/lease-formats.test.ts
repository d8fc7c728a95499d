// Leases of a pool that this release cannot read (src/macd/leases.ts,
// replicas.ts; formats in src/api/formats.ts): a block Lease of a newer
// format, or a Lease that is neither a block nor a report, may cover any
// block, so no block is claimed while one exists. The replica keeps serving
// the blocks it holds and its report says what blocks it. Against the fake
// Lease API, whose list() reads raw annotations as the Kubernetes one does.
import { describe, expect, it } from 'vitest';
import { MacdConfig } from '../../src/api/config/macd.ts';
import { FORMAT_ANNOTATION } from '../../src/api/formats.ts';
import { BLOCK_SIZE_ANNOTATION, BLOCK_START_ANNOTATION, ENDPOINT_ANNOTATION, MacdReport, SERVED_ANNOTATION } from '../../src/api/leases.ts';
import { formatMac, parseMac } from '../../src/api/mac.ts';
import { blockLeaseName, readPoolLease } from '../../src/macd/leases.ts';
import { BlockCoordinator } from '../../src/macd/replicas.ts';
import { macdReport } from '../../src/macd/server.ts';
import { MacStore } from '../../src/macd/store.ts';
import { FakeLeases } from './fake-leases.ts';
import { quietLog, tempDir } from './helpers.ts';

const BASE = parseMac('aa:bb:cc:00:00:00')!;
const coordination = { mode: 'kubernetes', pool: { name: 'pool', namespace: 'ns', uid: 'u' }, blockSize: 256 } as const;
const config = MacdConfig.parse({ ranges: [{ id: 'range0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:00:0f:ff' }], coordination });
const meta = { portId: 'p', projectId: null, vpcId: null, state: 'Active' };
const states = (n: number) => Array.from({ length: n }, () => ({ mac: null, meta }));

async function replica(api: FakeLeases, name: string) {
  const store = await MacStore.open({ dataDir: tempDir(), log: quietLog, blockSize: 256, coordinated: true, onFatal: (e) => { throw e; } });
  await store.applyConfig(config);
  const coord = new BlockCoordinator({ store, api, pool: 'pool', replica: name, endpoint: `http://${name}`, log: quietLog, publishMs: 60_000, report: () => macdReport(store, { generation: 1, refused: [] }) });
  await coord.start();
  const report = () => MacdReport.parse(JSON.parse(api.reports.get(name)?.at(-1) ?? 'null'));
  return { store, coord, report };
}

const block = (from: number, extra: Record<string, string> = {}) => ({
  [BLOCK_START_ANNOTATION]: formatMac(from),
  [BLOCK_SIZE_ANNOTATION]: '256',
  [ENDPOINT_ANNOTATION]: 'http://newer',
  ...extra,
});

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 30));
}

describe('Leases of the pool this release cannot read', () => {
  it.each([
    ['a block of 0.2.0 (no format annotation)', block(BASE), 'block'],
    ['a block of format 1', block(BASE, { [FORMAT_ANNOTATION]: '1' }), 'block'],
    ['a report of 0.2.0', { [SERVED_ANNOTATION]: '{}' }, 'report'],
    ['a report of format 1', { [SERVED_ANNOTATION]: '{}', [FORMAT_ANNOTATION]: '1' }, 'report'],
    ['a block of format 2', block(BASE, { [FORMAT_ANNOTATION]: '2' }), /^macd block Lease format 2 is newer than this release/],
    ['a report of format 2', { [SERVED_ANNOTATION]: '{}', [FORMAT_ANNOTATION]: '2' }, /^report Lease format 2 is newer than this release/],
    ['a block with a malformed format', block(BASE, { [FORMAT_ANNOTATION]: 'two' }), /format "two" is not a format version/],
    ['a block with malformed bounds', block(BASE, { [BLOCK_SIZE_ANNOTATION]: '0' }), /^block annotations malformed \(alcor.dev\/block-start "aa:bb:cc:00:00:00", alcor.dev\/block-size "0"\)/],
    ['a block start without a size', { [BLOCK_START_ANNOTATION]: 'aa:bb:cc:00:00:00' }, /^block annotations malformed/],
    ['neither a block nor a report', { other: 'x' }, /^neither a block Lease .* nor a report Lease/],
  ])('%s', (_name, annotations, want) => {
    const r = readPoolLease('l', 'h', annotations);
    if (want === 'block') expect(r).toMatchObject({ block: { name: 'l', holder: 'h', from: BASE, to: BASE + 255 } });
    else if (want === 'report') expect(r).toEqual({ report: true });
    else expect(r).toMatchObject({ unreadable: { name: 'l', why: expect.stringMatching(want) } });
  });

  it('a replica claims no block while one exists, serves its own blocks, says why in its report, and claims again once it is gone', async () => {
    const api = new FakeLeases();
    const a = await replica(api, 'a');
    const first = await a.store.allocate(states(10));
    expect(a.report().blocked).toBeUndefined();
    const held = [...api.items.keys()];
    expect(held).toHaveLength(1);
    // The block it claimed is one of 16, at random: the others are picked among the rest.
    const [elsewhere, free] = Array.from({ length: 16 }, (_, i) => BASE + i * 256).filter((from) => blockLeaseName('pool', from) !== held[0]);

    // A newer release's block Lease elsewhere in the pool.
    const newer = blockLeaseName('pool', elsewhere!);
    api.raw.set(newer, { holder: 'z', annotations: block(elsewhere!, { [FORMAT_ANNOTATION]: '2' }) });
    // Its own block still serves: reads, releases, allocations while it has room.
    await a.store.release([first[0]!.mac]);
    await a.store.allocate(states(200));
    expect(a.store.find(first[1]!.mac)?.meta.portId).toBe('p');
    expect([...api.items.keys()]).toEqual(held);
    // Full: no new block, whatever the request.
    await expect(a.store.allocate(states(100))).rejects.toMatchObject({ reason: 'pool_full' });
    await expect(a.store.allocate([{ mac: free! + 0x40, meta }])).rejects.toMatchObject({ status: 503, reason: 'claims_blocked', message: expect.stringContaining(`Lease ${newer}: macd block Lease format 2`) });
    expect([...api.items.keys()]).toEqual(held);

    // The report names the Lease and why, also among `refused` (what a 0.2.0 operator shows).
    a.coord.publishNow();
    await settle();
    const report = a.report();
    expect(report.blocked).toMatch(new RegExp(`^Lease ${newer}: macd block Lease format 2 is newer than this release .*no block is claimed while a Lease of the pool cannot be read`));
    expect(report.refused).toEqual([`blocked: ${report.blocked}`]);
    expect(report.allocated).toBe(209);

    // Gone (the newer release rolled back and its Lease deleted): claims again, and the report says nothing is blocked.
    api.raw.delete(newer);
    await a.store.allocate(states(100));
    expect(api.items.size).toBeGreaterThan(1);
    a.coord.publishNow();
    await settle();
    expect(a.report()).toMatchObject({ refused: [], allocated: 309 });
    expect(a.report().blocked).toBeUndefined();
    await a.coord.close();
  });

  it('a Lease that is neither a block nor a report blocks claims too, and a report Lease does not', async () => {
    const api = new FakeLeases();
    api.raw.set('b', { holder: 'b', annotations: { [SERVED_ANNOTATION]: '{"generation":0,"refused":[],"capacity":0,"allocated":0}' } });
    api.raw.set('c', { holder: 'c', annotations: { [SERVED_ANNOTATION]: '{}', [FORMAT_ANNOTATION]: '1' } });
    const a = await replica(api, 'a');
    await a.store.allocate(states(1));
    expect(a.report().blocked).toBeUndefined();

    api.raw.set('stray', { holder: '', annotations: {} });
    await expect(a.store.allocate(states(300))).rejects.toMatchObject({ reason: 'pool_full' });
    a.coord.publishNow();
    await settle();
    expect(a.report().blocked).toMatch(/^Lease stray: neither a block Lease/);
    await a.coord.close();
  });

  it('a 0.2.0 block Lease (no format) is format 1: its block is never claimed over, and claims go elsewhere', async () => {
    const api = new FakeLeases();
    // Every block but one held by a 0.2.0 replica.
    for (let g = 0; g < 15; g++) api.raw.set(blockLeaseName('pool', BASE + g * 256), { holder: 'old', annotations: block(BASE + g * 256) });
    const a = await replica(api, 'a');
    const got = await a.store.allocate(states(256));
    expect(got.every((s) => s.mac >= BASE + 15 * 256)).toBe(true);
    expect([...api.items.keys()]).toEqual([blockLeaseName('pool', BASE + 15 * 256)]);
    expect(a.report().blocked).toBeUndefined();
    await a.coord.close();
  });
});
