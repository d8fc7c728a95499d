// The fuzz suite's HTTP client: a request written byte by byte on a raw
// loopback socket (so a case may break the framing node's own client would
// refuse to send), and the status of the answer. Plus the arbitraries every
// listener shares: methods, headers, junk bodies and framings.

import { connect } from 'node:net';
import fc from 'fast-check';
import { FRAGMENTS_FREE, MIN_FRAGMENT_BYTES } from '../../src/process/http-limits.ts';

/** How the body is framed on the wire. */
export type Framing =
  /** Content-Length: the body's length. */
  | 'length'
  /** Transfer-Encoding: chunked, in chunks of `chunk` bytes. */
  | 'chunked'
  /** Content-Length larger than the body, then the client stops: an incomplete request. */
  | 'truncated'
  /** No framing header at all (a body, if any, is junk after the request). */
  | 'none';

export interface WireRequest {
  method: string;
  /** The request target as sent (already encoded, or deliberately not). */
  target: string;
  headers: [string, string][];
  body: Buffer;
  framing: Framing;
  chunk?: number;
  /** Bytes sent instead of a request line and headers (garbage, a broken request line). */
  raw?: Buffer;
}

export interface WireAnswer {
  /** The final status; 0: no answer before the timeout or the connection closed without one. */
  status: number;
  /** The answer's body (up to 16 MiB). */
  body: string;
  ms: number;
}

/** Whether the request is incomplete or not a request: the client then half-closes, and the server may close without an answer. */
export function broken(r: WireRequest): boolean {
  return r.raw !== undefined || r.framing === 'truncated';
}

/**
 * Whether the server cuts the connection while the client is still sending,
 * so the client may not read the refusal: a body in more than FRAGMENTS_FREE
 * chunks of under MIN_FRAGMENT_BYTES (400 body_fragmented, src/process/http-limits.ts).
 */
export function cut(r: WireRequest): boolean {
  const chunk = r.chunk ?? 4096;
  return r.framing === 'chunked' && chunk < MIN_FRAGMENT_BYTES && r.body.length > FRAGMENTS_FREE * chunk;
}

/** The request's bytes (headers and body), with Connection: close so the answer ends with the connection. */
export function encode(r: WireRequest): Buffer {
  if (r.raw) return r.raw;
  const lines = [`${r.method} ${r.target} HTTP/1.1`, 'Host: 127.0.0.1'];
  for (const [k, v] of r.headers) lines.push(`${k}: ${v}`);
  lines.push('Connection: close');
  const parts: Buffer[] = [];
  if (r.framing === 'length') lines.push(`Content-Length: ${r.body.length}`);
  if (r.framing === 'truncated') lines.push(`Content-Length: ${r.body.length + 100}`);
  if (r.framing === 'chunked') {
    lines.push('Transfer-Encoding: chunked');
    const size = Math.max(1, r.chunk ?? 4096);
    for (let i = 0; i < r.body.length; i += size) {
      const piece = r.body.subarray(i, i + size);
      parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
  } else {
    parts.push(r.body);
  }
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), ...parts]);
}

/**
 * Sends one request on a new connection and reads the answer until the server
 * closes it (or `timeoutMs`). A broken request is followed by a half-close, so
 * the server need not wait for its timeouts; a complete one is not (node's
 * server drops a request whose client half-closed).
 */
export function send(port: number, r: WireRequest, timeoutMs: number): Promise<WireAnswer> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const text = Buffer.concat(chunks).toString('latin1');
      // Skip interim answers (100 Continue); the final one decides.
      const statuses = [...text.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
      const status = statuses.find((s) => s >= 200) ?? 0;
      const at = text.indexOf('\r\n\r\n', Math.max(0, text.search(new RegExp(`HTTP/1\\.[01] ${status}`))));
      resolve({ status, body: at < 0 ? '' : Buffer.from(text.slice(at + 4), 'latin1').toString('utf8'), ms: performance.now() - t0 });
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (d: Buffer) => {
      if (size < 16 * 1024 * 1024) chunks.push(d);
      size += d.length;
    });
    socket.on('error', () => {});
    socket.on('close', done);
    if (broken(r)) socket.end(encode(r));
    else socket.write(encode(r));
  });
}

