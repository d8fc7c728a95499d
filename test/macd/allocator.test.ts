import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Allocator } from '../../src/macd/allocator.ts';
import { MacdError } from '../../src/macd/errors.ts';
import { formatMac, parseMac } from '../../src/api/mac.ts';

const m = (s: string): number => parseMac(s)!;
function refusal(fn: () => unknown): { status: number; reason: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof MacdError) return { status: e.status, reason: e.reason };
    throw e;
  }
  throw new Error('expected a refusal');
}

const stats = (a: Allocator, id: string) => a.stats(a.range(id));

function small(): Allocator {
  const a = new Allocator({ blockSize: 256 });
  a.addRange({ id: 'r0', from: m('aa:bb:cc:00:00:00'), to: m('aa:bb:cc:00:00:0f') }, 'default');
  return a;
}

describe('allocator', () => {
  it('allocates next-free with a rotating cursor', () => {
    const a = small();
    expect(a.allocate({ specific: [], count: 3 }).map(formatMac)).toEqual(['aa:bb:cc:00:00:00', 'aa:bb:cc:00:00:01', 'aa:bb:cc:00:00:02']);
    a.release([m('aa:bb:cc:00:00:00')]);
    // The released MAC is not reused until the cursor wraps.
    expect(a.allocate({ specific: [], count: 1 }).map(formatMac)).toEqual(['aa:bb:cc:00:00:03']);
    expect(a.allocate({ specific: [], count: 12 })).toHaveLength(12);
    expect(stats(a, 'r0').available).toBe(1);
    expect(a.allocate({ specific: [], count: 1 }).map(formatMac)).toEqual(['aa:bb:cc:00:00:00']);
    expect(stats(a, 'r0').available).toBe(0);
    a.release([m('aa:bb:cc:00:00:05')]);
    expect(a.allocate({ specific: [], count: 1 }).map(formatMac)).toEqual(['aa:bb:cc:00:00:05']);
  });

  it('answers a full pool with pool_full and changes nothing', () => {
    const a = small();
    a.allocate({ specific: [], count: 10 });
    expect(refusal(() => a.allocate({ specific: [m('aa:bb:cc:00:00:0f')], count: 6 }))).toEqual({ status: 403, reason: 'pool_full' });
    expect(stats(a, 'r0').used).toBe(10);
    expect(a.isAllocated(m('aa:bb:cc:00:00:0f'))).toBe(false);
    expect(a.allocate({ specific: [], count: 6 })).toHaveLength(6);
    expect(refusal(() => a.allocate({ specific: [], count: 1 }))).toEqual({ status: 403, reason: 'pool_full' });
  });

  it('allocates specific MACs and refuses duplicates, outsiders, exclusions', () => {
    const a = small();
    a.setExclusions(['aa:bb:cc:00:00:01', 'aa:bb:cc:00:00:0*'.replace('0*', '08')]);
    expect(a.allocate({ specific: [m('aa:bb:cc:00:00:02')], count: 0 })).toEqual([m('aa:bb:cc:00:00:02')]);
    expect(refusal(() => a.allocate({ specific: [m('aa:bb:cc:00:00:02')], count: 0 }))).toEqual({ status: 400, reason: 'already_allocated' });
    expect(refusal(() => a.allocate({ specific: [m('aa:bb:cc:00:00:03'), m('aa:bb:cc:00:00:03')], count: 0 }))).toEqual({ status: 400, reason: 'already_allocated' });
    expect(refusal(() => a.allocate({ specific: [m('aa:bb:cc:00:01:00')], count: 0 }))).toEqual({ status: 400, reason: 'outside_ranges' });
    expect(refusal(() => a.allocate({ specific: [m('aa:bb:cc:00:00:01')], count: 0 }))).toEqual({ status: 409, reason: 'excluded' });
    expect(a.isAllocated(m('aa:bb:cc:00:00:03'))).toBe(false);
    const all = a.allocate({ specific: [], count: 13 });
    expect(all.map(formatMac)).not.toContain('aa:bb:cc:00:00:01');
    expect(all.map(formatMac)).not.toContain('aa:bb:cc:00:00:08');
    expect(stats(a, 'r0').capacity).toBe(14);
    expect(stats(a, 'r0').available).toBe(0);
  });

  it('skips a prefix exclusion like fe:16:11:*', () => {
    const a = new Allocator();
    a.addRange({ id: 'r', from: m('fe:16:10:ff:ff:fe'), to: m('fe:16:11:00:00:03') }, 'config');
    a.addRange({ id: 's', from: m('aa:bb:cc:00:00:fe'), to: m('aa:bb:cc:00:02:01') }, 'config');
    a.setExclusions(['fe:16:11:*', 'aa:bb:cc:00:01:*']);
    expect(a.allocate({ specific: [], count: 6 }).map(formatMac)).toEqual(['fe:16:10:ff:ff:fe', 'fe:16:10:ff:ff:ff', 'aa:bb:cc:00:00:fe', 'aa:bb:cc:00:00:ff', 'aa:bb:cc:00:02:00', 'aa:bb:cc:00:02:01']);
    expect(refusal(() => a.allocate({ specific: [], count: 1 }))).toEqual({ status: 403, reason: 'pool_full' });
  });

  it('releases all or nothing', () => {
    const a = small();
    const [x, y] = a.allocate({ specific: [], count: 2 }) as [number, number];
    expect(refusal(() => a.release([x, m('aa:bb:cc:00:00:09')]))).toEqual({ status: 404, reason: 'not_allocated' });
    expect(a.isAllocated(x)).toBe(true);
    a.release([x, y]);
    expect(stats(a, 'r0').used).toBe(0);
  });

  it('manages ranges: protection, in-use, default', () => {
    const a = small();
    expect(refusal(() => a.addRange({ id: 'r0', from: m('aa:bb:cc:00:01:00'), to: m('aa:bb:cc:00:01:1f') }, 'api'))).toEqual({ status: 409, reason: 'range_exists' });
    expect(refusal(() => a.addRange({ id: 'big', from: m('00:00:00:00:00:00'), to: m('00:00:01:00:00:00') }, 'api'))).toEqual({ status: 400, reason: 'invalid_request' });
    a.addRange({ id: 'r1', from: m('aa:bb:cc:00:01:00'), to: m('aa:bb:cc:00:01:03') }, 'api');
    expect(refusal(() => a.checkDeleteRange('r0'))).toEqual({ status: 400, reason: 'range_protected' });
    a.allocate({ rangeId: 'r1', specific: [], count: 1 });
    expect(refusal(() => a.checkDeleteRange('r1'))).toEqual({ status: 409, reason: 'range_in_use' });
    expect(refusal(() => a.range('nope'))).toEqual({ status: 400, reason: 'unknown_range' });
    // The default range fills first, then the others.
    expect(a.allocate({ specific: [], count: 19 })).toHaveLength(19);
    expect(refusal(() => a.allocate({ specific: [], count: 1 }))).toEqual({ status: 403, reason: 'pool_full' });
  });

  it('allocates only from owned intervals when restricted', () => {
    const a = new Allocator({ blockSize: 256 });
    a.addRange({ id: 'r', from: 0, to: 1023 }, 'config');
    a.setOwned([{ from: 512, to: 767 }]);
    const got = a.allocate({ specific: [], count: 256 });
    expect(Math.min(...got)).toBe(512);
    expect(Math.max(...got)).toBe(767);
    expect(refusal(() => a.allocate({ specific: [], count: 1 }))).toEqual({ status: 403, reason: 'pool_full' });
    a.setOwned([{ from: 512, to: 767 }, { from: 0, to: 255 }]);
    expect(a.allocate({ specific: [], count: 1 })).toEqual([0]);
    expect(a.space.count(512, 767)).toBe(256);
  });

  it('keeps a 16M range in 2 MiB, and only the pages a range touches', () => {
    const a = new Allocator();
    a.addRange({ id: 'range0', from: m('aa:bb:cc:00:00:00'), to: m('aa:bb:cc:ff:ff:ff') }, 'default');
    a.addRange({ id: 'far', from: m('02:00:00:00:00:00'), to: m('02:00:00:ff:ff:ff') }, 'api');
    expect(a.allocate({ specific: [], count: 100_000 })).toHaveLength(100_000);
    expect(a.space.pagesInUse()).toHaveLength(2);
    expect(a.allocate({ specific: [], count: 16_777_216 - 100_000 })).toHaveLength(16_777_216 - 100_000);
    expect(a.space.pagesInUse().reduce((n, [, w]) => n + w.byteLength, 0)).toBe(2 * 1024 * 1024);
    expect(stats(a, 'range0').available).toBe(0);
    expect(stats(a, 'far').available).toBe(16_777_216);
  });
});

