import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MacMeta } from '../../src/macd/meta.ts';
import { SlotStore } from '../../src/macd/slots.ts';
import { MacStates } from '../../src/macd/states.ts';

// The metadata slots: whatever the order of staged writes (ascending runs as
// allocations stage them, or any order as updates do), repeated MACs, runs
// across a file boundary, and records too long for a slot, a flush leaves
// each slot holding the last write staged for it.

/** A 16M boundary: slots on either side live in different files. */
const BOUNDARY = 0xaabbcd000000;
const macs = fc.integer({ min: -6, max: 6 }).map((d) => BOUNDARY + d);
const ident = fc.oneof(fc.constantFrom('p', 'port-1', 'vm1.eth0', ''), fc.stringMatching(/^[a-z0-9-]{30,60}$/));
const meta: fc.Arbitrary<MacMeta> = fc.record({
  portId: ident,
  projectId: fc.option(ident, { nil: null }),
  vpcId: fc.option(ident, { nil: null }),
  state: fc.constantFrom('Active', 'Inactive'),
});
const op = fc.oneof(
  fc.record({ kind: fc.constant('one' as const), mac: macs, meta }),
  // A batch of allocated states: often an ascending run, as allocations come.
  fc.record({ kind: fc.constant('states' as const), first: macs, metas: fc.array(meta, { minLength: 1, maxLength: 8 }), ascending: fc.boolean(), scatter: fc.array(macs, { maxLength: 8 }) }),
  fc.constant({ kind: 'flush' as const }),
);

describe('SlotStore', () => {
  it('a flush leaves each slot with the last write staged for it, in any order (property)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
        const dir = mkdtempSync(join(tmpdir(), 'slots-'));
        const slots = new SlotStore(dir);
        const model = new Map<number, MacMeta>();
        try {
          for (const o of ops) {
            if (o.kind === 'flush') slots.flush();
            else if (o.kind === 'one') {
              slots.stage(o.mac, o.meta);
              model.set(o.mac, o.meta);
            } else {
              const at = o.metas.map((_, i) => (o.ascending ? o.first + i : (o.scatter[i] ?? o.first)));
              const s = MacStates.from(o.metas.map((m, i) => ({ mac: at[i]!, meta: m })));
              slots.stageStates(s);
              at.forEach((mac, i) => model.set(mac, o.metas[i]!));
            }
          }
          slots.flush();
          expect(slots.stagedCount).toBe(0);
          for (const [mac, want] of model) expect(slots.read(mac), mac.toString(16)).toEqual(want);
        } finally {
          slots.close();
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('stages a bulk larger than its kept room, and keeps no more than that room afterwards', () => {
    const dir = mkdtempSync(join(tmpdir(), 'slots-'));
    const slots = new SlotStore(dir);
    try {
      const n = 20_000;
      const s = MacStates.from(Array.from({ length: n }, (_, i) => ({ mac: BOUNDARY - 10_000 + i, meta: { portId: `b-${i}`, projectId: 'p', vpcId: 'v', state: 'Active' } })));
      slots.stageStates(s);
      expect(slots.stagedCount).toBe(n);
      slots.flush();
      for (const i of [0, 9_999, 10_000, 19_999]) expect(slots.read(BOUNDARY - 10_000 + i)?.portId).toBe(`b-${i}`);
    } finally {
      slots.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
