import { z } from 'zod';
import {
  conditionsField,
  dnsLabel,
  dnsSubdomainPattern,
  imageField,
  observedGenerationField,
  ResourceRequirements,
  resourceSchema,
  volumeField,
  withRules,
  type KindInfo,
} from './common.ts';
import { cidrContains, cidrPattern, parseCidr } from './cidr.ts';
import { serverOwnedOptionCodes } from './config/dhcpd.ts';
import { durationPattern, parseDurationSeconds } from './duration.ts';
import { ipv4Pattern, ipv4RangePattern, ipv4ToNumber, isIPv4, parseIPv4, parseIPv4Range } from './ipv4.ts';
import { macAddressPattern } from './mac.ts';

// DhcpSubnet: one IPv4 subnet served by `alcor-operator dhcpd` replicas, each
// owning a disjoint share of the pools (relay mode) or one per node (nodeLocal).

export const dhcpSubnetKind: KindInfo = {
  kind: 'DhcpSubnet',
  plural: 'dhcpsubnets',
  singular: 'dhcpsubnet',
  shortNames: ['dsn'],
  listKind: 'DhcpSubnetList',
};

export const ipv4 = z.string().max(15).regex(ipv4Pattern, { message: 'must be an IPv4 address such as 10.0.0.1' });
const cidrString = z.string().max(18).regex(cidrPattern, { message: 'must be an IPv4 CIDR such as 10.0.0.0/24' });

/** CEL: an IPv4 address string as an int, for ordering (CEL's ip type has no <). */
function celIpInt(e: string): string {
  const part = (i: number) => `int(${e}.split('.')[${i}])`;
  return `(${part(0)} * 16777216 + ${part(1)} * 65536 + ${part(2)} * 256 + ${part(3)})`;
}
/** CEL: the string is an IPv4 address (guards the calls that would fail on anything else). */
function celIs4(e: string): string {
  return `(isIP(${e}) && ip(${e}).family() == 4)`;
}
/** CEL: a pool whose bounds are addresses, start not after end. */
function celPool(e: string): string {
  return `(${celIs4(`${e}.start`)} && ${celIs4(`${e}.end`)} && ${celIpInt(`${e}.start`)} <= ${celIpInt(`${e}.end`)})`;
}

function networkAddressRules(field: string) {
  return [
    {
      rule: '!isCIDR(self) || cidr(self) == cidr(self).masked()',
      message: `${field} must be a network address: its host bits must be zero (10.0.0.0/24, not 10.0.0.1/24)`,
      check: (s: string) => {
        const c = parseCidr(s);
        return !c || c.address === c.first;
      },
    },
  ];
}

/** A Kubernetes duration string (90m, 1h) with a default and CEL-checked bounds. */
function boundedDuration(field: string, def: string, min: [string, number], max: [string, number], description: string) {
  return withRules(
    z.string().max(32).regex(durationPattern, { message: `${field} must be a duration such as 10m or 1h` }).default(def),
    `${description} A duration (${min[0]} to ${max[0]}). Default ${def}.`,
    [
      {
        rule: `duration(self) >= duration('${min[0]}') && duration(self) <= duration('${max[0]}')`,
        message: `${field} must be between ${min[0]} and ${max[0]}`,
        check: (s) => {
          const seconds = parseDurationSeconds(s);
          return seconds === undefined || (seconds >= min[1] && seconds <= max[1]);
        },
      },
    ],
  );
}

export const DhcpPool = withRules(
  z.object({
    start: ipv4.describe('First address offered (inclusive).'),
    end: ipv4.describe('Last address offered (inclusive).'),
  }),
  'A range of addresses handed out dynamically; it must lie inside cidr.',
  [
    {
      rule: `!${celIs4('self.start')} || !${celIs4('self.end')} || ${celIpInt('self.start')} <= ${celIpInt('self.end')}`,
      message: 'pool start must not be after end',
      fieldPath: '.start',
      check: (p) => !isIPv4(p.start) || !isIPv4(p.end) || ipv4ToNumber(p.start) <= ipv4ToNumber(p.end),
    },
  ],
);
export type DhcpPool = z.infer<typeof DhcpPool>;

/** An inline reservation (spec.reservations); DhcpReservation is the same as a resource of its own. */
export const DhcpSubnetReservation = z
  .object({
    mac: z
      .string()
      .max(17)
      .regex(macAddressPattern, { message: 'reservation mac must be a lower-case, colon-separated MAC such as aa:bb:cc:00:00:01' })
      .describe('Client hardware address (lower-case, colon-separated).'),
    ip: ipv4.describe('Address always given to this client; must lie inside cidr (it may be inside or outside the pools).'),
    hostname: dnsLabel.optional().describe('Host name sent to the client (option 12).'),
  })
  .describe('A fixed address for one client.');