describe('overlapping ranges', () => {
  /** range0 = a whole OUI and a tenant range inside it, as in Alcor's measured answer. */
  function tenant(): Allocator {
    const a = new Allocator();
    a.addRange({ id: 'range0', from: m('aa:bb:cc:00:00:00'), to: m('aa:bb:cc:ff:ff:ff') }, 'default');
    a.addRange({ id: 'tenant', from: m('aa:bb:cc:20:00:00'), to: m('aa:bb:cc:20:ff:ff') }, 'api');
    return a;
  }

  it('accepts a range inside another and allocates each MAC once, from the range asked', () => {
    const a = tenant();
    const t = a.allocate({ rangeId: 'tenant', specific: [], count: 3 });
    expect(t.map(formatMac)).toEqual(['aa:bb:cc:20:00:00', 'aa:bb:cc:20:00:01', 'aa:bb:cc:20:00:02']);
    // The same MAC through the wider range: already taken.
    expect(refusal(() => a.allocate({ specific: [m('aa:bb:cc:20:00:01')], count: 0 }))).toEqual({ status: 400, reason: 'already_allocated' });
    expect(refusal(() => a.allocate({ rangeId: 'range0', specific: [m('aa:bb:cc:20:00:02')], count: 0 }))).toEqual({ status: 400, reason: 'already_allocated' });
    // Only inside the range asked for.
    expect(refusal(() => a.allocate({ rangeId: 'tenant', specific: [m('aa:bb:cc:00:00:05')], count: 0 }))).toEqual({ status: 400, reason: 'outside_ranges' });
    // Counts: each range counts the MACs inside it, whichever range they came through.
    a.allocate({ specific: [m('aa:bb:cc:20:00:10')], count: 0 });
    a.allocate({ specific: [], count: 5 });
    expect(stats(a, 'tenant')).toEqual({ capacity: 65_536, used: 4, available: 65_532, sole: 0 });
    expect(stats(a, 'range0')).toEqual({ capacity: 16_777_216, used: 9, available: 16_777_216 - 9, sole: 5 });
  });

  it('hands out the wider range elsewhere first, and the narrower range’s addresses only when nothing else is left', () => {
    const a = new Allocator();
    a.addRange({ id: 'wide', from: 0, to: 15 }, 'default');
    a.addRange({ id: 'narrow', from: 4, to: 7 }, 'api');
    expect(a.allocate({ specific: [], count: 12 })).toEqual([0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(a.allocate({ rangeId: 'narrow', specific: [], count: 1 })).toEqual([4]);
    // All that is left of the wide range is the narrow range's: the wide range takes it.
    expect(a.allocate({ specific: [], count: 3 })).toEqual([5, 6, 7]);
    expect(refusal(() => a.allocate({ rangeId: 'narrow', specific: [], count: 1 }))).toEqual({ status: 403, reason: 'pool_full' });
    expect(stats(a, 'narrow')).toMatchObject({ used: 4, available: 0 });
    // preferredOnly refuses rather than dip into a narrower range.
    a.release([1, 5]);
    expect(a.allocate({ specific: [], count: 1, preferredOnly: true })).toEqual([1]);
    expect(refusal(() => a.allocate({ specific: [], count: 1, preferredOnly: true }))).toEqual({ status: 403, reason: 'pool_full' });
  });

  it('deletes or shrinks a range only when no MAC would be left outside every range', () => {
    const a = tenant();
    a.allocate({ rangeId: 'tenant', specific: [], count: 2 });
    // Every MAC of the tenant range is also in range0: deleting the view orphans nothing.
    expect(a.orphans(a.range('tenant'))).toBe(0);
    a.checkDeleteRange('tenant');
    a.addRange({ id: 'outside', from: m('02:00:00:00:00:00'), to: m('02:00:00:00:00:ff') }, 'api');
    a.allocate({ rangeId: 'outside', specific: [m('02:00:00:00:00:80')], count: 0 });
    expect(refusal(() => a.checkDeleteRange('outside'))).toEqual({ status: 409, reason: 'range_in_use' });
    // Growing is fine, shrinking past the MAC is not.
    expect(a.checkUpdateRange('outside', { id: 'outside', from: m('02:00:00:00:00:00'), to: m('02:00:00:00:01:ff') })).toBeDefined();
    expect(refusal(() => a.checkUpdateRange('outside', { id: 'outside', from: m('02:00:00:00:00:00'), to: m('02:00:00:00:00:7f') }))).toEqual({ status: 409, reason: 'range_in_use' });
  });

  it('counts exclusions once per range, also where ranges overlap', () => {
    const a = tenant();
    a.setExclusions(['aa:bb:cc:20:00:*', 'aa:bb:cc:ff:*']);
    expect(stats(a, 'tenant').capacity).toBe(65_536 - 256);
    expect(stats(a, 'range0').capacity).toBe(16_777_216 - 256 - 65_536);
    expect(a.allocate({ rangeId: 'tenant', specific: [], count: 1 }).map(formatMac)).toEqual(['aa:bb:cc:20:01:00']);
  });

  it('stays fast with a 16M range0 and 1,000 sub-ranges', () => {
    const a = new Allocator();
    a.addRange({ id: 'range0', from: m('aa:bb:cc:00:00:00'), to: m('aa:bb:cc:ff:ff:ff') }, 'default');
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) a.addRange({ id: `t${i}`, from: m('aa:bb:cc:00:00:00') + i * 4096, to: m('aa:bb:cc:00:00:00') + i * 4096 + 1023 }, 'api');
    expect(a.allocate({ specific: [], count: 200_000 })).toHaveLength(200_000);
    for (let i = 0; i < 1000; i++) a.allocate({ rangeId: `t${i}`, specific: [], count: 10 });
    const all = a.ranges().map((r) => a.stats(r));
    // Not a timing assertion (benchmarks hold those): a sanity bound that an O(n²) layout would miss by far.
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(all[0]!.used).toBe(210_000);
    expect(all.slice(1).every((s) => s.used === 10)).toBe(true);
  });
});

describe('allocator against a Set model (property)', () => {
  type Op =
    | { k: 'alloc'; n: number; range: number | null }
    | { k: 'specific'; macs: number[] }
    | { k: 'release'; picks: number[] }
    | { k: 'addRange'; start: number; len: number }
    | { k: 'delRange'; idx: number }
    | { k: 'exclude'; mac: number };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ k: fc.constant('alloc' as const), n: fc.integer({ min: 1, max: 12 }), range: fc.option(fc.integer({ min: 0, max: 3 })) }),
    fc.record({ k: fc.constant('specific' as const), macs: fc.array(fc.integer({ min: 0, max: 200 }), { maxLength: 4 }) }),
    fc.record({ k: fc.constant('release' as const), picks: fc.array(fc.integer({ min: 0, max: 1000 }), { maxLength: 5 }) }),
    fc.record({ k: fc.constant('addRange' as const), start: fc.integer({ min: 0, max: 200 }), len: fc.integer({ min: 1, max: 40 }) }),
    fc.record({ k: fc.constant('delRange' as const), idx: fc.integer({ min: 0, max: 3 }) }),
    fc.record({ k: fc.constant('exclude' as const), mac: fc.integer({ min: 0, max: 200 }) }),
  );

  it('never hands out a MAC twice and never loses one', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const a = new Allocator({ blockSize: 256 });
        a.addRange({ id: 'range0', from: 0, to: 31 }, 'default');
        const model = new Set<number>();
        const ranges = new Map<string, { from: number; to: number }>([['range0', { from: 0, to: 31 }]]);
        const excluded = new Set<number>();
        const exclusions: string[] = [];
        let nextId = 1;
        const inRanges = (x: number) => [...ranges.values()].some((r) => x >= r.from && x <= r.to);
        const freeCount = (only?: { from: number; to: number }) => {
          const free = new Set<number>();
          for (const r of only ? [only] : ranges.values()) for (let x = r.from; x <= r.to; x++) if (!model.has(x) && !excluded.has(x)) free.add(x);
          return free.size;
        };
        for (const o of ops) {
          const before = new Set(model);
          try {
            if (o.k === 'alloc') {
              const ids = [...ranges.keys()];
              const id = o.range === null ? undefined : ids[o.range % ids.length];
              const expectOk = o.n <= freeCount(id ? ranges.get(id) : undefined);
              let got: number[] | null = null;
              try {
                got = a.allocate({ rangeId: id, specific: [], count: o.n });
              } catch (e) {
                if (!(e instanceof MacdError) || e.reason !== 'pool_full') throw e;
              }
              expect(got !== null).toBe(expectOk);
              for (const x of got ?? []) {
                expect(model.has(x)).toBe(false);
                expect(excluded.has(x)).toBe(false);
                expect(inRanges(x)).toBe(true);
                model.add(x);
              }
            } else if (o.k === 'specific') {
              const ok = o.macs.every((x, i) => inRanges(x) && !model.has(x) && !excluded.has(x) && o.macs.indexOf(x) === i);
              let done = false;
              try {
                a.allocate({ specific: o.macs, count: 0 });
                done = true;
              } catch (e) {
                if (!(e instanceof MacdError)) throw e;
              }
              expect(done).toBe(ok);
              if (done) for (const x of o.macs) model.add(x);
            } else if (o.k === 'release') {
              const held = [...model];
              const macs = held.length ? [...new Set(o.picks.map((p) => held[p % held.length]!))] : o.picks.slice(0, 1);
              const ok = macs.every((x) => model.has(x));
              let done = false;
              try {
                a.release(macs);
                done = true;
              } catch (e) {
                if (!(e instanceof MacdError)) throw e;
              }
              expect(done).toBe(ok);
              if (done) for (const x of macs) model.delete(x);
            } else if (o.k === 'addRange') {
              const r = { from: o.start, to: o.start + o.len - 1 };
              // Ranges may overlap one another.
              const ok = true;
              const id = `r${nextId++}`;
              let done = false;
              try {
                a.addRange({ id, ...r }, 'api');
                done = true;
              } catch (e) {
                if (!(e instanceof MacdError)) throw e;
              }
              expect(done).toBe(ok);
              if (done) ranges.set(id, r);
            } else if (o.k === 'delRange') {
              const ids = [...ranges.keys()];
              const id = ids[o.idx % ids.length]!;
              const r = ranges.get(id)!;
              // Refused only when a MAC of it would be left in no range.
              const orphan = [...model].some((x) => x >= r.from && x <= r.to && ![...ranges].some(([oid, q]) => oid !== id && x >= q.from && x <= q.to));
              const ok = id !== 'range0' && !orphan;
              let done = false;
              try {
                a.checkDeleteRange(id);
                a.removeRange(id);
                done = true;
              } catch (e) {
                if (!(e instanceof MacdError)) throw e;
              }
              expect(done).toBe(ok);
              if (done) ranges.delete(id);
            } else {
              exclusions.push(formatMac(o.mac));
              excluded.add(o.mac);
              a.setExclusions(exclusions);
            }
          } catch (e) {
            // Refusals must leave the model untouched.
            expect(model).toEqual(before);
            throw e;
          }
          // The allocator's view equals the model's, MAC by MAC.
          for (const [id, r] of ranges) {
            let n = 0;
            let free = 0;
            for (let x = r.from; x <= r.to; x++) {
              expect(a.isAllocated(x)).toBe(model.has(x));
              if (model.has(x)) n++;
              else if (!excluded.has(x)) free++;
            }
            expect(stats(a, id)).toMatchObject({ used: n, available: free });
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
