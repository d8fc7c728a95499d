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
import { copyBytes, ID_FIELDS, type IdField, type MacStates } from './states.ts';

export const SLOT = 128;
/** Addresses per slot file. */
const FILE_SPAN = 16_777_216;
const PRESENT = 0xa1;
const OVERFLOW = 0xa2;
const NULL_LEN = 255;

/** Largest single write of a flush; runs longer than this are split. */
const CHUNK = 1024 * 1024;
/** Staging room kept between flushes (slots); a bulk's larger one is dropped after its flush. */
const KEEP_STAGED = 8192;

/** A slot's ids in order: port, project, vpc. */
const STATE_FIELDS: readonly IdField[] = [ID_FIELDS.port, ID_FIELDS.project, ID_FIELDS.vpc];
const ACTIVE = Buffer.from('Active');
const INACTIVE = Buffer.from('Inactive');

export class SlotStore {
  private readonly dir: string;
  private readonly fds = new Map<number, number>();
  /** Slot images staged for the next flush (SLOT bytes each), in staging order, and their MACs. */
  private staged = Buffer.alloc(KEEP_STAGED * SLOT);
  private stagedMacs = new Float64Array(KEEP_STAGED);
  private count = 0;
  readonly overflow = new Map<number, MacMeta>();
  private readonly readBuf = Buffer.alloc(SLOT);
  /** One reusable write buffer for runs out of staging order: no per-slot allocation. */
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

  /** The offset in `staged` of the next staged slot, for `mac` (zeroed: `staged` is zero past `count`). */
  private next(mac: number): number {
    if (this.count === this.stagedMacs.length) {
      const macs = new Float64Array(this.count * 2);
      macs.set(this.stagedMacs);
      this.stagedMacs = macs;
      const bytes = Buffer.alloc(this.count * 2 * SLOT);
      this.staged.copy(bytes, 0, 0, this.count * SLOT);
      this.staged = bytes;
    }
    this.stagedMacs[this.count] = mac;
    return this.count++ * SLOT;
  }

  /** Stages a slot write; `flush` performs the staged writes, coalescing neighbours (the later of two writes to one slot wins). */
  stage(mac: number, meta: MacMeta): void {
    const at = this.next(mac);
    if (encode(meta, this.staged.subarray(at, at + SLOT))) this.overflow.delete(mac);
    else this.toOverflow(mac, meta, at);
  }

  /** Stages the slots of allocated states, copying their ids' bytes (no object per state). */
  stageStates(s: MacStates): void {
    for (let i = 0; i < s.length; i++) {
      const mac = s.mac(i);
      const at = this.next(mac);
      if (encodeState(s, i, this.staged, at)) this.overflow.delete(mac);
      else this.toOverflow(mac, s.meta(i), at);
    }
  }

  private toOverflow(mac: number, meta: MacMeta, at: number): void {
    this.staged.fill(0, at, at + SLOT);
    this.staged[at] = OVERFLOW;
    this.overflow.set(mac, meta);
  }

  get stagedCount(): number {
    return this.count;
  }

  flush(): void {
    const n = this.count;
    if (n === 0) return;
    this.count = 0;
    const macs = this.stagedMacs;
    // In staging order when the MACs ascend (allocations do), else sorted (stably, so the later write to a slot wins).
    let order: number[] | null = null;
    for (let i = 1; i < n; i++) {
      if (macs[i]! <= macs[i - 1]!) {
        order = Array.from({ length: n }, (_, k) => k).sort((a, b) => macs[a]! - macs[b]! || a - b);
        break;
      }
    }
    const at = (k: number): number => (order ? order[k]! : k);
    let k = 0;
    while (k < n) {
      // A run of consecutive slots in one file, each the last write to its slot.
      const first = macs[at(k)]!;
      const file = first - (first % FILE_SPAN);
      let len = 0;
      let j = k;
      while (j < n && len < CHUNK) {
        const mac = macs[at(j)]!;
        if (mac !== first + len / SLOT || mac - (mac % FILE_SPAN) !== file) break;
        while (j + 1 < n && macs[at(j + 1)] === mac) j++;
        if (order) this.staged.copy(this.writeBuf, len, at(j) * SLOT, (at(j) + 1) * SLOT);
        len += SLOT;
        j++;
      }
      const src = order ? this.writeBuf : this.staged;
      const srcOff = order ? 0 : at(k) * SLOT;
      const fd = this.fdFor(file);
      const off = (first - file) * SLOT;
      let done = 0;
      while (done < len) done += writeSync(fd, src, srcOff + done, len - done, off + done);
      k = j;
    }
    if (this.stagedMacs.length > KEEP_STAGED) {
      this.staged = Buffer.alloc(KEEP_STAGED * SLOT);
      this.stagedMacs = new Float64Array(KEEP_STAGED);
    } else this.staged.fill(0, 0, n * SLOT);
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

/** encode() for a state of a batch into buf[at, at + SLOT) (zeroed): its ids' bytes copied as they are. */
function encodeState(s: MacStates, i: number, buf: Buffer, at: number): boolean {
  buf[at] = PRESENT;
  let pos = 5;
  for (let k = 0; k < 3; k++) {
    const field = STATE_FIELDS[k]!;
    const start = s.start(i, field);
    if (start < 0) {
      buf[at + 1 + k] = NULL_LEN;
      continue;
    }
    const n = s.end(i, field) - start;
    if (n >= NULL_LEN || pos + n > SLOT) return false;
    copyBytes(s.bytes, start, start + n, buf, at + pos);
    buf[at + 1 + k] = n;
    pos += n;
  }
  const state = s.inactive(i) ? INACTIVE : ACTIVE;
  if (pos + state.length > SLOT) return false;
  copyBytes(state, 0, state.length, buf, at + pos);
  buf[at + 4] = state.length;
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
