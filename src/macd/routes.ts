// Alcor's MAC manager REST API: which method and path does what, and answers
// with which status (the transport in http.ts strips the /v4 prefix, reads
// the body, writes the answer and forwards in replica mode). A new endpoint is
// one row of the table and one handler.

import { formatMac, parseMac } from '../api/mac.ts';
import { Json, bad, bodyField, type BodyLimits, decode, isObject, macStateJson, parseMacField, parseMacState, parseRange, parseStates, rangeJson } from './api-json.ts';
import { clip } from '../process/http-input.ts';
import { MacdError } from './errors.ts';
import { readMacState, readMacStates, statesAnswer } from './fast-json.ts';
import { MacStates } from './states.ts';
import type { MacdMetrics } from './metrics.ts';
import type { MacRange } from './range.ts';
import type { MacStore } from './store.ts';

export interface ApiRequest {
  method: string;
  /** Path segments after /v4, still URL-encoded. */
  parts: string[];
  /** The body as JSON; throws 400 malformed_json when it is not. */
  body(): unknown;
  /** Replica mode: sent by another replica, to be answered from this one's state alone. */
  forwarded: boolean;
  /** The body's bytes, for the allocation routes' fast path (fast-json.ts). */
  raw?: Buffer;
  /** What the fast path read of the body, once read (null: a body it does not take). */
  fast?: MacStates | null;
}

/** What the other replicas hold in one range: MACs allocated, and those of them not excluded. */
export interface OthersCounts {
  used: number;
  usedAllowed: number;
}

export interface RouteDeps {
  /** The store; throws 503 while the state is loading. */
  store(): MacStore;
  metrics: MacdMetrics;
  /** Replica mode: the other replicas' counts per range id, so range counts are the pool's whichever replica answers. */
  othersRanges?: () => Promise<Map<string, OthersCounts>>;
  /** What a request body may hold (bulk size, id length). */
  limits: BodyLimits;
}

/** Status and body; a Json body or bytes are sent as they are. */
export type Answer = [status: number, body: Json | Buffer | Record<string, unknown>];

export interface Route {
  /** Its label in the latency histogram. */
  name: string;
  run(req: ApiRequest, deps: RouteDeps): Promise<Answer> | Answer;
  /** Replica mode: the MAC the request is about, served by the replica that holds its block. */
  mac?(req: ApiRequest, limits: BodyLimits): number | null;
  /** Replica mode: an allocation another replica with room may serve when this one is full. */
  spillover?(req: ApiRequest): { needed: number; rangeId?: string };
}

const macInPath = (req: ApiRequest): number => parseMacField(decode(req.parts[1]!), 'the MAC in the path');
const rangeInPath = (req: ApiRequest): string => decode(req.parts[2]!);

/** The body's mac_state(s) as the fast path reads them (once), or null when it does not take the body. */
function fastStates(req: ApiRequest, bulk: boolean, limits: BodyLimits): MacStates | null {
  if (req.fast === undefined) req.fast = req.raw ? (bulk ? readMacStates : readMacState)(req.raw, limits) : null;
  return req.fast;
}

/** The MAC an allocation asks for by address, if any (a malformed body names none: the handler refuses it). */
function askedMac(req: ApiRequest, limits: BodyLimits): number | null {
  const fast = fastStates(req, false, limits);
  if (fast) return fast.mac(0) >= 0 ? fast.mac(0) : null;
  try {
    const b = req.body();
    const st = isObject(b) ? b['mac_state'] : null;
    return isObject(st) && typeof st['mac_address'] === 'string' ? (parseMac(st['mac_address']) ?? null) : null;
  } catch {
    return null;
  }
}

function bulkSize(req: ApiRequest): number {
  const b = req.body();
  return isObject(b) && Array.isArray(b['mac_states']) ? b['mac_states'].length : 1;
}

const allocate = (name: string, inRange: boolean): Route => ({
  name,
  async run(req, { store, metrics, limits }) {
    const states = fastStates(req, false, limits) ?? MacStates.from([parseMacState(bodyField(req.body(), 'mac_state'), 'mac_state', limits)]);
    const out = await store().allocate(states, inRange ? rangeInPath(req) : undefined);
    metrics.allocations.inc();
    return [201, statesAnswer(out, true)];
  },
  mac: askedMac,
  spillover: (req) => ({ needed: 1, ...(inRange ? { rangeId: rangeInPath(req) } : {}) }),
});

const allocateBulk = (name: string, inRange: boolean): Route => ({
  name,
  async run(req, { store, metrics, limits }) {
    const states = fastStates(req, true, limits) ?? MacStates.from(parseStates(req.body(), limits));
    const out = await store().allocate(states, inRange ? rangeInPath(req) : undefined);
    metrics.allocations.inc(out.length);
    return [201, statesAnswer(out, false)];
  },
  spillover: (req) => ({ needed: bulkSize(req), ...(inRange ? { rangeId: rangeInPath(req) } : {}) }),
});

const getMac: Route = {
  name: 'get',
  // A MAC never allocated (or released) is {"mac_state": null}, as Alcor answers.
  run: (req, { store }) => {
    const s = store().find(macInPath(req));
    return [200, new Json(`{"mac_state":${s ? macStateJson(s) : 'null'}}`)];
  },
  mac: (req) => nullIfMalformed(req),
};

