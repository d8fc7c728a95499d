// The one limit layer under every HTTP listener of our servers (macd's API,
// the metrics and probe ports, dhcpd's API): a node:http server with the
// timeouts and connection limits of HttpLimits (src/api/http-limits.ts), and
// the request body read here, never more than its limit, before a handler
// sees it. A body over the limit is answered 413 body_too_large by its
// Content-Length (before the client sends it when it asked `Expect:
// 100-continue`) or as soon as a chunked body passes it: the rest of the body
// is never kept in memory. Parser refusals and CONNECT: http-refusals.ts.
// The end of a listener under traffic (drain): http-drain.ts.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { httpLimitValues, type HttpLimitValues } from '../api/http-limits.ts';
import { Connections, type DrainOptions, type Drained } from './http-drain.ts';
import { clip, pathOf } from './http-input.ts';
import { LINGER_BYTES, LINGER_MS, OwedAnswers, answerParserRefusals, refusing } from './http-refusals.ts';

/** A connection with no traffic either way for this long is closed: a client that stopped reading its answer. */
export const IDLE_SOCKET_MS = 120_000;
/**
 * Node spends some microseconds on each piece of a body it hands over (a
 * chunk, or a read): a 1 MiB body sent in 1-byte chunks would hold the
 * process for seconds. Past FRAGMENTS_FREE pieces, a body whose pieces
 * average fewer than MIN_FRAGMENT_BYTES is refused (400 body_fragmented) and
 * the connection cut. Clients send chunks of kilobytes.
 */
export const FRAGMENTS_FREE = 1024;
export const MIN_FRAGMENT_BYTES = 128;
const fragmented = (pieces: number, bytes: number): boolean => pieces > FRAGMENTS_FREE && bytes < pieces * MIN_FRAGMENT_BYTES;

/** The layer's own refusals: a body over its limit (413), a body in too many tiny pieces (400). */
export type LimitReason = 'body_too_large' | 'body_fragmented';

/** A refusal's answer in the listener's error shape (the layer writes it). */
export interface Refusal {
  contentType: string;
  body: string;
}

/** The answer of the layer's refusal in the listener's own error shape (and its metrics). */
export type Refuse = (req: IncomingMessage, status: 400 | 413, reason: LimitReason, message: string) => Refusal;

/** A listener of the limit layer; `drain` ends it without losing an answer (http-drain.ts). */
export interface LimitedServer extends Server {
  drain(o: DrainOptions): Promise<Drained>;
}

export interface LimitedServerOptions {
  limits?: HttpLimitValues;
  /** The body limit of one request (default limits.maxRequestBytes): a route may allow more. Called once the headers are in. */
  maxBody?: (req: IncomingMessage) => number;
  /** How the listener words the layer's own refusal (413 body_too_large). Default: the JSON error shape. */
  refuse?: Refuse;
  /** Handles a request whose body, at most maxBody bytes, has been read. */
  handle: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void;
}

/** The JSON error shape of our APIs (Spring Boot's, plus a stable reason). */
export const refuseJson: Refuse = (req, status, reason, message) => ({
  contentType: 'application/json',
  body: JSON.stringify({ status, error: 'Payload Too Large', reason, message, path: clip(pathOf(req.url)), timestamp: new Date().toISOString() }),
});

/** The declared length of a request's body; undefined when chunked or absent. */
function declaredLength(req: IncomingMessage): number | undefined {
  const v = req.headers['content-length'];
  return v === undefined ? undefined : Number(v);
}

