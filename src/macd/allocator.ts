// The allocator: every range of the pool, exclusions, and the operations of
// Alcor's MAC manager on bits only (no I/O, no metadata). Every operation
// checks all its inputs before it changes anything, so a refused request
// leaves the state exactly as it was (bulk requests are all-or-nothing).

import { MacdError } from './errors.ts';
import { formatMac, parseMacPrefix } from '../api/mac.ts';
import { macRangeProblem, rangeIdPattern } from '../api/mac-range.ts';
import { DEFAULT_BLOCK_SIZE, MacRange, type RangeSource, type RangeSpec, type RangeState } from './range.ts';

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
}

export interface Located {
  range: MacRange;
  off: number;
}

export class Allocator {
  private readonly byId = new Map<string, MacRange>();
  /** Ranges sorted by first address, for lookup by MAC. */
  private sorted: MacRange[] = [];
  private exclusionIntervals: { from: number; to: number }[] = [];
  private exclusionPatterns: string[] = [];
  private defaultId: string | null = null;
  readonly blockSize: number;

  constructor(opts: { blockSize?: number } = {}) {
    this.blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
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
    if (!r) throw new MacdError(404, 'unknown_range', `range "${id}" does not exist`);
    return r;
  }

  hasRange(id: string): boolean {
    return this.byId.has(id);
  }

