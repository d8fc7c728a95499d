import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatMac } from '../../src/api/mac.ts';
import { Bytes } from '../../src/macd/states.ts';

// The byte writer of log records and answers: numbers and MACs as JSON.stringify and formatMac write them.

describe('Bytes', () => {
  it('writes integers below 2^53 and MACs as JSON and formatMac do (property)', () => {
    const edges = [0, 9, 10, 99_999_999, 100_000_000, 100_000_001, 1_000_000_000_000, 0xaabbcc000000, 0xffffffffffff, Number.MAX_SAFE_INTEGER];
    const n = fc.oneof(fc.constantFrom(...edges), fc.maxSafeNat(), fc.integer({ min: 0, max: 0xffffffffffff }));
    fc.assert(
      fc.property(fc.array(n, { maxLength: 20 }), (list) => {
        const w = new Bytes(1);
        list.forEach((v, i) => {
          if (i > 0) w.ascii(',');
          w.int(v);
        });
        expect(w.done().toString()).toBe(list.join(','));
        const m = new Bytes(1);
        const macs = list.map((v) => v % 2 ** 48);
        macs.forEach((v) => m.mac(v));
        expect(m.done().toString()).toBe(macs.map(formatMac).join(''));
      }),
      { numRuns: 2000 },
    );
  });
});