export type DhcpSubnetReservation = z.infer<typeof DhcpSubnetReservation>;

export const DhcpStaticRoute = z
  .object({
    destination: withRules(cidrString, 'Destination network (CIDR).', networkAddressRules('staticRoutes[].destination')),
    gateway: ipv4.describe('Next hop for the destination.'),
  })
  .describe('A classless static route (option 121).');
export type DhcpStaticRoute = z.infer<typeof DhcpStaticRoute>;

/** Option codes a typed field sets: subnet mask, router, DNS, host name, domain name, MTU, NTP, domain search, static routes. */
const typedFieldOptionCodes = [1, 3, 6, 12, 15, 26, 42, 119, 121];
/** Option codes a typed field or the server itself sets (options[].code may not be one). */
export const reservedOptionCodes: readonly number[] = [...new Set([...typedFieldOptionCodes, ...serverOwnedOptionCodes])].filter((c) => c >= 1 && c <= 254).sort((a, b) => a - b);

const uintMax: Record<string, number> = { uint8: 255, uint16: 65535, uint32: 4294967295 };

export const DhcpOption = withRules(
  z.object({
    code: z.number().int().min(1).max(254).describe('DHCP option code (1-254), one no typed field covers.'),
    type: z
      .enum(['ipv4', 'ipv4List', 'string', 'uint8', 'uint16', 'uint32', 'boolean', 'hex'])
      .describe('How value is encoded: ipv4, ipv4List (comma-separated), string, uint8, uint16, uint32, boolean (true/false), hex (even number of hex digits).'),
    value: z.string().min(1).max(255).describe('The value as text, parsed according to type.'),
  }),
  'Another DHCP option with a typed value (the escape hatch for what no field covers).',
  [
    {
      rule: `!(self.code in [${reservedOptionCodes.join(', ')}])`,
      message: 'options[].code is set by a typed field (gateway, dnsServers, domainName, domainSearch, mtu, ntpServers, staticRoutes, leaseTime) or by the server',
      fieldPath: '.code',
      check: (o) => !reservedOptionCodes.includes(o.code),
    },
    {
      rule: `self.type != 'ipv4' || ${celIs4('self.value')}`,
      message: 'options[].value must be an IPv4 address for type ipv4',
      fieldPath: '.value',
      check: (o) => o.type !== 'ipv4' || isIPv4(o.value),
    },
    {
      rule: `self.type != 'ipv4List' || self.value.split(',').all(a, ${celIs4('a.trim()')})`,
      message: 'options[].value must be comma-separated IPv4 addresses for type ipv4List',
      fieldPath: '.value',
      check: (o) => o.type !== 'ipv4List' || o.value.split(',').every((a) => isIPv4(a.trim())),
    },
    {
      rule: "!(self.type in ['uint8', 'uint16', 'uint32']) || (self.value.matches('^[0-9]{1,10}$') && int(self.value) <= (self.type == 'uint8' ? 255 : self.type == 'uint16' ? 65535 : 4294967295))",
      message: 'options[].value must be a decimal integer within the range of its type (uint8, uint16, uint32)',
      fieldPath: '.value',
      check: (o) => !(o.type in uintMax) || (/^[0-9]{1,10}$/.test(o.value) && Number(o.value) <= uintMax[o.type]!),
    },
    {
      rule: "self.type != 'boolean' || self.value in ['true', 'false']",
      message: 'options[].value must be true or false for type boolean',
      fieldPath: '.value',
      check: (o) => o.type !== 'boolean' || o.value === 'true' || o.value === 'false',
    },
    {
      rule: "self.type != 'hex' || self.value.matches('^([0-9a-fA-F]{2})+$')",
      message: 'options[].value must be an even number of hex digits for type hex',
      fieldPath: '.value',
      check: (o) => o.type !== 'hex' || /^([0-9a-fA-F]{2})+$/.test(o.value),
    },
  ],
);
export type DhcpOption = z.infer<typeof DhcpOption>;

