// One sequence of requests to a MAC manager, run the same way against
// Alcor's real MAC manager and against macd (test/alcor/differential.test.ts):
// every endpoint with and without /v4, the error cases (bad MAC, duplicate,
// unknown, range CRUD, bulk, a full range, the Inactive state). Each step
// records the status, the shape of the body (keys and value types, not
// values) and the checks that matter to a caller (a MAC was handed out, it
// lies in the range asked for).

/** The OUI of both servers: Alcor's macmanager.oui and macd's config. */
export const OUI = 'aa:bb:cc';

export interface Step {
  /** Stable id: docs/alcor-compat.md names differences by it. */
  id: string;
  what: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** `{name}` is replaced by a value captured by an earlier step. */
  path: string;
  /** A JSON value (strings in it may hold `{name}`), or raw text sent as it is. */
  body?: unknown;
  raw?: string;
  /** Values to capture from a 2xx JSON answer: name -> dotted path (e.g. mac_state.mac_address). */
  capture?: Record<string, string>;
  /** Facts about the answer a caller relies on, by name; compared like the status. */
  checks?: Record<string, (body: unknown, vars: Record<string, string>) => boolean>;
}

/** The JSON shape of a body: value types, objects by key, arrays by their first element; "text" when not JSON, "empty" when none. */
export type Shape = string | Shape[] | { [key: string]: Shape };

export interface Observed {
  status: number;
  shape: Shape;
  checks: Record<string, boolean>;
  /** The body as received (for the record and for failure messages). */
  body: string;
}

const state = (extra: Record<string, unknown> = {}) => ({ mac_state: { project_id: 'project-1', vpc_id: 'vpc-1', port_id: 'port-1', ...extra } });
const states = (n: number, extra: (i: number) => Record<string, unknown> = () => ({})) => ({
  mac_states: Array.from({ length: n }, (_, i) => ({ project_id: 'project-1', vpc_id: 'vpc-1', port_id: `bulk-${i}`, ...extra(i) })),
});
const tenant = { range_id: 'tenant', from: `${OUI}:20:00:00`, to: `${OUI}:20:ff:ff`, state: 'Active', capacity: 65_535 };
/** Ranges of 4 addresses, to fill (capacity as Alcor's own MacRange computes it: to - from). */
const tiny = { range_id: 'tiny', from: `${OUI}:30:00:00`, to: `${OUI}:30:00:03`, state: 'Active', capacity: 3 };
const tiny2 = { range_id: 'tiny2', from: `${OUI}:31:00:00`, to: `${OUI}:31:00:03`, state: 'Active', capacity: 3 };
type RangeBody = { range_id: string; from: string; to: string; capacity: number };
const ranges = (b: unknown): RangeBody[] => (get(b, 'mac_ranges') as RangeBody[] | undefined) ?? [];
const range0Of = (b: unknown): RangeBody | undefined => ranges(b).find((r) => r.range_id === 'range0');
/** capacity is the number of addresses (Alcor's is to - from, one short). */
const capacityIsSize = (r: RangeBody | undefined): boolean => r !== undefined && r.capacity === parseInt(r.to.replaceAll(':', ''), 16) - parseInt(r.from.replaceAll(':', ''), 16) + 1;
/** MACs are answered lower-case (Alcor writes range0's `to` upper-case). */
const lowerCase = (r: RangeBody | undefined): boolean => r !== undefined && r.from === r.from.toLowerCase() && r.to === r.to.toLowerCase();

const get = (b: unknown, path: string): unknown => path.split('.').reduce<unknown>((o, k) => (o !== null && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), b);
const macOf = (b: unknown): string => String(get(b, 'mac_state.mac_address') ?? '');
const isMac = (v: unknown): boolean => typeof v === 'string' && /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(v);
const within = (mac: string, from: string, to: string): boolean => isMac(mac) && mac.toLowerCase() >= from && mac.toLowerCase() <= to;
/** Allocation answered with a non-empty MAC: what Alcor's MacManagerRestClient verifies. */
const gotMac = (b: unknown): boolean => isMac(macOf(b));
const allMacs = (b: unknown): boolean => {
  const list = get(b, 'mac_states');
  return Array.isArray(list) && list.length > 0 && list.every((s) => isMac(get(s, 'mac_address')));
};

