// What makes one MAC range valid, and the default range: one definition for
// the MacPool schema (and its CEL twin), the renderer and macd. Validity is
// per range; how ranges relate to one another is the pool's (they may overlap).

import { isUnicastMac } from './mac.ts';

/** Most addresses in one range: one OUI's worth. More space = more ranges. */
export const MAX_RANGE_SIZE = 16_777_216;

/** Range ids macd accepts through its API (Alcor's range_id); a MacPool's range names (DNS labels) are a subset. */
export const rangeIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** The range a pool serves when it names none: Alcor's default, range0 = oui:00:00:00 to oui:ff:ff:ff. */
export function range0(oui: string): { id: string; from: string; to: string } {
  return { id: 'range0', from: `${oui}:00:00:00`, to: `${oui}:ff:ff:ff` };
}

/** Bounds as numbers, inclusive. */
export interface MacBounds {
  from: number;
  to: number;
}

export function macRangeOrdered(r: MacBounds): boolean {
  return r.from <= r.to;
}

export function macRangeSizeOk(r: MacBounds): boolean {
  return r.to - r.from + 1 <= MAX_RANGE_SIZE;
}

/**
 * No multicast address inside: the first octet of `from` is unicast and `to`
 * shares it (the group bit lives in the first octet). A MacPool's rule; macd
 * itself serves any range.
 */
export function macRangeUnicast(from: string, to: string): boolean {
  return isUnicastMac(from) && from.slice(0, 2).toLowerCase() === to.slice(0, 2).toLowerCase();
}

/** Why macd cannot serve a range; undefined when it can. */
export function macRangeProblem(r: MacBounds): string | undefined {
  if (!macRangeOrdered(r)) return 'from is after to';
  if (!macRangeSizeOk(r)) return `it holds ${r.to - r.from + 1} addresses; at most ${MAX_RANGE_SIZE} per range (split it into several ranges)`;
  return undefined;
}
