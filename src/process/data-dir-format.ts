// The format marker of a server's data directory (src/api/formats.ts):
// checked before the server reads or writes anything there, and written once
// the directory opened. Releases before 0.3.0 wrote none (format 1) and pass
// over a file they do not know, so they read a directory with a marker too.

import { closeSync, fsyncSync, openSync, readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { DATA_DIR_MARKER, DataDirMarker, FORMATS, formatRefusal } from '../api/formats.ts';
import { RELEASE_VERSION } from '../api/version.ts';

export type DataDirKind = DataDirMarker['kind'];

const formatOf = { macd: 'macdDataDir', dhcpd: 'dhcpdDataDir' } as const;

const UNTOUCHED = 'the directory is left untouched';

/** Why this release cannot read a directory of `kind` whose marker holds `text`; undefined when it can. */
export function markerRefusal(kind: DataDirKind, text: string): string | undefined {
  const name = formatOf[kind];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return `not JSON (${e instanceof Error ? e.message : String(e)}); ${UNTOUCHED}`;
  }
  // The version first: a newer marker may have other fields too.
  const version = typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? (raw as Record<string, unknown>)['format'] : undefined;
  const newer = version === undefined ? undefined : formatRefusal(name, version);
  if (newer) return `${newer}; ${UNTOUCHED}`;
  const marker = DataDirMarker.safeParse(raw);
  if (!marker.success) return `not a format marker (${marker.error.issues.map((i) => `${i.path.join('.') || 'marker'}: ${i.message}`).join('; ')}); ${UNTOUCHED}`;
  if (marker.data.kind !== kind) return `the data directory of ${marker.data.kind}, not of ${kind}; ${UNTOUCHED}`;
  return undefined;
}

/**
 * Why this release cannot read the data directory `dir` of `kind`, naming
 * its marker; undefined when it can (no marker: format 1; no directory: a new one).
 */
export function dataDirRefusal(dir: string, kind: DataDirKind): string | undefined {
  const path = join(dir, DATA_DIR_MARKER);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return `${path}: unreadable (${e instanceof Error ? e.message : String(e)}); ${UNTOUCHED}`;
  }
  const why = markerRefusal(kind, text);
  return why === undefined ? undefined : `${path}: ${why}`;
}

/** The marker this release writes. */
export function markerText(kind: DataDirKind): string {
  const marker: DataDirMarker = { kind, format: FORMATS[formatOf[kind]].writes, writtenBy: RELEASE_VERSION };
  return JSON.stringify(marker) + '\n';
}

/**
 * Writes this release's marker into `dir` (after it opened the directory),
 * atomically: a temporary file, fsynced, renamed over the marker, the
 * directory fsynced. Nothing is written when the marker already says the same.
 */
export async function writeDataDirMarker(dir: string, kind: DataDirKind): Promise<void> {
  const path = join(dir, DATA_DIR_MARKER);
  const text = markerText(kind);
  try {
    if (readFileSync(path, 'utf8') === text) return;
  } catch {
    // Absent (format 1): write it.
  }
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w', 0o644);
  try {
    await fh.writeFile(text);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}