export const steps: Step[] = [
  { id: 'ranges-initial', what: 'GET /macs/ranges before any allocation', method: 'GET', path: '/macs/ranges', checks: { range0: (b) => range0Of(b) !== undefined } },
  // Allocation in the default range.
  { id: 'alloc', what: 'POST /macs, no MAC, no state', method: 'POST', path: '/macs', body: state(), capture: { a: 'mac_state.mac_address' }, checks: { mac: gotMac, active: (b) => get(b, 'mac_state.state') === 'Active' } },
  { id: 'alloc-v4-inactive', what: 'POST /v4/macs with state Inactive', method: 'POST', path: '/v4/macs', body: state({ port_id: 'port-2', state: 'Inactive' }), capture: { b: 'mac_state.mac_address' }, checks: { mac: gotMac, inactive: (b) => get(b, 'mac_state.state') === 'Inactive' } },
  { id: 'ranges-after-alloc', what: 'GET /macs/ranges after the first allocation', method: 'GET', path: '/macs/ranges', checks: { capacityIsSize: (b) => capacityIsSize(range0Of(b)), lowerCase: (b) => lowerCase(range0Of(b)) } },
  { id: 'get', what: 'GET /macs/{mac} allocated', method: 'GET', path: '/macs/{a}', checks: { same: (b, v) => macOf(b).toLowerCase() === v['a']!.toLowerCase() } },
  { id: 'get-v4', what: 'GET /v4/macs/{mac} allocated Inactive', method: 'GET', path: '/v4/macs/{b}', checks: { inactive: (b) => get(b, 'mac_state.state') === 'Inactive' } },
  { id: 'get-never', what: 'GET /macs/{mac} never allocated', method: 'GET', path: `/macs/${OUI}:ee:ee:ee` },
  { id: 'get-uppercase', what: 'GET /macs/{MAC} of an allocated MAC written upper-case', method: 'GET', path: '/macs/{A}', checks: { found: (b, v) => macOf(b).toLowerCase() === v['a'] } },
  { id: 'get-malformed', what: 'GET /macs/zz', method: 'GET', path: '/macs/zz' },
  { id: 'get-dashes', what: 'GET /macs/{mac} of an allocated MAC written with dashes', method: 'GET', path: '/macs/{a_dashes}', checks: { found: (b, v) => macOf(b).toLowerCase() === v['a'] } },
  { id: 'alloc-specific', what: 'POST /macs with a free mac_address', method: 'POST', path: '/macs', body: state({ port_id: 'port-3', mac_address: `${OUI}:10:00:01` }), checks: { asked: (b) => macOf(b).toLowerCase() === `${OUI}:10:00:01` } },
  { id: 'alloc-duplicate', what: 'POST /macs with a mac_address already allocated', method: 'POST', path: '/macs', body: state({ port_id: 'port-4', mac_address: `${OUI}:10:00:01` }) },
  { id: 'alloc-specific-v4-uppercase', what: 'POST /v4/macs with an upper-case mac_address', method: 'POST', path: '/v4/macs', body: state({ port_id: 'port-5', mac_address: 'AA:BB:CC:10:00:02' }), checks: { lowerCase: (b) => macOf(b) === `${OUI}:10:00:02` } },
  { id: 'alloc-uppercase-duplicate', what: 'POST /macs with that MAC again, lower-case', method: 'POST', path: '/macs', body: state({ port_id: 'port-5x', mac_address: `${OUI}:10:00:02` }) },
  { id: 'alloc-specific-dashes', what: 'POST /macs with mac_address written with dashes', method: 'POST', path: '/macs', body: state({ port_id: 'port-5b', mac_address: 'aa-bb-cc-10-00-03' }), checks: { colons: (b) => macOf(b) === `${OUI}:10:00:03` } },
  { id: 'alloc-outside-oui', what: 'POST /macs with a mac_address outside the OUI', method: 'POST', path: '/macs', body: state({ port_id: 'port-6', mac_address: '02:00:00:00:00:01' }) },
  { id: 'alloc-malformed-mac', what: 'POST /macs with mac_address "zz"', method: 'POST', path: '/macs', body: state({ port_id: 'port-7', mac_address: 'zz' }) },
  { id: 'alloc-no-port', what: 'POST /macs without port_id', method: 'POST', path: '/macs', body: { mac_state: { project_id: 'project-1', vpc_id: 'vpc-1' } } },
  { id: 'alloc-no-project', what: 'POST /macs without project_id', method: 'POST', path: '/macs', body: { mac_state: { vpc_id: 'vpc-1', port_id: 'port-8' } } },
  { id: 'alloc-blank-vpc', what: 'POST /macs with vpc_id "  "', method: 'POST', path: '/macs', body: state({ port_id: 'port-9', vpc_id: '  ' }) },
  { id: 'alloc-odd-port-id', what: 'POST /macs with port_id "port 1/x" (a space and a slash)', method: 'POST', path: '/macs', body: state({ port_id: 'port 1/x' }) },
  { id: 'alloc-bad-state', what: 'POST /macs with state "Busy"', method: 'POST', path: '/macs', body: state({ port_id: 'port-10', state: 'Busy' }) },
  { id: 'alloc-no-body-key', what: 'POST /macs with {} (no mac_state)', method: 'POST', path: '/macs', body: {} },
  { id: 'alloc-malformed-json', what: 'POST /macs with a body that is not JSON', method: 'POST', path: '/macs', raw: '{"mac_state": {' },
  // Bulk.
  { id: 'bulk', what: 'POST /macs/bulk, 3 states', method: 'POST', path: '/macs/bulk', body: states(3), capture: { c: 'mac_states.0.mac_address' }, checks: { macs: allMacs } },
  { id: 'bulk-v4-specific', what: 'POST /v4/macs/bulk with one free mac_address', method: 'POST', path: '/v4/macs/bulk', body: states(2, (i) => (i === 1 ? { mac_address: `${OUI}:10:00:10` } : {})), checks: { macs: allMacs } },
  { id: 'bulk-duplicate', what: 'POST /macs/bulk with one mac_address already allocated', method: 'POST', path: '/macs/bulk', body: states(2, (i) => (i === 1 ? { mac_address: `${OUI}:10:00:01` } : {})) },
  { id: 'bulk-empty', what: 'POST /macs/bulk with no states', method: 'POST', path: '/macs/bulk', body: { mac_states: [] } },
  { id: 'bulk-no-port', what: 'POST /macs/bulk with a state without port_id', method: 'POST', path: '/macs/bulk', body: { mac_states: [{ project_id: 'p', vpc_id: 'v' }] } },
  // Update.
  { id: 'put', what: 'PUT /macs/{mac} to Inactive', method: 'PUT', path: '/macs/{a}', body: { mac_state: { mac_address: '{a}', project_id: 'project-2', vpc_id: 'vpc-2', port_id: 'port-1b', state: 'Inactive' } } },
  { id: 'put-then-get', what: 'GET /macs/{mac} after PUT', method: 'GET', path: '/macs/{a}', checks: { updated: (b) => get(b, 'mac_state.port_id') === 'port-1b' && get(b, 'mac_state.state') === 'Inactive' } },
  { id: 'put-v4-no-mac-in-body', what: 'PUT /v4/macs/{mac}, body without mac_address', method: 'PUT', path: '/v4/macs/{a}', body: state({ port_id: 'port-1c' }) },
  { id: 'put-mismatch', what: 'PUT /macs/{mac}, body naming another MAC', method: 'PUT', path: '/macs/{a}', body: state({ mac_address: '{b}' }) },
  { id: 'put-never', what: 'PUT /macs/{mac} never allocated', method: 'PUT', path: `/macs/${OUI}:ee:ee:ef`, body: state({ mac_address: `${OUI}:ee:ee:ef` }) },
  { id: 'put-malformed', what: 'PUT /macs/zz', method: 'PUT', path: '/macs/zz', body: state({ mac_address: 'zz' }) },
  // Release.
  { id: 'delete', what: 'DELETE /macs/{mac} allocated', method: 'DELETE', path: '/macs/{a}' },
  { id: 'get-released', what: 'GET /macs/{mac} released', method: 'GET', path: '/macs/{a}' },
  { id: 'delete-again', what: 'DELETE /macs/{mac} released', method: 'DELETE', path: '/macs/{a}' },
  { id: 'delete-v4-never', what: 'DELETE /v4/macs/{mac} never allocated', method: 'DELETE', path: `/v4/macs/${OUI}:ee:ee:ee` },
  { id: 'delete-malformed', what: 'DELETE /macs/zz', method: 'DELETE', path: '/macs/zz' },
  { id: 'realloc-released', what: 'POST /macs with the released mac_address', method: 'POST', path: '/macs', body: state({ port_id: 'port-11', mac_address: '{a}' }) },
  // Ranges.
  { id: 'range-create', what: 'POST /macs/ranges, a range inside range0 (with capacity)', method: 'POST', path: '/macs/ranges', body: { mac_range: tenant }, checks: { capacityIsSize: (b) => capacityIsSize(get(b, 'mac_range') as RangeBody) } },
  { id: 'range-create-again', what: 'POST /macs/ranges, the same range_id again', method: 'POST', path: '/v4/macs/ranges', body: { mac_range: tenant } },
  { id: 'range-create-reversed', what: 'POST /macs/ranges with from after to', method: 'POST', path: '/macs/ranges', body: { mac_range: { ...tenant, range_id: 'reversed', from: `${OUI}:21:ff:ff`, to: `${OUI}:21:00:00` } } },
  { id: 'range-create-malformed', what: 'POST /macs/ranges with from "zz"', method: 'POST', path: '/macs/ranges', body: { mac_range: { ...tenant, range_id: 'bad', from: 'zz' } } },
  { id: 'range-create-no-state', what: 'POST /macs/ranges without state', method: 'POST', path: '/macs/ranges', body: { mac_range: { range_id: 'nostate', from: `${OUI}:22:00:00`, to: `${OUI}:22:00:ff`, capacity: 255 } } },
  { id: 'range-get', what: 'GET /macs/ranges/{id}', method: 'GET', path: '/macs/ranges/tenant' },
  { id: 'range-get-v4-unknown', what: 'GET /v4/macs/ranges/{id} unknown', method: 'GET', path: '/v4/macs/ranges/nope' },
  { id: 'range-list', what: 'GET /macs/ranges', method: 'GET', path: '/macs/ranges' },
  { id: 'range-list-filter', what: 'GET /v4/macs/ranges?rangeId=tenant', method: 'GET', path: '/v4/macs/ranges?rangeId=tenant' },
  { id: 'alloc-in-range', what: 'POST /macs/range/{id}', method: 'POST', path: '/macs/range/tenant', body: state({ port_id: 'port-12' }), checks: { mac: gotMac, inRange: (b) => within(macOf(b), tenant.from, tenant.to) } },
  { id: 'alloc-in-range-v4-bulk', what: 'POST /v4/macs/range/{id}/bulk', method: 'POST', path: '/v4/macs/range/tenant/bulk', body: states(3), checks: { macs: allMacs, inRange: (b) => (get(b, 'mac_states') as unknown[] | undefined)?.every((s) => within(String(get(s, 'mac_address')), tenant.from, tenant.to)) === true } },
  { id: 'alloc-in-range-specific-outside', what: 'POST /macs/range/{id} with a mac_address outside that range', method: 'POST', path: '/macs/range/tenant', body: state({ port_id: 'port-12b', mac_address: `${OUI}:10:00:20` }) },
  { id: 'alloc-in-range-unknown', what: 'POST /macs/range/{id} unknown', method: 'POST', path: '/macs/range/nope', body: state({ port_id: 'port-13' }) },
  { id: 'alloc-in-range-bulk-unknown', what: 'POST /macs/range/{id}/bulk unknown', method: 'POST', path: '/macs/range/nope/bulk', body: states(1) },
  { id: 'range-update-inactive', what: 'PUT /macs/ranges/{id} to Inactive', method: 'PUT', path: '/macs/ranges/tenant', body: { mac_range: { ...tenant, state: 'Inactive' } } },
  { id: 'alloc-in-inactive', what: 'POST /macs/range/{id} of an Inactive range', method: 'POST', path: '/macs/range/tenant', body: state({ port_id: 'port-14' }) },
  { id: 'alloc-in-inactive-bulk', what: 'POST /v4/macs/range/{id}/bulk of an Inactive range', method: 'POST', path: '/v4/macs/range/tenant/bulk', body: states(1) },
  { id: 'range-update-v4-active', what: 'PUT /v4/macs/ranges/{id} back to Active', method: 'PUT', path: '/v4/macs/ranges/tenant', body: { mac_range: { ...tenant, state: 'Active' } } },
  { id: 'range-update-unknown', what: 'PUT /macs/ranges/{id} unknown', method: 'PUT', path: '/macs/ranges/nope2', body: { mac_range: { ...tenant, range_id: 'nope2' } } },
  { id: 'range-update-no-id', what: 'PUT /macs/ranges/{id}, body without range_id', method: 'PUT', path: '/macs/ranges/tenant', body: { mac_range: { from: tenant.from, to: tenant.to, state: 'Active', capacity: tenant.capacity } } },
  // A range without capacity: Alcor then hands out a null MAC.
  { id: 'range-create-no-capacity', what: 'POST /macs/ranges without capacity', method: 'POST', path: '/macs/ranges', body: { mac_range: { range_id: 'nocap', from: `${OUI}:23:00:00`, to: `${OUI}:23:00:ff`, state: 'Active' } } },
  { id: 'alloc-in-no-capacity', what: 'POST /macs/range/{id} of a range created without capacity', method: 'POST', path: '/macs/range/nocap', body: state({ port_id: 'port-15' }), checks: { mac: gotMac } },
  // A full range.
  { id: 'range-create-tiny', what: 'POST /macs/ranges, 4 addresses', method: 'POST', path: '/macs/ranges', body: { mac_range: tiny } },
  { id: 'alloc-tiny-1', what: 'POST /macs/range/{id} (1)', method: 'POST', path: '/macs/range/tiny', body: state({ port_id: 'tiny-1' }), checks: { mac: gotMac } },
  { id: 'alloc-tiny-2', what: 'POST /macs/range/{id} (2)', method: 'POST', path: '/macs/range/tiny', body: state({ port_id: 'tiny-2' }), checks: { mac: gotMac } },
  { id: 'alloc-tiny-3', what: 'POST /macs/range/{id} (3)', method: 'POST', path: '/macs/range/tiny', body: state({ port_id: 'tiny-3' }), checks: { mac: gotMac } },
  { id: 'alloc-tiny-4', what: 'POST /macs/range/{id} (4)', method: 'POST', path: '/macs/range/tiny', body: state({ port_id: 'tiny-4' }), checks: { mac: gotMac } },
  { id: 'alloc-tiny-full', what: 'POST /macs/range/{id} of a full range', method: 'POST', path: '/macs/range/tiny', body: state({ port_id: 'tiny-5' }), checks: { mac: gotMac } },
  { id: 'alloc-tiny-full-bulk', what: 'POST /v4/macs/range/{id}/bulk of a full range', method: 'POST', path: '/v4/macs/range/tiny/bulk', body: states(1) },
  { id: 'range-create-tiny2', what: 'POST /macs/ranges, another 4 addresses', method: 'POST', path: '/macs/ranges', body: { mac_range: tiny2 } },
  { id: 'alloc-bulk-fits', what: 'POST /macs/range/{id}/bulk, 4 states into 4 free addresses', method: 'POST', path: '/macs/range/tiny2/bulk', body: states(4), checks: { macs: allMacs } },
  // Deleting ranges.
  { id: 'range-delete', what: 'DELETE /macs/ranges/{id}', method: 'DELETE', path: '/macs/ranges/tenant' },
  { id: 'range-get-deleted', what: 'GET /macs/ranges/{id} deleted', method: 'GET', path: '/macs/ranges/tenant' },
  { id: 'range-delete-v4-unknown', what: 'DELETE /v4/macs/ranges/{id} unknown', method: 'DELETE', path: '/v4/macs/ranges/nope' },
  { id: 'range-delete-range0', what: 'DELETE /macs/ranges/range0', method: 'DELETE', path: '/macs/ranges/range0' },
  { id: 'get-in-deleted-range', what: 'GET /macs/{mac} allocated in a deleted range', method: 'GET', path: '/macs/{c}' },
  // Paths and methods no endpoint has.
  { id: 'unknown-path', what: 'GET /nothing', method: 'GET', path: '/nothing' },
  { id: 'method-not-allowed', what: 'DELETE /macs', method: 'DELETE', path: '/macs' },
];

