import { describe, expect, it } from 'vitest';
import { MacdConfig, type MacdConfigInput } from '../../src/api/config/macd.ts';
import { blockLeaseName } from '../../src/macd/leases.ts';
import { FakeLeases } from './fake-leases.ts';
import { formatMac, parseMac } from '../../src/api/mac.ts';
import { BlockCoordinator } from '../../src/macd/replicas.ts';
import { MacStore } from '../../src/macd/store.ts';
import { macdReport } from '../../src/macd/server.ts';
import { MacdReport } from '../../src/api/leases.ts';
import { quietLog, tempDir } from './helpers.ts';

const BASE = parseMac('aa:bb:cc:00:00:00')!;
const coordination = { mode: 'kubernetes', pool: { name: 'pool', namespace: 'ns', uid: 'u' }, blockSize: 256 } as const;
const config = MacdConfig.parse({ ranges: [{ id: 'range0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:00:0f:ff' }], coordination });

async function replica(api: FakeLeases, name: string, dataDir = tempDir(), cfg: MacdConfig = config, report?: (store: MacStore) => MacdReport) {
  const store = await MacStore.open({ dataDir, log: quietLog, blockSize: 256, coordinated: true, onFatal: (e) => { throw e; } });
  await store.applyConfig(cfg);
  const coord = new BlockCoordinator({ store, api, pool: 'pool', replica: name, endpoint: `http://${name}`, log: quietLog, publishMs: 60_000, ...(report ? { report: () => report(store) } : {}) });
  await coord.start();
  return { store, coord, dataDir };
}
const meta = { portId: 'p', projectId: null, vpcId: null, state: 'Active' };
const states = (n: number) => Array.from({ length: n }, () => ({ mac: null, meta }));
/** The block Lease holding `mac`. */
const leaseOf = (api: FakeLeases, mac: number) => [...api.items.values()].find((l) => mac >= l.from && mac <= l.to);

