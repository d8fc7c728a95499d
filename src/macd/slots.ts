// Metadata of allocated MACs lives on disk, not in memory: one sparse file per
// range with a fixed 128-byte slot per address (offset = (mac - from) * 128).
// Memory stays the bitmap; reads are one pread from the page cache. Slots are
// written only after the log record that carries the same data is durable, so
// a slot never shows what the log might lose; the log (replayed on start) and
// the snapshot (which fsyncs the slot files first) make them crash-safe.
// Records too long for a slot go to a small in-memory overflow map that the
// snapshot persists.

import { closeSync, fsync, openSync, readSync, writeSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { MacMeta } from './meta.ts';

export const SLOT = 128;
const PRESENT = 0xa1;
const OVERFLOW = 0xa2;
const NULL_LEN = 255;

interface Staged {
  fd: number;
  off: number;
  meta: MacMeta;
  mac: number;
}

/** Largest single write of a flush; runs longer than this are split. */
const CHUNK = 1024 * 1024;

export class SlotStore {
  private readonly dir: string;
  private readonly fds = new Map<number, number>();
  private staged: Staged[] = [];
  readonly overflow = new Map<number, MacMeta>();
  private readonly readBuf = Buffer.alloc(SLOT);
  /** One reusable write buffer: no per-slot allocation (millions of them would bloat the heap). */
  private readonly writeBuf = Buffer.allocUnsafeSlow(CHUNK);

  constructor(dir: string) {
    this.dir = dir;
  }

  private fdFor(rangeFrom: number): number {
    let fd = this.fds.get(rangeFrom);
    if (fd === undefined) {
      fd = openSync(join(this.dir, `slots-${rangeFrom.toString(16).padStart(12, '0')}.bin`), constants.O_RDWR | constants.O_CREAT, 0o644);
      this.fds.set(rangeFrom, fd);
    }
    return fd;
  }

  /** Stages a slot write; `flush` performs the staged writes, coalescing neighbours. */
  stage(rangeFrom: number, off: number, meta: MacMeta, mac: number): void {
    this.staged.push({ fd: this.fdFor(rangeFrom), off: off * SLOT, meta, mac });
  }

  get stagedCount(): number {
    return this.staged.length;
  }

  flush(): void {
    const s = this.staged;
    if (s.length === 0) return;
    this.staged = [];
    // Stable sort: of two writes to one slot, the later one wins.
    s.sort((a, b) => a.fd - b.fd || a.off - b.off);
    const buf = this.writeBuf;
    let i = 0;
    while (i < s.length) {
      const first = s[i]!;
      let len = 0;
      let j = i;
      // A run of consecutive slots (a repeated slot overwrites in place).
      while (j < s.length && s[j]!.fd === first.fd && len < CHUNK) {
        const e = s[j]!;
        const pos = e.off - first.off;
        if (pos !== len && pos !== len - SLOT) break;
        const slot = buf.subarray(pos, pos + SLOT);
        slot.fill(0);
        if (encode(e.meta, slot)) this.overflow.delete(e.mac);
        else {
          slot.fill(0);
          slot[0] = OVERFLOW;
          this.overflow.set(e.mac, e.meta);
        }
        len = pos + SLOT;
        j++;
      }
      let done = 0;
      while (done < len) done += writeSync(first.fd, buf, done, len - done, first.off + done);
      i = j;
    }
  }

  read(rangeFrom: number, off: number, mac: number): MacMeta | null {
    const n = readSync(this.fdFor(rangeFrom), this.readBuf, 0, SLOT, off * SLOT);
    if (n < SLOT) return null;
    if (this.readBuf[0] === OVERFLOW) return this.overflow.get(mac) ?? null;
    return decode(this.readBuf);
  }

  /** fsyncs every slot file (before a snapshot lets the log go). */
  async sync(): Promise<void> {
    await Promise.all([...this.fds.values()].map((fd) => new Promise<void>((res, rej) => fsync(fd, (e) => (e ? rej(e) : res())))));
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

function encode(m: MacMeta, buf: Buffer): boolean {
  buf[0] = PRESENT;
  let pos = 5;
  const fields = [m.portId, m.projectId, m.vpcId, m.state];
  for (let k = 0; k < 4; k++) {
    const v = fields[k];
    if (v === null || v === undefined) {
      buf[1 + k] = NULL_LEN;
      continue;
    }
    if (pos + v.length * 3 > SLOT && pos + Buffer.byteLength(v) > SLOT) return false;
    const n = buf.write(v, pos, 'utf8');
    if (n !== Buffer.byteLength(v) || n >= NULL_LEN) return false;
    buf[1 + k] = n;
    pos += n;
  }
  return true;
}

function decode(buf: Buffer): MacMeta | null {
  if (buf[0] !== PRESENT) return null;
  let pos = 5;
  const out: (string | null)[] = [];
  for (let k = 0; k < 4; k++) {
    const n = buf[1 + k]!;
    if (n === NULL_LEN) out.push(null);
    else {
      out.push(buf.toString('utf8', pos, pos + n));
      pos += n;
    }
  }
  return { portId: out[0] ?? '', projectId: out[1] ?? null, vpcId: out[2] ?? null, state: out[3] ?? 'Active' };
}