/** The JSON shape of a value: its keys (sorted) and the types of their values, arrays by their first element. */
export function shapeOf(v: unknown): Shape {
  if (v === null) return 'null';
  if (Array.isArray(v)) return v.length === 0 ? [] : [shapeOf(v[0])];
  if (typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, shapeOf(o[k])]));
  }
  return typeof v;
}

/** Replaces `{name}` in strings (deeply) by captured values. */
function fill<T>(v: T, vars: Record<string, string>): T {
  if (typeof v === 'string') return v.replace(/\{(\w+)\}/g, (m, k: string) => vars[k] ?? m) as T;
  if (Array.isArray(v)) return v.map((x) => fill(x, vars)) as T;
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x, vars)])) as T;
  return v;
}

/** Runs the steps in order against `base` (http://host:port); returns what each answered. */
export async function runSequence(base: string, list: Step[] = steps): Promise<Map<string, Observed>> {
  const vars: Record<string, string> = {};
  const out = new Map<string, Observed>();
  for (const step of list) {
    const body = step.raw ?? (step.body === undefined ? undefined : JSON.stringify(fill(step.body, vars)));
    const res = await fetch(base + fill(step.path, vars), {
      method: step.method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let json: unknown;
    let shape: Shape;
    if (text === '') shape = 'empty';
    else {
      try {
        json = JSON.parse(text);
        shape = shapeOf(json);
      } catch {
        shape = 'text';
      }
    }
    const checks: Record<string, boolean> = {};
    for (const [name, check] of Object.entries(step.checks ?? {})) checks[name] = json !== undefined && check(json, vars);
    if (res.status < 300 && json !== undefined) {
      for (const [name, path] of Object.entries(step.capture ?? {})) {
        const v = get(json, path);
        if (typeof v === 'string') {
          vars[name] = v.toLowerCase();
          vars[name.toUpperCase()] = v.toUpperCase();
          vars[`${name}_dashes`] = v.toLowerCase().replaceAll(':', '-');
        }
      }
    }
    out.set(step.id, { status: res.status, shape, checks, body: text });
  }
  return out;
}