export const DhcpServer = z
  .object({
    replicas: z
      .number()
      .int()
      .min(1, { message: 'replicas must be at least 1' })
      .max(16)
      .default(2)
      .describe('Relay mode: servers, each answering from its own disjoint share of the pools. Default 2: no single point of failure. Ignored in nodeLocal mode.'),
    mode: z
      .enum(['relay', 'nodeLocal'])
      .default('relay')
      .describe('relay (default): a StatefulSet reached through DHCP relays (giaddr). nodeLocal: a DaemonSet on host networking, one server on each selected node.'),
    interface: z
      .string()
      .max(15)
      .regex(/^[A-Za-z0-9_.:-]+$/)
      .optional()
      .describe(
        'nodeLocal mode: the host interface the clients are on (documentation for operators). The server listens on every interface and serves this subnet on the one whose address lies in cidr.',
      ),
    image: imageField.optional().describe('Image that runs `alcor-operator dhcpd`. Default: the operator image.'),
    nodeSelector: z
      .record(z.string(), z.string().max(63))
      .optional()
      .describe('Nodes the servers run on.')
      .meta({ maxProperties: 32 }),
    resources: ResourceRequirements.optional(),
    trustedRelays: z
      .array(withRules(cidrString, 'Addresses of trusted DHCP relays as a CIDR (a single relay is a /32).', networkAddressRules('server.trustedRelays[]')))
      .min(1)
      .max(64)
      .optional()
      .describe(
        'DHCP relays allowed to obtain addresses of this subnet. A relayed packet (giaddr set) is served only when both its giaddr and its UDP source address (as the server sees it, after any NAT) lie in this list; others are dropped and counted (alcor_dhcpd_drops_total reason untrusted-relay or untrusted-relay-source). Option 82 sub-options (link selection, server identifier override) are honoured only in packets served this way. Left out: every relay is trusted, as ISC dhcpd and Kea do.',
      ),
    conflictDetection: z
      .enum(['none', 'ping'])
      .default('none')
      .describe(
        'ping: before offering an address new to a client, the server pings it (ICMP echo, --ping-timeout, default 500 ms, as ISC dhcpd and Kea do); a reply quarantines the address and another is offered. Reservations and renewals are not pinged. none (default): no check; a client that finds its address in use still DECLINEs it. Relay pods get the net.ipv4.ping_group_range sysctl for this; nodeLocal pods get CAP_NET_RAW when ping is set.',
      ),
    quarantineTime: boundedDuration(
      'server.quarantineTime',
      '1h',
      ['1m', 60],
      ['720h', 2_592_000],
      'How long an address in conflict (DECLINEd by a client, or answering a ping) stays out of the pool; quarantined addresses show in status.quarantinedAddresses.',
    ),
    conflictThreshold: z
      .object({
        conflicts: z.number().int().min(1).max(100_000).default(5).describe('More conflicts than this within window set Degraded. Default 5.'),
        window: boundedDuration('server.conflictThreshold.window', '10m', ['1m', 60], ['24h', 86_400], 'The window over which conflicts are counted.'),
      })
      .prefault({})
      .describe(
        'When more than `conflicts` address conflicts happen within `window` (summed over the servers), the DhcpSubnet gets Degraded=True with reason AddressConflicts: usually a rogue DHCP server or hosts with static addresses inside the pool.',
      ),
    relayInfoWithoutGiaddr: z
      .enum(['drop', 'accept'])
      .default('drop')
      .describe(
        'A client packet that carries option 82 (relay agent information) but no giaddr: forged by the client, or inserted by a layer-2 switch doing DHCP snooping. drop (default): dropped and counted (reason relay-info-without-giaddr). accept: served as a direct client, option 82 echoed, its sub-options not used.',
      ),
    storage: volumeField({
      field: 'server.storage',
      defaultSize: '256Mi',
      what: 'its lease log',
      description:
        'Relay mode: the persistent volume of each replica, so granted leases survive the pod being replaced (a replica that forgot them could offer a leased address to a second client). nodeLocal servers keep their log in a host directory instead.',
      kind: 'DhcpSubnet',
    }),
  })
  .describe('The DHCP servers: replicas, placement, image and storage.')
  .prefault({});
export type DhcpServer = z.infer<typeof DhcpServer>;

