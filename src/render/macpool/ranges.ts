import type { MacPoolSpec, MacRange } from '../../api/index.ts';
import { coveredMinus, macExclusionInterval, macToNumber } from '../../api/net.ts';

/** The ranges a pool serves: its own, or range0 = oui:00:00:00-oui:ff:ff:ff (Alcor's default). */
export function effectiveRanges(spec: MacPoolSpec): MacRange[] {
  if (spec.ranges && spec.ranges.length > 0) return spec.ranges;
  return [{ name: 'range0', from: `${spec.oui}:00:00:00`, to: `${spec.oui}:ff:ff:ff` }];
}

/** Addresses in the ranges minus those the exclusions cover (overlapping exclusions count once). */
export function macPoolCapacity(spec: MacPoolSpec): number {
  const ranges = effectiveRanges(spec).map((r) => ({ from: macToNumber(r.from), to: macToNumber(r.to) }));
  const excluded = (spec.exclusions ?? []).map(macExclusionInterval);
  return coveredMinus(ranges, excluded);
}
