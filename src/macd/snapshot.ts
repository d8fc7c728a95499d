// Snapshot: the bitmaps of every range plus a small JSON header, written to a
// temporary file, fsynced and renamed over the previous one (atomic). After a
// snapshot the log generations it covers are deleted, so a restart reads one
// file of a few MiB and replays only the log written since.
//
// Layout: "MACDSNP1" | u32 header length | header JSON | bitmap words of each
// range in header order | u32 crc32 of everything before it.

import { existsSync, readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { syncDir } from './journal.ts';
import type { MetaTuple } from './meta.ts';
import type { RangeSpec } from './range.ts';

const MAGIC = Buffer.from('MACDSNP1');
export const SNAPSHOT_FILE = 'snapshot.bin';

export interface SnapshotRange extends RangeSpec {
  cursor: number;
}

export interface SnapshotHeader {
  /** First log generation NOT covered by this snapshot. */
  nextGeneration: number;
  defaultRangeId: string | null;
  ranges: SnapshotRange[];
  /** Metadata too long for a slot: [mac, tuple]. */
  overflow: [number, MetaTuple][];
  /** Block leases this replica holds: rangeId -> block indexes (replica mode). */
  ownedBlocks?: Record<string, number[]>;
}

export interface Snapshot {
  header: SnapshotHeader;
  bitmaps: Uint32Array[];
}

export async function writeSnapshot(dir: string, snap: Snapshot): Promise<void> {
  const header = Buffer.from(JSON.stringify(snap.header));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.length);
  const parts: Buffer[] = [MAGIC, len, header, ...snap.bitmaps.map((b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength))];
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

export function readSnapshot(dir: string): Snapshot | null {
  const path = join(dir, SNAPSHOT_FILE);
  if (!existsSync(path)) return null;
  const data = readFileSync(path);
  if (data.length < 16 || !data.subarray(0, 8).equals(MAGIC)) throw new Error(`${path}: not a macd snapshot`);
  const crc = data.readUInt32LE(data.length - 4);
  if (crc32(data.subarray(0, data.length - 4)) !== crc) throw new Error(`${path}: checksum mismatch`);
  const hlen = data.readUInt32LE(8);
  const header = JSON.parse(data.toString('utf8', 12, 12 + hlen)) as SnapshotHeader;
  let pos = 12 + hlen;
  const bitmaps: Uint32Array[] = [];
  for (const r of header.ranges) {
    const words = Math.ceil((r.to - r.from + 1) / 32);
    // Copy into an aligned buffer of its own.
    const arr = new Uint32Array(words);
    Buffer.from(arr.buffer).set(data.subarray(pos, pos + words * 4));
    bitmaps.push(arr);
    pos += words * 4;
  }
  return { header, bitmaps };
}
