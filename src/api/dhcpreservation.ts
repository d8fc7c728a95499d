import { z } from 'zod';
import { conditionsField, dnsLabel, dnsLabelPattern, observedGenerationField, resourceSchema, withRules, type KindInfo } from './common.ts';
import { DhcpOption, ipv4 } from './dhcpsubnet.ts';
import { macAddressPattern } from './mac.ts';

// DhcpReservation: one fixed address of a DhcpSubnet, as a resource of its
// own, so a team can own its reservations (RBAC on this kind) without editing
// the subnet. The operator merges the reservations of a subnet into its
// servers' config; their state (bound, or in conflict with another client's
// lease) comes back from what the servers report.

export const dhcpReservationKind: KindInfo = {
  kind: 'DhcpReservation',
  plural: 'dhcpreservations',
  singular: 'dhcpreservation',
  shortNames: ['dres'],
  listKind: 'DhcpReservationList',
};

/** Option 61 as the client sends it, in hex. */
export const clientIdPattern = /^([0-9a-f]{2}){2,255}$/;

export const DhcpReservationSpec = withRules(
  z.object({
    subnetRef: z
      .object({ name: z.string().min(1).max(63).regex(dnsLabelPattern).describe('Name of the DhcpSubnet, in the same namespace.') })
      .describe('The DhcpSubnet whose servers give out the address.'),
    mac: z
      .string()
      .max(17)
      .regex(macAddressPattern, { message: 'mac must be a lower-case, colon-separated MAC such as aa:bb:cc:00:00:01' })
      .optional()
      .describe('The client by hardware address (lower-case, colon-separated). Exactly one of mac and clientId.'),
    clientId: z
      .string()
      .max(510)
      .regex(clientIdPattern, { message: 'clientId must be lower-case hex, at least 2 bytes, such as 01aabbcc001001' })
      .optional()
      .describe(
        'The client by its client identifier (option 61), lower-case hex as sent: 01 followed by the MAC for a client that uses its hardware address (01aabbcc001001), ff... for an RFC 4361 identifier (dhcpcd, systemd-networkd). Exactly one of mac and clientId; a client that sends option 61 is matched by clientId first.',
      ),
    ip: ipv4.describe('The address the client always gets; inside the subnet\'s cidr, in or outside its pools, not in another reservation.'),
    hostname: dnsLabel.optional().describe('Host name sent to the client (option 12).'),
    options: z
      .array(DhcpOption)
      .max(16)
      .optional()
      .describe('Options for this client only, by code with typed values; they replace the subnet\'s options of the same code.')
      .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['code'] }),
  }),
  'Desired state of a DhcpReservation.',
  [
    {
      rule: 'has(self.mac) != has(self.clientId)',
      message: 'exactly one of mac and clientId must be set',
      check: (s) => (s.mac === undefined) !== (s.clientId === undefined),
    },
  ],
).superRefine((s, ctx) => {
  // Option codes are list-map keys in the CRD: the API server refuses duplicates itself.
  const codes = new Set<number>();
  (s.options ?? []).forEach((o, i) => {
    if (codes.has(o.code)) ctx.addIssue({ code: 'custom', path: ['options', i, 'code'], message: `duplicate option code ${o.code}` });
    codes.add(o.code);
  });
});
export type DhcpReservationSpec = z.infer<typeof DhcpReservationSpec>;

export const reservationStates = ['Pending', 'Bound', 'Conflict', 'Rejected'] as const;
export type ReservationState = (typeof reservationStates)[number];

export const DhcpReservationStatus = z
  .object({
    observedGeneration: observedGenerationField,
    state: z
      .enum(reservationStates)
      .optional()
      .describe(
        'Pending: not taken yet (or not yet loaded by the servers, or no such subnet). Bound: the client holds a lease on the address (expires says until when). Conflict: another client holds a lease on the address; nobody is kicked off, message says what to do. Rejected: the reservation cannot be served (overlaps another, outside the subnet); message says why.',
      ),
    reason: z.string().max(64).optional().describe('Machine-readable CamelCase reason for the state.'),
    message: z.string().max(4096).optional().describe('What the state means here, and what to do about it.'),
    expires: z.string().optional().describe('Bound: when the client\'s lease ends unless renewed (RFC 3339), as the servers report.').meta({ format: 'date-time' }),
    holder: z.string().max(64).optional().describe('Conflict: the hardware address of the client that holds the address.'),
    conditions: conditionsField,
  })
  .describe('Observed state of a DhcpReservation, from what the DhcpSubnet\'s servers report.');
export type DhcpReservationStatus = z.infer<typeof DhcpReservationStatus>;

export const DhcpReservation = resourceSchema('DhcpReservation', DhcpReservationSpec, DhcpReservationStatus, { anyName: true }).describe(
  'A fixed address for one client of a DhcpSubnet, owned apart from the subnet.',
);
export type DhcpReservation = z.infer<typeof DhcpReservation>;
export type DhcpReservationInput = z.input<typeof DhcpReservation>;
