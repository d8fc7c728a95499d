// The durable MAC store: the allocator's bits, metadata slots, the log and
// snapshots. Every change is applied in memory first (so the next request
// sees it), written to the log, and acknowledged when the log's group commit
// has fsynced it. Refused requests throw before anything changes.

import { mkdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { MacdConfig } from '../api/config/macd.ts';
import { Allocator, type RangeInput } from './allocator.ts';
import { MacdError } from './errors.ts';
import { Journal, listGenerations, logFileName, readLog } from './journal.ts';
import { formatMac, parseMac } from '../api/mac.ts';
import { range0 } from '../api/mac-range.ts';
import { fromTuple, toTuple, type MacMeta, type MetaTuple } from './meta.ts';
import { firstEndingAtOrAfter, mergeIntervals, type Interval, type MacRange, type RangeSource, type RangeSpec } from './range.ts';
import { SlotStore } from './slots.ts';
import { Bytes, ID_FIELDS, MacStates, type IdField } from './states.ts';
import { legacyBlock, readSnapshot, writeSnapshot, type SnapshotHeader } from './snapshot.ts';

const NONE: number[] = [];

/** A change whose slots are not written yet: a batch of allocated states, or one MAC's new metadata. */
type Unsettled = { states: MacStates } | { mac: number; meta: MacMeta };

export interface MacStateInput {
  mac: number | null;
  meta: MacMeta;
}

export interface MacStateOut {
  mac: number;
  meta: MacMeta;
}

/** Log records (JSON). */
type LogRecord =
  | AllocRecord
  | { t: 'u'; m: number[]; s: MetaTuple[] }
  | { t: 'r'; m: number[] }
  | { t: 'R'; r: RangeSpec }
  | { t: 'D'; id: string }
  | { t: 'F'; id: string }
  /** Held block intervals (replica mode), the full list. */
  | { t: 'H'; h: [number, number][] }
  /** Version 1: blocks held in one range, counted from its first MAC. */
  | { t: 'B'; id: string; b: number[] };

/**
 * Allocation record, columnar (one flat array per field: cheaper to build and
 * parse than one tuple per MAC). `s` (tuples) is accepted on replay too.
 */
interface AllocRecord {
  t: 'a';
  m: number[];
  /** Cursors the allocation moved, by range id (absent in version 1 records). */
  k?: Record<string, number>;
  s?: MetaTuple[];
  p?: string[];
  j?: (string | null)[];
  v?: (string | null)[];
  st?: string[];
}

/**
 * The allocation record (an AllocRecord as JSON), written as bytes: the ids
 * are copied from the request (a bulk's record is a few hundred kilobytes,
 * with no string per MAC).
 */
function allocRecord(s: MacStates, moved: readonly MacRange[]): Buffer {
  const w = new Bytes(64 + s.length * 48 + s.bytes.length);
  w.ascii('{"t":"a","m":[');
  for (let i = 0; i < s.length; i++) {
    if (i > 0) w.ascii(',');
    w.int(s.mac(i));
  }
  w.ascii('],"k":{');
  moved.forEach((r, i) => {
    w.utf8(`${i > 0 ? ',' : ''}${JSON.stringify(r.id)}:`);
    w.int(r.cursor);
  });
  const ids = (key: string, field: IdField): void => {
    w.ascii(key);
    for (let i = 0; i < s.length; i++) {
      if (i > 0) w.ascii(',');
      w.id(s, i, field);
    }
  };
  ids('},"p":[', ID_FIELDS.port);
  ids('],"j":[', ID_FIELDS.project);
  ids('],"v":[', ID_FIELDS.vpc);
  w.ascii('],"st":[');
  for (let i = 0; i < s.length; i++) w.ascii(`${i > 0 ? ',' : ''}${s.inactive(i) ? '"Inactive"' : '"Active"'}`);
  w.ascii(']}');
  return w.done();
}

function recordMeta(rec: AllocRecord | { s: MetaTuple[] }, i: number): MacMeta {
  if ('p' in rec && rec.p) return { portId: rec.p[i]!, projectId: rec.j?.[i] ?? null, vpcId: rec.v?.[i] ?? null, state: rec.st?.[i] ?? 'Active' };
  return fromTuple(rec.s![i]!);
}

/** What applyConfig made of a config. */
export interface ConfigOutcome {
  /** Parts of the config not served, each naming the part and why. */
  refused: string[];
  /** What else a reader of the log should know (ranges kept Inactive). */
  notes: string[];
  /** Ids of the ranges the config asks for. */
  asked: string[];
}

export interface StoreOptions {
  dataDir: string;
  log: Logger;
  blockSize?: number;
  /** Log bytes after which a snapshot is taken (default 16 MiB). */
  snapshotBytes?: number;
  /** A snapshot is also taken this often when the log is not empty (default 60 s). */
  snapshotIntervalMs?: number;
  /**
   * Replica mode: allocate only from blocks this replica holds (none until it
   * claims some), and ranges come from the MacPool only (API range changes are refused).
   */
  coordinated?: boolean;
  /** Called when the disk fails: nothing more can be acknowledged. */
  onFatal: (err: Error) => void;
  /** Seconds of each group commit of the log (write + fdatasync), for metrics. */
  onLogFlush?: (seconds: number) => void;
}

/**
 * Hook for replica mode: called when the held blocks cannot satisfy a
 * request; resolves true when it claimed more space (the request is
 * retried). `preferredOnly`: claim only blocks with room that no narrower
 * range claims.
 */
export type ExhaustedHook = (rangeIds: string[], needed: number, preferredOnly: boolean) => Promise<boolean>;

export class MacStore {
  readonly allocator: Allocator;
  private readonly opts: StoreOptions;
  private readonly slots: SlotStore;
  private journal!: Journal;
  /**
   * Changes logged but not yet durable, oldest first: their slots are written
   * after the fsync, so until then find() reads the metadata here (newest first).
   */
  private readonly unsettled: Unsettled[] = [];
  private snapshotting: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private readonly log: Logger;
  onExhausted: ExhaustedHook | null = null;
  /** Replica mode: makes sure the blocks of MACs asked for by address are held here (claims them), or throws. */
  beforeSpecific: ((macs: number[]) => Promise<void>) | null = null;
  /** Intervals of the block Leases held in replica mode (persisted so a restart knows them). */
  held: Interval[] = [];
  /** Version 1 blocks by range, while replaying a version 1 log. */
  private readonly legacyHeld = new Map<string, Interval[]>();

  private constructor(opts: StoreOptions) {
    this.opts = opts;
    this.log = opts.log;
    this.allocator = new Allocator({ blockSize: opts.blockSize });
    this.slots = new SlotStore(opts.dataDir);
  }

  /** Loads the snapshot, replays the log after it, and opens a fresh log generation. */
  static async open(opts: StoreOptions): Promise<MacStore> {
    mkdirSync(opts.dataDir, { recursive: true });
    const s = new MacStore(opts);
    const t0 = performance.now();
    const snap = readSnapshot(opts.dataDir, opts.blockSize ?? s.allocator.blockSize);
    let firstGen = 1;
    if (snap) {
      firstGen = snap.header.nextGeneration;
      // Pages first: laying out the ranges counts their MACs.
      snap.header.pages.forEach((index, i) => s.allocator.space.loadPage(index, snap.pages[i]!));
      for (const r of snap.header.ranges) s.allocator.addRange(r, r.source).cursor = r.cursor;
      if (snap.header.defaultRangeId && s.allocator.hasRange(snap.header.defaultRangeId)) s.allocator.setDefaultRange(snap.header.defaultRangeId);
      for (const [mac, t] of snap.header.overflow) s.slots.overflow.set(mac, fromTuple(t));
      s.held = snap.header.held.map(([from, to]) => ({ from, to }));
      for (const r of snap.v1?.ranges ?? []) s.slots.migrateLegacy(r.from, (fn) => s.allocator.space.forEach(r.from, r.to, fn));
    }
    const gens = listGenerations(opts.dataDir).filter((g) => g >= firstGen);
    let records = 0;
    for (const g of gens) {
      const { records: recs, torn } = readLog(join(opts.dataDir, logFileName(g)), true);
      if (torn) opts.log.warn({ generation: g }, 'log tail torn (crash mid-write); cut at the last intact record');
      for (const r of recs) {
        s.replay(JSON.parse(r.toString('utf8')) as LogRecord);
        // Write slots as we go: millions of staged writes would bloat the heap.
        if (s.slots.stagedCount >= 16_384) s.slots.flush();
      }
      records += recs.length;
      s.slots.flush();
    }
    s.applyOwnership();
    const gen = Math.max(firstGen, (gens[gens.length - 1] ?? 0) + 1);
    s.journal = new Journal(opts.dataDir, gen, {
      afterBatch: () => s.slots.flush(),
      onFatal: (err) => opts.onFatal(err),
      ...(opts.onLogFlush ? { onFlush: opts.onLogFlush } : {}),
    });
    if (s.slots.legacyFiles().length > 0) {
      // Slot files of the version before overlapping ranges: their data is in
      // today's files now; once a snapshot makes that durable they can go.
      await s.snapshot();
      opts.log.info({ removed: s.slots.removeLegacy() }, 'slot files converted from the format before overlapping ranges');
    }
    opts.log.info({ snapshot: snap !== null, generations: gens.length, records, ms: Math.round(performance.now() - t0) }, 'state loaded');
    const interval = opts.snapshotIntervalMs ?? 60_000;
    s.timer = setInterval(() => {
      if (s.journal.bytesInGeneration > 0 || gens.length > 0) void s.snapshot().catch((e: unknown) => s.log.error({ err: e }, 'snapshot failed'));
    }, interval);
    s.timer.unref();
    return s;
  }

  // ---- MACs ----

  /**
   * Allocates the states (all or none): those naming a MAC get it, the others
   * the next free ones. Resolves once the allocation is durable, with the
   * MACs: in `states` itself for a MacStates (the request's fast path), or as
   * MacStateOut for inputs.
   */
  allocate(states: MacStates, rangeId?: string): Promise<MacStates>;
  allocate(inputs: readonly MacStateInput[], rangeId?: string): Promise<MacStateOut[]>;
  async allocate(given: MacStates | readonly MacStateInput[], rangeId?: string): Promise<MacStates | MacStateOut[]> {
    if (given instanceof MacStates) return this.allocateStates(given, rangeId);
    const s = await this.allocateStates(MacStates.from(given), rangeId);
    return given.map((i, n) => ({ mac: s.mac(n), meta: i.meta }));
  }

  private async allocateStates(s: MacStates, rangeId: string | undefined): Promise<MacStates> {
    let specific: number[] = NONE;
    for (let i = 0; i < s.length; i++) if (s.mac(i) >= 0) (specific === NONE ? (specific = []) : specific).push(s.mac(i));
    const count = s.length - specific.length;
    if (specific.length > 0 && this.beforeSpecific) await this.beforeSpecific(specific);
    // The ranges whose cursors moved, taken with the MACs (a later allocation starts a new list).
    const [macs, moved] = this.onExhausted && count > 0 ? await this.pick(specific, count, rangeId) : [this.allocator.allocate({ rangeId, specific, count }), this.allocator.movedRanges()];
    // Specific MACs first in `macs`, then the picked ones.
    let k = specific.length;
    for (let i = 0; i < s.length; i++) if (s.mac(i) < 0) s.setMac(i, macs[k++]!);
    const change: Unsettled = { states: s };
    this.unsettled.push(change);
    await this.write(allocRecord(s, count > 0 ? moved : []), () => {
      this.slots.stageStates(s);
      this.settled(change);
    });
    return s;
  }

  /**
   * Allocates in memory. Replica mode: first only addresses no narrower range
   * claims, claiming fresh blocks for them; then any address of the held
   * blocks, claiming blocks again when those are full.
   */
  private async pick(specific: number[], count: number, rangeId: string | undefined): Promise<[number[], readonly MacRange[]]> {
    const a = this.allocator;
    const exhausted = this.onExhausted!;
    const ids = (): string[] => (rangeId !== undefined ? [rangeId] : a.ranges().filter((r) => r.state === 'Active').map((r) => r.id));
    for (const preferredOnly of [true, false]) {
      for (let attempt = 0; ; attempt++) {
        try {
          return [a.allocate({ rangeId, specific, count, preferredOnly }), a.movedRanges()];
        } catch (e) {
          if (!(e instanceof MacdError) || e.reason !== 'pool_full' || attempt >= 64) throw e;
          if (!(await exhausted(ids(), count, preferredOnly))) {
            if (preferredOnly) break;
            throw e;
          }
        }
      }
    }
    throw new Error('unreachable');
  }

  /** The state of an allocated MAC, or null when it is free. */
  find(mac: number): MacStateOut | null {
    if (!this.allocator.isAllocated(mac)) return null;
    const meta = this.unsettledMeta(mac) ?? this.slots.read(mac) ?? { portId: '', projectId: null, vpcId: null, state: 'Active' };
    return { mac, meta };
  }

  get(mac: number): MacStateOut {
    const s = this.find(mac);
    if (!s) throw new MacdError(404, 'not_allocated', `${formatMac(mac)} is not allocated`);
    return s;
  }

  async update(mac: number, meta: MacMeta): Promise<MacStateOut> {
    this.get(mac);
    this.beforeChange([mac]);
    const change: Unsettled = { mac, meta };
    this.unsettled.push(change);
    await this.write({ t: 'u', m: [mac], s: [toTuple(meta)] }, () => {
      this.slots.stage(mac, meta);
      this.settled(change);
    });
    return { mac, meta };
  }

  /** Releases MACs (all or none); returns their states as they were. */
  async release(macs: readonly number[]): Promise<MacStateOut[]> {
    // Check first (release throws before changing anything), then read states.
    for (const mac of macs) this.get(mac);
    this.beforeChange(macs);
    const states = macs.map((mac) => this.get(mac));
    this.allocator.release(macs);
    await this.write({ t: 'r', m: [...macs] });
    return states;
  }

  private readonly watchers = new Set<(macs: readonly number[]) => void>();

  /**
   * Calls `fn` with MACs about to lose their state (released or updated),
   * before the change: a consistent export (admin.ts) copies them first.
   * Returns the function that stops it.
   */
  watch(fn: (macs: readonly number[]) => void): () => void {
    this.watchers.add(fn);
    return () => void this.watchers.delete(fn);
  }

  private beforeChange(macs: readonly number[]): void {
    for (const fn of this.watchers) fn(macs);
  }

  // ---- ranges ----

  async addRange(input: RangeInput): Promise<MacRange> {
    this.checkRangesWritable();
    const r = this.allocator.addRange(input, 'api');
    await this.write({ t: 'R', r: r.spec() });
    return r;
  }

  async updateRange(id: string, input: RangeInput): Promise<MacRange> {
    this.checkRangesWritable();
    this.allocator.checkUpdateRange(id, input);
    const r = this.allocator.replaceRange(id, input, 'api');
    await this.write({ t: 'R', r: r.spec() });
    return r;
  }

  async deleteRange(id: string): Promise<MacRange> {
    this.checkRangesWritable();
    const r = this.allocator.checkDeleteRange(id);
    this.allocator.removeRange(id);
    await this.write({ t: 'D', id });
    return r;
  }

  /** Records the block intervals this replica holds (replica mode). */
  async setHeld(held: readonly Interval[]): Promise<void> {
    this.held = mergeIntervals(held);
    this.applyOwnership();
    await this.write({ t: 'H', h: this.held.map((i) => [i.from, i.to]) });
  }

  /** True when `mac` lies in a block this replica holds. */
  holds(mac: number): boolean {
    const i = this.held[firstEndingAtOrAfter(this.held, mac)];
    return i !== undefined && i.from <= mac;
  }

  /**
   * Makes the ranges and exclusions match the MacPool configuration, as far
   * as it can: what it cannot serve is listed in `refused`, naming the part of
   * the config and why (the running ranges stay). Ranges that left the config
   * are removed when empty; otherwise they stay, Inactive and deletable
   * through the API once released (a note).
   */
  async applyConfig(config: MacdConfig): Promise<ConfigOutcome> {
    const refused: string[] = [];
    const notes: string[] = [];
    const a = this.allocator;
    this.allocator.setExclusions(config.exclusions);
    // The config's schema checked every MAC.
    const desired = (config.ranges.length === 0 ? [range0(config.oui)] : config.ranges).map((r, i) => ({
      id: r.id,
      from: parseMac(r.from)!,
      to: parseMac(r.to)!,
      state: 'Active' as const,
      source: config.ranges.length === 0 ? ('default' as const) : ('config' as const),
      field: config.ranges.length === 0 ? `oui (default range ${r.id})` : `ranges[${i}] (${r.id})`,
    }));
    const writes: Promise<void>[] = [];
    const ids = new Set(desired.map((d) => d.id));
    for (const r of a.ranges()) {
      if (r.source === 'api' || ids.has(r.id)) continue;
      const orphans = a.orphans(r);
      if (orphans === 0) {
        a.removeRange(r.id);
        writes.push(this.write({ t: 'D', id: r.id }));
      } else {
        notes.push(`range "${r.id}" left the configuration but has ${orphans} allocated MACs that no other range holds: kept as Inactive until they are released`);
        const kept = a.replaceRange(r.id, { ...r.spec(), state: 'Inactive' }, 'api');
        writes.push(this.write({ t: 'R', r: kept.spec() }));
      }
    }
    for (const d of desired) {
      try {
        if (a.hasRange(d.id)) {
          const r = a.range(d.id);
          if (r.from === d.from && r.to === d.to && r.state === d.state && r.source === d.source) continue;
          const orphans = r.from !== d.from || r.to !== d.to ? a.orphans(r, d) : 0;
          if (orphans > 0) {
            const macs = orphans === 1 ? '1 allocated MAC' : `${orphans} allocated MACs`;
            refused.push(`${d.field}: new bounds ${formatMac(d.from)}-${formatMac(d.to)} not applied: ${macs} of ${formatMac(r.from)}-${formatMac(r.to)} would be outside every range; release them or use a new range`);
            continue;
          }
          if (r.from !== d.from || r.to !== d.to) a.checkNewRange(d, r);
          writes.push(this.write({ t: 'R', r: a.replaceRange(d.id, d, d.source).spec() }));
        } else {
          writes.push(this.write({ t: 'R', r: a.addRange(d, d.source).spec() }));
        }
      } catch (e) {
        refused.push(`${d.field}: not served: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    const def = desired.find((d) => a.hasRange(d.id));
    if (def && a.defaultRangeId !== def.id) {
      a.setDefaultRange(def.id);
      writes.push(this.write({ t: 'F', id: def.id }));
    }
    this.applyOwnership();
    await Promise.all(writes);
    return { refused, notes, asked: desired.map((d) => d.id) };
  }

  /** Replica mode: next-free allocation only from the blocks held here. */
  private applyOwnership(): void {
    if (this.opts.coordinated) this.allocator.setOwned(this.held);
  }

  private checkRangesWritable(): void {
    if (this.opts.coordinated) throw new MacdError(400, 'range_protected', 'with several replicas the ranges come from the MacPool; change them there');
  }

  // ---- durability ----

  /** Logs a record (or its JSON already written as bytes). */
  private write(rec: LogRecord | Buffer, apply?: () => void): Promise<void> {
    const p = this.journal.append(Buffer.isBuffer(rec) ? rec : JSON.stringify(rec), apply);
    if (this.journal.bytesInGeneration > (this.opts.snapshotBytes ?? 16 * 1024 * 1024) && !this.snapshotting) {
      void this.snapshot().catch((e: unknown) => this.log.error({ err: e }, 'snapshot failed'));
    }
    return p;
  }

  /** The newest metadata of `mac` among the changes not yet durable. */
  private unsettledMeta(mac: number): MacMeta | null {
    for (let k = this.unsettled.length - 1; k >= 0; k--) {
      const u = this.unsettled[k]!;
      if ('mac' in u) {
        if (u.mac === mac) return u.meta;
      } else {
        const i = u.states.indexOf(mac);
        if (i >= 0) return u.states.meta(i);
      }
    }
    return null;
  }

  /** A change is durable and its slots staged (they are written at the end of the batch, before anyone reads them). */
  private settled(change: Unsettled): void {
    const k = this.unsettled.indexOf(change);
    if (k >= 0) this.unsettled.splice(k, 1);
  }

  private replay(rec: LogRecord): void {
    const a = this.allocator;
    try {
      switch (rec.t) {
        case 'a':
          rec.m.forEach((mac, i) => {
            a.forceAllocate(mac);
            this.slots.stage(mac, recordMeta(rec, i));
            // Version 1 records carry no cursors; its ranges did not overlap.
            if (!rec.k) for (const r of a.rangesAt(mac)) r.advance(mac);
          });
          for (const [id, cursor] of Object.entries(rec.k ?? {})) if (a.hasRange(id) && a.range(id).contains(cursor)) a.range(id).cursor = cursor;
          break;
        case 'u':
          rec.m.forEach((mac, i) => this.slots.stage(mac, recordMeta(rec, i)));
          break;
        case 'r':
          for (const mac of rec.m) a.forceRelease(mac);
          break;
        case 'R':
          if (a.hasRange(rec.r.id)) a.replaceRange(rec.r.id, rec.r, rec.r.source);
          else a.addRange(rec.r, rec.r.source);
          break;
        case 'D':
          a.removeRange(rec.id);
          break;
        case 'F':
          if (a.hasRange(rec.id)) a.setDefaultRange(rec.id);
          break;
        case 'H':
          this.held = rec.h.map(([from, to]) => ({ from, to }));
          this.legacyHeld.clear();
          break;
        case 'B': {
          const r = a.hasRange(rec.id) ? a.range(rec.id) : null;
          if (r) this.legacyHeld.set(rec.id, rec.b.map((b) => legacyBlock(r, b, a.blockSize)).map(([from, to]) => ({ from, to })));
          this.held = mergeIntervals([...this.held, ...[...this.legacyHeld.values()].flat()]);
          break;
        }
      }
    } catch (e) {
      this.log.warn({ err: e, record: rec.t }, 'log record could not be replayed; skipped');
    }
  }

  /** Writes a snapshot and deletes the log generations it covers. */
  snapshot(): Promise<void> {
    if (this.snapshotting) return this.snapshotting;
    const run = async (): Promise<void> => {
      const t0 = performance.now();
      // Bits and ranges change when a request is accepted, before its record
      // is logged: copy them now, at the cut.
      const pages = this.allocator.space.pagesInUse();
      const header: SnapshotHeader = {
        nextGeneration: 0,
        defaultRangeId: this.allocator.defaultRangeId,
        ranges: this.allocator.ranges().map((r) => ({ ...r.spec(), cursor: r.cursor })),
        overflow: [],
        held: this.held.map((i) => [i.from, i.to]),
        pages: pages.map(([i]) => i),
      };
      const words = pages.map(([, w]) => w.slice());
      // Overflow metadata changes when a record is applied (after its fsync):
      // copy it when everything before the cut has been applied.
      header.nextGeneration = await this.journal.rotate(() => {
        header.overflow = [...this.slots.overflow].map(([mac, m]) => [mac, toTuple(m)]);
      });
      await this.slots.sync();
      await writeSnapshot(this.opts.dataDir, { header, pages: words });
      for (const g of listGenerations(this.opts.dataDir)) {
        if (g < header.nextGeneration) unlinkSync(join(this.opts.dataDir, logFileName(g)));
      }
      this.log.info({ ms: Math.round(performance.now() - t0), generation: header.nextGeneration }, 'snapshot written');
    };
    this.snapshotting = run().finally(() => {
      this.snapshotting = null;
    });
    return this.snapshotting;
  }

  get journalBatches(): number {
    return this.journal.batches;
  }

  async close(opts: { snapshot?: boolean } = {}): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.journal.drain();
    if (opts.snapshot) await this.snapshot();
    if (this.snapshotting) await this.snapshotting;
    this.journal.close();
    this.slots.close();
  }
}