const specObject = z.object({
  cidr: withRules(
    cidrString,
    'The IPv4 network served, as a network address in CIDR notation (10.0.0.0/24).',
    [
      ...networkAddressRules('cidr'),
      {
        rule: '!isCIDR(self) || cidr(self).prefixLength() <= 30',
        message: 'cidr must be /30 or larger to leave addresses for hosts',
        check: (s) => (parseCidr(s)?.prefixLength ?? 0) <= 30,
      },
    ],
  ),
  gateway: ipv4.optional().describe('Default router (option 3); must lie inside cidr.'),
  pools: z
    .array(DhcpPool)
    .min(1)
    .max(16)
    .describe('Ranges handed out dynamically, inside cidr.'),
  excludes: z
    .array(
      withRules(
        z.string().max(31).regex(ipv4RangePattern, { message: 'exclude must be an IPv4 address or a start-end range' }),
        'An address (10.0.0.7) or an inclusive range (10.0.0.10-10.0.0.19) never offered.',
        [
          {
            rule: `!self.contains('-') || ${celIpInt("self.split('-')[0]")} <= ${celIpInt("self.split('-')[1]")}`,
            message: 'excludes[] range start must not be after its end',
            check: (s) => {
              const r = parseIPv4Range(s);
              return !r || r.start <= r.end;
            },
          },
        ],
      ),
    )
    .max(256)
    .optional()
    .describe('Addresses inside the pools never offered: single IPs or start-end ranges.'),
  reservations: z
    .array(DhcpSubnetReservation)
    .max(512)
    .optional()
    .describe('Fixed addresses per client MAC.')
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['mac'] }),
  dnsServers: z.array(ipv4).max(8).optional().describe('DNS servers (option 6).'),
  domainName: z
    .string()
    .max(253)
    .regex(dnsSubdomainPattern, { message: 'domainName must be a lower-case DNS name, labels of 1-63 characters' })
    .optional()
    .describe('Domain name (option 15).'),
  domainSearch: z
    .array(z.string().max(253).regex(dnsSubdomainPattern, { message: 'domainSearch entries must be lower-case DNS names, labels of 1-63 characters' }))
    .max(6)
    .optional()
    .describe('Domain search list (option 119).'),
  leaseTime: withRules(
    z.string().max(32).regex(durationPattern, { message: 'leaseTime must be a duration such as 12h or 90m' }).default('24h'),
    'Lease duration, a Kubernetes duration string (12h, 90m); between 1m and 8760h (365 days). Default 24h.',
    [
      {
        rule: "duration(self) >= duration('1m') && duration(self) <= duration('8760h')",
        message: 'leaseTime must be between 1m and 8760h (365 days)',
        check: (s) => {
          const seconds = parseDurationSeconds(s);
          return seconds === undefined || (seconds >= 60 && seconds <= 31_536_000);
        },
      },
    ],
  ),
  mtu: z.number().int().min(68).max(65535).optional().describe('Interface MTU (option 26).'),
  ntpServers: z.array(ipv4).max(8).optional().describe('NTP servers (option 42).'),
  staticRoutes: z.array(DhcpStaticRoute).max(32).optional().describe('Classless static routes (option 121).'),
  options: z
    .array(DhcpOption)
    .max(32)
    .optional()
    .describe('Other options by code, with typed values.')
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['code'] }),
  server: DhcpServer,
});

/** No two well-formed pools share an address (malformed or backwards ones are reported by their own rules). */
function poolsDisjoint(pools: { start: string; end: string }[]): boolean {
  const ranges: { start: number; end: number }[] = [];
  for (const p of pools) {
    const start = parseIPv4(p.start);
    const end = parseIPv4(p.end);
    if (start !== undefined && end !== undefined && start <= end) ranges.push({ start, end });
  }
  return ranges.every((a) => ranges.filter((b) => b.start <= a.end && a.start <= b.end).length === 1);
}

function inCidr(cidr: string, ip: string): boolean {
  const c = parseCidr(cidr);
  return !c || !isIPv4(ip) || cidrContains(c, ipv4ToNumber(ip));
}

// The pattern check first: the API server runs CEL even when the pattern
// fails, and cidr() of a malformed string is an evaluation error, not false.
const cidrOk = `(self.cidr.matches('^[0-9.]+/([0-9]|[12][0-9]|3[0-2])$') && isCIDR(self.cidr) && cidr(self.cidr).ip().family() == 4)`;

