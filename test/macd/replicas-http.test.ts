// Two in-process replicas with their HTTP APIs and a fake Lease API: requests
// for another replica's MACs are forwarded, a full replica hands an
// allocation to one with room, and range counts are the pool's whichever
// replica answers.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BlockCoordinator } from '../../src/macd/replicas.ts';
import { startMacd, type Macd } from '../../src/macd/server.ts';
import { call, quietLog, tempDir } from './helpers.ts';
import { FakeLeases } from './fake-leases.ts';

const api = new FakeLeases();
const started: Macd[] = [];
afterAll(async () => {
  for (const m of started) await m.close();
});

async function replica(name: string, config: string, leases = api): Promise<string> {
  const m = await startMacd({
    host: '127.0.0.1',
    port: 0,
    dataDir: tempDir(),
    configFile: config,
    log: quietLog,
    coordinate: async (store, _c, port) => {
      const c = new BlockCoordinator({ store, api: leases, pool: 'pool', replica: name, endpoint: `http://127.0.0.1:${port.port}`, log: quietLog, publishMs: 100 });
      await c.start();
      return { ownerOf: (mac) => c.ownerOf(mac), spillover: (n, id) => c.spillover(n, id), othersRanges: () => c.othersRanges(), close: () => c.close() };
    },
  });
  started.push(m);
  return `http://127.0.0.1:${m.port}`;
}

describe('replicas over HTTP (fake Lease API)', () => {
  it('forwards reads and releases to the holder, and spills allocations over to a replica with room', async () => {
    const dir = tempDir('macd-rh-');
    const config = join(dir, 'macd.json');
    writeFileSync(config, JSON.stringify({
      ranges: [{ id: 'r', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:00:03:ff' }],
      coordination: { mode: 'kubernetes', pool: { name: 'pool', namespace: 'ns', uid: 'u' }, blockSize: 256 },
    }));
    const a = await replica('a', config);
    const b = await replica('b', config);
    const one = await call(a, 'POST', '/macs', { mac_state: { project_id: 'p', vpc_id: 'v', port_id: 'from-a' } });
    expect(one.status).toBe(201);
    const mac = (one.body['mac_state'] as { mac_address: string }).mac_address;
    // b answers for a's MAC by asking a.
    expect((await call(b, 'GET', `/macs/${mac}`)).body['mac_state']).toMatchObject({ mac_address: mac, port_id: 'from-a' });
    // b takes the three blocks left and fills them.
    const fill = await call(b, 'POST', '/macs/bulk', { mac_states: Array.from({ length: 768 }, (_, i) => ({ project_id: 'p', vpc_id: 'v', port_id: `b${i}` })) });
    expect(fill.status).toBe(201);
    // b is full, no block is left: a still has 255 free, so b forwards there.
    const spill = await call(b, 'POST', '/macs/bulk', { mac_states: Array.from({ length: 10 }, (_, i) => ({ project_id: 'p', vpc_id: 'v', port_id: `s${i}` })) });
    expect(spill.status).toBe(201);
    const spilled = (spill.body['mac_states'] as { mac_address: string }[]).map((s) => s.mac_address);
    expect((await call(a, 'GET', `/macs/${spilled[0]}`)).status).toBe(200);
    // More than anyone has: a clear pool_full.
    const tooMany = await call(b, 'POST', '/macs/bulk', { mac_states: Array.from({ length: 300 }, (_, i) => ({ project_id: 'p', vpc_id: 'v', port_id: `t${i}` })) });
    expect(tooMany.status).toBe(403);
    expect(tooMany.body['reason']).toBe('pool_full');
    // Release through the other replica.
    expect((await call(b, 'DELETE', `/macs/${mac}`)).status).toBe(200);
    expect((await call(a, 'GET', `/macs/${mac}`)).body).toEqual({ mac_state: null });
  });

  it('answers pool-wide range counts from either replica at once, and fills an overlapping tenant range with no MAC twice', async () => {
    const dir = tempDir('macd-rh-');
    const config = join(dir, 'macd.json');
    writeFileSync(config, JSON.stringify({
      ranges: [
        { id: 'range0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:00:0f:ff' },
        { id: 'tenant', from: 'aa:bb:cc:00:02:00', to: 'aa:bb:cc:00:03:ff' },
      ],
      coordination: { mode: 'kubernetes', pool: { name: 'pool2', namespace: 'ns', uid: 'u' }, blockSize: 256 },
    }));
    const leases = new FakeLeases();
    const a = await replica('c', config, leases);
    const b = await replica('d', config, leases);
    const used = async (base: string, id: string) => {
      const r = (await call(base, 'GET', `/macs/ranges/${id}`)).body['mac_range'] as { used: number; available: number };
      return { used: r.used, available: r.available };
    };
    // One MAC through a: both replicas count it right away (no wait for a Lease update).
    expect((await call(a, 'POST', '/macs', { mac_state: { project_id: 'p', vpc_id: 'v', port_id: 'one' } })).status).toBe(201);
    for (const base of [a, b, a, b]) expect(await used(base, 'range0')).toEqual({ used: 1, available: 4095 });
    // The tenant range through both replicas until it is full: 512 MACs, none twice.
    const macs: string[] = [];
    await Promise.all([a, b, a, b].map(async (base, w) => {
      for (let i = 0; i < 200; i++) {
        const r = await call(base, 'POST', '/macs/range/tenant', { mac_state: { project_id: 'p', vpc_id: 'v', port_id: `t${w}-${i}` } });
        if (r.status === 201) macs.push((r.body['mac_state'] as { mac_address: string }).mac_address);
        else expect(r.body['reason']).toBe('pool_full');
      }
    }));
    expect(macs).toHaveLength(512);
    expect(new Set(macs).size).toBe(512);
    expect(macs.every((x) => x >= 'aa:bb:cc:00:02:00' && x <= 'aa:bb:cc:00:03:ff')).toBe(true);
    // Counts per range, overlapping: the same from either replica.
    for (const base of [a, b]) {
      expect(await used(base, 'tenant')).toEqual({ used: 512, available: 0 });
      expect(await used(base, 'range0')).toEqual({ used: 513, available: 4096 - 513 });
      const list = (await call(base, 'GET', '/macs/ranges')).body['mac_ranges'] as { range_id: string; used: number }[];
      expect(Object.fromEntries(list.map((r) => [r.range_id, r.used]))).toEqual({ range0: 513, tenant: 512 });
    }
  });
});
