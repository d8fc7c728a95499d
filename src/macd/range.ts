// One MAC range: a bitmap of allocated addresses, the exclusions that fall in
// it, a rotating cursor for next-free search, and per-block counters (blocks
// are the unit replicas claim; standalone they only feed statistics).

import { Bitmap } from './bitmap.ts';

export type RangeSource = 'default' | 'config' | 'api';
export type RangeState = 'Active' | 'Inactive';

export const DEFAULT_BLOCK_SIZE = 65_536;

export interface RangeSpec {
  id: string;
  from: number;
  to: number;
  state: RangeState;
  source: RangeSource;
}

interface Interval {
  lo: number;
  hi: number;
}

export class MacRange {
  readonly id: string;
  readonly from: number;
  readonly to: number;
  readonly size: number;
  state: RangeState;
  source: RangeSource;
  readonly bits: Bitmap;
  readonly blockSize: number;
  /** MACs allocated per block. */
  readonly blockAllocated: Uint32Array;
  allocated = 0;
  /** Offset where the next-free search starts (one past the last allocation). */
  cursor = 0;
  /** Excluded offsets, sorted and merged. */
  private excluded: Interval[] = [];
  private excludedCount = 0;
  /** Allocated MACs that an exclusion added later now covers (kept, never reissued). */
  private allocatedExcluded = 0;
  /** Blocks this process may allocate from; null = every block (standalone). */
  private owned: number[] | null = null;

  constructor(spec: RangeSpec, blockSize = DEFAULT_BLOCK_SIZE, words?: Uint32Array) {
    this.id = spec.id;
    this.from = spec.from;
    this.to = spec.to;
    this.size = spec.to - spec.from + 1;
    this.state = spec.state;
    this.source = spec.source;
    this.bits = new Bitmap(this.size, words);
    this.blockSize = blockSize;
    this.blockAllocated = new Uint32Array(Math.ceil(this.size / blockSize));
    if (words) this.recount();
  }

  spec(): RangeSpec {
    return { id: this.id, from: this.from, to: this.to, state: this.state, source: this.source };
  }

  contains(mac: number): boolean {
    return mac >= this.from && mac <= this.to;
  }

  /** Addresses that may ever be handed out. */
  get capacity(): number {
    return this.size - this.excludedCount;
  }

  /** Addresses free to hand out now. */
  get available(): number {
    return this.capacity - (this.allocated - this.allocatedExcluded);
  }

  get blockCount(): number {
    return this.blockAllocated.length;
  }

  isAllocated(off: number): boolean {
    return this.bits.get(off);
  }

  isExcluded(off: number): boolean {
    return this.exclusionAt(off) !== null;
  }

  /** Marks an offset allocated. The caller checked it was free. */
  take(off: number): void {
    this.bits.set(off);
    this.allocated++;
    this.blockAllocated[Math.floor(off / this.blockSize)]!++;
    if (this.excluded.length > 0 && this.exclusionAt(off)) this.allocatedExcluded++;
  }

  /** Marks an offset free. The caller checked it was allocated. */
  put(off: number): void {
    this.bits.clear(off);
    this.allocated--;
    this.blockAllocated[Math.floor(off / this.blockSize)]!--;
    if (this.excluded.length > 0 && this.exclusionAt(off)) this.allocatedExcluded--;
  }

  /** Replaces the exclusions with the given absolute, inclusive MAC intervals (any order, may overlap the range partly). */
  setExclusions(intervals: readonly { from: number; to: number }[]): void {
    const clipped = intervals
      .filter((iv) => iv.to >= this.from && iv.from <= this.to)
      .map((iv) => ({ lo: Math.max(iv.from, this.from) - this.from, hi: Math.min(iv.to, this.to) - this.from }))
      .sort((a, b) => a.lo - b.lo);
    const merged: Interval[] = [];
    for (const iv of clipped) {
      const last = merged[merged.length - 1];
      if (last && iv.lo <= last.hi + 1) last.hi = Math.max(last.hi, iv.hi);
      else merged.push({ ...iv });
    }
    this.excluded = merged;
    this.excludedCount = merged.reduce((n, iv) => n + iv.hi - iv.lo + 1, 0);
    this.allocatedExcluded = merged.reduce((n, iv) => n + this.bits.count(iv.lo, iv.hi + 1), 0);
  }

  /** Restricts allocation to the given blocks (replica mode); null lifts the restriction. */
  setOwnedBlocks(blocks: readonly number[] | null): void {
    this.owned = blocks ? [...blocks].sort((a, b) => a - b) : null;
  }

  ownedBlocks(): readonly number[] | null {
    return this.owned;
  }

  /**
   * The next free, non-excluded offset at or after the cursor (wrapping), in
   * an owned block; -1 when there is none. Does not allocate.
   */
  nextFree(): number {
    if (this.owned === null) {
      const r = this.scan(this.cursor, this.size);
      return r >= 0 ? r : this.scan(0, this.cursor);
    }
    const bs = this.blockSize;
    const owned = this.owned;
    if (owned.length === 0) return -1;
    const cursorBlock = Math.floor(this.cursor / bs);
    // Owned blocks from the cursor's block on, then wrap around.
    let start = owned.findIndex((b) => b >= cursorBlock);
    if (start < 0) start = 0;
    for (let k = 0; k < owned.length; k++) {
      const b = owned[(start + k) % owned.length]!;
      const lo = b * bs;
      const r = this.scan(b === cursorBlock ? this.cursor : lo, Math.min(lo + bs, this.size));
      if (r >= 0) return r;
    }
    // The part of the cursor's own block before the cursor, searched last.
    if (owned.includes(cursorBlock)) return this.scan(cursorBlock * bs, this.cursor);
    return -1;
  }

  /** First free, non-excluded offset in [from, to), or -1. */
  private scan(from: number, to: number): number {
    let a = from;
    for (;;) {
      const i = this.bits.nextClear(a, to);
      if (i < 0) return -1;
      const ex = this.excluded.length > 0 ? this.exclusionAt(i) : null;
      if (!ex) return i;
      a = ex.hi + 1;
    }
  }

  private exclusionAt(off: number): Interval | null {
    const ex = this.excluded;
    let lo = 0;
    let hi = ex.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const iv = ex[mid]!;
      if (off < iv.lo) hi = mid - 1;
      else if (off > iv.hi) lo = mid + 1;
      else return iv;
    }
    return null;
  }

  private recount(): void {
    this.allocated = 0;
    this.blockAllocated.fill(0);
    for (let b = 0; b < this.blockAllocated.length; b++) {
      const lo = b * this.blockSize;
      const n = this.bits.count(lo, Math.min(lo + this.blockSize, this.size));
      this.blockAllocated[b] = n;
      this.allocated += n;
    }
  }
}
