import type { MacPoolSpec, MacRange } from '../../api/index.ts';
import { parseMac, parseMacPrefix } from '../../api/mac.ts';
import { range0 } from '../../api/mac-range.ts';
import { coveredMinus } from '../intervals.ts';

/** The ranges a pool serves: its own, or range0 = oui:00:00:00-oui:ff:ff:ff (Alcor's default). */
export function effectiveRanges(spec: MacPoolSpec): MacRange[] {
  if (spec.ranges && spec.ranges.length > 0) return spec.ranges;
  const { id, from, to } = range0(spec.oui);
  return [{ name: id, from, to }];
}

/** Addresses in the ranges minus those the exclusions cover (overlapping exclusions count once). */
export function macPoolCapacity(spec: MacPoolSpec): number {
  // The schema checked every MAC and exclusion.
  const ranges = effectiveRanges(spec).map((r) => ({ from: parseMac(r.from)!, to: parseMac(r.to)! }));
  const excluded = (spec.exclusions ?? []).map((e) => parseMacPrefix(e)!);
  return coveredMinus(ranges, excluded);
}
