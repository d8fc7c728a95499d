import type { MacPoolSpec, MacRange } from '../../api/index.ts';
import { range0 } from '../../api/mac-range.ts';

/** The ranges a pool serves: its own, or range0 = oui:00:00:00-oui:ff:ff:ff (Alcor's default). */
export function effectiveRanges(spec: MacPoolSpec): MacRange[] {
  if (spec.ranges && spec.ranges.length > 0) return spec.ranges;
  const { id, from, to } = range0(spec.oui);
  return [{ name: id, from, to }];
}
