// What makes one MAC range valid, and the default range: one definition for
// the MacPool schema (and its CEL twin), the renderer and macd. Validity is
// per range; how ranges relate to one another (overlap) is the pool's rule.

/** Most addresses in one range: one OUI's worth (macd keeps a 2 MiB bitmap per range). More space = more ranges. */
export const MAX_RANGE_SIZE = 16_777_216;

/** Range ids macd accepts through its API (Alcor's range_id); a MacPool's range names (DNS labels) are a subset. */
export const rangeIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** The range a pool serves when it names none: Alcor's default, range0 = oui:00:00:00 to oui:ff:ff:ff. */
export function range0(oui: string): { id: string; from: string; to: string } {
  return { id: 'range0', from: `${oui}:00:00:00`, to: `${oui}:ff:ff:ff` };
}

/** Why a range (bounds as numbers, inclusive) cannot be served; undefined when it can. */
export function macRangeProblem(r: { from: number; to: number }): string | undefined {
  if (r.from > r.to) return 'from is after to';
  const size = r.to - r.from + 1;
  if (size > MAX_RANGE_SIZE) return `it holds ${size} addresses; at most ${MAX_RANGE_SIZE} per range (split it into several ranges)`;
  return undefined;
}
