import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  cidrsOverlap,
  coveredMinus,
  ipv4ToNumber,
  macExclusionInterval,
  macToNumber,
  numberToIPv4,
  numberToMac,
  parseCidr,
  parseDuration,
  unionSize,
} from '../../src/api/net.ts';

describe('address arithmetic', () => {
  it('round-trips MACs and IPv4 addresses', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (n) => macToNumber(numberToMac(n)) === n));
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => ipv4ToNumber(numberToIPv4(n)) === n));
  });

  it.each([
    ['60:d7:55:f7:c2:09', 1],
    ['fe:16:11:*', 2 ** 24],
    ['fe:16:11', 2 ** 24],
    ['fe', 2 ** 40],
    ['aa:bb:cc:dd:ee:*', 256],
  ])('exclusion %s covers %i addresses', (e, size) => {
    const { from, to } = macExclusionInterval(e);
    expect(to - from + 1).toBe(size);
    expect(numberToMac(from).startsWith(e.replace(/:\*$/, ''))).toBe(true);
  });

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

  it('parses CIDRs and tells overlaps', () => {
    expect(parseCidr('10.0.0.1/24')).toEqual({ address: ipv4ToNumber('10.0.0.1'), prefixLength: 24, first: ipv4ToNumber('10.0.0.0'), last: ipv4ToNumber('10.0.0.255') });
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(parseCidr('10.0.0/24')).toBeUndefined();
    expect(cidrsOverlap('10.0.0.0/16', '10.0.5.0/24')).toBe(true);
    expect(cidrsOverlap('10.0.0.0/24', '10.0.1.0/24')).toBe(false);
    expect(cidrsOverlap('10.0.0.0/24', 'nonsense')).toBe(false);
  });

  it.each([
    ['12h', 43_200],
    ['1h30m', 5_400],
    ['90s', 90],
    ['1.5h', 5_400],
    ['500ms', 0.5],
    ['1d', undefined],
    ['', undefined],
    ['h', undefined],
  ])('duration %s = %s s', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });
});
