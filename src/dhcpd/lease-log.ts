// Durable lease state: an append-only log of JSON lines in the data directory.
// Group commit: records handed in while a durable write (O_DSYNC) is running
// wait and go together in the next one, so one disk flush covers many ACKs and no ACK
// leaves before its lease is on disk. Compaction rewrites the log as a
// snapshot of the live leases (write temp, fsync, rename, fsync directory).

import { closeSync, constants, fsyncSync, openSync } from 'node:fs';
import { mkdir, open, readFile, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { LeaseRecord } from './core.ts';
import { formatIPv4, parseIPv4 } from '../api/ipv4.ts';

const FILE = 'leases.log';
/**
 * O_DSYNC: each write returns once its data (and the size change) is on disk,
 * like write + fdatasync but in one trip to the libuv thread pool.
 */
const APPEND_DSYNC = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_DSYNC;

/** Bytes of snapshot text written per turn of the event loop while compacting (about 2,000 leases). */
const COMPACT_CHUNK = 256 * 1024;

interface Waiter {
  line: string;
  /** Called with no argument once durable, with the error if the write failed; undefined for all records of an append but its last. */
  done: ((err?: unknown) => void) | undefined;
}

export interface LeaseLogOptions {
  dir: string;
  /**
   * Live records for compaction (everything that must survive). Read a chunk
   * per turn of the event loop, so serving goes on meanwhile: it must stay
   * valid while leases change (a Map's iterator does).
   */
  snapshot: () => Iterable<LeaseRecord>;
  /** Compact when the log has this many records more than the live ones (default 50,000). */
  compactSlack?: number;
}

/** Record op to its letter in the log ('d': a quarantine, first written for DECLINEs). */
const opLetter: Record<LeaseRecord['op'], string> = { bind: 'b', release: 'r', quarantine: 'd' };

/** One JSON line, written field by field: the same text as JSON.stringify of the object, for less work per ACK. */
export function encodeRecord(r: LeaseRecord): string {
  let line = `{"o":"${opLetter[r.op]}","ip":"${formatIPv4(r.ip)}","s":${JSON.stringify(r.subnet)},"c":${JSON.stringify(r.client)},"m":${JSON.stringify(r.mac)},"e":${JSON.stringify(r.expires)}`;
  if (r.hostname !== undefined) line += `,"h":${JSON.stringify(r.hostname)}`;
  if (r.op === 'quarantine' && r.reason === 'ping') line += ',"q":"ping"';
  return line + '}';
}

export function decodeRecord(line: string): LeaseRecord | undefined {
  try {
    const o: unknown = JSON.parse(line);
    if (typeof o !== 'object' || o === null) return undefined;
    const r = o as Record<string, unknown>;
    const op = r['o'] === 'b' ? 'bind' : r['o'] === 'r' ? 'release' : r['o'] === 'd' ? 'quarantine' : undefined;
    if (!op || typeof r['ip'] !== 'string' || typeof r['s'] !== 'string' || typeof r['c'] !== 'string' || typeof r['m'] !== 'string' || typeof r['e'] !== 'number') {
      return undefined;
    }
    const ip = parseIPv4(r['ip']);
    if (ip === undefined) return undefined;
    const rec: LeaseRecord = { op, ip, subnet: r['s'], client: r['c'], mac: r['m'], expires: r['e'] };
    if (typeof r['h'] === 'string') rec.hostname = r['h'];
    if (op === 'quarantine') rec.reason = r['q'] === 'ping' ? 'ping' : 'decline';
    return rec;
  } catch {
    return undefined;
  }
}

export class LeaseLog {
  private fh: FileHandle;
  private readonly opts: LeaseLogOptions;
  private pending: Waiter[] = [];
  private flushing = false;
  private records: number;
  private liveAtCompaction = 0;
  compactions = 0;
  private closed = false;
  /** Called after each flush with its duration (ms) and record count. */
  onFlush: ((ms: number, records: number) => void) | undefined;
  /** Number of durable writes, one per group (metrics, tests). */
  syncs = 0;

  private constructor(fh: FileHandle, opts: LeaseLogOptions, records: number) {
    this.fh = fh;
    this.opts = opts;
    this.records = records;
  }

  /** Opens the log, returning it with the records to replay (a torn last line is skipped). */
  static async open(opts: LeaseLogOptions): Promise<{ log: LeaseLog; records: LeaseRecord[]; skipped: number }> {
    await mkdir(opts.dir, { recursive: true });
    const path = join(opts.dir, FILE);
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const records: LeaseRecord[] = [];
    let skipped = 0;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const r = decodeRecord(line);
      if (r) records.push(r);
      else skipped++;
    }
    const fh = await open(path, APPEND_DSYNC, 0o644);
    // A torn last line (kill -9 mid-write) must not glue onto the next record.
    if (text.length > 0 && !text.endsWith('\n')) await fh.write('\n');
    return { log: new LeaseLog(fh, opts, records.length), records, skipped };
  }

  /** Resolves once the records are durable. */
  append(records: readonly LeaseRecord[]): Promise<void> {
    return new Promise<void>((resolve, reject) => this.appendThen(records, (err) => (err === undefined ? resolve() : reject(err))));
  }

  /** Calls `done` once the records are durable, or with the error if they could not be made so (the packet path: no promise per packet). */
  appendThen(records: readonly LeaseRecord[], done: (err?: unknown) => void): void {
    if (records.length === 0) return done();
    if (this.closed) return done(new Error('lease log closed'));
    for (let i = 0; i < records.length; i++) {
      this.pending.push({ line: encodeRecord(records[i] as LeaseRecord), done: i === records.length - 1 ? done : undefined });
    }
    if (!this.flushing) void this.flushLoop();
  }

  private async flushLoop(): Promise<void> {
    this.flushing = true;
    try {
      while (this.pending.length > 0) {
        // Let the packets already queued in this turn of the event loop join the batch.
        await new Promise<void>((r) => setImmediate(r));
        const batch = this.pending;
        this.pending = [];
        let failure: unknown;
        try {
          let text = '';
          for (const w of batch) text += w.line + '\n';
          const t0 = performance.now();
          await this.fh.write(text);
          this.syncs++;
          this.onFlush?.(performance.now() - t0, batch.length);
          this.records += batch.length;
        } catch (err) {
          failure = err ?? new Error('lease log write failed');
        }
        for (const w of batch) w.done?.(failure);
        if (this.records > this.liveAtCompaction * 2 + (this.opts.compactSlack ?? 50_000)) await this.compactNow();
      }
    } finally {
      this.flushing = false;
    }
  }

  /**
   * Snapshot to a temporary file, then rename it over the log. The snapshot
   * is written a chunk at a time, each its own turn of the event loop: a
   * snapshot of 100,000 leases in one go held the thread for hundreds of
   * milliseconds, every packet waiting. Records appended meanwhile wait in
   * `pending` and go to the new log after the swap: a lease that changed
   * after its line was written has its record there, later, and replay keeps
   * the last record of each address.
   */
  private async compactNow(): Promise<void> {
    const path = join(this.opts.dir, FILE);
    const tmp = `${path}.tmp`;
    const out = await open(tmp, 'w');
    let live = 0;
    try {
      let text = '';
      for (const r of this.opts.snapshot()) {
        text += encodeRecord(r) + '\n';
        live++;
        if (text.length >= COMPACT_CHUNK) {
          await out.write(text);
          text = '';
        }
      }
      await out.write(text);
      await out.sync();
    } finally {
      await out.close();
    }
    await rename(tmp, path);
    const dirFd = openSync(this.opts.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    await this.fh.close();
    this.fh = await open(path, APPEND_DSYNC, 0o644);
    this.records = live;
    this.liveAtCompaction = live;
    this.compactions++;
  }

  /** Rewrites the log now (after startup replay, the log holds only live leases). */
  async compact(): Promise<void> {
    while (this.flushing) await new Promise<void>((r) => setTimeout(r, 5));
    this.flushing = true;
    try {
      await this.compactNow();
    } finally {
      this.flushing = false;
    }
    if (this.pending.length > 0) void this.flushLoop();
  }

  recordCount(): number {
    return this.records;
  }

  async close(): Promise<void> {
    while (this.flushing || this.pending.length > 0) await new Promise<void>((r) => setTimeout(r, 5));
    this.closed = true;
    await this.fh.close();
  }
}