export function createLimitedServer(o: LimitedServerOptions): LimitedServer {
  const limits = o.limits ?? httpLimitValues();
  const refuse = o.refuse ?? refuseJson;
  const maxBody = (req: IncomingMessage): number => o.maxBody?.(req) ?? limits.maxRequestBytes;

  /** Writes the 413 (headers and body, flushed at once) but does not end the answer: `finish` does. */
  const write413 = (req: IncomingMessage, res: ServerResponse, max: number): void => {
    const r = refuse(req, 413, 'body_too_large', `the request body exceeds ${max} bytes`);
    res.writeHead(413, { 'content-type': r.contentType, 'content-length': Buffer.byteLength(r.body) });
    res.write(r.body);
  };

  /**
   * Answers a request before its body is read (413, 417). A client still
   * sending it would see its connection reset before it reads the answer, so
   * the answer goes out at once (written, not ended) and the rest of the body
   * is read and thrown away, up to LINGER_BYTES and LINGER_MS; only then does
   * the answer end (and the connection close if the request asked for that),
   * or, past those, the connection is cut.
   */
  const answerEarly = (req: IncomingMessage, res: ServerResponse, write: () => void): void => {
    write();
    refusing.add(req.socket);
    res.once('close', () => refusing.delete(req.socket));
    let discarded = 0;
    let pieces = 0;
    const timer = setTimeout(() => cut(), LINGER_MS);
    timer.unref();
    const finish = (): void => {
      clearTimeout(timer);
      if (!res.writableEnded) res.end();
    };
    const cut = (): void => {
      finish();
      req.socket.destroy();
    };
    req.on('data', (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > LINGER_BYTES || fragmented(++pieces, discarded)) cut();
    });
    req.on('end', finish);
    req.on('error', () => {});
    req.socket.once('close', () => clearTimeout(timer));
    req.resume();
  };

  const tooLarge = (req: IncomingMessage, res: ServerResponse, max: number): void => answerEarly(req, res, () => write413(req, res, max));

  /**
   * Expect: 100-continue: refused before the client sends the body. A client
   * that sends it anyway (as it may) is drained as above; then the connection
   * closes, since the client may never send the body it announced.
   */
  const tooLargeBeforeContinue = (req: IncomingMessage, res: ServerResponse, max: number): void => {
    res.setHeader('connection', 'close');
    tooLarge(req, res, max);
  };

  // Requests per connection: the one that reaches the limit is answered with
  // Connection: close and the connection then closes (node's own
  // maxRequestsPerSocket leaves it open and answers a further request 503).
  const served = new WeakMap<Socket, number>();
  const owed = new OwedAnswers();
  // Bound below, once the server exists.
  let connections: Connections;

  /** A request whose headers are in; one its connection ends before is left unread (http-drain.ts). */
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    if (connections.admit(req, res)) serve(req, res);
  };

  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    owed.track(req, res);

    if (limits.maxRequestsPerConnection > 0) {
      const n = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, n);
      if (n >= limits.maxRequestsPerConnection) res.setHeader('connection', 'close');
    }
    const max = maxBody(req);
    const declared = declaredLength(req);
    if (declared !== undefined && declared > max) return tooLarge(req, res, max);
    // The body is copied into one buffer as it comes, doubling: keeping node's
    // chunks would keep one object per chunk (a body sent in 1-byte chunks
    // would cost a hundred times its size), and sizing it by the declared
    // length would let a client that sends nothing reserve the limit.
    let body = Buffer.allocUnsafe(Math.min(max, declared ?? Infinity, 64 * 1024));
    let size = 0;
    let pieces = 0;
    let refused = false;
    const collect = (chunk: Buffer): void => {
      if (fragmented(++pieces, size + chunk.length)) {
        refused = true;
        body = Buffer.alloc(0);
        req.off('data', collect);
        const r = refuse(req, 400, 'body_fragmented', `the request body came in ${pieces} pieces of ${Math.floor((size + chunk.length) / pieces)} bytes on average; send it in chunks of at least ${MIN_FRAGMENT_BYTES} bytes`);
        res.writeHead(400, { 'content-type': r.contentType, 'content-length': Buffer.byteLength(r.body), connection: 'close' });
        res.end(r.body, () => req.socket.destroy());
        return;
      }
      if (size + chunk.length > max) {
        refused = true;
        body = Buffer.alloc(0);
        req.off('data', collect);
        tooLarge(req, res, max);
        return;
      }
      if (size + chunk.length > body.length) {
        const grown = Buffer.allocUnsafe(Math.min(max, Math.max(body.length * 2, size + chunk.length)));
        body.copy(grown, 0, 0, size);
        body = grown;
      }
      chunk.copy(body, size);
      size += chunk.length;
    };
    req.on('data', collect);
    req.on('end', () => {
      if (refused) return;
      o.handle(req, res, body.subarray(0, size));
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
  connections = new Connections(server);
  server.maxConnections = limits.maxConnections;
  server.timeout = IDLE_SOCKET_MS;
  answerParserRefusals(server, owed, limits.requestTimeoutMs);
  // An Expect other than 100-continue: 417, as node answers, but without resetting a client still sending.
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    if (!connections.admit(req, res)) return;
    res.setHeader('connection', 'close');
    answerEarly(req, res, () => res.writeHead(417, { 'content-length': 0 }).flushHeaders());
  });
  // Expect: 100-continue: refuse an oversized body before the client sends it.
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    if (!connections.admit(req, res)) return;
    const declared = declaredLength(req);
    const max = maxBody(req);
    if (declared !== undefined && declared > max) return tooLargeBeforeContinue(req, res, max);
    res.writeContinue();
    serve(req, res);
  });
  return Object.assign(server, { drain: (d: DrainOptions) => connections.drain(d) });
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