  locate(mac: number): Located | null {
    const s = this.sorted;
    let lo = 0;
    let hi = s.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const r = s[mid]!;
      if (mac < r.from) hi = mid - 1;
      else if (mac > r.to) lo = mid + 1;
      else return { range: r, off: mac - r.from };
    }
    return null;
  }

  isAllocated(mac: number): boolean {
    const l = this.locate(mac);
    return l !== null && l.range.isAllocated(l.off);
  }

  exclusions(): readonly string[] {
    return this.exclusionPatterns;
  }

  // ---- allocation ----

  /** Allocates `specific` and then `count` next-free MACs, all or none. Returns the MACs in that order. */
  allocate(req: AllocateRequest): number[] {
    const only = req.rangeId !== undefined ? this.range(req.rangeId) : null;
    if (only && only.state !== 'Active') throw new MacdError(409, 'range_inactive', `range "${only.id}" is ${only.state}`);
    const targets: Located[] = [];
    const seen = new Set<number>();
    for (const mac of req.specific) {
      const l = this.locate(mac);
      if (!l) throw new MacdError(400, 'outside_ranges', `${formatMac(mac)} is outside every range`);
      if (only && l.range !== only) throw new MacdError(400, 'outside_ranges', `${formatMac(mac)} is outside range "${only.id}"`);
      if (l.range.state !== 'Active') throw new MacdError(409, 'range_inactive', `range "${l.range.id}" is ${l.range.state}`);
      if (l.range.isExcluded(l.off)) throw new MacdError(409, 'excluded', `${formatMac(mac)} is excluded from allocation`);
      if (l.range.isAllocated(l.off) || seen.has(mac)) throw new MacdError(409, 'already_allocated', `${formatMac(mac)} is already allocated`);
      seen.add(mac);
      targets.push(l);
    }
    for (const t of targets) t.range.take(t.off);
    const out = [...req.specific];
    if (req.count > 0) {
      const picked = this.pickFree(only ? [only] : this.allocationOrder(), req.count);
      if (!picked) {
        for (const t of targets) t.range.put(t.off);
        throw new MacdError(409, 'pool_full', only ? `range "${only.id}" has fewer than ${req.count} free MACs` : `the pool has fewer than ${req.count} free MACs`);
      }
      out.push(...picked);
    }
    return out;
  }

  /** Releases MACs, all or none. */
  release(macs: readonly number[]): void {
    const targets: Located[] = [];
    const seen = new Set<number>();
    for (const mac of macs) {
      const l = this.locate(mac);
      if (!l) throw new MacdError(404, 'outside_ranges', `${formatMac(mac)} is outside every range`);
      if (!l.range.isAllocated(l.off) || seen.has(mac)) throw new MacdError(404, 'not_allocated', `${formatMac(mac)} is not allocated`);
      seen.add(mac);
      targets.push(l);
    }
    for (const t of targets) t.range.put(t.off);
  }

  /** Ranges in the order next-free allocation tries them: the default range, then the others. */
  private allocationOrder(): MacRange[] {
    const def = this.defaultId !== null ? this.byId.get(this.defaultId) : undefined;
    const rest = this.ranges().filter((r) => r !== def && r.state === 'Active');
    return def && def.state === 'Active' ? [def, ...rest] : rest;
  }

  /** Takes `count` next-free MACs across `ranges`, or takes nothing and returns null. */
  private pickFree(ranges: readonly MacRange[], count: number): number[] | null {
    const picked: number[] = [];
    const cursors: number[] = [];
    for (const r of ranges) {
      cursors.push(r.cursor);
      while (picked.length < count) {
        const off = r.nextFree();
        if (off < 0) break;
        r.take(off);
        // Rotating cursor: the next search starts after this MAC, so a MAC
        // just released is reused last, not first.
        r.cursor = off + 1 === r.size ? 0 : off + 1;
        picked.push(r.from + off);
      }
      if (picked.length === count) return picked;
    }
    // Not enough: give back what was taken, restore the cursors.
    for (const mac of picked) {
      const l = this.locate(mac)!;
      l.range.put(l.off);
    }
    ranges.forEach((r, i) => {
      if (i < cursors.length) r.cursor = cursors[i]!;
    });
    return null;
  }

  // ---- replay (state already validated when it was logged) ----

  /** Marks a MAC allocated without checks other than range membership (log replay). */
  forceAllocate(mac: number): boolean {
    const l = this.locate(mac);
    if (!l || l.range.isAllocated(l.off)) return false;
    l.range.take(l.off);
    return true;
  }

  forceRelease(mac: number): boolean {
    const l = this.locate(mac);
    if (!l || !l.range.isAllocated(l.off)) return false;
    l.range.put(l.off);
    return true;
  }

  // ---- ranges ----

  /** Validates a new range against the existing ones; throws on a problem. */
  checkNewRange(input: RangeInput, ignore?: MacRange): void {
    if (!rangeIdPattern.test(input.id)) {
      throw new MacdError(400, 'invalid_request', `range_id "${input.id}" must be 1-63 letters, digits, ".", "_" or "-"`);
    }
    const problem = macRangeProblem(input);
    if (problem) throw new MacdError(400, 'invalid_request', `range "${input.id}" (${formatMac(input.from)}-${formatMac(input.to)}): ${problem}`);
    if (!ignore && this.byId.has(input.id)) throw new MacdError(409, 'range_exists', `range "${input.id}" already exists`);
    for (const r of this.sorted) {
      if (r === ignore) continue;
      if (input.from <= r.to && input.to >= r.from) {
        throw new MacdError(409, 'range_overlap', `range "${input.id}" overlaps range "${r.id}" (${formatMac(r.from)}-${formatMac(r.to)})`);
      }
    }
  }

  addRange(input: RangeInput, source: RangeSource, words?: Uint32Array): MacRange {
    this.checkNewRange(input);
    const r = new MacRange({ id: input.id, from: input.from, to: input.to, state: input.state ?? 'Active', source }, this.blockSize, words);
    r.setExclusions(this.exclusionIntervals);
    this.byId.set(r.id, r);
    this.sorted = [...this.sorted, r].sort((a, b) => a.from - b.from);
    if (this.defaultId === null || source === 'default') this.defaultId = r.id;
    return r;
  }

  /** Checks an API update; config and default ranges belong to the MacPool. */
  checkUpdateRange(id: string, input: RangeInput): MacRange {
    const r = this.range(id);
    if (input.id !== id) throw new MacdError(400, 'invalid_request', `range_id "${input.id}" in the body differs from "${id}" in the path`);
    if (r.source !== 'api') throw new MacdError(409, 'range_protected', `range "${id}" comes from the MacPool configuration; change it there`);
    if (input.from !== r.from || input.to !== r.to) {
      if (r.allocated > 0) throw new MacdError(409, 'range_in_use', `range "${id}" has ${r.allocated} allocated MACs; its bounds cannot change`);
      this.checkNewRange(input, r);
    }
    return r;
  }

  /** Replaces a range's bounds/state (checked by checkUpdateRange, or from config/replay). */
  replaceRange(id: string, input: RangeInput, source: RangeSource): MacRange {
    const old = this.range(id);
    if (input.from === old.from && input.to === old.to) {
      old.state = input.state ?? old.state;
      old.source = source;
      return old;
    }
    const wasDefault = this.defaultId === id;
    this.removeRange(id);
    const r = this.addRange(input, source);
    if (wasDefault) this.defaultId = r.id;
    return r;
  }

  checkDeleteRange(id: string): MacRange {
    const r = this.range(id);
    if (r.source === 'default') throw new MacdError(409, 'range_protected', `range "${id}" is the default range and cannot be deleted`);
    if (r.source === 'config') throw new MacdError(409, 'range_protected', `range "${id}" comes from the MacPool configuration; remove it there`);
    if (r.allocated > 0) throw new MacdError(409, 'range_in_use', `range "${id}" has ${r.allocated} allocated MACs; release them first`);
    return r;
  }

  removeRange(id: string): void {
    const r = this.byId.get(id);
    if (!r) return;
    this.byId.delete(id);
    this.sorted = this.sorted.filter((x) => x !== r);
    if (this.defaultId === id) this.defaultId = this.pickDefault();
  }

  private pickDefault(): string | null {
    const first = this.ranges().find((r) => r.source === 'default' || r.source === 'config') ?? this.ranges()[0];
    return first ? first.id : null;
  }

  setDefaultRange(id: string): void {
    this.range(id);
    this.defaultId = id;
  }

  // ---- exclusions ----

  /** Replaces the exclusion list. Patterns: full MACs or prefixes (fe:16:11:*). */
  setExclusions(patterns: readonly string[]): void {
    const intervals = patterns.map((p) => {
      const iv = parseMacPrefix(p);
      if (!iv) throw new MacdError(400, 'invalid_request', `exclusion "${p}" is neither a MAC nor a prefix like fe:16:11:*`);
      return iv;
    });
    this.exclusionIntervals = intervals;
    this.exclusionPatterns = [...patterns];
    for (const r of this.byId.values()) r.setExclusions(intervals);
  }

  specs(): RangeSpec[] {
    return this.ranges().map((r) => r.spec());
  }
}
