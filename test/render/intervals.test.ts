import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { coveredMinus, unionSize } from '../../src/render/intervals.ts';

describe('interval counting', () => {
  it('unionSize counts overlapping and adjacent intervals once', () => {
    expect(unionSize([{ from: 0, to: 9 }, { from: 5, to: 14 }, { from: 15, to: 15 }, { from: 20, to: 20 }])).toBe(17);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 20 })), { maxLength: 20 }), (pairs) => {
        const intervals = pairs.map(([from, len]) => ({ from, to: from + len }));
        const set = new Set<number>();
        for (const i of intervals) for (let n = i.from; n <= i.to; n++) set.add(n);
        return unionSize(intervals) === set.size;
      }),
    );
  });

  it('coveredMinus matches a brute-force count', () => {
    const gen = fc.array(fc.tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 30 })), { maxLength: 8 });
    fc.assert(
      fc.property(gen, gen, (a, b) => {
        const base = a.map(([from, len]) => ({ from, to: from + len }));
        const minus = b.map(([from, len]) => ({ from, to: from + len }));
        let count = 0;
        for (let n = 0; n <= 140; n++) {
          if (base.some((i) => n >= i.from && n <= i.to) && !minus.some((i) => n >= i.from && n <= i.to)) count++;
        }
        return coveredMinus(base, minus) === count;
      }),
    );
  });
});
