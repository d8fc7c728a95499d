// The JSON error body of every server API (macd's Alcor MAC manager API,
// dhcpd's lease API): Spring Boot's error shape, which Alcor's Java clients
// already parse, plus a stable machine-readable `reason`. kubectl-alcor reads
// it to print a one-line error.

export interface ErrorBody {
  status: number;
  /** The HTTP status text ("Conflict"). */
  error: string;
  /** Stable, snake_case: what a client branches on. */
  reason: string;
  /** One line for a human. */
  message: string;
  path: string;
  timestamp: string;
  /** Items a refusal is about (an import's conflicts), when there are several. */
  details?: string[];
}

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

export function errorTitle(status: number): string {
  return TITLES[status] ?? 'Error';
}

export function errorBody(status: number, reason: string, message: string, path: string, details?: string[], now = new Date()): ErrorBody {
  return { status, error: errorTitle(status), reason, message, path, timestamp: now.toISOString(), ...(details && details.length > 0 ? { details } : {}) };
}

/** The error body in an answer's text, or undefined when the text is not one (a proxy's own error page). */
export function readErrorBody(text: string): ErrorBody | undefined {
  try {
    const o = JSON.parse(text) as Partial<ErrorBody>;
    if (typeof o !== 'object' || o === null || typeof o.reason !== 'string' || typeof o.message !== 'string') return undefined;
    return {
      status: typeof o.status === 'number' ? o.status : 0,
      error: typeof o.error === 'string' ? o.error : '',
      reason: o.reason,
      message: o.message,
      path: typeof o.path === 'string' ? o.path : '',
      timestamp: typeof o.timestamp === 'string' ? o.timestamp : '',
      ...(Array.isArray(o.details) ? { details: o.details.filter((d): d is string => typeof d === 'string') } : {}),
    };
  } catch {
    return undefined;
  }
}
