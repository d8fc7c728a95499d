// How the ranges and exclusions cut the address space. Every point where a
// range or an exclusion starts or ends splits it; each piece (segment) is
// covered by a fixed set of ranges and is either excluded or not. Per
// segment we count allocated MACs (updated on every allocation and release,
// one binary search), so a range's capacity, used and available are sums
// over its segments, kept as prefix sums: O(1) per range however the ranges
// overlap. Rebuilt when a range or an exclusion changes (rare), from the
// page counts of the address space.
//
// The layout also gives each range its allocation passes: first the addresses
// no narrower range claims (so a tenant range inside range0 is not used up by
// range0 while range0 has other room), then every address of the range.

import type { AddressSpace } from './space.ts';
import { firstEndingAtOrAfter, intersectIntervals, type Interval, type MacRange } from './range.ts';

export interface RangeStats {
  /** Addresses that may be handed out: the range minus exclusions. */
  capacity: number;
  /** Allocated MACs inside the range, through whichever range they were asked for. */
  used: number;
  /** Addresses free to hand out now: capacity minus the allocated non-excluded ones. */
  available: number;
  /** Allocated MACs that no other range covers (they would be orphaned if the range went away). */
  sole: number;
}

/** Allocation passes of a range: preferred addresses first, then all of them. */
export interface Passes {
  preferred: Interval[];
  all: Interval[];
}

export class RangeLayout {
  /** Segment i is [starts[i], starts[i+1] - 1]. */
  private readonly starts: Float64Array;
  private readonly cover: Uint32Array;
  private readonly excluded: Uint8Array;
  private readonly count: Float64Array;
  private readonly segOf = new Map<MacRange, [number, number]>();
  private readonly passCache = new Map<MacRange, Passes>();
  private readonly ranges: readonly MacRange[];
  private prefix: { used: Float64Array; usedIn: Float64Array; excludedSize: Float64Array; sole: Float64Array } | null = null;
  private owned: Interval[] | null;

  constructor(ranges: readonly MacRange[], exclusions: readonly Interval[], space: AddressSpace, owned: Interval[] | null) {
    this.ranges = ranges;
    this.owned = owned;
    const points = new Set<number>();
    for (const r of ranges) points.add(r.from).add(r.to + 1);
    // Exclusions outside every range change nothing.
    const relevant = exclusions.filter((e) => ranges.some((r) => e.from <= r.to && e.to >= r.from));
    for (const e of relevant) points.add(e.from).add(e.to + 1);
    this.starts = Float64Array.from([...points].sort((a, b) => a - b));
    const n = Math.max(0, this.starts.length - 1);
    const coverDiff = new Int32Array(n + 1);
    for (const r of ranges) {
      const lo = this.indexOf(r.from);
      const hi = this.indexOf(r.to + 1) - 1;
      this.segOf.set(r, [lo, hi]);
      coverDiff[lo]!++;
      coverDiff[hi + 1]!--;
    }
    const exDiff = new Int32Array(n + 1);
    for (const e of relevant) {
      const lo = this.indexOf(e.from);
      const hi = this.indexOf(e.to + 1) - 1;
      exDiff[lo]!++;
      exDiff[hi + 1]!--;
    }
    this.cover = new Uint32Array(n);
    this.excluded = new Uint8Array(n);
    this.count = new Float64Array(n);
    let c = 0;
    let x = 0;
    for (let i = 0; i < n; i++) {
      c += coverDiff[i]!;
      x += exDiff[i]!;
      this.cover[i] = c;
      this.excluded[i] = x > 0 ? 1 : 0;
      if (c > 0) this.count[i] = space.count(this.starts[i]!, this.starts[i + 1]! - 1);
    }
  }

  /** An allocation (+1) or release (-1) of `mac`. */
  changed(mac: number, delta: 1 | -1): void {
    const s = this.segmentAt(mac);
    if (s < 0) return;
    this.count[s]! += delta;
    this.prefix = null;
  }

  isExcluded(mac: number): boolean {
    const s = this.segmentAt(mac);
    return s >= 0 && this.excluded[s] === 1;
  }

  stats(r: MacRange): RangeStats {
    const [lo, hi] = this.segOf.get(r)!;
    const p = this.sums();
    const excludedSize = p.excludedSize[hi + 1]! - p.excludedSize[lo]!;
    const capacity = r.size - excludedSize;
    return {
      capacity,
      used: p.used[hi + 1]! - p.used[lo]!,
      available: capacity - (p.usedIn[hi + 1]! - p.usedIn[lo]!),
      sole: p.sole[hi + 1]! - p.sole[lo]!,
    };
  }

