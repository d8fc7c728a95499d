import { z } from 'zod';
import {
  conditionsField,
  dnsLabel,
  imageField,
  observedGenerationField,
  portField,
  ResourceRequirements,
  resourceSchema,
  volumeField,
  withRules,
  type KindInfo,
} from './common.ts';
import { MacPoolLimits } from './macd-limits.ts';
import { MAX_RANGE_SIZE, macRangeOrdered, macRangeSizeOk, macRangeUnicast, type MacBounds } from './mac-range.ts';
import { isUnicastMac, macAddressPattern, macPrefixPattern, ouiPattern, parseMac } from './mac.ts';
import { AlcorIgnite, retiredRule } from './alcor.ts';

// MacPool: a pool of MAC addresses served over Alcor's MAC manager REST API,
// either by our own allocator (engine builtin: `alcor-operator macd`) or by
// Alcor's upstream Java MAC manager (engine alcor).

export const macPoolKind: KindInfo = {
  kind: 'MacPool',
  plural: 'macpools',
  singular: 'macpool',
  shortNames: ['mp'],
  listKind: 'MacPoolList',
};

const mac = z
  .string()
  .max(17)
  .regex(macAddressPattern, { message: 'must be a lower-case, colon-separated MAC such as aa:bb:cc:00:00:01' });

/** CEL: a lower-case MAC string as an int (Kubernetes' CEL has no hex parser): the value of its 12 hex digits. */
function celMacInt(e: string): string {
  const digits = [0, 1, 3, 4, 6, 7, 9, 10, 12, 13, 15, 16];
  return `(${digits.map((pos, k) => `'0123456789abcdef'.indexOf(${e}.charAt(${pos})) * ${16 ** (11 - k)}`).join(' + ')})`;
}
const celIsMac = (e: string) => `${e}.matches('${macAddressPattern.source}')`;

/** A check of a range's bounds as numbers; true while either is malformed (its pattern reports that). */
function onBounds(check: (b: MacBounds) => boolean): (r: { from: string; to: string }) => boolean {
  return (r) => {
    const from = parseMac(r.from);
    const to = parseMac(r.to);
    return from === undefined || to === undefined || check({ from, to });
  };
}

export const MacRange = withRules(
  z.object({
    name: dnsLabel.describe('Range id, as Alcor names it (range_id); a DNS label such as range0.'),
    from: mac.describe('First address of the range (inclusive), e.g. aa:bb:cc:00:00:00.'),
    to: mac.describe('Last address of the range (inclusive), e.g. aa:bb:cc:ff:ff:ff.'),
  }),
  `A named, inclusive range of at most ${MAX_RANGE_SIZE} MAC addresses (one OUI's worth). It may lie outside the OUI: a pool holds several OUIs' worth in several ranges.`,
  [
    {
      // Lower-case, fixed-width MACs compare as strings exactly as numbers.
      rule: 'self.from <= self.to',
      message: 'range from must not be after to',
      fieldPath: '.from',
      check: onBounds(macRangeOrdered),
    },
    {
      rule: `!${celIsMac('self.from')} || !${celIsMac('self.to')} || ${celMacInt('self.to')} - ${celMacInt('self.from')} < ${MAX_RANGE_SIZE}`,
      message: `a range may hold at most ${MAX_RANGE_SIZE} addresses (one OUI's worth), the most the allocator serves in one range; split a larger one into several ranges`,
      fieldPath: '.to',
      check: onBounds(macRangeSizeOk),
    },
    {
      rule: "self.from.matches('^[0-9a-f][02468ace]') && self.to.startsWith(self.from.substring(0, 2))",
      message: 'range from and to must be unicast and share their first octet, so the range holds no multicast address',
      fieldPath: '.to',
      check: (r) => macRangeUnicast(r.from, r.to),
    },
  ],
);
export type MacRange = z.infer<typeof MacRange>;

export const MacPoolAllocator = z
  .object({
    replicas: z
      .number()
      .int()
      .min(1, { message: 'replicas must be at least 1' })
      .max(64)
      .default(2)
      .describe(
        'Allocator pods. Default 2: a restart or a node drain never stops allocation; the replicas share the ranges through coordination.k8s.io Leases so they never hand out the same MAC.',
      ),
    image: imageField
      .optional()
      .describe('Engine builtin only: image that runs `alcor-operator macd`. Default: the operator image.'),
    resources: ResourceRequirements.optional(),
    storage: volumeField({
      field: 'allocator.storage',
      defaultSize: '1Gi',
      what: 'durable allocation state',
      description: 'Engine builtin only: the persistent volume of each replica (acknowledged allocations survive restarts).',
      kind: 'MacPool',
    }),
    servicePort: portField.default(9005).describe('Port of the allocator Service (Alcor uses 9005).'),
    limits: MacPoolLimits.optional(),
  })
  .prefault({})
  .describe('The pods serving the pool: replicas, image, resources, storage, Service port and API limits.');
export type MacPoolAllocator = z.infer<typeof MacPoolAllocator>;

const windowSize = (level: string, share: string, dflt: number) =>
  z
    .number()
    .int()
    .min(1)
    .max(100000)
    .default(dflt)
    .describe(`Addresses tried around a random pick while ${share} of the range is in use (macmanager.pool.${level}-request-numbers; Alcor's default ${dflt}).`);

export const MacPoolSearchWindows = z
  .object({
    low: windowSize('low', '10-25 %', 10),
    middle: windowSize('middle', '25-50 %', 20),
    high: windowSize('high', '50-75 %', 60),
    top: windowSize('top', 'over 75 %', 400),
  })
  .prefault({})
  .describe(
    "How Alcor's MAC manager searches for a free MAC: below 10 % use it tries one random address; above, a window of addresses around a random one, wider as the range fills.",
  );

