import { z } from 'zod';

// The coordination.k8s.io Leases macd and dhcpd write and the operator reads:
// their label and annotation keys, and the report each server replica keeps on
// its own Lease (docs/macd.md, docs/dhcpd.md): each report's one schema, the
// text a server writes (reportText) and what the operator reads (readReport).
// Declared once, for both sides.

/** On every Lease of a MacPool's allocator replicas (block and report Leases): the pool's name. */
export const MAC_POOL_LABEL = 'alcor.dev/mac-pool';
/** On a block Lease: its first MAC and how many addresses it spans. */
export const BLOCK_START_ANNOTATION = 'alcor.dev/block-start';
export const BLOCK_SIZE_ANNOTATION = 'alcor.dev/block-size';
/** On a block Lease: the URL where the holder replica answers for the block's MACs. */
export const ENDPOINT_ANNOTATION = 'alcor.dev/endpoint';
/** On a block Lease: how many of the block's MACs are allocated (what replicas read of each other). */
export const ALLOCATED_ANNOTATION = 'alcor.dev/allocated';
/** On a block Lease: JSON {"<range id>": <allocated MACs of the block inside that range>}; ranges may overlap. */
export const ALLOCATED_BY_RANGE_ANNOTATION = 'alcor.dev/allocated-by-range';

/** On a dhcpd server's report Lease: the DhcpSubnet it serves. */
export const DHCP_SERVER_LABEL = 'alcor.dev/dhcp-server';
/** On a dhcpd server's report Lease: JSON ConflictReport (below), quarantined addresses and recent conflicts per subnet. */
export const DHCP_CONFLICTS_ANNOTATION = 'alcor.dev/conflicts';
/** On a dhcpd server's status Lease: JSON ReservationReport (below), the state of each DhcpReservation in its share. */
export const DHCP_RESERVATIONS_ANNOTATION = 'alcor.dev/reservations';

/**
 * On the report Lease of each macd replica (named after the replica) and each
 * dhcpd server: what it serves, as JSON (MacdReport, DhcpdReport). Written when
 * it changes. The operator builds status from it, never from the spec.
 */
export const SERVED_ANNOTATION = 'alcor.dev/served';

const count = z.number().int().min(0);

/** What the server did with its config; the same for both servers. */
const configOutcome = {
  /** metadata.generation of the resource whose config the server applied last (0: a config without one). */
  generation: count,
  /** Parts of its current config file the server does not serve, each naming the part and why ("ranges[0] (r0): ..."); empty: all of it. */
  refused: z.array(z.string()).default([]),
  /** The release of the server (src/api/version.ts); absent: 0.2.0 or before. */
  version: z.string().optional(),
  /** metadata.uid of the pod the report comes from (macd: --pod-uid; dhcpd: --owner-pod-uid): which incarnation of a replica speaks (a replaced pod's report stays until its successor writes). */
  pod: z.string().optional(),
  /** The server cannot read some state it was given (a data directory, a Lease of a newer format): what and why (also in `refused`, for operators before 0.3.0). */
  blocked: z.string().optional(),
};

export const MacdReport = z.object({
  ...configOutcome,
  /** MACs the pool serves as this replica has it: its Active ranges minus the exclusions (any replica may claim any block). */
  capacity: count,
  /** MACs this replica handed out and has not had released. */
  allocated: count,
});
export type MacdReport = z.infer<typeof MacdReport>;

export const DhcpdReport = z.object({
  ...configOutcome,
  /** This server's share of the pools, of `shares` (relay replicas split the pools; a node-local server has the one share). */
  share: count,
  shares: z.number().int().min(1),
  /** Per subnet served: addresses of its share of the pools minus the excludes (reservations in the pools count), and bound leases. */
  subnets: z.record(z.string(), z.object({ capacity: count, leased: count })),
});
export type DhcpdReport = z.infer<typeof DhcpdReport>;

// What a dhcpd server reports beyond the lease count, keyed by subnet name as
// the count is: quarantined addresses and conflicts (DHCP_CONFLICTS_ANNOTATION),
// and the state of each DhcpReservation (DHCP_RESERVATIONS_ANNOTATION).

/** An address out of the pool because of a conflict, and until when. */
export const QuarantinedAddress = z.object({
  ip: z.string(),
  /** decline: a client found it in use (DHCPDECLINE); ping: it answered the server's ping before an offer. */
  reason: z.enum(['decline', 'ping']),
  /** RFC 3339, seconds. */
  until: z.string(),
});
export type QuarantinedAddress = z.infer<typeof QuarantinedAddress>;

/** Addresses listed at most per subnet and server (the count is always complete). */
export const MAX_REPORTED_QUARANTINE = 32;

export const SubnetConflictReport = z.object({
  /** Addresses quarantined now. */
  quarantined: z.number().int().min(0),
  /** Conflicts within the subnet's conflict window. */
  recent: z.number().int().min(0),
  windowSeconds: z.number().int().min(1),
  /** The earliest-ending quarantines, at most MAX_REPORTED_QUARANTINE. */
  addresses: z.array(QuarantinedAddress),
  /** conflictDetection is ping, but this server cannot ping (the reason). */
  pingUnavailable: z.string().optional(),
});
export type SubnetConflictReport = z.infer<typeof SubnetConflictReport>;

export const ConflictReport = z.record(z.string(), SubnetConflictReport);
export type ConflictReport = z.infer<typeof ConflictReport>;

/** A DhcpReservation as one server sees it: keyed by the reservation's name, per subnet. */
export const ReservedAddressReport = z.object({
  /** The address the server has reserved (a stale config shows another). */
  ip: z.string(),
  /** pending: nobody holds it; bound: its client does; conflict: another client does (or it is quarantined). */
  state: z.enum(['pending', 'bound', 'conflict']),
  /** bound / conflict: when that lease ends (RFC 3339, seconds). */
  expires: z.string().optional(),
  /** conflict: the hardware address of the client holding it. */
  holder: z.string().optional(),
  /** conflict: the address is quarantined instead, and why. */
  quarantined: z.enum(['decline', 'ping']).optional(),
});
export type ReservedAddressReport = z.infer<typeof ReservedAddressReport>;

export const ReservationReport = z.record(z.string(), z.record(z.string(), ReservedAddressReport));
export type ReservationReport = z.infer<typeof ReservationReport>;

/** The annotation's text for a report: keys in a fixed order, so an unchanged report is unchanged text. */
export function reportText(report: MacdReport | DhcpdReport | ConflictReport | ReservationReport): string {
  return JSON.stringify(report, (_key, value: unknown) =>
    value && typeof value === 'object' && !Array.isArray(value) ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b))) : value,
  );
}

type ReportSchema = typeof MacdReport | typeof DhcpdReport | typeof ConflictReport | typeof ReservationReport;

/** Reads a report from a Lease's annotation `key` (default: the served report); undefined when absent or malformed (it counts as nothing). */
export function readReport<S extends ReportSchema>(schema: S, annotations: Record<string, string> | undefined, key = SERVED_ANNOTATION): z.infer<S> | undefined {
  const text = annotations?.[key];
  if (text === undefined) return undefined;
  try {
    const r = schema.safeParse(JSON.parse(text));
    return r.success ? (r.data as z.infer<S>) : undefined;
  } catch {
    return undefined;
  }
}