  /** Allocated MACs of `r` that no other range covers and that lie outside [from, to]. */
  soleOutside(r: MacRange, from: number, to: number, space: AddressSpace): number {
    const [lo, hi] = this.segOf.get(r)!;
    let n = 0;
    for (let s = lo; s <= hi; s++) {
      if (this.cover[s] !== 1 || this.count[s] === 0) continue;
      const a = this.starts[s]!;
      const b = this.starts[s + 1]! - 1;
      if (a < from) n += space.count(a, Math.min(b, from - 1));
      if (b > to) n += space.count(Math.max(a, to + 1), b);
    }
    return n;
  }

  /**
   * Non-excluded addresses of [from, to] inside some range (with `r`: inside
   * `r`): how much room a block there can offer.
   */
  allowedIn(from: number, to: number, r?: MacRange): number {
    const [lo, hi] = r ? this.segOf.get(r)! : [0, this.cover.length - 1];
    const at = this.segmentAt(from);
    let n = 0;
    for (let s = Math.max(lo, at >= 0 ? at : this.indexOf(from)); s <= hi; s++) {
      const a = this.starts[s]!;
      if (a > to) break;
      if (this.excluded[s] || this.cover[s] === 0) continue;
      n += Math.min(to, this.starts[s + 1]! - 1) - Math.max(from, a) + 1;
    }
    return n;
  }

  /** Allocation passes of `r`, restricted to the owned intervals in replica mode. */
  passes(r: MacRange): Passes {
    let p = this.passCache.get(r);
    if (!p) {
      p = this.unownedPasses(r);
      if (this.owned) {
        const all = intersectIntervals(p.all, this.owned);
        p = { preferred: p.preferred === p.all ? all : intersectIntervals(p.preferred, this.owned), all };
      }
      this.passCache.set(r, p);
    }
    return p;
  }

  /** Allocation passes of `r` over the whole address space (which blocks a replica could claim for it). */
  unownedPasses(r: MacRange): Passes {
    const [lo, hi] = this.segOf.get(r)!;
    // Ranges containing r cover every segment of r: a segment covered by
    // more ranges than those is claimed by a narrower (or partly overlapping) range.
    const wider = this.ranges.filter((q) => q.from <= r.from && q.to >= r.to).length;
    const all: Interval[] = [];
    const preferred: Interval[] = [];
    const push = (list: Interval[], a: number, b: number): void => {
      const last = list[list.length - 1];
      if (last && last.to + 1 === a) last.to = b;
      else list.push({ from: a, to: b });
    };
    let same = true;
    for (let s = lo; s <= hi; s++) {
      if (this.excluded[s]) continue;
      const a = this.starts[s]!;
      const b = this.starts[s + 1]! - 1;
      push(all, a, b);
      if (this.cover[s] === wider) push(preferred, a, b);
      else same = false;
    }
    return { preferred: same ? all : preferred, all };
  }

  setOwned(owned: Interval[] | null): void {
    this.owned = owned;
    this.passCache.clear();
  }

  private sums(): NonNullable<RangeLayout['prefix']> {
    if (this.prefix) return this.prefix;
    const n = this.count.length;
    const used = new Float64Array(n + 1);
    const usedIn = new Float64Array(n + 1);
    const excludedSize = new Float64Array(n + 1);
    const sole = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) {
      const c = this.count[i]!;
      const ex = this.excluded[i] === 1;
      used[i + 1] = used[i]! + c;
      usedIn[i + 1] = usedIn[i]! + (ex ? 0 : c);
      excludedSize[i + 1] = excludedSize[i]! + (ex ? this.starts[i + 1]! - this.starts[i]! : 0);
      sole[i + 1] = sole[i]! + (this.cover[i] === 1 ? c : 0);
    }
    return (this.prefix = { used, usedIn, excludedSize, sole });
  }

  /** The segment holding `mac`, or -1 outside every segment. */
  private segmentAt(mac: number): number {
    const st = this.starts;
    if (st.length < 2 || mac < st[0]! || mac >= st[st.length - 1]!) return -1;
    let lo = 0;
    let hi = st.length - 2;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (st[mid]! <= mac) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Index of the first point at or after `p`. */
  private indexOf(p: number): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid]! < p) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** The first free MAC in `list` at or after `cursor`, wrapping around to the start; -1 when all are taken. */
export function scanFrom(space: AddressSpace, list: readonly Interval[], cursor: number): number {
  const n = list.length;
  if (n === 0) return -1;
  const k = firstEndingAtOrAfter(list, cursor);
  for (let j = k; j < n; j++) {
    const r = space.nextClear(Math.max(list[j]!.from, cursor), list[j]!.to);
    if (r >= 0) return r;
  }
  for (let j = 0; j < Math.min(k + 1, n); j++) {
    const to = j === k ? Math.min(list[j]!.to, cursor - 1) : list[j]!.to;
    if (list[j]!.from > to) continue;
    const r = space.nextClear(list[j]!.from, to);
    if (r >= 0) return r;
  }
  return -1;
}