export const MacPoolAlcor = withRules(
  z.object({
    image: imageField.default('mac_manager:v1.0').describe("Image of Alcor's MAC manager."),
    ignite: AlcorIgnite,
    retryLimit: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(10)
      .describe("Searches for a free MAC before an allocation fails (macmanager.retrylimit). Default 10, as in Alcor's kubernetes/services/mac_manager.yaml."),
    searchWindows: MacPoolSearchWindows,
    poolSize: z
      .number()
      .int()
      .optional()
      .describe('Retired: Alcor never reads macmanager.pool.size; searchWindows holds what it reads. Refused unless it is the old default 100.'),
  }),
  "Engine alcor only: settings of Alcor's upstream Java MAC manager. Absent: all defaults.",
  [retiredRule('poolSize', 'Alcor never reads macmanager.pool.size; set searchWindows (macmanager.pool.*-request-numbers) instead', 100)],
);
export type MacPoolAlcor = z.infer<typeof MacPoolAlcor>;

const specObject = z.object({
  oui: withRules(
    z
      .string()
      .max(8)
      .regex(ouiPattern, { message: 'oui must be three lower-case octets such as aa:bb:cc' }),
    'Organizationally unique identifier (three octets, aa:bb:cc) of the default range and of Alcor\'s macmanager.oui. Must be unicast.',
    [
      {
        rule: "!self.matches('^[0-9a-f][13579bdf]')",
        message: 'oui must be unicast: the low bit of the first octet (the multicast bit) must be 0',
        check: isUnicastMac,
      },
    ],
  ),
  ranges: z
    .array(MacRange)
    .max(64)
    .optional()
    .describe(
      'Named ranges handed out; the first is the default. Empty: one range range0 = oui:00:00:00 to oui:ff:ff:ff. Ranges may overlap (a tenant range inside range0, as Alcor allows): a MAC is handed out once whichever range it is asked through, and a request naming no range uses addresses of a narrower range last.',
    )
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['name'] }),
  exclusions: z
    .array(
      z
        .string()
        .max(20)
        .regex(macPrefixPattern, { message: 'exclusion must be a full MAC (60:d7:55:f7:c2:09) or a prefix (fe:16:11:*)' }),
    )
    .max(1024)
    .optional()
    .describe('MACs never handed out: single addresses (60:d7:55:f7:c2:09) or prefixes of 1-5 octets (fe:16:11:*).')
    .meta({ 'x-kubernetes-list-type': 'set' }),
  engine: z
    .enum(['builtin', 'alcor'])
    .default('builtin')
    .describe("builtin (default): our allocator `alcor-operator macd` on a StatefulSet. alcor: Alcor's Java MAC manager with Ignite."),
  allocator: MacPoolAllocator,
  alcor: MacPoolAlcor.optional(),
  allowedNamespaces: z
    .array(dnsLabel)
    .max(64)
    .optional()
    .describe("Namespaces whose pods may reach the allocator API (NetworkPolicy). The pool's own namespace always may; empty: only it.")
    .meta({ 'x-kubernetes-list-type': 'set' }),
});

export const MacPoolSpec = withRules(specObject, 'Desired state of a MacPool.', [
  {
    rule: "self.engine != 'alcor' || ((!has(self.ranges) || size(self.ranges) == 0) && (!has(self.exclusions) || size(self.exclusions) == 0))",
    message: "ranges and exclusions need engine builtin: Alcor's MAC manager takes only an oui",
    fieldPath: '.engine',
    check: (s) => s.engine !== 'alcor' || ((s.ranges ?? []).length === 0 && (s.exclusions ?? []).length === 0),
  },
]).superRefine((s, ctx) => {
  // Range names are a list-map key in the CRD: the API server refuses duplicates itself.
  const seen = new Set<string>();
  (s.ranges ?? []).forEach((r, i) => {
    if (seen.has(r.name)) ctx.addIssue({ code: 'custom', path: ['ranges', i, 'name'], message: `duplicate range name "${r.name}"` });
    seen.add(r.name);
  });
  const ex = new Set<string>();
  (s.exclusions ?? []).forEach((e, i) => {
    if (ex.has(e)) ctx.addIssue({ code: 'custom', path: ['exclusions', i], message: `duplicate exclusion "${e}"` });
    ex.add(e);
  });
});
export type MacPoolSpec = z.infer<typeof MacPoolSpec>;
export type MacPoolSpecInput = z.input<typeof MacPoolSpec>;

const count = z.number().int().min(0);

export const MacPoolStatus = z
  .object({
    observedGeneration: observedGenerationField,
    capacity: count
      .optional()
      .describe(
        "Addresses the allocator replicas serve, as they report it on their Leases: the ranges they took minus the exclusions (a range they refused is not counted; the least of the replicas while they disagree). Absent until a replica reports, and for engine alcor, whose MAC manager reports nothing.",
      ),
    allocated: count.optional().describe('Addresses handed out and not released, summed over the replicas\' reports.'),
    available: count.optional().describe('capacity - allocated.'),
    endpoint: z.string().optional().describe('In-cluster URL of the allocator API (Alcor MAC manager REST).'),
    conditions: conditionsField,
  })
  .describe('Observed state of a MacPool, rebuilt on every pass from its children and from what its allocator replicas report (Degraded with reason ConfigRejected when one refuses part of its config; Progressing until each serves the current generation).');
export type MacPoolStatus = z.infer<typeof MacPoolStatus>;

export const MacPool = resourceSchema('MacPool', MacPoolSpec, MacPoolStatus).describe(
  'A pool of MAC addresses served over Alcor\'s MAC manager REST API.',
);
export type MacPool = z.infer<typeof MacPool>;
export type MacPoolInput = z.input<typeof MacPool>;