// ---- shared arbitraries ----

export const methods = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE') },
  { weight: 2, arbitrary: fc.constantFrom('HEAD', 'PATCH', 'OPTIONS', 'TRACE', 'CONNECT', 'get', 'PROPFIND') },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Z!#$%&'*+.^_`|~-]{1,12}$/) },
);

/** Header values: printable text, long ones, odd bytes (latin1), and values that matter to a server. */
const headerValue = fc.oneof(
  fc.string({ maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, ' ')),
  fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', '*/*', '100-continue', 'chunked', 'gzip', '0', '-1', '99999999999999999999', 'close', 'keep-alive'),
  fc.nat({ max: 20_000 }).map((n) => 'v'.repeat(n)),
  fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b).toString('latin1').replace(/[\r\n]/g, ' ')),
);

const headerName = fc.oneof(
  fc.constantFrom('Content-Type', 'Accept', 'Expect', 'X-Macd-Forwarded', 'Content-Encoding', 'Transfer-Encoding', 'Content-Length', 'Upgrade', 'Authorization', 'Cookie', 'X-Forwarded-For', 'Range', 'Trailer'),
  fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,30}$/),
);

/** Extra headers: mostly none, sometimes a few, occasionally many. */
export const headers = fc.oneof(
  { weight: 5, arbitrary: fc.constant([] as [string, string][]) },
  { weight: 4, arbitrary: fc.array(fc.tuple(headerName, headerValue), { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.array(fc.tuple(headerName, headerValue), { minLength: 20, maxLength: 120 }) },
);

export const jsonContentType = fc.constantFrom<[string, string][]>([['Content-Type', 'application/json']], [['Content-Type', 'application/json']], [], [['Content-Type', 'text/plain']]);

/** Bodies that are not JSON of the API: junk, broken JSON, deep nesting, invalid UTF-8, large. */
export const junkBody: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
  fc.string({ maxLength: 200 }).map((s) => Buffer.from(s)),
  fc.json({ maxDepth: 4 }).map((s) => Buffer.from(s)),
  fc.nat({ max: 200_000 }).map((n) => Buffer.from('['.repeat(n) + ']'.repeat(n))),
  fc.nat({ max: 100_000 }).map((n) => Buffer.from('{"a":'.repeat(n))),
  fc.constantFrom(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), Buffer.from('\ufeff{}'), Buffer.from('null'), Buffer.from('[]'), Buffer.from('""'), Buffer.from('1e999'), Buffer.from('{"__proto__":{"x":1}}')),
  // Over the 1 MiB default body limit (and, rarely, over the bulk paths' too).
  fc.constantFrom(1_048_577, 2_000_000, 4_000_000).map((n) => Buffer.alloc(n, 0x20)),
);

export const framing: fc.Arbitrary<{ framing: Framing; chunk?: number }> = fc.oneof(
  { weight: 14, arbitrary: fc.constant({ framing: 'length' as const }) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 70_000 }).map((chunk) => ({ framing: 'chunked' as const, chunk })) },
  { weight: 1, arbitrary: fc.constant({ framing: 'truncated' as const }) },
  { weight: 1, arbitrary: fc.constant({ framing: 'none' as const }) },
);

/** Not a request at all: garbage, a broken request line, a request smuggling attempt, HTTP/0.9 or 2. */
export const rawRequest: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 500 }).map((b) => Buffer.from(b)),
  fc.constantFrom(
    'GET /macs/ranges\r\n\r\n',
    'GET /macs/ranges HTTP/2.0\r\nHost: x\r\n\r\n',
    'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
    'POST /macs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    'POST /macs HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!',
    'POST /macs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n',
    'POST /macs HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n',
    'GET /macs/ranges HTTP/1.1\r\n Host: x\r\n\r\n',
    'GET /macs/ranges HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
  ).map((s) => Buffer.from(s, 'latin1')),
  fc.nat({ max: 100_000 }).map((n) => Buffer.from(`GET /macs/${'a'.repeat(n)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)),
);
