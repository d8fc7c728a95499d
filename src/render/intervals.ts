// Counting addresses in unions of inclusive intervals (ranges minus
// exclusions, pools minus excludes), for the capacity the spec describes.

export interface Interval {
  from: number;
  to: number;
}

/** Size of the union of inclusive intervals. */
export function unionSize(intervals: Interval[]): number {
  const sorted = intervals.filter((i) => i.to >= i.from).sort((a, b) => a.from - b.from);
  let total = 0;
  let cur: Interval | undefined;
  for (const i of sorted) {
    if (cur && i.from <= cur.to + 1) {
      cur.to = Math.max(cur.to, i.to);
    } else {
      if (cur) total += cur.to - cur.from + 1;
      cur = { from: i.from, to: i.to };
    }
  }
  if (cur) total += cur.to - cur.from + 1;
  return total;
}

/** Addresses of `base` intervals not covered by any of `minus` (both inclusive). */
export function coveredMinus(base: Interval[], minus: Interval[]): number {
  const covered = unionSize(base);
  const overlaps: Interval[] = [];
  for (const b of base) {
    for (const m of minus) {
      const from = Math.max(b.from, m.from);
      const to = Math.min(b.to, m.to);
      if (from <= to) overlaps.push({ from, to });
    }
  }
  return covered - unionSize(overlaps);
}
