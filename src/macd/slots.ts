// Metadata of allocated MACs lives on disk, not in memory: one sparse file per
// 16,777,216 addresses (an OUI's worth, whatever ranges overlap there) with a
// fixed 128-byte slot per address (`slots-<first MAC>.bin`, offset =
// (mac - first) * 128). Memory stays the bitmap; reads are one pread from
// the page cache. Slots are written only after the log record that carries
// the same data is durable, so a slot never shows what the log might lose;
// the log (replayed on start) and the snapshot (which fsyncs the slot files
// first) make them crash-safe. Records too long for a slot go to a small
// in-memory overflow map that the snapshot persists.
//
// Before ranges could overlap, a file belonged to a range and started at its
// first MAC; for a range starting on a 16M boundary (range0) that is the same
// file. The others are copied over once (`migrateLegacy`).

import { closeSync, existsSync, fsync, openSync, readdirSync, readSync, unlinkSync, writeSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { MacMeta } from './meta.ts';

export const SLOT = 128;
/** Addresses per slot file. */
const FILE_SPAN = 16_777_216;
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

  private fdFor(first: number): number {
    let fd = this.fds.get(first);
    if (fd === undefined) {
      fd = openSync(join(this.dir, slotFileName(first)), constants.O_RDWR | constants.O_CREAT, 0o644);
      this.fds.set(first, fd);
    }
    return fd;
  }

  /** Stages a slot write; `flush` performs the staged writes, coalescing neighbours. */
  stage(mac: number, meta: MacMeta): void {
    const first = mac - (mac % FILE_SPAN);
    this.staged.push({ fd: this.fdFor(first), off: (mac - first) * SLOT, meta, mac });
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

  read(mac: number): MacMeta | null {
    const first = mac - (mac % FILE_SPAN);
    const n = readSync(this.fdFor(first), this.readBuf, 0, SLOT, (mac - first) * SLOT);
    if (n < SLOT) return null;
    if (this.readBuf[0] === OVERFLOW) return this.overflow.get(mac) ?? null;
    return decode(this.readBuf);
  }

  /** fsyncs every slot file (before a snapshot lets the log go). */
  async sync(): Promise<void> {
    await Promise.all([...this.fds.values()].map((fd) => new Promise<void>((res, rej) => fsync(fd, (e) => (e ? rej(e) : res())))));
  }

  /**
   * Copies the slots of `macs` from the file of a version-1 range starting at
   * `rangeFrom` (when it is not also the new file) into the new layout.
   * Returns false when there was nothing to copy.
   */
  migrateLegacy(rangeFrom: number, macs: (fn: (mac: number) => void) => void): boolean {
    const path = join(this.dir, slotFileName(rangeFrom));
    if (rangeFrom % FILE_SPAN === 0 || !existsSync(path)) return false;
    const fd = openSync(path, 'r');
    const buf = Buffer.alloc(SLOT);
    try {
      macs((mac) => {
        if (readSync(fd, buf, 0, SLOT, (mac - rangeFrom) * SLOT) < SLOT) return;
        const first = mac - (mac % FILE_SPAN);
        writeSync(this.fdFor(first), buf, 0, SLOT, (mac - first) * SLOT);
      });
    } finally {
      closeSync(fd);
    }
    return true;
  }

  /** Slot files of version 1 that today's layout does not use (not starting on a 16M boundary). */
  legacyFiles(): string[] {
    return readdirSync(this.dir).filter((f) => {
      const m = /^slots-([0-9a-f]{12})\.bin$/.exec(f);
      return m !== null && parseInt(m[1]!, 16) % FILE_SPAN !== 0;
    });
  }

  /** Deletes the version 1 slot files; call once a snapshot covers their data. */
  removeLegacy(): string[] {
    const gone = this.legacyFiles();
    for (const f of gone) unlinkSync(join(this.dir, f));
    return gone;
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

function slotFileName(first: number): string {
  return `slots-${first.toString(16).padStart(12, '0')}.bin`;
}
