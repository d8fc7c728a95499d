// The transport of a small JSON HTTP API (dhcpd's lease API): one listener on
// the shared limit layer (http-limits.ts: the body read up to a per-request
// limit before the handler runs, and not nested deeper than MAX_JSON_DEPTH;
// timeouts, connections), answers as JSON or a
// stream, refusals in the shared error shape (src/api/http-error.ts). Routes
// know nothing of sockets.

import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { errorBody } from '../api/http-error.ts';
import { httpLimitValues, type HttpLimitValues } from '../api/http-limits.ts';
import { MAX_JSON_DEPTH, clip, jsonTooDeep, pathOf, queryOf } from './http-input.ts';
import { QUICK_DRAIN, type DrainOptions, type Drained } from './http-drain.ts';
import { createLimitedServer, listen } from './http-limits.ts';
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
  /** Timeouts and connections (default: HttpLimits' defaults); maxBody decides the body limit. */
  limits?: HttpLimitValues;
  log: Logger;
  /** Called with the route's outcome (metrics). */
  observe?: (method: string, status: number) => void;
}

export interface JsonApi {
  readonly port: number;
  readonly server: Server;
  /** Drains the listener: requests in flight are answered (default: QUICK_DRAIN). */
  close(drain?: DrainOptions): Promise<Drained>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The decoded path of a request, or undefined when it does not decode. */
function decodedPath(req: IncomingMessage): string | undefined {
  try {
    return decodeURIComponent(pathOf(req.url));
  } catch {
    return undefined;
  }
}

export async function startJsonApi(o: JsonApiOptions): Promise<JsonApi> {
  const { host, port } = parseHostPort(o.address);
  const refuse = (res: ServerResponse, path: string, f: ApiFailure): void => {
    o.observe?.(res.req.method ?? 'GET', f.status);
    if (res.headersSent) {
      res.destroy(f);
      return;
    }
    sendJson(res, f.status, errorBody(f.status, f.reason, clip(f.message, 1024), clip(path), f.details));
  };

  const serve = async (req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> => {
    const method = req.method ?? 'GET';
    const path = decodedPath(req);
    if (path === undefined) {
      refuse(res, pathOf(req.url), new ApiFailure(400, 'invalid_request', `"${clip(pathOf(req.url), 64)}" is not a valid URL path`));
      return;
    }
    if (jsonTooDeep(body)) {
      refuse(res, path, new ApiFailure(400, 'invalid_request', `the body nests deeper than ${MAX_JSON_DEPTH} levels`));
      return;
    }
    try {
      const answer = await o.handle({ method, path, query: queryOf(req.url), headers: req.headers, body });
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
        return;
      }
      o.log.error({ err: err instanceof Error ? err.stack : String(err), path }, 'API request failed');
      refuse(res, path, new ApiFailure(500, 'internal', err instanceof Error ? err.message : String(err)));
    }
  };

  const limits = o.limits ?? httpLimitValues();
  const server = createLimitedServer({
    limits,
    // A path that does not decode is refused by serve() (400).
    maxBody: (req) => {
      const path = decodedPath(req);
      return path === undefined ? limits.maxRequestBytes : o.maxBody(req.method ?? 'GET', path);
    },
    refuse: (req, status, reason, message) => {
      o.observe?.(req.method ?? 'GET', status);
      return { contentType: 'application/json', body: JSON.stringify(errorBody(status, reason, message, clip(decodedPath(req) ?? pathOf(req.url)))) };
    },
    handle: (req, res, body) => void serve(req, res, body),
  });
  return {
    port: await listen(server, host, port),
    server,
    close: (drain = QUICK_DRAIN) => server.drain(drain),
  };
}
