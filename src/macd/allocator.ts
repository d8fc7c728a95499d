// The allocator: the pool's address space (one bit per MAC), the ranges as
// views over it (they may overlap: uniqueness is per MAC, as in Alcor), the
// exclusions, and the operations of Alcor's MAC manager on bits only (no
// I/O, no metadata). Every operation checks all its inputs before it changes
// anything, so a refused request leaves the state exactly as it was (bulk
// requests are all-or-nothing).

import { MacdError } from './errors.ts';
import { formatMac, parseMacPrefix } from '../api/mac.ts';
import { macRangeProblem, rangeIdPattern } from '../api/mac-range.ts';
import { RangeLayout, scanFrom, type RangeStats } from './layout.ts';
import { DEFAULT_BLOCK_SIZE, MacRange, mergeIntervals, type Interval, type RangeSource, type RangeSpec, type RangeState } from './range.ts';
import { AddressSpace } from './space.ts';

export interface RangeInput {
  id: string;
  from: number;
  to: number;
  state?: RangeState;
}

export interface AllocateRequest {
  /** Allocate only from this range (POST /macs/range/{id}). */
  rangeId?: string;
  /** Exact MACs asked for. */
  specific: readonly number[];
  /** How many more MACs to pick (next free). */
  count: number;
  /**
   * Pick only addresses no narrower range claims (replica mode tries this
   * first and claims a fresh block before falling back to the others).
   */
  preferredOnly?: boolean;
}

export class Allocator {
  readonly space = new AddressSpace();
  private readonly byId = new Map<string, MacRange>();
  /** Ranges sorted by first address. */
  private sorted: MacRange[] = [];
  private exclusionIntervals: Interval[] = [];
  private exclusionPatterns: string[] = [];
  private defaultId: string | null = null;
  private owned: Interval[] | null = null;
  private layout: RangeLayout;
  /** Ranges whose cursor the last allocation moved. */
  private moved: MacRange[] = [];
  /** allocationOrder(), until ranges change. */
  private order: MacRange[] | null = null;
  readonly blockSize: number;

  constructor(opts: { blockSize?: number } = {}) {
    this.blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
    this.layout = this.relayout();
  }

  // ---- queries ----

  ranges(): MacRange[] {
    return [...this.byId.values()];
  }

  get defaultRangeId(): string | null {
    return this.defaultId;
  }

  range(id: string): MacRange {
    const r = this.byId.get(id);
    // 400: Alcor's answer to an allocation in a range it does not have.
    if (!r) throw new MacdError(400, 'unknown_range', `range "${id}" does not exist`);
    return r;
  }

  hasRange(id: string): boolean {
    return this.byId.has(id);
  }

  stats(r: MacRange): RangeStats {
    return this.layout.stats(r);
  }

  /** The ranges holding `mac`, widest first among those starting at the same address. */
  rangesAt(mac: number): MacRange[] {
    const out: MacRange[] = [];
    for (const r of this.sorted) {
      if (r.from > mac) break;
      if (r.to >= mac) out.push(r);
    }
    return out;
  }

  isAllocated(mac: number): boolean {
    return this.space.has(mac);
  }

  exclusions(): readonly string[] {
    return this.exclusionPatterns;
  }

  /** Non-excluded addresses of [from, to] inside the ranges (inside `rangeId` when given). */
  allowedIn(from: number, to: number, rangeId?: string): number {
    return this.layout.allowedIn(from, to, rangeId !== undefined ? this.range(rangeId) : undefined);
  }

  /** Where a range allocates over the whole address space: preferred addresses, then all (blocks to claim). */
  claimable(rangeId: string): { preferred: Interval[]; all: Interval[] } {
    return this.layout.unownedPasses(this.range(rangeId));
  }

  // ---- allocation ----

  /** Allocates `specific` and then `count` next-free MACs, all or none. Returns the MACs in that order. */
  allocate(req: AllocateRequest): number[] {
    const only = req.rangeId !== undefined ? this.range(req.rangeId) : null;
    // Refusals answer Alcor's status where Alcor has the same refusal (400 inactive, 400 taken, 403 full).
    if (only && only.state !== 'Active') throw new MacdError(400, 'range_inactive', `range "${only.id}" is ${only.state}`);
    const seen = new Set<number>();
    for (const mac of req.specific) {
      if (only) {
        if (!only.contains(mac)) throw new MacdError(400, 'outside_ranges', `${formatMac(mac)} is outside range "${only.id}"`);
      } else {
        const rs = this.rangesAt(mac);
        if (rs.length === 0) throw new MacdError(400, 'outside_ranges', `${formatMac(mac)} is outside every range`);
        if (!rs.some((r) => r.state === 'Active')) throw new MacdError(400, 'range_inactive', `range "${rs[0]!.id}" holding ${formatMac(mac)} is ${rs[0]!.state}`);
      }
      if (this.layout.isExcluded(mac)) throw new MacdError(409, 'excluded', `${formatMac(mac)} is excluded from allocation`);
      if (this.space.has(mac) || seen.has(mac)) throw new MacdError(400, 'already_allocated', `${formatMac(mac)} is already allocated`);
      seen.add(mac);
    }
    for (const mac of req.specific) this.take(mac);
    this.moved = [];
    if (req.count === 0) return [...req.specific];
    const picked = this.pickFree(only ? [only] : this.allocationOrder(), req.count, req.preferredOnly === true);
    if (!picked) {
      for (const mac of req.specific) this.put(mac);
      throw new MacdError(403, 'pool_full', only ? `range "${only.id}" has fewer than ${req.count} free MACs` : `the pool has fewer than ${req.count} free MACs`);
    }
    return req.specific.length === 0 ? picked : req.specific.concat(picked);
  }

