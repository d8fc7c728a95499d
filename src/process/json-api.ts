// The transport of a small JSON HTTP API (dhcpd's lease API): one listener,
// the body read up to a per-request limit before the handler runs, answers
// as JSON or a stream, refusals in the shared error shape (src/api/http-error.ts).
// Routes know nothing of sockets; limits and timeouts live here, in one
// place, so a shared limit layer can wrap every listener the same way.

import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { errorBody } from '../api/http-error.ts';
import { parseHostPort } from './probes.ts';
import type { Logger } from './log.ts';

export interface ApiRequest {
  method: string;
  /** Decoded path without the query. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type ApiAnswer =
  | { status: number; json: unknown }
  | { status: number; stream: Readable; contentType: string };

/** A refusal: status, stable reason, one-line message, and the items it is about. */
export class ApiFailure extends Error {
  readonly status: number;
  readonly reason: string;
  readonly details: string[] | undefined;
  constructor(status: number, reason: string, message: string, details?: string[]) {
    super(message);
    this.status = status;
    this.reason = reason;
    this.details = details;
  }
}

export interface JsonApiOptions {
  /** host:port; port 0 picks a free one. */
  address: string;
  handle: (req: ApiRequest) => Promise<ApiAnswer>;
  /** Largest body accepted for a request (bytes); larger ones get 413 before they are read. */
  maxBody: (method: string, path: string) => number;
  log: Logger;
  /** Called with the route's outcome (metrics). */
  observe?: (method: string, status: number) => void;
}

export interface JsonApi {
  readonly port: number;
  readonly server: Server;
  close(): Promise<void>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startJsonApi(o: JsonApiOptions): Promise<JsonApi> {
  const { host, port } = parseHostPort(o.address);
  const refuse = (res: ServerResponse, path: string, f: ApiFailure): void => {
    o.observe?.(res.req.method ?? 'GET', f.status);
    if (res.headersSent) {
      res.destroy(f);
      return;
    }
    sendJson(res, f.status, errorBody(f.status, f.reason, f.message, path, f.details));
  };

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://api');
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      refuse(res, url.pathname, new ApiFailure(400, 'invalid_request', `"${url.pathname}" is not a valid URL path`));
      return;
    }
    const method = req.method ?? 'GET';
    const limit = o.maxBody(method, path);
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > limit) {
      refuse(res, path, new ApiFailure(413, 'body_too_large', `the body exceeds ${limit} bytes`));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    try {
      for await (const chunk of req as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > limit) throw new ApiFailure(413, 'body_too_large', `the body exceeds ${limit} bytes`);
        chunks.push(chunk);
      }
      const answer = await o.handle({ method, path, query: url.searchParams, headers: req.headers, body: Buffer.concat(chunks) });
      o.observe?.(method, answer.status);
      if ('json' in answer) {
        sendJson(res, answer.status, answer.json);
        return;
      }
      res.writeHead(answer.status, { 'content-type': answer.contentType });
      answer.stream.on('error', (err) => {
        o.log.warn({ err: err.message, path }, 'answer stream failed');
        res.destroy(err);
      });
      answer.stream.pipe(res);
    } catch (err) {
      if (err instanceof ApiFailure) {
        refuse(res, path, err);
        if (err.status === 413) req.resume();
        return;
      }
      o.log.error({ err: err instanceof Error ? err.stack : String(err), path }, 'API request failed');
      refuse(res, path, new ApiFailure(500, 'internal', err instanceof Error ? err.message : String(err)));
    }
  };

  const server = createServer((req, res) => void serve(req, res));
  // Slow or idle clients must not hold the listener (the same values as macd's API).
  server.headersTimeout = 66_000;
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 300_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
