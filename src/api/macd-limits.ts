import { z } from 'zod';
import { withRules } from './common.ts';
import { HttpLimits, httpLimitDefaults, httpLimitFields, httpLimitRules, httpLimitValues, type HttpLimitValues } from './http-limits.ts';

// The limits of macd's API: those of every listener (src/api/http-limits.ts)
// plus the bulk size and the length of the ids a mac_state carries. The
// flags of `alcor-operator macd` and the MacPool's spec.allocator.limits.

/**
 * The characters of project_id, vpc_id, port_id and range_id: what Alcor
 * sends (UUIDs with or without dashes, Keystone's 32 hex digits, names such as
 * port-1 or vm1.eth0), and nothing that needs escaping in JSON, a log line or
 * a URL path.
 */
export const idPattern = /^[A-Za-z0-9._:@-]+$/;
export const idCharacters = 'letters, digits and . _ : @ -';

export const macdLimitDefaults = { ...httpLimitDefaults, maxBulk: 10_000, maxIdLength: 64 } as const;

const macdOnlyFields = {
  maxBulk: z
    .number()
    .int()
    .min(1)
    .max(100_000)
    .describe(
      `Most mac_states in one bulk request; a larger request is answered 413 bulk_too_large and allocates nothing. The body limit of the bulk paths grows to fit this many mac_states with ids of maxIdLength. Default ${macdLimitDefaults.maxBulk}.`,
    ),
  maxIdLength: z
    .number()
    .int()
    .min(36)
    .max(255)
    .describe(
      `Longest project_id, vpc_id, port_id and range_id, in characters (${idCharacters}); a longer one is answered 400 invalid_request naming the field. Default ${macdLimitDefaults.maxIdLength} (a UUID has 36).`,
    ),
};

export const macdLimitFields = { ...httpLimitFields, ...macdOnlyFields };
export type MacdLimitKey = keyof typeof macdLimitFields;

/** The flag of `alcor-operator macd` that sets each limit (the MacPool's limits are rendered as these). */
export const macdLimitFlags: Record<MacdLimitKey, string> = {
  maxRequestBytes: 'max-request-bytes',
  headersTimeout: 'headers-timeout',
  requestTimeout: 'request-timeout',
  keepAliveTimeout: 'keep-alive-timeout',
  maxConnections: 'max-connections',
  maxRequestsPerConnection: 'max-requests-per-connection',
  maxBulk: 'max-bulk',
  maxIdLength: 'max-id-length',
};

/** What macd runs with: every limit, defaulted. */
export const MacdLimits = withRules(
  z.object({
    // Every listener's, with their defaults.
    ...HttpLimits.shape,
    maxBulk: macdLimitFields.maxBulk.default(macdLimitDefaults.maxBulk),
    maxIdLength: macdLimitFields.maxIdLength.default(macdLimitDefaults.maxIdLength),
  }),
  "Limits of macd's API.",
  httpLimitRules,
);
export type MacdLimits = z.infer<typeof MacdLimits>;
export type MacdLimitsInput = z.input<typeof MacdLimits>;

/** A MacPool's limits: an unset field keeps macd's default. */
export const MacPoolLimits = withRules(
  z.object({
    maxRequestBytes: macdLimitFields.maxRequestBytes.optional(),
    maxBulk: macdLimitFields.maxBulk.optional(),
    maxIdLength: macdLimitFields.maxIdLength.optional(),
    maxConnections: macdLimitFields.maxConnections.optional(),
    maxRequestsPerConnection: macdLimitFields.maxRequestsPerConnection.optional(),
    headersTimeout: macdLimitFields.headersTimeout.optional(),
    requestTimeout: macdLimitFields.requestTimeout.optional(),
    keepAliveTimeout: macdLimitFields.keepAliveTimeout.optional(),
  }),
  "Engine builtin only: limits of the allocator API, so that no client, slow, idle or hostile, exhausts an allocator's memory, disk or connections. An unset field keeps macd's default (docs/macd.md, Limits).",
  httpLimitRules,
);
export type MacPoolLimits = z.infer<typeof MacPoolLimits>;

/** The limits in the units the server takes. */
export interface MacdLimitValues extends HttpLimitValues {
  maxBulk: number;
  maxIdLength: number;
  /** The body limit of the bulk paths: maxRequestBytes, or more to fit maxBulk mac_states. */
  maxBulkRequestBytes: number;
}

/**
 * Bytes of one mac_state in a bulk body, written without spaces, whose ids
 * have `maxIdLength` characters, plus room for a client that writes spaces.
 */
export function macStateBytes(maxIdLength: number): number {
  const id = 'x'.repeat(maxIdLength);
  return JSON.stringify({ mac_address: 'aa:bb:cc:00:00:00', project_id: id, vpc_id: id, port_id: id, state: 'Inactive' }).length + 32;
}

export function macdLimitValues(input: MacdLimitsInput = {}): MacdLimitValues {
  const l = MacdLimits.parse(input);
  return {
    ...httpLimitValues(l),
    maxBulk: l.maxBulk,
    maxIdLength: l.maxIdLength,
    maxBulkRequestBytes: Math.max(l.maxRequestBytes, l.maxBulk * macStateBytes(l.maxIdLength) + 64),
  };
}