  /** Releases MACs, all or none. */
  release(macs: readonly number[]): void {
    const seen = new Set<number>();
    for (const mac of macs) {
      if (!this.space.has(mac) || seen.has(mac)) throw new MacdError(404, 'not_allocated', `${formatMac(mac)} is not allocated`);
      seen.add(mac);
    }
    for (const mac of macs) this.put(mac);
  }

  private take(mac: number): void {
    this.space.set(mac);
    this.layout.changed(mac, 1);
  }

  private put(mac: number): void {
    this.space.clear(mac);
    this.layout.changed(mac, -1);
  }

  /**
   * Ranges in the order a request naming none tries them: the default range,
   * then the other active ranges that no other active range contains (a
   * range inside another is reached through the wider one, after the
   * addresses no narrower range claims).
   */
  private allocationOrder(): MacRange[] {
    if (this.order) return this.order;
    const def = this.defaultId !== null ? this.byId.get(this.defaultId) : undefined;
    const active = this.sorted.filter((r) => r.state === 'Active');
    const inside = new Set<MacRange>();
    // Sorted by first address, widest first: a range is inside another when an earlier one reaches as far.
    let reach: MacRange | null = null;
    for (const r of active) {
      if (reach && reach.to >= r.to) inside.add(r);
      else reach = r;
    }
    const rest = this.ranges().filter((r) => r !== def && r.state === 'Active' && !inside.has(r));
    return (this.order = def && def.state === 'Active' ? [def, ...rest] : rest);
  }

  /**
   * Takes `count` next-free MACs across `ranges`, or takes nothing and
   * returns null. First the addresses no narrower range claims, in every
   * range; then (unless `preferredOnly`) the rest.
   */
  private pickFree(ranges: readonly MacRange[], count: number, preferredOnly: boolean): number[] | null {
    const picked: number[] = [];
    const cursors = ranges.map((r) => r.cursor);
    for (const pass of preferredOnly ? (['preferred'] as const) : (['preferred', 'all'] as const)) {
      for (const r of ranges) {
        const passes = this.layout.passes(r);
        if (pass === 'all' && passes.all === passes.preferred) continue;
        const list = passes[pass];
        while (picked.length < count) {
          const mac = scanFrom(this.space, list, r.cursor);
          if (mac < 0) break;
          this.take(mac);
          // Rotating cursor: the next search starts after this MAC, so a MAC
          // just released is reused last, not first.
          r.advance(mac);
          picked.push(mac);
        }
        if (r.cursor !== cursors[ranges.indexOf(r)] && !this.moved.includes(r)) this.moved.push(r);
        if (picked.length === count) return picked;
      }
    }
    for (const mac of picked) this.put(mac);
    ranges.forEach((r, i) => (r.cursor = cursors[i]!));
    return null;
  }

  /** The ranges whose cursor the last allocation moved (their cursors are logged so a replay restores them). */
  movedRanges(): readonly MacRange[] {
    return this.moved;
  }

  // ---- replay (state already validated when it was logged) ----

  /** Marks a MAC allocated without checks (log replay); false when it already was. */
  forceAllocate(mac: number): boolean {
    if (this.space.has(mac)) return false;
    this.take(mac);
    return true;
  }

  forceRelease(mac: number): boolean {
    if (!this.space.has(mac)) return false;
    this.put(mac);
    return true;
  }

  // ---- ranges ----

  /** Validates a new range (ranges may overlap; ids are unique); throws on a problem. */
  checkNewRange(input: RangeInput, ignore?: MacRange): void {
    if (!rangeIdPattern.test(input.id)) {
      throw new MacdError(400, 'invalid_request', `range_id "${input.id}" must be 1-63 letters, digits, ".", "_" or "-"`);
    }
    const problem = macRangeProblem(input);
    if (problem) throw new MacdError(400, 'invalid_request', `range "${input.id}" (${formatMac(input.from)}-${formatMac(input.to)}): ${problem}`);
    if (!ignore && this.byId.has(input.id)) throw new MacdError(409, 'range_exists', `range "${input.id}" already exists`);
  }