const updateMac: Route = {
  name: 'update',
  async run(req, { store, limits }) {
    const mac = macInPath(req);
    const input = parseMacState(bodyField(req.body(), 'mac_state'), 'mac_state', limits);
    if (input.mac !== null && input.mac !== mac) throw bad('invalid_request', `mac_state.mac_address ${formatMac(input.mac)} differs from ${formatMac(mac)} in the path`);
    return [200, new Json(`{"mac_state":${macStateJson(await store().update(mac, input.meta))}}`)];
  },
  mac: (req) => nullIfMalformed(req),
};

const releaseMac: Route = {
  name: 'release',
  async run(req, { store, metrics }) {
    const [s] = await store().release([macInPath(req)]);
    metrics.releases.inc();
    return [200, new Json(`{"mac_state":${macStateJson(s!)}}`)];
  },
  mac: (req) => nullIfMalformed(req),
};

function nullIfMalformed(req: ApiRequest): number | null {
  try {
    return macInPath(req);
  } catch {
    return null;
  }
}

/** Ranges with their counts: in replica mode the pool's (this replica's plus the others'), unless another replica asks. */
async function withCounts(req: ApiRequest, deps: RouteDeps, ranges: MacRange[]): Promise<Record<string, unknown>[]> {
  const a = deps.store().allocator;
  const others = deps.othersRanges && !req.forwarded ? await deps.othersRanges() : null;
  return ranges.map((r) => {
    const s = a.stats(r);
    const o = others?.get(r.id);
    return rangeJson(r, o ? { ...s, used: s.used + o.used, available: Math.max(0, s.available - o.usedAllowed) } : s);
  });
}

const listRanges: Route = { name: 'ranges_list', run: async (req, deps) => [200, { mac_ranges: await withCounts(req, deps, deps.store().allocator.ranges()) }] };
/** Put a range: create it, or replace an existing one (bounds guarded: no allocated MAC may be left in no range). */
async function putRange(deps: RouteDeps, input: ReturnType<typeof parseRange>): Promise<MacRange> {
  const store = deps.store();
  return store.allocator.hasRange(input.id) ? store.updateRange(input.id, input) : store.addRange(input);
}

// Alcor's range endpoints are create-or-replace (POST and PUT alike) and
// reads of an unknown range answer null, not an error: so do these.
const createRange: Route = { name: 'range_create', run: async (req, deps) => [201, { mac_range: (await withCounts(req, deps, [await putRange(deps, parseRange(req.body(), deps.limits))]))[0] }] };
const updateRange: Route = { name: 'range_update', run: async (req, deps) => [200, { mac_range: (await withCounts(req, deps, [await putRange(deps, parseRange(req.body(), deps.limits, rangeInPath(req)))]))[0] }] };
const getRange: Route = {
  name: 'range_get',
  async run(req, deps) {
    const id = rangeInPath(req);
    const a = deps.store().allocator;
    return [200, { mac_range: a.hasRange(id) ? (await withCounts(req, deps, [a.range(id)]))[0]! : null }];
  },
};
const deleteRange: Route = {
  name: 'range_delete',
  async run(req, { store }) {
    const id = rangeInPath(req);
    // Alcor answers {"id": ...}, also for a range it does not have.
    if (!store().allocator.hasRange(id)) return [200, { id }];
    const r = store().allocator.range(id);
    // Its counts as it goes.
    const stats = store().allocator.stats(r);
    await store().deleteRange(r.id);
    return [200, { id, mac_range: rangeJson(r, stats) }];
  },
};

/** Paths and their methods; ":x" matches any one segment. The first path that matches decides. */
const table: { path: string[]; methods: Record<string, Route> }[] = [
  { path: ['macs'], methods: { POST: allocate('allocate', false) } },
  { path: ['macs', 'bulk'], methods: { POST: allocateBulk('allocate_bulk', false) } },
  { path: ['macs', 'ranges'], methods: { GET: listRanges, POST: createRange } },
  { path: ['macs', 'ranges', ':range'], methods: { GET: getRange, PUT: updateRange, DELETE: deleteRange } },
  { path: ['macs', 'range', ':range'], methods: { POST: allocate('allocate_in_range', true) } },
  { path: ['macs', 'range', ':range', 'bulk'], methods: { POST: allocateBulk('allocate_in_range_bulk', true) } },
  { path: ['macs', ':mac'], methods: { GET: getMac, PUT: updateMac, DELETE: releaseMac } },
];

/** The route of a request, or the refusal: 404 for an unknown path, 405 for a method the path lacks. */
export function findRoute(method: string, parts: readonly string[]): Route | MacdError {
  const path = clip(`/${parts.join('/')}`);
  const entry = table.find((e) => e.path.length === parts.length && e.path.every((p, i) => p.startsWith(':') || p === parts[i]));
  if (!entry) return new MacdError(404, 'not_found', `no such path ${path}`);
  return entry.methods[method] ?? new MacdError(405, 'method_not_allowed', `${method} is not allowed on ${path}`);
}
