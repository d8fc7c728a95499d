import { describe, expect, it } from 'vitest';
import { MacdConfig } from '../../src/api/config/macd.ts';
import { blockLeaseName } from '../../src/macd/leases.ts';
import { FakeLeases } from './fake-leases.ts';
import { parseMac } from '../../src/api/mac.ts';
import { BlockCoordinator } from '../../src/macd/replicas.ts';
import { MacStore } from '../../src/macd/store.ts';
import { quietLog, tempDir } from './helpers.ts';

const config = MacdConfig.parse({
  ranges: [{ id: 'range0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:00:0f:ff' }],
  coordination: { mode: 'kubernetes', pool: { name: 'pool', namespace: 'ns', uid: 'u' }, blockSize: 256 },
});

async function replica(api: FakeLeases, name: string, dataDir = tempDir()) {
  const store = await MacStore.open({ dataDir, log: quietLog, blockSize: 256, coordinated: true, onFatal: (e) => { throw e; } });
  await store.applyConfig(config);
  const coord = new BlockCoordinator({ store, api, pool: 'pool', replica: name, endpoint: `http://${name}`, log: quietLog, publishMs: 60_000 });
  await coord.start();
  return { store, coord, dataDir };
}
const meta = { portId: 'p', projectId: null, vpcId: null, state: 'Active' };

describe('block coordination (fake Lease API)', () => {
  it('three replicas allocating concurrently never share a MAC or a block', async () => {
    const api = new FakeLeases();
    const rs = await Promise.all(['a', 'b', 'c'].map((n) => replica(api, n)));
    const all: number[] = [];
    await Promise.all(
      rs.map(async (r) => {
        for (let i = 0; i < 40; i++) {
          const got = await r.store.allocate(Array.from({ length: 25 }, () => ({ mac: null, meta })));
          all.push(...got.map((g) => g.mac));
        }
      }),
    );
    expect(all).toHaveLength(3000);
    expect(new Set(all).size).toBe(3000);
    // Every block Lease has one holder, and each MAC sits in a block its allocator holds.
    const holders = new Map([...api.items.values()].map((l) => [l.block, l.holder]));
    expect(holders.size).toBe(api.items.size);
    for (const r of rs) for (const b of r.store.ownedBlocks.get('range0') ?? []) expect(holders.get(b)).toBe(r.coord === rs[0]!.coord ? 'a' : r.coord === rs[1]!.coord ? 'b' : 'c');
    expect(api.items.get(blockLeaseName('pool', 'range0', [...api.items.values()][0]!.block))?.blockSize).toBe(256);
    // The whole range (4096) has room for no more than 4096 - 3000 more.
    await expect(rs[0]!.store.allocate(Array.from({ length: 1100 }, () => ({ mac: null, meta })))).rejects.toMatchObject({ reason: 'pool_full' });
  });

  it('forwards MACs of other replicas, claims blocks for specific MACs, refuses held ones', async () => {
    const api = new FakeLeases();
    const a = await replica(api, 'a');
    const b = await replica(api, 'b');
    const [x] = await a.store.allocate([{ mac: null, meta }]);
    expect(await b.coord.ownerOf(x!.mac)).toBe('http://a');
    expect(await a.coord.ownerOf(x!.mac)).toBeNull();
    // A MAC in a free block: b claims that block.
    const free = [...Array(16).keys()].find((blk) => !api.items.has(blockLeaseName('pool', 'range0', blk)))!;
    const mac = parseMac('aa:bb:cc:00:00:00')! + free * 256 + 7;
    await b.store.allocate([{ mac, meta }]);
    expect(api.items.get(blockLeaseName('pool', 'range0', free))?.holder).toBe('b');
    // A MAC in a's block, asked of b directly (not forwarded): refused, nothing changes.
    await expect(b.store.allocate([{ mac: x!.mac + 1, meta }])).rejects.toMatchObject({ status: 409, reason: 'owned_elsewhere' });
  });

  it('points a full replica at one that still has room (spillover)', async () => {
    const api = new FakeLeases();
    const a = await replica(api, 'a');
    const b = await replica(api, 'b');
    await a.store.allocate(Array.from({ length: 300 }, () => ({ mac: null, meta })));
    // b takes every block left and fills them.
    await b.store.allocate(Array.from({ length: 4096 - 512 }, () => ({ mac: null, meta })));
    expect(api.items.size).toBe(16);
    await expect(b.store.allocate([{ mac: null, meta }])).rejects.toMatchObject({ reason: 'pool_full' });
    expect(await b.coord.spillover(10)).toBe('http://a');
    expect(await b.coord.spillover(1000)).toBeNull();
    // Once b's counts are published, a sees no room at b.
    await b.coord.close();
    expect(await a.coord.spillover(1)).toBeNull();
  });

  it('publishes alcor.dev/allocated only when it changed, and takes its blocks back after a restart', async () => {
    const api = new FakeLeases();
    const a = await replica(api, 'a');
    await a.store.allocate(Array.from({ length: 10 }, () => ({ mac: null, meta })));
    await a.coord.close();
    const lease = [...api.items.values()][0]!;
    expect(lease.allocated).toBe(10);
    const patches = api.annotations.length;
    await a.coord.close();
    expect(api.annotations.length).toBe(patches);
    await a.store.close();
    const again = await replica(api, 'a', a.dataDir);
    expect(again.store.ownedBlocks.get('range0')).toEqual([lease.block]);
    const [next] = await again.store.allocate([{ mac: null, meta }]);
    expect(Math.floor((next!.mac - parseMac('aa:bb:cc:00:00:00')!) / 256)).toBe(lease.block);
    expect(api.items.size).toBe(1);
    await again.coord.close();
    await again.store.close();
  });
});
