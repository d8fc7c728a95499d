// The one limit layer under every HTTP listener of our servers (macd's API,
// the metrics and probe ports, dhcpd's API): a node:http server with the
// timeouts and connection limits of HttpLimits (src/api/http-limits.ts), and
// the request body read here, never more than its limit, before a handler
// sees it. A body over the limit is answered 413 body_too_large by its
// Content-Length (before the client sends it when it asked `Expect:
// 100-continue`) or as soon as a chunked body passes it: the rest of the body
// is never kept in memory.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { httpLimitValues, type HttpLimitValues } from '../api/http-limits.ts';

/** A connection with no traffic either way for this long is closed: a client that stopped reading its answer. */
export const IDLE_SOCKET_MS = 120_000;
/** After a 413, at most this much of the body is read (and thrown away) so the client gets to read the answer... */
const LINGER_BYTES = 64 * 1024 * 1024;
/** ...during at most this long; then the connection is cut. */
const LINGER_MS = 5000;

/** The layer's own refusal: a body over its limit. */
export type LimitReason = 'body_too_large';

/** Writes a refusal in the listener's error shape. */
export type Refuse = (req: IncomingMessage, res: ServerResponse, status: 413, reason: LimitReason, message: string) => void;

export interface LimitedServerOptions {
  limits?: HttpLimitValues;
  /** The body limit of one request (default limits.maxRequestBytes): a route may allow more. Called once the headers are in. */
  maxBody?: (req: IncomingMessage) => number;
  /** How the listener answers the layer's own refusal (413 body_too_large). Default: the JSON error shape. */
  refuse?: Refuse;
  /** Handles a request whose body, at most maxBody bytes, has been read. */
  handle: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
}

/** The JSON error shape of our APIs (Spring Boot's, plus a stable reason). */
export const refuseJson: Refuse = (req, res, status, reason, message) => {
  const text = JSON.stringify({ status, error: 'Payload Too Large', reason, message, path: clip(pathOf(req.url)), timestamp: new Date().toISOString() });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
};

/** The path of a request URL, without the query. */
export function pathOf(url: string | undefined): string {
  const u = url ?? '/';
  const q = u.indexOf('?');
  return q < 0 ? u : u.slice(0, q);
}

/** A client's text cut to `max` characters for an error message or a log line, so an answer never echoes a huge input. */
export function clip(text: string, max = 256): string {
  return text.length > max ? `${text.slice(0, max)}... (${text.length} characters)` : text;
}

/** The declared length of a request's body; undefined when chunked or absent. */
function declaredLength(req: IncomingMessage): number | undefined {
  const v = req.headers['content-length'];
  return v === undefined ? undefined : Number(v);
}

export function createLimitedServer(o: LimitedServerOptions): Server {
  const limits = o.limits ?? httpLimitValues();
  const refuse = o.refuse ?? refuseJson;
  const maxBody = (req: IncomingMessage): number => o.maxBody?.(req) ?? limits.maxRequestBytes;

  /**
   * Answers 413 before the body is read. A client that is already sending it
   * would see its connection reset before it reads the answer, so the rest is
   * read and thrown away, but only up to LINGER_BYTES and LINGER_MS: then the
   * connection is cut. Nothing of it is kept.
   */
  const tooLarge = (req: IncomingMessage, res: ServerResponse, max: number): void => {
    refuse(req, res, 413, 'body_too_large', `the request body exceeds ${max} bytes`);
    let discarded = 0;
    const cut = (): void => void req.socket.destroy();
    const timer = setTimeout(cut, LINGER_MS);
    timer.unref();
    req.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > LINGER_BYTES) cut();
    });
    req.on('end', () => clearTimeout(timer));
    req.on('error', () => {});
    req.socket.once('close', () => clearTimeout(timer));
    req.resume();
  };

  /** Expect: 100-continue: the client waits for our word before sending the body; refuse and close. */
  const tooLargeBeforeContinue = (req: IncomingMessage, res: ServerResponse, max: number): void => {
    res.setHeader('connection', 'close');
    refuse(req, res, 413, 'body_too_large', `the request body exceeds ${max} bytes`);
  };

  // Requests per connection: the one that reaches the limit is answered with
  // Connection: close and the connection then closes (node's own
  // maxRequestsPerSocket leaves it open and answers a further request 503).
  const served = new WeakMap<Socket, number>();

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (limits.maxRequestsPerConnection > 0) {
      const n = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, n);
      if (n >= limits.maxRequestsPerConnection) res.setHeader('connection', 'close');
    }
    const max = maxBody(req);
    const declared = declaredLength(req);
    if (declared !== undefined && declared > max) return tooLarge(req, res, max);
    const chunks: Buffer[] = [];
    let size = 0;
    let refused = false;
    const collect = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > max) {
        refused = true;
        chunks.length = 0;
        req.off('data', collect);
        tooLarge(req, res, max);
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', collect);
    req.on('end', () => {
      if (!refused) o.handle(req, res, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    // An aborted request: the socket is gone, nothing to answer.
    req.on('error', () => {});
  };

  const server = createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      // How often the header and request timeouts are checked.
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    },
    onRequest,
  );
  server.maxConnections = limits.maxConnections;
  server.timeout = IDLE_SOCKET_MS;
  // Expect: 100-continue: refuse an oversized body before the client sends it.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    const declared = declaredLength(req);
    const max = maxBody(req);
    if (declared !== undefined && declared > max) return tooLargeBeforeContinue(req, res, max);
    res.writeContinue();
    onRequest(req, res);
  });
  return server;
}

/** Listens on host:port (port 0: a free one) and returns the bound port. */
export async function listen(server: Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  return typeof addr === 'object' && addr !== null ? addr.port : port;
}
