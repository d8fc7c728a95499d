import { appendFileSync, cpSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MacdConfig } from '../../src/api/config/macd.ts';
import { formatMac, parseMac } from '../../src/api/mac.ts';
import { MacStore } from '../../src/macd/store.ts';
import { call, quietLog, startTestMacd, tempDir } from './helpers.ts';

const fatal = (e: Error): void => {
  throw e;
};
const open = (dataDir: string, snapshotBytes?: number) => MacStore.open({ dataDir, log: quietLog, onFatal: fatal, snapshotBytes });
const meta = (port: string) => ({ portId: port, projectId: 'p', vpcId: null, state: 'Active' });

describe('durable store', () => {
  it('replays the log after a crash (copy of the directory taken while running)', async () => {
    const dir = tempDir();
    const s = await open(dir);
    await s.applyConfig(MacdConfig.parse({}));
    const got = await s.allocate(Array.from({ length: 50 }, (_, i) => ({ mac: null, meta: meta(`port-${i}`) })));
    await s.release([got[3]!.mac]);
    await s.update(got[4]!.mac, { ...meta('renamed'), state: 'Inactive' });
    await s.addRange({ id: 'extra', from: parseMac('02:00:00:00:00:00')!, to: parseMac('02:00:00:00:00:ff')! });
    // A crashed process leaves exactly what was fsynced: copy it now.
    const crashed = tempDir();
    cpSync(dir, crashed, { recursive: true });
    await s.close();

    const r = await open(crashed);
    await r.applyConfig(MacdConfig.parse({}));
    expect(r.allocator.stats(r.allocator.range('range0')).used).toBe(49);
    expect(() => r.get(got[3]!.mac)).toThrow(/not allocated/);
    expect(r.get(got[4]!.mac).meta).toEqual({ ...meta('renamed'), state: 'Inactive' });
    expect(r.get(got[10]!.mac).meta).toEqual(meta('port-10'));
    expect(r.allocator.range('extra').source).toBe('api');
    // Replay restores the cursor too: the next MAC follows the last one, no duplicate, no reuse of the released one.
    const more = await r.allocate([{ mac: null, meta: meta('new') }]);
    expect(more[0]!.mac).toBe(got[49]!.mac + 1);
    await r.close();
  });

  it('cuts a torn last record and keeps everything before it', async () => {
    const dir = tempDir();
    const s = await open(dir);
    await s.applyConfig(MacdConfig.parse({}));
    await s.allocate([{ mac: parseMac('aa:bb:cc:00:00:07')!, meta: meta('a') }]);
    const crashed = tempDir();
    cpSync(dir, crashed, { recursive: true });
    await s.close();
    const log = readdirSync(crashed).filter((f) => f.startsWith('log-')).sort().pop()!;
    // Half a frame: a length that runs past the end of the file.
    appendFileSync(join(crashed, log), Buffer.from([200, 0, 0, 0, 1, 2, 3]));
    const r = await open(crashed);
    expect(r.get(parseMac('aa:bb:cc:00:00:07')!).meta.portId).toBe('a');
    await r.allocate([{ mac: parseMac('aa:bb:cc:00:00:08')!, meta: meta('b') }]);
    const again = tempDir();
    cpSync(crashed, again, { recursive: true });
    await r.close();
    const q = await open(again);
    expect(q.allocator.stats(q.allocator.range('range0')).used).toBe(2);
    await q.close();
  });

  it('snapshots, drops covered log generations, and restores from snapshot + log', async () => {
    const dir = tempDir();
    const s = await open(dir, 4096);
    await s.applyConfig(MacdConfig.parse({ exclusions: ['aa:bb:cc:00:00:01'] }));
    const macs: number[] = [];
    for (let i = 0; i < 40; i++) macs.push(...(await s.allocate(Array.from({ length: 25 }, (_, k) => ({ mac: null, meta: meta(`p${i}-${k}`) })))).map((x) => x.mac));
    await s.snapshot();
    expect(readdirSync(dir)).toContain('snapshot.bin');
    await s.allocate([{ mac: null, meta: meta('after') }]);
    const crashed = tempDir();
    cpSync(dir, crashed, { recursive: true });
    await s.close();
    expect(new Set(macs).size).toBe(1000);
    expect(macs.map(formatMac)).not.toContain('aa:bb:cc:00:00:01');
    const r = await open(crashed);
    expect(r.allocator.stats(r.allocator.range('range0')).used).toBe(1001);
    expect(r.get(macs[999]!).meta.portId).toBe('p39-24');
    await r.close();
  });
});

describe('config', () => {
  it('reloads a new range and a new exclusion without restart (ConfigMap-style symlink swap)', async () => {
    const dir = tempDir('macd-cfg-');
    const file = join(dir, 'macd.yaml');
    writeFileSync(file, 'oui: "02:00:00"\nranges:\n  - id: a\n    from: "02:00:00:00:00:00"\n    to: "02:00:00:00:00:03"\n');
    const m = await startTestMacd({ configFile: file });
    try {
      const list = await call(m.url, 'GET', '/macs/ranges');
      expect((list.body['mac_ranges'] as { range_id: string }[]).map((r) => r.range_id)).toEqual(['a']);
      expect((await call(m.url, 'DELETE', '/macs/ranges/a')).body['reason']).toBe('range_protected');
      // Write the new version beside it and rename over: what kubelet's atomic writer amounts to.
      writeFileSync(join(dir, 'next.yaml'), 'ranges:\n  - id: a\n    from: "02:00:00:00:00:00"\n    to: "02:00:00:00:00:03"\n  - id: b\n    from: "02:00:00:00:01:00"\n    to: "02:00:00:00:01:03"\nexclusions: ["02:00:00:00:00:00", "02:00:00:00:01:*"]\n');
      renameSync(join(dir, 'next.yaml'), file);
      const deadline = Date.now() + 5000;
      let ids: string[] = [];
      while (Date.now() < deadline) {
        ids = ((await call(m.url, 'GET', '/macs/ranges')).body['mac_ranges'] as { range_id: string }[]).map((r) => r.range_id);
        if (ids.includes('b')) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(ids).toEqual(['a', 'b']);
      const got = await call(m.url, 'POST', '/macs/bulk', { mac_states: [{ project_id: 'p', vpc_id: 'v', port_id: '1' }, { project_id: 'p', vpc_id: 'v', port_id: '2' }, { project_id: 'p', vpc_id: 'v', port_id: '3' }] });
      expect((got.body['mac_states'] as { mac_address: string }[]).map((s) => s.mac_address)).toEqual(['02:00:00:00:00:01', '02:00:00:00:00:02', '02:00:00:00:00:03']);
      expect((await call(m.url, 'POST', '/macs', { mac_state: { project_id: 'p', vpc_id: 'v', port_id: '4' } })).body['reason']).toBe('pool_full');
      expect((await call(m.url, 'POST', '/macs', { mac_state: { project_id: 'p', vpc_id: 'v', port_id: '4', mac_address: '02:00:00:00:01:02' } })).body['reason']).toBe('excluded');
    } finally {
      await m.close();
    }
  });

  it('defaults to OUI aa:bb:cc and range0 without a config', async () => {
    const m = await startTestMacd();
    try {
      const r = await call(m.url, 'GET', '/macs/ranges/range0');
      expect(r.body['mac_range']).toMatchObject({ from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:ff:ff:ff', capacity: 16_777_216 });
    } finally {
      await m.close();
    }
  });
});