export const DhcpSubnetSpec = withRules(specObject, 'Desired state of a DhcpSubnet.', [
  {
    rule: `!${cidrOk} || !has(self.gateway) || !${celIs4('self.gateway')} || cidr(self.cidr).containsIP(ip(self.gateway))`,
    message: 'gateway must lie inside cidr',
    fieldPath: '.gateway',
    check: (s) => s.gateway === undefined || inCidr(s.cidr, s.gateway),
  },
  {
    rule: `!${cidrOk} || self.pools.all(p, !${celIs4('p.start')} || !${celIs4('p.end')} || (cidr(self.cidr).containsIP(ip(p.start)) && cidr(self.cidr).containsIP(ip(p.end))))`,
    message: 'pools must lie inside cidr',
    fieldPath: '.pools',
    check: (s) => s.pools.every((p) => inCidr(s.cidr, p.start) && inCidr(s.cidr, p.end)),
  },
  {
    rule: `!${cidrOk} || !has(self.reservations) || self.reservations.all(r, !${celIs4('r.ip')} || cidr(self.cidr).containsIP(ip(r.ip)))`,
    message: 'reservations[].ip must lie inside cidr',
    fieldPath: '.reservations',
    check: (s) => (s.reservations ?? []).every((r) => inCidr(s.cidr, r.ip)),
  },
  {
    // Each well-formed pool overlaps exactly one pool: itself.
    rule: `self.pools.all(a, !${celPool('a')} || self.pools.exists_one(b, ${celPool('b')} && ${celIpInt('b.start')} <= ${celIpInt('a.end')} && ${celIpInt('a.start')} <= ${celIpInt('b.end')}))`,
    message: 'pools must not overlap one another (dhcpd refuses overlapping pools)',
    fieldPath: '.pools',
    check: (s) => poolsDisjoint(s.pools),
  },
  {
    rule: '!has(self.reservations) || self.reservations.all(r, self.reservations.exists_one(o, o.ip == r.ip))',
    message: 'reservations[].ip must differ: an address is reserved for one client',
    fieldPath: '.reservations',
    check: (s) => new Set((s.reservations ?? []).map((r) => r.ip)).size === (s.reservations ?? []).length,
  },
]).superRefine((s, ctx) => {
  // Reservation MACs and option codes are list-map keys in the CRD: the API server refuses duplicates itself.
  const macs = new Set<string>();
  (s.reservations ?? []).forEach((r, i) => {
    if (macs.has(r.mac)) ctx.addIssue({ code: 'custom', path: ['reservations', i, 'mac'], message: `duplicate reservation for ${r.mac}` });
    macs.add(r.mac);
  });
  const codes = new Set<number>();
  (s.options ?? []).forEach((o, i) => {
    if (codes.has(o.code)) ctx.addIssue({ code: 'custom', path: ['options', i, 'code'], message: `duplicate option code ${o.code}` });
    codes.add(o.code);
  });
});
export type DhcpSubnetSpec = z.infer<typeof DhcpSubnetSpec>;
export type DhcpSubnetSpecInput = z.input<typeof DhcpSubnetSpec>;

const count = z.number().int().min(0);

export const DhcpSubnetStatus = z
  .object({
    observedGeneration: observedGenerationField,
    capacity: count
      .optional()
      .describe(
        'Addresses the servers serve, as they report it on their Leases: the pools minus the excludes (reservations inside pools count), summed over the shares served. Absent until a server reports.',
      ),
    leased: count.optional().describe('Addresses under an active lease, summed over the servers\' reports.'),
    available: count.optional().describe('capacity - leased - quarantined.'),
    quarantined: count.optional().describe('Addresses out of the pool because of a conflict (DECLINEd by a client, or answering a ping), as the servers report.'),
    quarantinedAddresses: z
      .array(
        z.object({
          ip: z.string().max(15).describe('The address.'),
          reason: z.enum(['decline', 'ping']).describe('decline: a client found it in use (DHCPDECLINE); ping: it answered the server\'s ping before an offer.'),
          until: z.string().describe('When it returns to the pool (RFC 3339).').meta({ format: 'date-time' }),
        }),
      )
      .max(64)
      .optional()
      .describe('The quarantined addresses that return to the pool first (at most 64).'),
    recentConflicts: count.optional().describe('Address conflicts within server.conflictThreshold.window, summed over the servers.'),
    conditions: conditionsField,
  })
  .describe('Observed state of a DhcpSubnet, rebuilt on every pass from its children and from what its servers report (Degraded with reason ConfigRejected when one refuses its config; Progressing until each serves the current generation).');
export type DhcpSubnetStatus = z.infer<typeof DhcpSubnetStatus>;

export const DhcpSubnet = resourceSchema('DhcpSubnet', DhcpSubnetSpec, DhcpSubnetStatus).describe(
  'An IPv4 subnet served by the operator\'s DHCP servers.',
);
export type DhcpSubnet = z.infer<typeof DhcpSubnet>;
export type DhcpSubnetInput = z.input<typeof DhcpSubnet>;
