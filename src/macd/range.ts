// One MAC range: a named view [from, to] over the pool's address space
// (space.ts). Ranges may overlap; a MAC is allocated at most once whatever
// range it was asked through. What a range holds (capacity, used, available)
// is computed by the layout (layout.ts).

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

/** Inclusive interval of MACs. */
export interface Interval {
  from: number;
  to: number;
}

export class MacRange {
  readonly id: string;
  readonly from: number;
  readonly to: number;
  readonly size: number;
  state: RangeState;
  source: RangeSource;
  /** The MAC where the next-free search starts: one past the last one handed out through this range. */
  cursor: number;

  constructor(spec: RangeSpec) {
    this.id = spec.id;
    this.from = spec.from;
    this.to = spec.to;
    this.size = spec.to - spec.from + 1;
    this.state = spec.state;
    this.source = spec.source;
    this.cursor = spec.from;
  }

  spec(): RangeSpec {
    return { id: this.id, from: this.from, to: this.to, state: this.state, source: this.source };
  }

  contains(mac: number): boolean {
    return mac >= this.from && mac <= this.to;
  }

  /** Moves the cursor past `mac` (wrapping at the end of the range). */
  advance(mac: number): void {
    this.cursor = mac >= this.to ? this.from : mac + 1;
  }
}

/** Sorts and merges intervals (touching ones join). */
export function mergeIntervals(list: readonly Interval[]): Interval[] {
  const sorted = list.filter((i) => i.to >= i.from).sort((a, b) => a.from - b.from);
  const out: Interval[] = [];
  for (const i of sorted) {
    const last = out[out.length - 1];
    if (last && i.from <= last.to + 1) last.to = Math.max(last.to, i.to);
    else out.push({ from: i.from, to: i.to });
  }
  return out;
}

/** The intersection of two sorted, merged interval lists. */
export function intersectIntervals(a: readonly Interval[], b: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const from = Math.max(a[i]!.from, b[j]!.from);
    const to = Math.min(a[i]!.to, b[j]!.to);
    if (from <= to) out.push({ from, to });
    if (a[i]!.to < b[j]!.to) i++;
    else j++;
  }
  return out;
}

/** Index of the first interval ending at or after `mac` (intervals sorted and disjoint); length when none. */
export function firstEndingAtOrAfter(list: readonly Interval[], mac: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid]!.to < mac) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
