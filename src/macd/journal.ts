// Append-only log with group commit. The records appended during one turn of
// the event loop, and those appended while an fsync is in flight, go out
// together in one write + fdatasync, so one disk flush acknowledges many
// requests. A record's promise resolves only after its bytes are on disk and
// its `apply` callback has run.
//
// The write is a copy into the page cache, done on the event loop from one
// reusable buffer (no frame object per record); only the fdatasync, which
// waits for the disk, goes to libuv's threadpool: one thread hop per batch.
//
// Framing: [u32 length][u32 crc32(payload)][payload]. A torn or corrupt tail
// (a crash mid-write) fails the length or CRC check and is cut off on replay.
//
// Files are generations: log-000001.bin, log-000002.bin, ... A snapshot cuts
// the log (`rotate`): records before the cut stay in the old generation,
// later ones go to the next; once the snapshot is written the old
// generations are deleted.

import { closeSync, fdatasync, fsyncSync, openSync, readdirSync, readFileSync, ftruncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

const HEADER = 8;

/** Records appended one after another (no cut between them): written together, durable together, one promise. */
interface Group {
  /** Records as JSON text, or already as UTF-8 bytes. */
  payloads: (string | Buffer)[];
  applies: ((() => void) | undefined)[];
  promise: Promise<void>;
  resolve: () => void;
  /** Set when written: its place among the batches. */
  seq: number;
}

/** A cut of the log (rotate): records queued after it go to the next generation. */
interface Cut {
  cutTo: number;
  atCut: () => void;
  resolve: () => void;
}

const isCut = (e: Group | Cut): e is Cut => 'cutTo' in e;

function group(): Group {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { payloads: [], applies: [], promise, resolve, seq: 0 };
}

export interface JournalHooks {
  /** Runs after the `apply` callbacks of a durable batch (e.g. flush staged metadata writes). */
  afterBatch?: () => void;
  /** Fatal I/O error: the process can no longer acknowledge anything. */
  onFatal: (err: Error) => void;
  /** Seconds one group commit took, from its write to the end of its fdatasync. */
  onFlush?: (seconds: number) => void;
}

export function logFileName(gen: number): string {
  return `log-${String(gen).padStart(6, '0')}.bin`;
}

/** Generations present in a directory, ascending. */
export function listGenerations(dir: string): number[] {
  return readdirSync(dir)
    .map((f) => /^log-(\d+)\.bin$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

/**
 * Reads every intact record of a log file. When the tail is torn, the file is
 * truncated to its last intact record (so later appends never follow garbage)
 * and `torn` is true.
 */
export function readLog(path: string, truncateTorn: boolean): { records: Buffer[]; torn: boolean } {
  const data = readFileSync(path);
  const records: Buffer[] = [];
  let pos = 0;
  while (pos + HEADER <= data.length) {
    const len = data.readUInt32LE(pos);
    const crc = data.readUInt32LE(pos + 4);
    if (pos + HEADER + len > data.length) break;
    const payload = data.subarray(pos + HEADER, pos + HEADER + len);
    if (crc32(payload) !== crc) break;
    records.push(payload);
    pos += HEADER + len;
  }
  const torn = pos !== data.length;
  if (torn && truncateTorn) {
    const fd = openSync(path, 'r+');
    ftruncateSync(fd, pos);
    fsyncSync(fd);
    closeSync(fd);
  }
  return { records, torn };
}

/** fdatasyncs allowed in flight at once (each covers every write issued before it). */
const MAX_SYNCS = 2;
/** The write buffer kept between batches; a larger one (a big bulk record) is dropped after use. */
const KEEP_BUFFER = 256 * 1024;

export class Journal {
  private readonly dir: string;
  private readonly hooks: JournalHooks;
  private fd: number;
  private gen: number;
  private queue: (Group | Cut)[] = [];
  /** Written but not yet known durable, oldest first. */
  private unsynced: Group[] = [];
  private syncs = 0;
  /** A pump is scheduled for the end of this turn of the event loop. */
  private scheduled = false;
  private buf = Buffer.allocUnsafeSlow(KEEP_BUFFER);
  private seq = 0;
  private failed: Error | null = null;
  private closed = false;
  /** Bytes written to the current generation. */
  bytesInGeneration = 0;
  batches = 0;

  constructor(dir: string, gen: number, hooks: JournalHooks) {
    this.dir = dir;
    this.gen = gen;
    this.hooks = hooks;
    this.fd = openSync(join(dir, logFileName(gen)), 'a');
    syncDir(dir);
  }

  get generation(): number {
    return this.gen;
  }

  /**
   * Appends a record; resolves once it is durable and `apply` has run (the
   * promise is shared by the records that go out together).
   */
  append(payload: string | Buffer, apply?: () => void): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new Error('journal closed'));
    let g = this.queue[this.queue.length - 1];
    if (!g || isCut(g)) this.queue.push((g = group()));
    g.payloads.push(payload);
    g.applies.push(apply);
    this.schedule();
    return g.promise;
  }

  /**
   * Cuts the log: records appended before this call stay in the current
   * generation. `atCut` runs once they are durable and applied, before any
   * later record is applied. Resolves with the new generation number.
   */
  rotate(atCut: () => void): Promise<number> {
    const next = this.gen + 1 + this.queue.filter(isCut).length;
    return new Promise<number>((resolve) => {
      this.queue.push({ cutTo: next, atCut, resolve: () => resolve(next) });
      this.schedule();
    });
  }

  /** Waits for everything queued so far. */
  async drain(): Promise<void> {
    while (!this.failed && (this.scheduled || this.queue.length > 0 || this.unsynced.length > 0)) await new Promise((r) => setImmediate(r));
  }

  close(): void {
    this.closed = true;
    closeSync(this.fd);
  }

  /**
   * Records appended in this turn of the event loop (every request read in
   * one poll) go out in one batch: the pump runs once they are all queued.
   */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  /**
   * Group commit, pipelined: the queued records are written at once, and
   * their fdatasync may overlap the next batch's write. A finished fdatasync
   * makes its batch and every earlier one durable, since it was issued after
   * their writes; batches complete in order.
   */
  private pump(): void {
    if (this.failed || this.queue.length === 0 || this.syncs >= MAX_SYNCS) return;
    const head = this.queue[0]!;
    if (isCut(head)) {
      // Switch files only once everything in the old one is durable.
      if (this.unsynced.length > 0) return;
      this.queue.shift();
      try {
        this.switchTo(head.cutTo);
      } catch (e) {
        return this.fail(e as Error);
      }
      head.atCut();
      this.hooks.afterBatch?.();
      head.resolve();
      return this.pump();
    }
    this.queue.shift();
    head.seq = ++this.seq;
    const started = performance.now();
    try {
      this.bytesInGeneration += this.writeRecords(head.payloads);
    } catch (e) {
      return this.fail(e as Error);
    }
    this.unsynced.push(head);
    this.syncs++;
    fdatasync(this.fd, (syncErr) => {
      this.syncs--;
      if (syncErr) return this.fail(syncErr);
      this.hooks.onFlush?.((performance.now() - started) / 1000);
      this.complete(head.seq);
      this.pump();
    });
  }

  /** Frames the records into the write buffer and appends them to the file; returns the bytes written. */
  private writeRecords(payloads: readonly (string | Buffer)[]): number {
    let room = 0;
    // A UTF-16 code unit is at most 3 bytes of UTF-8.
    for (const p of payloads) room += HEADER + (typeof p === 'string' ? p.length * 3 : p.length);
    if (room > this.buf.length) this.buf = Buffer.allocUnsafeSlow(room);
    const buf = this.buf;
    let pos = 0;
    for (const p of payloads) {
      const len = typeof p === 'string' ? buf.write(p, pos + HEADER, 'utf8') : p.copy(buf, pos + HEADER);
      buf.writeUInt32LE(len, pos);
      buf.writeUInt32LE(crc32(buf.subarray(pos + HEADER, pos + HEADER + len)), pos + 4);
      pos += HEADER + len;
    }
    let done = 0;
    while (done < pos) done += writeSync(this.fd, buf, done, pos - done);
    if (buf.length > KEEP_BUFFER) this.buf = Buffer.allocUnsafeSlow(KEEP_BUFFER);
    return pos;
  }

  private complete(upTo: number): void {
    const done: Group[] = [];
    while (this.unsynced.length > 0 && this.unsynced[0]!.seq <= upTo) done.push(this.unsynced.shift()!);
    if (done.length === 0) return;
    for (const g of done) {
      this.batches++;
      for (const apply of g.applies) apply?.();
    }
    this.hooks.afterBatch?.();
    for (const g of done) g.resolve();
  }

  private switchTo(gen: number): void {
    closeSync(this.fd);
    this.gen = gen;
    this.fd = openSync(join(this.dir, logFileName(gen)), 'a');
    syncDir(this.dir);
    this.bytesInGeneration = 0;
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = err;
    this.hooks.onFatal(err);
  }
}

export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
