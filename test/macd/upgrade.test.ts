// A data directory written before ranges could overlap (fixtures/v1) opens
// with every MAC, its metadata, the cursors and the held blocks intact, and is
// converted: a snapshot in today's format, the old per-range slot files gone.

import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatMac, parseMac } from '../../src/api/mac.ts';
import { MacStore } from '../../src/macd/store.ts';
import { quietLog, tempDir } from './helpers.ts';

const fixture = (name: string): string => {
  const dir = tempDir('macd-v1-');
  cpSync(join(import.meta.dirname, 'fixtures/v1', name), dir, { recursive: true });
  return dir;
};
const open = (dataDir: string, opts: { blockSize?: number; coordinated?: boolean } = {}) => MacStore.open({ dataDir, log: quietLog, onFatal: (e) => { throw e; }, ...opts });
const m = (s: string): number => parseMac(s)!;

describe('upgrade from the format before overlapping ranges', () => {
  it('standalone: MACs, metadata and cursors survive; the files are converted', async () => {
    const dir = fixture('standalone');
    expect(readFileSync(join(dir, 'snapshot.bin')).subarray(0, 8).toString()).toBe('MACDSNP1');
    const s = await open(dir);
    const r1 = s.allocator.range('r1');
    expect(s.allocator.stats(r1)).toMatchObject({ used: 14, capacity: 256 });
    expect(s.allocator.stats(s.allocator.range('extra')).used).toBe(2);
    expect(s.get(m('02:00:00:00:01:00')).meta).toEqual({ portId: 'snap-0', projectId: 'proj', vpcId: 'vpc', state: 'Active' });
    expect(s.find(m('02:00:00:00:01:03'))).toBeNull();
    expect(s.get(m('02:00:00:00:01:0e')).meta.portId).toBe('log-4');
    expect(s.get(m('06:00:00:00:00:11')).meta.portId).toBe('extra-1');
    // Converted: today's snapshot, one slot file per 16M span, the old ones gone.
    expect(readFileSync(join(dir, 'snapshot.bin')).subarray(0, 8).toString()).toBe('MACDSNP2');
    expect(readdirSync(dir).filter((f) => f.startsWith('slots-')).sort()).toEqual(['slots-020000000000.bin', 'slots-060000000000.bin']);
    // The cursors continue where they were.
    expect((await s.allocate([{ mac: null, meta: { portId: 'next', projectId: null, vpcId: null, state: 'Active' } }], 'r1')).map((x) => formatMac(x.mac))).toEqual(['02:00:00:00:01:0f']);
    await s.close();
    const again = await open(dir);
    expect(again.get(m('02:00:00:00:01:05')).meta.portId).toBe('snap-5');
    expect(again.get(m('02:00:00:00:01:0f')).meta.portId).toBe('next');
    await again.close();
  });

  it('replica: the blocks held per range become intervals of the address space', async () => {
    const dir = fixture('replica');
    const s = await open(dir, { blockSize: 256, coordinated: true });
    expect(s.held).toEqual([{ from: m('02:00:00:00:01:80'), to: m('02:00:00:00:03:7f') }]);
    expect(s.allocator.stats(s.allocator.range('r1')).used).toBe(303);
    expect(s.get(m('02:00:00:00:01:80')).meta.portId).toBe('b1-0');
    // Only inside the held blocks.
    const more = await s.allocate(Array.from({ length: 512 - 303 }, () => ({ mac: null, meta: { portId: 'x', projectId: null, vpcId: null, state: 'Active' } })));
    expect(more.every((x) => x.mac >= m('02:00:00:00:01:80') && x.mac <= m('02:00:00:00:03:7f'))).toBe(true);
    await expect(s.allocate([{ mac: null, meta: { portId: 'y', projectId: null, vpcId: null, state: 'Active' } }])).rejects.toMatchObject({ reason: 'pool_full' });
    await s.close();
  });
});
