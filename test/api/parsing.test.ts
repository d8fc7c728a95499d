// The one parser of each kind of value (src/api/mac.ts, ipv4.ts, cidr.ts,
// duration.ts, mac-range.ts) that the schemas, the renderer, macd and dhcpd share.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cidrsOverlap, parseCidr } from '../../src/api/cidr.ts';
import { parseDurationMs, parseDurationSeconds } from '../../src/api/duration.ts';
import { formatIPv4, ipv4ToNumber, parseIPv4, parseIPv4Range } from '../../src/api/ipv4.ts';
import { MAX_RANGE_SIZE, macRangeProblem, range0 } from '../../src/api/mac-range.ts';
import { formatMac, isUnicastMac, macHex, parseMac, parseMacPrefix } from '../../src/api/mac.ts';

describe('MAC', () => {
  it('round-trips every 48-bit number', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (n) => parseMac(formatMac(n)) === n));
  });

  it('reads either case, refuses anything else', () => {
    expect(formatMac(parseMac('AA:bb:cc:00:01:ff')!)).toBe('aa:bb:cc:00:01:ff');
    expect(parseMac('ff:ff:ff:ff:ff:ff')).toBe(2 ** 48 - 1);
    for (const bad of ['aa:bb:cc:00:00', 'aa-bb-cc-00-00-01', 'zz:bb:cc:00:00:01', '', 'aa:bb:cc:00:00:001', 'aabbcc000001']) expect(parseMac(bad)).toBeUndefined();
  });

  it.each([
    ['60:d7:55:f7:c2:09', 1],
    ['fe:16:11:*', 2 ** 24],
    ['fe:16:11', 2 ** 24],
    ['fe', 2 ** 40],
    ['aa:bb:cc:dd:ee:*', 256],
  ])('prefix %s covers %i addresses', (prefix, size) => {
    const { from, to } = parseMacPrefix(prefix)!;
    expect(to - from + 1).toBe(size);
    expect(formatMac(from).startsWith(prefix.replace(/:\*$/, ''))).toBe(true);
  });

  it('refuses malformed prefixes, tells unicast, keys a chaddr', () => {
    expect(parseMacPrefix('fe:1')).toBeUndefined();
    expect(parseMacPrefix('fe:16:11:**')).toBeUndefined();
    expect(isUnicastMac('aa:bb:cc')).toBe(true);
    expect(isUnicastMac('01:00:5e:00:00:01')).toBe(false);
    expect(macHex(parseMac('aa:bb:cc:00:10:01')!)).toBe('aabbcc001001');
  });
});

describe('IPv4', () => {
  it('round-trips every 32-bit number', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (n) => parseIPv4(formatIPv4(n)) === n));
  });

  it('refuses malformed addresses; ipv4ToNumber says which', () => {
    for (const bad of ['10.0.0', '10.0.0.256', '010.0.0.1', '10.0.0.1 ', '']) expect(parseIPv4(bad)).toBeUndefined();
    expect(() => ipv4ToNumber('10.0.0.256')).toThrow('malformed IPv4 address "10.0.0.256"');
  });

  it('reads an address or a range', () => {
    expect(parseIPv4Range('10.0.0.7')).toEqual({ start: ipv4ToNumber('10.0.0.7'), end: ipv4ToNumber('10.0.0.7') });
    expect(parseIPv4Range('10.0.0.9-10.0.0.5')).toEqual({ start: ipv4ToNumber('10.0.0.9'), end: ipv4ToNumber('10.0.0.5') });
    expect(parseIPv4Range('10.0.0.9-')).toBeUndefined();
  });
});

describe('CIDR', () => {
  it('parses a network and tells overlaps', () => {
    expect(parseCidr('10.0.0.1/24')).toEqual({
      address: ipv4ToNumber('10.0.0.1'),
      prefixLength: 24,
      mask: ipv4ToNumber('255.255.255.0'),
      first: ipv4ToNumber('10.0.0.0'),
      last: ipv4ToNumber('10.0.0.255'),
    });
    expect(parseCidr('0.0.0.0/0')?.mask).toBe(0);
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(parseCidr('10.0.0/24')).toBeUndefined();
    expect(cidrsOverlap('10.0.0.0/16', '10.0.5.0/24')).toBe(true);
    expect(cidrsOverlap('10.0.0.0/24', '10.0.1.0/24')).toBe(false);
    expect(cidrsOverlap('10.0.0.0/24', 'nonsense')).toBe(false);
  });
});

describe('duration', () => {
  it.each([
    ['12h', 43_200],
    ['1h30m', 5_400],
    ['90s', 90],
    ['1.5h', 5_400],
    ['500ms', 0.5],
    ['1d', undefined],
    ['', undefined],
    ['h', undefined],
    ['10 m', undefined],
  ])('%s = %s s', (text, seconds) => {
    expect(parseDurationSeconds(text)).toBe(seconds);
    expect(parseDurationMs(text)).toBe(seconds === undefined ? undefined : seconds * 1000);
  });
});

describe('MAC range', () => {
  it('range0 spans the OUI', () => {
    expect(range0('aa:bb:cc')).toEqual({ id: 'range0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:ff:ff:ff' });
    const r = range0('aa:bb:cc');
    expect(parseMac(r.to)! - parseMac(r.from)! + 1).toBe(MAX_RANGE_SIZE);
  });

  it.each([
    ['one OUI', '02:00:00:00:00:00', '02:00:00:ff:ff:ff', undefined],
    ['one OUI, across an OUI boundary', '02:00:00:80:00:00', '02:00:01:7f:ff:ff', undefined],
    ['one address more', '02:00:00:80:00:00', '02:00:01:80:00:00', 'it holds 16777217 addresses; at most 16777216 per range'],
    ['2^40 addresses', '02:00:00:00:00:00', '02:ff:ff:ff:ff:ff', 'it holds 1099511627776 addresses'],
    ['backwards', '02:00:00:00:00:01', '02:00:00:00:00:00', 'from is after to'],
  ])('%s', (_name, from, to, problem) => {
    const got = macRangeProblem({ from: parseMac(from)!, to: parseMac(to)! });
    if (problem === undefined) expect(got).toBeUndefined();
    else expect(got).toContain(problem);
  });
});
