import { z } from 'zod';
import { cidrPattern } from '../cidr.ts';
import { ipv4Pattern } from '../ipv4.ts';
import { macAddressPattern } from '../mac.ts';

// The configuration file of `alcor-operator dhcpd`: what a DhcpSubnet's
// ConfigMap holds (rendered by src/render/dhcpsubnet) and what a standalone
// run reads. One server may serve several subnets (relayed ones are matched by
// giaddr, direct ones by the interface address).

const ipv4 = z.string().regex(ipv4Pattern);
const cidr = z.string().regex(cidrPattern);
/** A MAC, colon-separated, either case. */
const mac = z.string().regex(new RegExp(macAddressPattern.source, 'i'));

/**
 * Option codes dhcpd sets itself (pad, end, requested address, lease and
 * renewal times, overload, message type, server identifier, parameter list,
 * client identifier, relay agent information): a configured option may not
 * carry one.
 */
export const serverOwnedOptionCodes: readonly number[] = [0, 50, 51, 52, 53, 54, 55, 58, 59, 61, 82, 255];

export const DhcpOptionValue = z.discriminatedUnion('type', [
  z.object({ code: z.number().int().min(1).max(254), type: z.literal('ipv4'), value: ipv4 }),
  z.object({ code: z.number().int().min(1).max(254), type: z.literal('ipv4List'), value: z.array(ipv4).min(1) }),
  z.object({ code: z.number().int().min(1).max(254), type: z.literal('string'), value: z.string().min(1).max(255) }),
  z.object({ code: z.number().int().min(1).max(254), type: z.literal('uint8'), value: z.number().int().min(0).max(255) }),
  z.object({ code: z.number().int().min(1).max(254), type: z.literal('uint16'), value: z.number().int().min(0).max(65535) }),
  z.object({ code: z.number().int().min(1).max(254), type: z.literal('uint32'), value: z.number().int().min(0).max(4294967295) }),
  z.object({ code: z.number().int().min(1).max(254), type: z.literal('boolean'), value: z.boolean() }),
  z.object({ code: z.number().int().min(1).max(254), type: z.literal('hex'), value: z.string().regex(/^([0-9a-fA-F]{2})+$/) }),
]);
export type DhcpOptionValue = z.infer<typeof DhcpOptionValue>;

export const DhcpdReservationConfig = z
  .object({
    name: z.string().min(1).optional(),
    mac: mac.optional(),
    clientId: z.string().regex(/^([0-9a-fA-F]{2}){2,255}$/).optional(),
    ip: ipv4,
    hostname: z.string().optional(),
    options: z.array(DhcpOptionValue).default([]),
  })
  .refine((r) => (r.mac === undefined) !== (r.clientId === undefined), { message: 'a reservation needs exactly one of mac and clientId' });
export type DhcpdReservationConfig = z.infer<typeof DhcpdReservationConfig>;

export const DhcpdSubnetConfig = z.object({
  /** The DhcpSubnet's name (metrics label, status). */
  name: z.string().min(1),
  cidr,
  gateway: ipv4.optional(),
  pools: z.array(z.object({ start: ipv4, end: ipv4 })).min(1),
  /** Single addresses or start-end ranges never offered. */
  excludes: z.array(z.object({ start: ipv4, end: ipv4 })).default([]),
  /**
   * Fixed addresses, by MAC or by client identifier (option 61, hex).
   * `name`: the DhcpReservation it comes from, whose state the server reports
   * (inline ones have none). `options` replace the subnet's of the same code.
   */
  reservations: z.array(DhcpdReservationConfig).default([]),
  dnsServers: z.array(ipv4).default([]),
  domainName: z.string().optional(),
  domainSearch: z.array(z.string()).default([]),
  /** Seconds. T1/T2 default to 50 % / 87.5 % of it. */
  leaseTime: z.number().int().min(60).max(31_536_000).default(86_400),
  mtu: z.number().int().min(68).max(65535).optional(),
  ntpServers: z.array(ipv4).default([]),
  staticRoutes: z.array(z.object({ destination: cidr, gateway: ipv4 })).default([]),
  options: z.array(DhcpOptionValue).default([]),
  /**
   * CIDRs of the relays allowed to obtain addresses of this subnet (giaddr
   * and UDP source must both lie inside); absent: every relay.
   */
  trustedRelays: z.array(z.string()).min(1).optional(),
  /** A packet with option 82 but no giaddr: dropped, or served as a direct client. */
  relayInfoWithoutGiaddr: z.enum(['drop', 'accept']).default('drop'),
  /** ping: a new address is offered only after an ICMP echo to it went unanswered. */
  conflictDetection: z.enum(['none', 'ping']).default('none'),
  /** Seconds a conflicting address (DECLINEd, or answering a ping) stays out of the pool. */
  quarantineTime: z.number().int().min(1).max(31_536_000).default(3600),
  /** Seconds over which conflicts are counted for the status report. */
  conflictWindow: z.number().int().min(1).max(86_400).default(600),
});
export type DhcpdSubnetConfig = z.infer<typeof DhcpdSubnetConfig>;

export const DhcpdConfig = z.object({
  /** metadata.generation of the DhcpSubnet this was rendered from: reported back once applied (alcor.dev/served). */
  generation: z.number().int().min(0).optional(),
  subnets: z.array(DhcpdSubnetConfig).min(1),
  /**
   * High availability: the pool of each subnet is split into `shares` disjoint
   * parts; a replica serves the share given by --share (or claimed), so two
   * replicas never offer the same address.
   */
  ha: z
    .object({
      shares: z.number().int().min(1).max(64).default(1),
      /**
       * A DISCOVER whose secs field (time the client has been trying) reaches
       * this is answered by every replica, not only the one its client-id hash
       * picks: clients of a failed replica get an address from the others
       * (RFC 3074 style). Default 10.
       */
      takeoverSeconds: z.number().int().min(0).max(3600).optional(),
    })
    .default({ shares: 1 }),
});
export type DhcpdConfig = z.infer<typeof DhcpdConfig>;
export type DhcpdConfigInput = z.input<typeof DhcpdConfig>;
