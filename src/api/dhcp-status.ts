import { z } from 'zod';

// What a dhcpd server reports on its status Lease beyond the lease count
// (annotation keys in leases.ts), and the operator reads: one schema, so
// both sides agree. Keyed by subnet name, as the count is.

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
