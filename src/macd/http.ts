// The transport of macd's API on node:http (no framework): reading the body,
// the probes on the same port, dispatch to routes.ts (Alcor's paths, also
// under /v4), the error shape, latency metrics, and in replica mode the
// forwarding of a request to the replica that can serve it. Errors answer
// {"status", "error", "reason", "message", "path", "timestamp"}: Spring Boot's
// error shape, which Alcor's Java clients already read, plus a stable `reason`.

import { Agent, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { macdLimitValues, type MacdLimitValues } from '../api/macd-limits.ts';
import { MAX_JSON_DEPTH, clip, jsonTooDeep, onServer, pathOf, queryOf } from '../process/http-input.ts';
import { QUICK_DRAIN, type DrainOptions, type Drained } from '../process/http-drain.ts';
import { createLimitedServer, listen } from '../process/http-limits.ts';
import type { ProbeHandler } from '../process/probes.ts';
import { errorBody } from '../api/http-error.ts';
import { FORMATS, PEER_FORMAT_HEADER, formatRefusal } from '../api/formats.ts';
import { ApiFailure, type ApiAnswer, type ApiRequest as AdminRequest } from '../process/json-api.ts';
import { Json } from './api-json.ts';
import { MacdError } from './errors.ts';
import type { MacdMetrics } from './metrics.ts';
import { findRoute, type ApiRequest, type OthersCounts, type Route, type RouteDeps } from './routes.ts';

export type { OthersCounts } from './routes.ts';
import type { MacStore } from './store.ts';

export interface ApiOptions {
  host: string;
  port: number;
  /** The store, or null while the state is loading (requests answer 503). */
  store: () => MacStore | null;
  metrics: MacdMetrics;
  log: Logger;
  /** /metrics, /healthz and /readyz on the API port. */
  probes?: ProbeHandler;
  /** Body size, bulk size, id length, timeouts and connections (default: MacdLimits' defaults). */
  limits?: MacdLimitValues;
  /** Replica mode: the base URL of the replica that owns `mac`, or null when this one does. */
  ownerOf?: (mac: number) => Promise<string | null> | string | null;
  /**
   * Replica mode: when this replica's blocks are full and no block is left to
   * claim, the base URL of a replica with at least `needed` free MACs, or null.
   */
  spillover?: (needed: number, rangeId?: string) => Promise<string | null>;
  /** Replica mode: the other replicas' counts per range id (see routes.ts). */
  othersRanges?: () => Promise<Map<string, OthersCounts>>;
  /** The admin API under /v1 (admin.ts: listing, export, import), and the largest import body it reads. */
  admin?: (req: AdminRequest) => Promise<ApiAnswer>;
  maxImportBytes?: number;
}

export interface ApiServer {
  server: Server;
  port: number;
  /** Stops listening and answers what is in flight (http-drain.ts; default QUICK_DRAIN), then stops forwarding. */
  close(drain?: DrainOptions): Promise<Drained>;
}

function send(res: ServerResponse, status: number, body: Json | Buffer | Record<string, unknown>): void {
  const out = Buffer.isBuffer(body) ? body : body instanceof Json ? body.text : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': typeof out === 'string' ? Buffer.byteLength(out) : out.length });
  res.end(out);
}

/** The request's path without the query and the /v4 prefix. */
function apiPath(url: string): string {
  const path = pathOf(url);
  return path.startsWith('/v4/') ? path.slice(3) : path;
}

/** The admin import's body limit when none is given: a restore of about two million MACs. */
export const DEFAULT_MAX_IMPORT_BYTES = 256 * 1024 * 1024;

/** The bulk paths (/macs/bulk, /macs/range/{id}/bulk), whose body limit fits maxBulk mac_states. */
const isBulkPath = (path: string): boolean => path.endsWith('/bulk') && path.startsWith('/macs/');

/** A request whose body parses (once) on first use. */
function apiRequest(method: string, path: string, raw: Buffer, forwarded: boolean): ApiRequest {
  let parsed: { value: unknown } | { error: MacdError } | undefined;
  return {
    method,
    forwarded,
    raw,
    parts: path.split('/').filter((x) => x !== ''),
    body: () => {
      parsed ??= parseBody(raw);
      if ('error' in parsed) throw parsed.error;
      return parsed.value;
    },
  };
}

/** A request body as JSON, or the 400 that refuses it (checked for depth before it is parsed). */
function parseBody(raw: Buffer): { value: unknown } | { error: MacdError } {
  if (jsonTooDeep(raw)) return { error: new MacdError(400, 'malformed_json', `the body nests deeper than ${MAX_JSON_DEPTH} levels`) };
  try {
    return { value: JSON.parse(raw.toString('utf8')) };
  } catch (e) {
    return { error: new MacdError(400, 'malformed_json', `the body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`) };
  }
}

export async function startApi(opts: ApiOptions): Promise<ApiServer> {
  const { metrics, log } = opts;
  const limits = opts.limits ?? macdLimitValues();
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const latency = new Map<string, ReturnType<MacdMetrics['latency']['labels']>>();
  const observe = (route: string, t0: number): void => {
    let h = latency.get(route);
    if (!h) latency.set(route, (h = metrics.latency.labels(route)));
    h.observe((performance.now() - t0) / 1000);
  };
  const deps: RouteDeps = {
    metrics,
    ...(opts.othersRanges ? { othersRanges: opts.othersRanges } : {}),
    limits,
    store: () => {
      const store = opts.store();
      if (!store) throw new MacdError(503, 'internal', 'state is still loading');
      return store;
    },
  };

  /** The error body of a refusal (counted in the metrics). */
  const errorJson = (path: string, err: MacdError): string => {
    metrics.errors.inc({ reason: err.reason });
    return JSON.stringify(errorBody(err.status, err.reason, err.message, clip(path)));
  };
  const sendError = (res: ServerResponse, path: string, err: MacdError): void => send(res, err.status, new Json(errorJson(path, err)));

  /**
   * Proxies the request to another replica; the header stops it going
   * further. A reset on a pooled connection before any answer is the peer
   * closing it as idle (a peer draining, or past its keep-alive timeout): the
   * peer never read the request, so it is sent once more, on a new connection.
   */
  const forward = (req: IncomingMessage, res: ServerResponse, base: string, raw: Buffer, again = true): void => {
    const url = onServer(base, req.url);
    const headers = { 'content-type': 'application/json', 'content-length': raw.length, 'x-macd-forwarded': '1', [PEER_FORMAT_HEADER]: String(FORMATS.macdPeer.writes) };
    const up = httpRequest(url, { method: req.method, agent: again ? agent : false, headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, { 'content-type': ur.headers['content-type'] ?? 'application/json' });
      ur.pipe(res);
    });
    up.on('error', (e: NodeJS.ErrnoException) => {
      if (again && up.reusedSocket && e.code === 'ECONNRESET' && !res.headersSent) return forward(req, res, base, raw, false);
      if (res.headersSent) return void res.destroy(e);
      sendError(res, url.pathname, new MacdError(502, 'upstream_failed', `the replica that can serve this (${base}) did not answer: ${e.message}`));
    });
    up.end(raw);
  };

  /** Replica mode: the MAC the request names, when the replica holding its block may be another one. */
  const namedMac = (route: Route, request: ApiRequest): number | null => (opts.ownerOf && route.mac && !request.forwarded ? route.mac(request, limits) : null);

  /** Replica mode, pool full here: a replica with room for this allocation, if any. */
  const roomElsewhere = async (route: Route, request: ApiRequest, err: unknown): Promise<string | null> => {
    if (!(err instanceof MacdError && err.reason === 'pool_full' && opts.spillover && route.spillover)) return null;
    try {
      const { needed, rangeId } = route.spillover(request);
      return await opts.spillover(needed, rangeId);
    } catch (spillErr) {
      log.warn({ err: spillErr }, 'looking for a replica with room failed');
      return null;
    }
  };

  /** /v1/...: the admin API (its own routes and answers, the same error shape). */
  const handleAdmin = async (req: IncomingMessage, res: ServerResponse, raw: Buffer, t0: number): Promise<void> => {
    const url = { pathname: pathOf(req.url), searchParams: queryOf(req.url) };
    if (jsonTooDeep(raw)) return sendError(res, url.pathname, new MacdError(400, 'malformed_json', `the body nests deeper than ${MAX_JSON_DEPTH} levels`));
    try {
      const answer = await opts.admin!({ method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body: raw });
      if ('json' in answer) return send(res, answer.status, answer.json as Record<string, unknown>);
      res.writeHead(answer.status, { 'content-type': answer.contentType });
      answer.stream.on('error', (err) => res.destroy(err));
      answer.stream.pipe(res);
    } catch (e) {
      if (e instanceof MacdError) return sendError(res, url.pathname, e);
      if (e instanceof ApiFailure) {
        metrics.errors.inc({ reason: e.reason });
        return send(res, e.status, errorBody(e.status, e.reason, e.message, url.pathname, e.details) as unknown as Record<string, unknown>);
      }
      log.error({ err: e, path: url.pathname }, 'request failed');
      sendError(res, url.pathname, new MacdError(500, 'internal', e instanceof Error ? e.message : String(e)));
    } finally {
      observe('admin', t0);
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, raw: Buffer, t0: number): Promise<void> => {
    const path = apiPath(req.url ?? '/');
    if (opts.probes?.(req, res, path)) return;
    // Replicas read the protocol of each other's answers; one in a newer protocol is refused, not misread.
    res.setHeader(PEER_FORMAT_HEADER, String(FORMATS.macdPeer.writes));
    const peerRefusal = formatRefusal('macdPeer', req.headers[PEER_FORMAT_HEADER]);
    if (peerRefusal) return sendError(res, path, new MacdError(400, 'unsupported_format', peerRefusal));
    if (opts.admin && path.startsWith('/v1/')) return handleAdmin(req, res, raw, t0);
    const forwarded = req.headers['x-macd-forwarded'] !== undefined;
    const request = apiRequest(req.method ?? 'GET', path, raw, forwarded);
    const route = findRoute(request.method, request.parts);
    if (route instanceof MacdError) return sendError(res, path, route);
    try {
      // Replica mode: the replica holding the block of the MAC the request names, if another one (no wait otherwise).
      const mac = namedMac(route, request);
      const base = mac === null ? null : await opts.ownerOf!(mac);
      if (base) return forward(req, res, base, raw);
      const [status, body] = await route.run(request, deps);
      send(res, status, body);
    } catch (e) {
      const base = forwarded ? null : await roomElsewhere(route, request, e);
      if (base) return forward(req, res, base, raw);
      if (e instanceof MacdError) return sendError(res, path, e);
      log.error({ err: e, path }, 'request failed');
      sendError(res, path, new MacdError(500, 'internal', e instanceof Error ? e.message : String(e)));
    } finally {
      observe(route.name, t0);
    }
  };

  const server = createLimitedServer({
    limits,
    maxBody: (req) => {
      const path = apiPath(req.url ?? '/');
      // A restore carries a whole pool: the admin import has a limit of its own.
      if (opts.admin && pathOf(req.url) === '/v1/import') return opts.maxImportBytes ?? DEFAULT_MAX_IMPORT_BYTES;
      return isBulkPath(path) ? limits.maxBulkRequestBytes : limits.maxRequestBytes;
    },
    refuse: (req, status, reason, message) => ({ contentType: 'application/json', body: errorJson(apiPath(req.url ?? '/'), new MacdError(status, reason, message)) }),
    handle: (req, res, body) =>
      void handle(req, res, body, performance.now()).catch((e: unknown) => {
        // A handler's throw outside its own try must not become an unhandled rejection (which ends the process).
        log.error({ err: e }, 'request failed');
        if (!res.headersSent) sendError(res, apiPath(req.url ?? '/'), new MacdError(500, 'internal', e instanceof Error ? e.message : String(e)));
        else res.destroy();
      }),
  });
  const port = await listen(server, opts.host, opts.port);
  return {
    server,
    port,
    close: async (drain = QUICK_DRAIN) => {
      const drained = await server.drain(drain);
      agent.destroy();
      return drained;
    },
  };
}
