// Alcor's MAC manager REST API on node:http (no framework): the same paths
// (also under /v4), JSON shapes and status codes. Errors answer
// {"status", "error", "reason", "message", "path", "timestamp"}: Spring Boot's
// error shape, which Alcor's Java clients already read, plus a stable `reason`.

import { createServer, Agent, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { ProbeHandler } from '../process/probes.ts';
import { MacdError } from './errors.ts';
import { formatMac, parseMac } from '../api/mac.ts';
import type { MacMeta } from './meta.ts';
import type { MacdMetrics } from './metrics.ts';
import type { MacRange } from './range.ts';
import type { MacStateInput, MacStateOut, MacStore } from './store.ts';

const MAX_BODY = 64 * 1024 * 1024;
const JSON_HEADERS = { 'content-type': 'application/json' };

export interface ApiOptions {
  store: () => MacStore | null;
  metrics: MacdMetrics;
  log: Logger;
  /** Replica mode: the base URL of the replica that owns `mac`, or null when this one does. */
  ownerOf?: (mac: number) => Promise<string | null> | string | null;
  /**
   * Replica mode: when this replica's blocks are full and no block is left to
   * claim, the endpoint of a replica with at least `needed` free MACs, or null.
   */
  spillover?: (needed: number, rangeId?: string) => Promise<string | null>;
}

type Handler = (ctx: Ctx) => Promise<[number, unknown]> | [number, unknown];

interface Ctx {
  method: string;
  path: string;
  parts: string[];
  body: () => unknown;
  raw: Buffer;
  req: IncomingMessage;
}

// ---- JSON shapes ----

/** Characters that JSON must escape. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029\ud800-\udfff]/;
const str = (v: string | null): string => (v === null ? 'null' : NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : `"${v}"`);
const stateJson = (v: string): string => (v === 'Active' ? '"Active"' : v === 'Inactive' ? '"Inactive"' : str(v));

/** A mac_state as JSON text, built directly (bulk answers hold thousands). */
function macStateJson(s: MacStateOut): string {
  const m = s.meta;
  return `{"mac_address":"${formatMac(s.mac)}","project_id":${str(m.projectId)},"vpc_id":${str(m.vpcId)},"port_id":${str(m.portId)},"state":${stateJson(m.state)}}`;
}

/** A pre-serialised JSON body. */
class Json {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

function rangeJson(r: MacRange): Record<string, unknown> {
  return {
    range_id: r.id,
    from: formatMac(r.from),
    to: formatMac(r.to),
    state: r.state,
    capacity: r.capacity,
    used: r.allocated,
    available: r.available,
    source: r.source,
  };
}

function bad(reason: 'invalid_request' | 'missing_port_id' | 'malformed_mac', message: string): MacdError {
  return new MacdError(400, reason, message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function optString(o: Record<string, unknown>, key: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw bad('invalid_request', `${key} must be a string`);
  return v;
}

function parseMacField(v: string, what: string): number {
  const mac = parseMac(v);
  if (mac === undefined) throw bad('malformed_mac', `${what} "${v}" is not a MAC address like aa:bb:cc:00:00:01`);
  return mac;
}

/** Validates one mac_state of a request body. */
export function parseMacState(v: unknown, where: string): MacStateInput {
  if (!isObject(v)) throw bad('invalid_request', `${where} must be an object`);
  const addr = optString(v, 'mac_address');
  const portId = optString(v, 'port_id');
  if (portId === null || portId === '') throw bad('missing_port_id', `${where}.port_id is required`);
  const state = optString(v, 'state') ?? 'Active';
  if (state !== 'Active' && state !== 'Inactive') throw bad('invalid_request', `${where}.state must be "Active" or "Inactive"`);
  const meta: MacMeta = { portId, projectId: optString(v, 'project_id'), vpcId: optString(v, 'vpc_id'), state };
  return { mac: addr === null || addr === '' ? null : parseMacField(addr, `${where}.mac_address`), meta };
}

/** decodeURIComponent that answers 400 instead of throwing URIError. */
function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw bad('invalid_request', `"${part}" is not a valid URL path segment`);
  }
}

function bodyField(body: unknown, key: string): unknown {
  if (!isObject(body) || !(key in body)) throw bad('invalid_request', `the body must be {"${key}": ...}`);
  return body[key];
}

function parseStates(body: unknown): MacStateInput[] {
  const list = bodyField(body, 'mac_states');
  if (!Array.isArray(list)) throw bad('invalid_request', 'mac_states must be an array');
  return list.map((v, i) => parseMacState(v, `mac_states[${i}]`));
}

function parseRange(body: unknown): { id: string; from: number; to: number; state: 'Active' | 'Inactive' } {
  const r = bodyField(body, 'mac_range');
  if (!isObject(r)) throw bad('invalid_request', 'mac_range must be an object');
  const id = optString(r, 'range_id');
  if (!id) throw bad('invalid_request', 'mac_range.range_id is required');
  const from = optString(r, 'from');
  const to = optString(r, 'to');
  if (from === null || to === null) throw bad('invalid_request', 'mac_range.from and mac_range.to are required');
  const state = optString(r, 'state') ?? 'Active';
  if (state !== 'Active' && state !== 'Inactive') throw bad('invalid_request', 'mac_range.state must be "Active" or "Inactive"');
  return { id, from: parseMacField(from, 'mac_range.from'), to: parseMacField(to, 'mac_range.to'), state };
}

// ---- server ----

export interface ApiServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export async function startApi(opts: ApiOptions & { host: string; port: number; probes?: ProbeHandler }): Promise<ApiServer> {
  const { metrics, log } = opts;
  const latency = new Map<string, ReturnType<MacdMetrics['latency']['labels']>>();
  const observe = (route: string, t0: number): void => {
    let h = latency.get(route);
    if (!h) latency.set(route, (h = metrics.latency.labels(route)));
    h.observe((performance.now() - t0) / 1000);
  };
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });

  const store = (): MacStore => {
    const s = opts.store();
    if (!s) throw new MacdError(503, 'internal', 'state is still loading');
    return s;
  };

  /** Replica mode: answers from the owning replica when another one owns `mac`. */
  const owner = (mac: number): Promise<string | null> | string | null => (opts.ownerOf ? opts.ownerOf(mac) : null);

  const routes = (c: Ctx): { route: string; run: Handler } | null => {
    const p = c.parts;
    if (p[0] !== 'macs') return null;
    const m = c.method;
    if (p.length === 1) return m === 'POST' ? { route: 'allocate', run: allocateOne } : null;
    if (p[1] === 'ranges') {
      if (p.length === 2) return m === 'GET' ? { route: 'ranges_list', run: listRanges } : m === 'POST' ? { route: 'range_create', run: createRange } : null;
      if (p.length === 3) return m === 'GET' ? { route: 'range_get', run: getRange } : m === 'PUT' ? { route: 'range_update', run: updateRange } : m === 'DELETE' ? { route: 'range_delete', run: deleteRange } : null;
      return null;
    }
    if (p[1] === 'bulk' && p.length === 2) return m === 'POST' ? { route: 'allocate_bulk', run: allocateBulk } : null;
    if (p[1] === 'range' && (p.length === 3 || (p.length === 4 && p[3] === 'bulk'))) {
      if (m !== 'POST') return null;
      return p.length === 3 ? { route: 'allocate_in_range', run: allocateOne } : { route: 'allocate_in_range_bulk', run: allocateBulk };
    }
    if (p.length === 2) return m === 'GET' ? { route: 'get', run: getMac } : m === 'PUT' ? { route: 'update', run: updateMac } : m === 'DELETE' ? { route: 'release', run: releaseMac } : null;
    return null;
  };

  const rangeParam = (c: Ctx): string | undefined => (c.parts[1] === 'range' ? decode(c.parts[2]!) : undefined);

  const allocateOne: Handler = async (c) => {
    const input = parseMacState(bodyField(c.body(), 'mac_state'), 'mac_state');
    const [s] = await store().allocate([input], rangeParam(c));
    metrics.allocations.inc();
    return [201, new Json(`{"mac_state":${macStateJson(s!)}}`)];
  };

  const allocateBulk: Handler = async (c) => {
    const inputs = parseStates(c.body());
    const out = await store().allocate(inputs, rangeParam(c));
    metrics.allocations.inc(out.length);
    return [201, new Json(`{"mac_states":[${out.map(macStateJson).join(',')}]}`)];
  };

  const pathMac = (c: Ctx): number => parseMacField(decode(c.parts[1]!), 'the MAC in the path');

  const getMac: Handler = (c) => [200, new Json(`{"mac_state":${macStateJson(store().get(pathMac(c)))}}`)];

  const updateMac: Handler = async (c) => {
    const mac = pathMac(c);
    const input = parseMacState(bodyField(c.body(), 'mac_state'), 'mac_state');
    if (input.mac !== null && input.mac !== mac) throw bad('invalid_request', `mac_state.mac_address ${formatMac(input.mac)} differs from ${formatMac(mac)} in the path`);
    return [200, new Json(`{"mac_state":${macStateJson(await store().update(mac, input.meta))}}`)];
  };

  const releaseMac: Handler = async (c) => {
    const [s] = await store().release([pathMac(c)]);
    metrics.releases.inc();
    return [200, new Json(`{"mac_state":${macStateJson(s!)}}`)];
  };

  const listRanges: Handler = () => [200, { mac_ranges: store().allocator.ranges().map(rangeJson) }];
  const getRange: Handler = (c) => [200, { mac_range: rangeJson(store().allocator.range(decode(c.parts[2]!))) }];
  const createRange: Handler = async (c) => [201, { mac_range: rangeJson(await store().addRange(parseRange(c.body()))) }];
  const updateRange: Handler = async (c) => [200, { mac_range: rangeJson(await store().updateRange(decode(c.parts[2]!), parseRange(c.body()))) }];
  const deleteRange: Handler = async (c) => [200, { mac_range: rangeJson(await store().deleteRange(decode(c.parts[2]!))) }];

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    const text = body instanceof Json ? body.text : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const sendError = (res: ServerResponse, path: string, err: MacdError): void => {
    metrics.errors.inc({ reason: err.reason });
    send(res, err.status, { status: err.status, error: err.title, reason: err.reason, message: err.message, path, timestamp: new Date().toISOString() });
  };

  /** Proxies the request to the replica that owns the MAC. */
  const forward = (req: IncomingMessage, res: ServerResponse, base: string, raw: Buffer): void => {
    const url = new URL(req.url ?? '/', base);
    const up = httpRequest(url, { method: req.method, agent, headers: { ...JSON_HEADERS, 'content-length': raw.length, 'x-macd-forwarded': '1' } }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, { 'content-type': ur.headers['content-type'] ?? 'application/json' });
      ur.pipe(res);
    });
    up.on('error', (e) => sendError(res, url.pathname, new MacdError(502, 'upstream_failed', `the replica owning this MAC (${base}) did not answer: ${e.message}`)));
    up.end(raw);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, raw: Buffer, t0: number): Promise<void> => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    let path = q < 0 ? url : url.slice(0, q);
    if (path.startsWith('/v4/')) path = path.slice(3);
    if (opts.probes?.(req, res, path)) return;
    const parts = path.split('/').filter((x) => x !== '');
    const method = req.method ?? 'GET';
    let parsed: unknown;
    let parsedOk = false;
    const ctx: Ctx = {
      method,
      path,
      parts,
      raw,
      req,
      body: () => {
        if (!parsedOk) {
          try {
            parsed = JSON.parse(raw.toString('utf8'));
          } catch (e) {
            throw new MacdError(400, 'malformed_json', `the body is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
          }
          parsedOk = true;
        }
        return parsed;
      },
    };
    const r = routes(ctx);
    if (!r) {
      const known = parts[0] === 'macs';
      sendError(res, path, known ? new MacdError(405, 'method_not_allowed', `${method} is not allowed on ${path}`) : new MacdError(404, 'not_found', `no such path ${path}`));
      return;
    }
    try {
      // Replica mode: MACs in another replica's block are served by it.
      if (opts.ownerOf && !req.headers['x-macd-forwarded']) {
        const target = targetMac(r.route, ctx);
        const base = target !== null ? await owner(target) : null;
        if (base) {
          forward(req, res, base, raw);
          return;
        }
      }
      const [status, body] = await r.run(ctx);
      send(res, status, body);
    } catch (e) {
      // Replica mode, pool full here: another replica may still have room.
      if (e instanceof MacdError && e.reason === 'pool_full' && opts.spillover && !req.headers['x-macd-forwarded'] && r.route.startsWith('allocate')) {
        try {
          const body = ctx.body();
          const needed = isObject(body) && Array.isArray(body['mac_states']) ? body['mac_states'].length : 1;
          const base = await opts.spillover(needed, r.route.includes('in_range') ? decode(parts[2]!) : undefined);
          if (base) {
            forward(req, res, base, raw);
            return;
          }
        } catch (spillErr) {
          log.warn({ err: spillErr }, 'looking for a replica with room failed');
        }
      }
      if (e instanceof MacdError) sendError(res, path, e);
      else {
        log.error({ err: e, path }, 'request failed');
        sendError(res, path, new MacdError(500, 'internal', e instanceof Error ? e.message : String(e)));
      }
    } finally {
      observe(r.route, t0);
    }
  };

  /** The MAC a request names, if any (for forwarding to its owner). */
  const targetMac = (route: string, c: Ctx): number | null => {
    if (route === 'get' || route === 'update' || route === 'release') {
      return parseMac(decode(c.parts[1]!)) ?? null;
    }
    if (route === 'allocate' || route === 'allocate_in_range') {
      try {
        const b = c.body();
        const st = isObject(b) ? b['mac_state'] : null;
        return (isObject(st) && typeof st['mac_address'] === 'string' ? parseMac(st['mac_address']) : undefined) ?? null;
      } catch {
        return null;
      }
    }
    return null;
  };

  const server = createServer((req, res) => {
    const t0 = performance.now();
    const chunks: Buffer[] = [];
    let size = 0;
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) tooBig = true;
      else chunks.push(c);
    });
    req.on('end', () => {
      if (tooBig) return sendError(res, req.url ?? '/', new MacdError(413, 'body_too_large', `the body exceeds ${MAX_BODY} bytes`));
      const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      void handle(req, res, raw, t0);
    });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
