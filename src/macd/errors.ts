// One error type for every refusal, carrying the HTTP status the API answers
// with and a stable machine-readable reason (also the metrics label).

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
  | 'not_found'
  | 'method_not_allowed'
  | 'body_too_large'
  | 'bulk_too_large'
  | 'body_fragmented'
  | 'upstream_failed'
  | 'internal';

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Payload Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

export class MacdError extends Error {
  readonly status: number;
  readonly reason: ErrorReason;
  constructor(status: number, reason: ErrorReason, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
  get title(): string {
    return TITLES[this.status] ?? 'Error';
  }
}