describe('block coordination (fake Lease API)', () => {
  it('publishes its report on its own Lease when it starts, and again only when it changed', async () => {
    const api = new FakeLeases();
    let applied = { generation: 7, refused: [] as string[] };
    const a = await replica(api, 'a', tempDir(), config, (store) => macdReport(store, applied));
    const published = () => (api.reports.get('a') ?? []).map((t) => MacdReport.parse(JSON.parse(t)));
    expect(published()).toHaveLength(1);
    expect(published().at(-1)).toEqual({ generation: 7, refused: [], capacity: 4096, allocated: 0 });
    const writes = published().length;
    a.coord.publishNow();
    await new Promise((r) => setTimeout(r, 20));
    expect(published()).toHaveLength(writes);
    await a.store.allocate([{ mac: null, meta }]);
    applied = { generation: 8, refused: ['ranges[1] (x): not served: why'] };
    a.coord.publishNow();
    await new Promise((r) => setTimeout(r, 20));
    expect(published().at(-1)).toEqual({ generation: 8, refused: ['ranges[1] (x): not served: why'], capacity: 4096, allocated: 1 });
    await a.coord.close();
  });

  it('three replicas allocating concurrently never share a MAC or a block', async () => {
    const api = new FakeLeases();
    const rs = await Promise.all(['a', 'b', 'c'].map((n) => replica(api, n)));
    const all: number[] = [];
    const by = new Map<number, string>();
    await Promise.all(
      rs.map(async (r, i) => {
        for (let k = 0; k < 40; k++) {
          const got = await r.store.allocate(states(25));
          for (const g of got) by.set(g.mac, 'abc'[i]!);
          all.push(...got.map((g) => g.mac));
        }
      }),
    );
    expect(all).toHaveLength(3000);
    expect(new Set(all).size).toBe(3000);
    // Leases are aligned blocks of the address space, never overlapping; each MAC sits in a block its allocator holds.
    const leases = [...api.items.values()].sort((x, y) => x.from - y.from);
    for (const [i, l] of leases.entries()) {
      expect(l.name).toBe(blockLeaseName('pool', l.from));
      expect(l.from % 256).toBe(0);
      expect(l.to - l.from + 1).toBe(256);
      if (i > 0) expect(l.from).toBeGreaterThan(leases[i - 1]!.to);
    }
    for (const [mac, holder] of by) expect(leaseOf(api, mac)?.holder).toBe(holder);
    // The whole range (4096) has room for no more than 4096 - 3000 more.
    await expect(rs[0]!.store.allocate(states(1100))).rejects.toMatchObject({ reason: 'pool_full' });
  });

  it('overlapping ranges: replicas allocating from range0 and from a range inside it never share a MAC', async () => {
    const api = new FakeLeases();
    // A tenant range inside range0, not aligned to blocks.
    const cfg = MacdConfig.parse({
      ranges: [
        { id: 'range0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:00:0f:ff' },
        { id: 'tenant', from: 'aa:bb:cc:00:04:80', to: 'aa:bb:cc:00:06:7f' },
      ],
      coordination,
    } satisfies MacdConfigInput);
    const rs = await Promise.all(['a', 'b', 'c'].map((n) => replica(api, n, tempDir(), cfg)));
    const wide: number[] = [];
    const narrow: number[] = [];
    await Promise.all(
      rs.flatMap((r) =>
        [undefined, 'tenant'].map(async (rangeId) => {
          for (let k = 0; k < 40; k++) {
            try {
              (rangeId ? narrow : wide).push(...(await r.store.allocate(states(5), rangeId)).map((g) => g.mac));
            } catch (e) {
              // The tenant range (512 MACs in 3 blocks) fills up before the 600 asked of it.
              expect(e).toMatchObject({ reason: 'pool_full' });
            }
          }
        }),
      ),
    );
    const all = [...wide, ...narrow];
    expect(new Set(all).size).toBe(all.length);
    expect(wide).toHaveLength(600);
    const inTenant = (m: number) => m >= BASE + 0x480 && m <= BASE + 0x67f;
    expect(narrow.every(inTenant)).toBe(true);
    expect(narrow.length).toBeGreaterThan(250);
    // range0's requests kept off the tenant's addresses: range0 had room elsewhere.
    expect(wide.filter(inTenant)).toEqual([]);
    // Each replica counts what it holds in both ranges; together they count every MAC once per range.
    const sum = (id: string) => rs.reduce((n, r) => n + r.store.allocator.stats(r.store.allocator.range(id)).used, 0);
    expect(sum('range0')).toBe(all.length);
    expect(sum('tenant')).toBe(narrow.length);
  });

  it('forwards MACs of other replicas, claims blocks for specific MACs, refuses held ones', async () => {
    const api = new FakeLeases();
    const a = await replica(api, 'a');
    const b = await replica(api, 'b');
    const [x] = await a.store.allocate([{ mac: null, meta }]);
    expect(await b.coord.ownerOf(x!.mac)).toBe('http://a');
    expect(await a.coord.ownerOf(x!.mac)).toBeNull();
    // A MAC in a free block: b claims that block.
    const free = [...Array(16).keys()].find((blk) => !leaseOf(api, BASE + blk * 256))!;
    const mac = BASE + free * 256 + 7;
    await b.store.allocate([{ mac, meta }]);
    expect(api.items.get(blockLeaseName('pool', BASE + free * 256))?.holder).toBe('b');
    // A MAC in a's block, asked of b directly (not forwarded): refused, nothing changes.
    await expect(b.store.allocate([{ mac: x!.mac + 1, meta }])).rejects.toMatchObject({ status: 409, reason: 'owned_elsewhere' });
  });

  it('points a full replica at one that still has room (spillover)', async () => {
    const api = new FakeLeases();
    const a = await replica(api, 'a');
    const b = await replica(api, 'b');
    await a.store.allocate(states(300));
    // b takes every block left and fills them.
    await b.store.allocate(states(4096 - 512));
    expect(api.items.size).toBe(16);
    await expect(b.store.allocate([{ mac: null, meta }])).rejects.toMatchObject({ reason: 'pool_full' });
    expect(await b.coord.spillover(10)).toBe('http://a');
    expect(await b.coord.spillover(10, 'range0')).toBe('http://a');
    expect(await b.coord.spillover(1000)).toBeNull();
    // Once b's counts are published, a sees no room at b.
    await b.coord.close();
    expect(await a.coord.spillover(1)).toBeNull();
  });

  it('publishes counts only when they changed, and takes its blocks back after a restart', async () => {
    const api = new FakeLeases();
    const a = await replica(api, 'a');
    await a.store.allocate(states(10));
    await a.coord.close();
    const lease = [...api.items.values()][0]!;
    expect(lease.allocated).toBe(10);
    expect(lease.byRange).toEqual({ range0: 10 });
    const patches = api.annotations.length;
    await a.coord.close();
    expect(api.annotations.length).toBe(patches);
    await a.store.close();
    const again = await replica(api, 'a', a.dataDir);
    expect(again.store.held).toEqual([{ from: lease.from, to: lease.to }]);
    const [next] = await again.store.allocate([{ mac: null, meta }]);
    expect(leaseOf(api, next!.mac)?.name).toBe(lease.name);
    expect(api.items.size).toBe(1);
    await again.coord.close();
    await again.store.close();
  });

  it('counts other replicas’ MACs from their Leases when they cannot be asked', async () => {
    const api = new FakeLeases();
    const a = await replica(api, 'a');
    const b = await replica(api, 'b');
    await a.store.allocate(states(7));
    await a.coord.close();
    // http://a does not resolve: b falls back to what a's Leases published.
    expect(await b.coord.othersRanges()).toEqual(new Map([['range0', { used: 7, usedAllowed: 7 }]]));
    expect(formatMac([...api.items.values()][0]!.from)).toMatch(/^aa:bb:cc:00:0[0-9a-f]:00$/);
  });
});
