import { z } from 'zod';
import { RELEASE_VERSION } from './version.ts';

// The formats macd and dhcpd write and read across a rolling upgrade, each
// with a version, so that old and new replicas can share a pool, a subnet and
// a volume, and a rollback is safe. The rule (Kubernetes' version skew, etcd's
// "lowest common version"): release N writes what release N-1 reads, plus a
// version that N-1 already ignores safely; a format moves up only in a
// release after one that reads it. A reader refuses, naming what and why, a
// format newer than it knows instead of misreading it (docs/formats.md).
// Absent versions are format 1: what 0.2.0 and before wrote, unversioned.

/** The versions this release writes (`writes`) and the newest it reads (`reads`) of each format. */
export const FORMATS = {
  /** macd's data directory: log, snapshot and slot files (src/macd/store.ts). */
  macdDataDir: { writes: 1, reads: 1, what: 'macd data directory' },
  /** The annotations of macd's block Leases (src/macd/leases.ts). */
  macdLeases: { writes: 1, reads: 1, what: 'macd block Lease' },
  /** Requests between macd replicas: forwarding, range counts, the admin API's ?local=true (PEER_FORMAT_HEADER). */
  macdPeer: { writes: 1, reads: 1, what: 'macd peer protocol' },
  /** dhcpd's data directory: the lease log (src/dhcpd/lease-log.ts). */
  dhcpdDataDir: { writes: 1, reads: 1, what: 'dhcpd data directory' },
  /** The report Leases of macd and dhcpd (alcor.dev/served and beside it; src/api/leases.ts). */
  reportLeases: { writes: 1, reads: 1, what: 'report Lease' },
} as const satisfies Record<string, { writes: number; reads: number; what: string }>;
export type FormatName = keyof typeof FORMATS;

/** On every Lease macd and dhcpd write: the version of that Lease's format (block: macdLeases; report: reportLeases), as a decimal string. */
export const FORMAT_ANNOTATION = 'alcor.dev/format';

/** On every request between macd replicas and every answer of macd's API: the version of the peer protocol (macdPeer). */
export const PEER_FORMAT_HEADER = 'x-macd-format';

/** In macd's and dhcpd's data directory: which server's it is and its format (absent: format 1). */
export const DATA_DIR_MARKER = 'format.json';

export const DataDirMarker = z.object({
  kind: z.enum(['macd', 'dhcpd']),
  format: z.number().int().min(1),
  /** The release that wrote the marker last (informative). */
  writtenBy: z.string(),
});
export type DataDirMarker = z.infer<typeof DataDirMarker>;

/**
 * Why a format found (an annotation's or a header's text, a marker's number;
 * undefined: absent, format 1) cannot be read by this release; undefined when
 * it can.
 */
export function formatRefusal(name: FormatName, found: unknown): string | undefined {
  const { reads, what } = FORMATS[name];
  if (found === undefined) return undefined;
  const n = typeof found === 'string' && /^[1-9][0-9]{0,8}$/.test(found) ? Number(found) : typeof found === 'number' && Number.isSafeInteger(found) && found >= 1 ? found : undefined;
  if (n === undefined) return `${what} format ${JSON.stringify(found) ?? String(found)} is not a format version (a positive integer)`;
  if (n > reads) return `${what} format ${n} is newer than this release (${RELEASE_VERSION}) reads (up to ${reads})`;
  return undefined;
}
