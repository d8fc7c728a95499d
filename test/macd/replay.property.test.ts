// Property: whatever sequence of acknowledged operations ran (allocations,
// releases, updates, range changes, snapshots), a restart from what is on
// disk (a copy of the data directory taken while the store is still open,
// i.e. a crash) yields exactly the same allocated MACs and metadata.

import { cpSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MacdConfig } from '../../src/api/config/macd.ts';
import { MacdError } from '../../src/macd/errors.ts';
import { MacStore } from '../../src/macd/store.ts';
import { quietLog, tempDir } from './helpers.ts';

const BASE = 0xaabbcc000000;
const config = MacdConfig.parse({ ranges: [{ id: 'r0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:00:00:3f' }] });
const open = (dir: string) => MacStore.open({ dataDir: dir, log: quietLog, snapshotBytes: 2048, onFatal: (e) => { throw e; } });

type Op =
  | { k: 'alloc'; n: number; range: number | null }
  | { k: 'specific'; off: number }
  | { k: 'release'; pick: number }
  | { k: 'update'; pick: number; port: string }
  | { k: 'addRange'; slot: number }
  | { k: 'delRange'; slot: number }
  | { k: 'snapshot' };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('alloc' as const), n: fc.integer({ min: 1, max: 9 }), range: fc.option(fc.integer({ min: 0, max: 4 })) }),
  fc.record({ k: fc.constant('specific' as const), off: fc.integer({ min: 0, max: 0x13f }) }),
  fc.record({ k: fc.constant('release' as const), pick: fc.nat() }),
  fc.record({ k: fc.constant('update' as const), pick: fc.nat(), port: fc.string({ maxLength: 200 }) }),
  fc.record({ k: fc.constant('addRange' as const), slot: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ k: fc.constant('delRange' as const), slot: fc.integer({ min: 1, max: 4 }) }),
  fc.constant({ k: 'snapshot' as const }),
);

function view(s: MacStore): Record<string, string> {
  const out: Record<string, string> = {};
  for (const r of s.allocator.ranges()) {
    // The cursor too: after a restart a released MAC is still reused last.
    out[`range ${r.id}`] = `${r.from}-${r.to} ${r.source} ${r.state} cursor ${r.cursor} ${JSON.stringify(s.allocator.stats(r))}`;
    for (let mac = r.from; mac <= r.to; mac++) if (s.allocator.isAllocated(mac)) out[String(mac)] = JSON.stringify(s.get(mac).meta);
  }
  return out;
}

describe('restart equals the acknowledged state (property)', () => {
  it('replaying snapshot + log reproduces every MAC and its metadata', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
        const dir = tempDir('macd-prop-');
        const s = await open(dir);
        await s.applyConfig(config);
        let i = 0;
        for (const o of ops) {
          const held = [...new Set(s.allocator.ranges().flatMap((r) => Array.from({ length: r.size }, (_, off) => r.from + off).filter((m) => s.allocator.isAllocated(m))))];
          try {
            if (o.k === 'alloc') await s.allocate(Array.from({ length: o.n }, () => ({ mac: null, meta: { portId: `p${i++}`, projectId: 'x', vpcId: null, state: 'Active' } })), o.range === null ? undefined : o.range === 0 ? 'r0' : `a${o.range}`);
            else if (o.k === 'specific') await s.allocate([{ mac: BASE + o.off, meta: { portId: `s${i++}`, projectId: null, vpcId: 'v', state: 'Inactive' } }]);
            else if (o.k === 'release' && held.length) await s.release([held[o.pick % held.length]!]);
            else if (o.k === 'update' && held.length) await s.update(held[o.pick % held.length]!, { portId: o.port || 'empty', projectId: null, vpcId: null, state: 'Active' });
            // Slots 1-4 lie beside r0, overlap it (3) or lie inside it (4).
            else if (o.k === 'addRange') await s.addRange({ id: `a${o.slot}`, from: BASE + (o.slot === 4 ? 0x10 : o.slot === 3 ? 0x30 : o.slot * 0x40), to: BASE + (o.slot === 4 ? 0x1f : o.slot === 3 ? 0x4f : o.slot * 0x40 + 0x3f) });
            else if (o.k === 'delRange') await s.deleteRange(`a${o.slot}`);
            else if (o.k === 'snapshot') await s.snapshot();
          } catch (e) {
            if (!(e instanceof MacdError)) throw e;
          }
        }
        const crashed = tempDir('macd-prop-crash-');
        cpSync(dir, crashed, { recursive: true });
        const before = view(s);
        await s.close();
        const r = await open(crashed);
        await r.applyConfig(config);
        expect(view(r)).toEqual(before);
        await r.close();
      }),
      { numRuns: 40 },
    );
  });
});
