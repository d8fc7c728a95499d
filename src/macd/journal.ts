// Append-only log with group commit. Records appended while an fsync is in
// flight wait and go out together in the next write + fdatasync, so one disk
// flush acknowledges many requests. A record's promise resolves only after
// its bytes are on disk and its `apply` callback has run.
//
// Framing: [u32 length][u32 crc32(payload)][payload]. A torn or corrupt tail
// (a crash mid-write) fails the length or CRC check and is cut off on replay.
//
// Files are generations: log-000001.bin, log-000002.bin, ... A snapshot cuts
// the log (`rotate`): records before the cut stay in the old generation,
// later ones go to the next; once the snapshot is written the old
// generations are deleted.

import { closeSync, fdatasync, fsyncSync, openSync, readdirSync, readFileSync, ftruncateSync, writev } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

const HEADER = 8;

interface Entry {
  frame: Buffer | null;
  apply?: (() => void) | undefined;
  resolve: () => void;
  /** Set on a cut marker: the generation that follows. */
  cutTo?: number;
}

export interface JournalHooks {
  /** Runs after the `apply` callbacks of a durable batch (e.g. flush staged metadata writes). */
  afterBatch?: () => void;
  /** Fatal I/O error: the process can no longer acknowledge anything. */
  onFatal: (err: Error) => void;
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

export function frame(payload: Buffer): Buffer {
  const out = Buffer.allocUnsafe(HEADER + payload.length);
  out.writeUInt32LE(payload.length, 0);
  out.writeUInt32LE(crc32(payload), 4);
  payload.copy(out, HEADER);
  return out;
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

export class Journal {
  private readonly dir: string;
  private readonly hooks: JournalHooks;
  private fd: number;
  private gen: number;
  private queue: Entry[] = [];
  private flushing = false;
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

  /** Appends a record; resolves once it is durable and `apply` has run. */
  append(payload: Buffer, apply?: () => void): Promise<void> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new Error('journal closed'));
    return new Promise<void>((resolve) => {
      this.queue.push({ frame: frame(payload), apply, resolve });
      if (!this.flushing) this.flush();
    });
  }

  /**
   * Cuts the log: records appended before this call stay in the current
   * generation. `atCut` runs once they are durable and applied, before any
   * later record is applied. Resolves with the new generation number.
   */
  rotate(atCut: () => void): Promise<number> {
    const next = this.gen + 1 + this.queue.filter((e) => e.cutTo !== undefined).length;
    return new Promise<number>((resolve) => {
      this.queue.push({ frame: null, apply: atCut, resolve: () => resolve(next), cutTo: next });
      if (!this.flushing) this.flush();
    });
  }

  /** Waits for everything queued so far. */
  async drain(): Promise<void> {
    while (this.flushing || this.queue.length > 0) await new Promise((r) => setImmediate(r));
  }

  close(): void {
    this.closed = true;
    closeSync(this.fd);
  }

  private flush(): void {
    this.flushing = true;
    // Take everything up to (and including) the first cut marker.
    let n = this.queue.findIndex((e) => e.cutTo !== undefined);
    n = n < 0 ? this.queue.length : n + 1;
    const batch = this.queue.splice(0, n);
    const frames = batch.map((e) => e.frame).filter((f): f is Buffer => f !== null);
    const done = (err: Error | null): void => {
      if (err) return this.fail(err);
      this.batches++;
      for (const f of frames) this.bytesInGeneration += f.length;
      for (const e of batch) {
        if (e.cutTo !== undefined) {
          this.hooks.afterBatch?.();
          try {
            this.switchTo(e.cutTo);
          } catch (switchErr) {
            return this.fail(switchErr as Error);
          }
        }
        e.apply?.();
      }
      this.hooks.afterBatch?.();
      for (const e of batch) e.resolve();
      if (this.queue.length > 0) this.flush();
      else this.flushing = false;
    };
    if (frames.length === 0) return done(null);
    writeAll(this.fd, frames, (err) => {
      if (err) return done(err);
      fdatasync(this.fd, (syncErr) => done(syncErr));
    });
  }

  private switchTo(gen: number): void {
    closeSync(this.fd);
    this.gen = gen;
    this.fd = openSync(join(this.dir, logFileName(gen)), 'a');
    syncDir(this.dir);
    this.bytesInGeneration = 0;
  }

  private fail(err: Error): void {
    this.failed = err;
    this.hooks.onFatal(err);
  }
}

function writeAll(fd: number, bufs: Buffer[], cb: (err: Error | null) => void): void {
  // writev takes at most IOV_MAX (1024) buffers per call; join small batches.
  const joined = bufs.length === 1 ? bufs : [Buffer.concat(bufs)];
  const total = joined[0]!.length;
  const step = (written: number): void => {
    if (written >= total) return cb(null);
    writev(fd, [joined[0]!.subarray(written)], (err, n) => {
      if (err) return cb(err);
      step(written + n);
    });
  };
  step(0);
}

export function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
