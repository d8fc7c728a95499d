import { z } from 'zod';
import { withRules } from './common.ts';
import { durationPattern, parseDurationMs, parseDurationSeconds } from './duration.ts';

// The limits every HTTP listener of our servers applies (macd's API, the
// metrics and probe ports of the operator, macd and dhcpd, dhcpd's API), so
// that no client, slow, idle or hostile, can exhaust a server's memory,
// sockets or time. One schema: the defaults and checks of the CLI flags, and
// the MacPool's spec.allocator.limits (src/api/macd-limits.ts).

/** A duration between two bounds, checked by CEL at admission and by zod. */
function boundedDuration(field: string, min: [string, number], max: [string, number], description: string) {
  return withRules(z.string().max(32).regex(durationPattern, { message: `${field} must be a duration such as 10s or 1m` }), `${description} A duration (${min[0]} to ${max[0]}).`, [
    {
      rule: `duration(self) >= duration('${min[0]}') && duration(self) <= duration('${max[0]}')`,
      message: `${field} must be between ${min[0]} and ${max[0]}`,
      check: (s) => {
        const seconds = parseDurationSeconds(s);
        return seconds === undefined || (seconds >= min[1] && seconds <= max[1]);
      },
    },
  ]);
}

export const httpLimitDefaults = {
  maxRequestBytes: 1_048_576,
  headersTimeout: '10s',
  requestTimeout: '30s',
  keepAliveTimeout: '65s',
  maxConnections: 1024,
  maxRequestsPerConnection: 10_000,
} as const;

/** The fields, without defaults: the CLI adds the defaults, a MacPool leaves an unset field to them. */
export const httpLimitFields = {
  maxRequestBytes: z
    .number()
    .int()
    .min(1024)
    .max(256 * 1024 * 1024)
    .describe(`Largest request body in bytes; a larger one is answered 413 body_too_large before it is read (by its Content-Length, or as soon as a chunked body passes it). Default ${httpLimitDefaults.maxRequestBytes} (1 MiB).`),
  headersTimeout: boundedDuration(
    'headersTimeout',
    ['1s', 1],
    ['10m', 600],
    `Time a client has to send a request's headers (one that connects and sends nothing counts too); a slower one is answered 408 and disconnected. Default ${httpLimitDefaults.headersTimeout}; at most requestTimeout.`,
  ),
  requestTimeout: boundedDuration(
    'requestTimeout',
    ['1s', 1],
    ['1h', 3600],
    `Time a client has to send a whole request, headers and body; a slower one is answered 408 and disconnected. Default ${httpLimitDefaults.requestTimeout}.`,
  ),
  keepAliveTimeout: boundedDuration(
    'keepAliveTimeout',
    ['1s', 1],
    ['1h', 3600],
    `How long an idle keep-alive connection stays open (announced to clients in the Keep-Alive header). Default ${httpLimitDefaults.keepAliveTimeout}: longer than the 60 s idle timeout of common proxies, so they close first.`,
  ),
  maxConnections: z
    .number()
    .int()
    .min(1)
    .max(65_536)
    .describe(`Open connections at most; a connection beyond it is closed at once. Default ${httpLimitDefaults.maxConnections}.`),
  maxRequestsPerConnection: z
    .number()
    .int()
    .min(0)
    .max(1_000_000_000)
    .describe(
      `Requests served on one keep-alive connection before the answer asks the client to reconnect (Connection: close), so long-lived clients spread over the replicas behind a Service; 0: no limit. Default ${httpLimitDefaults.maxRequestsPerConnection}.`,
    ),
};

const headersWithinRequest = {
  rule: `duration(has(self.headersTimeout) ? self.headersTimeout : '${httpLimitDefaults.headersTimeout}') <= duration(has(self.requestTimeout) ? self.requestTimeout : '${httpLimitDefaults.requestTimeout}')`,
  message: 'headersTimeout must not be longer than requestTimeout (the headers are part of the request)',
  fieldPath: '.headersTimeout',
  check: (l: { headersTimeout?: string | undefined; requestTimeout?: string | undefined }) =>
    (parseDurationMs(l.headersTimeout ?? httpLimitDefaults.headersTimeout) ?? 0) <= (parseDurationMs(l.requestTimeout ?? httpLimitDefaults.requestTimeout) ?? Infinity),
};

/** The rule between fields (headers within the request's time), for a limits object whose fields may be unset. */
export const httpLimitRules = [headersWithinRequest];

/** Every listener's limits, each field defaulted: what a server runs with. */
export const HttpLimits = withRules(
  z.object({
    maxRequestBytes: httpLimitFields.maxRequestBytes.default(httpLimitDefaults.maxRequestBytes),
    headersTimeout: httpLimitFields.headersTimeout.default(httpLimitDefaults.headersTimeout),
    requestTimeout: httpLimitFields.requestTimeout.default(httpLimitDefaults.requestTimeout),
    keepAliveTimeout: httpLimitFields.keepAliveTimeout.default(httpLimitDefaults.keepAliveTimeout),
    maxConnections: httpLimitFields.maxConnections.default(httpLimitDefaults.maxConnections),
    maxRequestsPerConnection: httpLimitFields.maxRequestsPerConnection.default(httpLimitDefaults.maxRequestsPerConnection),
  }),
  'Limits of an HTTP listener: request size, timeouts, connections.',
  httpLimitRules,
);
export type HttpLimits = z.infer<typeof HttpLimits>;
export type HttpLimitsInput = z.input<typeof HttpLimits>;

/** The limits in the units node:http takes (bytes, milliseconds, counts). */
export interface HttpLimitValues {
  maxRequestBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
  maxRequestsPerConnection: number;
}

export function httpLimitValues(input: HttpLimitsInput = {}): HttpLimitValues {
  const l = HttpLimits.parse(input);
  return {
    maxRequestBytes: l.maxRequestBytes,
    headersTimeoutMs: parseDurationMs(l.headersTimeout)!,
    requestTimeoutMs: parseDurationMs(l.requestTimeout)!,
    keepAliveTimeoutMs: parseDurationMs(l.keepAliveTimeout)!,
    maxConnections: l.maxConnections,
    maxRequestsPerConnection: l.maxRequestsPerConnection,
  };
}
