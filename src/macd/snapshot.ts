// Snapshot: the allocated pages of the address space plus a small JSON
// header, written to a temporary file, fsynced and renamed over the previous
// one (atomic). After a snapshot the log generations it covers are deleted,
// so a restart reads one file of a few MiB and replays only the log written
// since.
//
// Layout: "MACDSNP2" | u32 header length | header JSON | the words of each
// page in header.pages order | u32 crc32 of everything before it.
// Version 1 ("MACDSNP1", before ranges could overlap) kept one bitmap per
// range; it is still read, and converted.

import { existsSync, readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { syncDir } from './journal.ts';
import type { MetaTuple } from './meta.ts';
import type { RangeSpec } from './range.ts';
import { PAGE_SIZE, PAGE_WORDS } from './space.ts';

const MAGIC = Buffer.from('MACDSNP2');
const MAGIC_V1 = Buffer.from('MACDSNP1');
export const SNAPSHOT_FILE = 'snapshot.bin';

export interface SnapshotRange extends RangeSpec {
  /** Absolute MAC where the range's next-free search starts. */
  cursor: number;
}

export interface SnapshotHeader {
  /** First log generation NOT covered by this snapshot. */
  nextGeneration: number;
  defaultRangeId: string | null;
  ranges: SnapshotRange[];
  /** Metadata too long for a slot: [mac, tuple]. */
  overflow: [number, MetaTuple][];
  /** Intervals of the block Leases this replica holds, [from, to] (replica mode). */
  held: [number, number][];
  /** Indexes of the pages whose words follow the header. */
  pages: number[];
}

export interface Snapshot {
  header: SnapshotHeader;
  pages: Uint32Array[];
  /** Set when the file was version 1: the ranges as that version laid them out (for slot files). */
  v1?: { ranges: RangeSpec[] };
}

export async function writeSnapshot(dir: string, snap: { header: SnapshotHeader; pages: Uint32Array[] }): Promise<void> {
  const header = Buffer.from(JSON.stringify(snap.header));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  const parts: Buffer[] = [MAGIC, len, header, ...snap.pages.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))];
  let crc = 0;
  for (const p of parts) crc = crc32(p, crc);
  const tail = Buffer.alloc(4);
  tail.writeUInt32LE(crc);
  parts.push(tail);
  const tmp = join(dir, SNAPSHOT_FILE + '.tmp');
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(Buffer.concat(parts));
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, SNAPSHOT_FILE));
  syncDir(dir);
}

/** Copies `words` u32 words from `data` at `pos` into an aligned array of its own. */
function words(data: Buffer, pos: number, n: number): Uint32Array {
  const arr = new Uint32Array(n);
  Buffer.from(arr.buffer).set(data.subarray(pos, pos + n * 4));
  return arr;
}

export function readSnapshot(dir: string, v1BlockSize = 0): Snapshot | null {
  const path = join(dir, SNAPSHOT_FILE);
  if (!existsSync(path)) return null;
  const data = readFileSync(path);
  const magic = data.subarray(0, 8);
  if (data.length < 16 || (!magic.equals(MAGIC) && !magic.equals(MAGIC_V1))) throw new Error(`${path}: not a macd snapshot`);
  const crc = data.readUInt32LE(data.length - 4);
  if (crc32(data.subarray(0, data.length - 4)) !== crc) throw new Error(`${path}: checksum mismatch`);
  const hlen = data.readUInt32LE(8);
  const json = data.toString('utf8', 12, 12 + hlen);
  if (magic.equals(MAGIC)) {
    const header = JSON.parse(json) as SnapshotHeader;
    let pos = 12 + hlen;
    const pages = header.pages.map(() => {
      const w = words(data, pos, PAGE_WORDS);
      pos += PAGE_WORDS * 4;
      return w;
    });
    return { header, pages };
  }
  return fromV1(JSON.parse(json) as SnapshotHeaderV1, data, 12 + hlen, v1BlockSize);
}

interface SnapshotHeaderV1 {
  nextGeneration: number;
  defaultRangeId: string | null;
  /** `cursor` is an offset into the range. */
  ranges: SnapshotRange[];
  overflow: [number, MetaTuple][];
  /** rangeId -> indexes of blocks of `blockSize` counted from the range's first MAC. */
  ownedBlocks?: Record<string, number[]>;
}

/** Version 1: one bitmap per (disjoint) range, bit i = range.from + i. */
function fromV1(h: SnapshotHeaderV1, data: Buffer, start: number, blockSize: number): Snapshot {
  const byPage = new Map<number, Uint32Array>();
  let pos = start;
  for (const r of h.ranges) {
    const size = r.to - r.from + 1;
    const n = Math.ceil(size / 32);
    const bits = words(data, pos, n);
    pos += n * 4;
    for (let w = 0; w < n; w++) {
      let x = bits[w]!;
      while (x !== 0) {
        const b = 31 - Math.clz32(x & -x);
        x &= x - 1;
        const mac = r.from + w * 32 + b;
        const pi = Math.floor(mac / PAGE_SIZE);
        let page = byPage.get(pi);
        if (!page) byPage.set(pi, (page = new Uint32Array(PAGE_WORDS)));
        const off = mac - pi * PAGE_SIZE;
        page[off >>> 5]! |= 1 << (off & 31);
      }
    }
  }
  const indexes = [...byPage.keys()].sort((a, b) => a - b);
  return {
    header: {
      nextGeneration: h.nextGeneration,
      defaultRangeId: h.defaultRangeId,
      ranges: h.ranges.map((r) => ({ ...r, cursor: r.from + r.cursor })),
      overflow: h.overflow,
      held: Object.entries(h.ownedBlocks ?? {}).flatMap(([id, blocks]) => {
        const r = h.ranges.find((x) => x.id === id);
        return r ? blocks.map((b) => legacyBlock(r, b, blockSize)) : [];
      }),
      pages: indexes,
    },
    pages: indexes.map((i) => byPage.get(i)!),
    v1: { ranges: h.ranges.map(({ cursor: _c, ...spec }) => spec) },
  };
}

/** A block of a version-1 replica: the `b`-th block of `blockSize` addresses counted from the range's first MAC. */
export function legacyBlock(r: { from: number; to: number }, b: number, blockSize: number): [number, number] {
  const from = r.from + b * blockSize;
  return [from, Math.min(r.to, from + blockSize - 1)];
}
