// One error type for every refusal, carrying the HTTP status the API answers
// with and a stable machine-readable reason (also the metrics label). Its body
// is every server API's (src/api/http-error.ts).

export type ErrorReason =
  | 'malformed_mac'
  | 'malformed_json'
  | 'invalid_request'
  | 'missing_field'
  | 'outside_ranges'
  | 'unknown_range'
  | 'range_exists'
  | 'range_protected'
  | 'range_in_use'
  | 'range_inactive'
  | 'already_allocated'
  | 'not_allocated'
  | 'excluded'
  | 'pool_full'
  | 'owned_elsewhere'
  /** Replica mode: a Lease of the pool cannot be read (a newer format), so no block is claimed. */
  | 'claims_blocked'
  /** A peer request in a newer protocol than this release speaks (src/api/formats.ts). */
  | 'unsupported_format'
  | 'not_found'
  | 'method_not_allowed'
  | 'body_too_large'
  | 'bulk_too_large'
  | 'body_fragmented'
  | 'upstream_failed'
  | 'internal';

export class MacdError extends Error {
  readonly status: number;
  readonly reason: ErrorReason;
  constructor(status: number, reason: ErrorReason, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}