  addRange(input: RangeInput, source: RangeSource): MacRange {
    this.checkNewRange(input);
    const r = new MacRange({ id: input.id, from: input.from, to: input.to, state: input.state ?? 'Active', source });
    this.byId.set(r.id, r);
    this.sorted = [...this.sorted, r].sort((a, b) => a.from - b.from || b.to - a.to);
    if (this.defaultId === null || source === 'default') this.defaultId = r.id;
    this.layout = this.relayout();
    return r;
  }

  /** Allocated MACs of `r` that would be in no range if `r` became [from, to] (or went away). */
  orphans(r: MacRange, bounds?: { from: number; to: number }): number {
    return bounds ? this.layout.soleOutside(r, bounds.from, bounds.to, this.space) : this.layout.stats(r).sole;
  }

  /** Checks an API update; config and default ranges belong to the MacPool. */
  checkUpdateRange(id: string, input: RangeInput): MacRange {
    const r = this.range(id);
    if (input.id !== id) throw new MacdError(400, 'invalid_request', `range_id "${input.id}" in the body differs from "${id}" in the path`);
    if (r.source !== 'api') throw new MacdError(400, 'range_protected', `range "${id}" comes from the MacPool configuration; change it there`);
    if (input.from !== r.from || input.to !== r.to) {
      this.checkNewRange(input, r);
      const n = this.orphans(r, input);
      if (n > 0) throw new MacdError(409, 'range_in_use', `range "${id}" has ${n} allocated MACs outside the new bounds and outside every other range; release them first`);
    }
    return r;
  }

  /** Replaces a range's bounds/state (checked by checkUpdateRange, or from config/replay). */
  replaceRange(id: string, input: RangeInput, source: RangeSource): MacRange {
    const old = this.range(id);
    if (input.from === old.from && input.to === old.to) {
      old.state = input.state ?? old.state;
      old.source = source;
      this.order = null;
      return old;
    }
    const wasDefault = this.defaultId === id;
    this.removeRange(id);
    const r = this.addRange(input, source);
    if (r.contains(old.cursor)) r.cursor = old.cursor;
    if (wasDefault) this.defaultId = r.id;
    this.order = null;
    return r;
  }

  checkDeleteRange(id: string): MacRange {
    const r = this.range(id);
    if (r.source === 'default') throw new MacdError(400, 'range_protected', `range "${id}" is the default range and cannot be deleted`);
    if (r.source === 'config') throw new MacdError(400, 'range_protected', `range "${id}" comes from the MacPool configuration; remove it there`);
    const n = this.orphans(r);
    if (n > 0) throw new MacdError(409, 'range_in_use', `range "${id}" has ${n} allocated MACs that no other range holds; release them first`);
    return r;
  }

  removeRange(id: string): void {
    const r = this.byId.get(id);
    if (!r) return;
    this.byId.delete(id);
    this.sorted = this.sorted.filter((x) => x !== r);
    if (this.defaultId === id) this.defaultId = this.pickDefault();
    this.layout = this.relayout();
  }

  private pickDefault(): string | null {
    const first = this.ranges().find((r) => r.source === 'default' || r.source === 'config') ?? this.ranges()[0];
    return first ? first.id : null;
  }

  setDefaultRange(id: string): void {
    this.range(id);
    this.defaultId = id;
    this.order = null;
  }

  specs(): RangeSpec[] {
    return this.ranges().map((r) => r.spec());
  }

  // ---- exclusions ----

  /** Replaces the exclusion list. Patterns: full MACs or prefixes (fe:16:11:*). */
  setExclusions(patterns: readonly string[]): void {
    const intervals = patterns.map((p) => {
      const iv = parseMacPrefix(p);
      if (!iv) throw new MacdError(400, 'invalid_request', `exclusion "${p}" is neither a MAC nor a prefix like fe:16:11:*`);
      return iv;
    });
    this.exclusionIntervals = mergeIntervals(intervals);
    this.exclusionPatterns = [...patterns];
    this.layout = this.relayout();
  }

  // ---- replica mode ----

  /** Restricts next-free allocation to these intervals (the blocks this replica holds); null lifts it. */
  setOwned(intervals: readonly Interval[] | null): void {
    this.owned = intervals ? mergeIntervals(intervals) : null;
    this.layout.setOwned(this.owned);
  }

  private relayout(): RangeLayout {
    this.order = null;
    return new RangeLayout(this.sorted, this.exclusionIntervals, this.space, this.owned);
  }
}
