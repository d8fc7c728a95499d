// The wire format of Alcor's MAC manager API: request bodies checked and
// turned into store inputs (a clear 400 naming the field otherwise), and
// answers serialised the way Alcor's Java clients read them.

import { idCharacters, idPattern } from '../api/macd-limits.ts';
import { formatMac, parseMacNotation } from '../api/mac.ts';
import { clip } from '../process/http-input.ts';
import { MacdError } from './errors.ts';
import type { RangeStats } from './layout.ts';
import type { MacMeta } from './meta.ts';
import type { MacRange } from './range.ts';
import type { MacStateInput, MacStateOut } from './store.ts';

/** Characters that JSON must escape. */
export const NEEDS_ESCAPE = /["\\\u0000-\u001f\u2028\u2029\ud800-\udfff]/;
/** A string (or null) as JSON text; quoted without JSON.stringify when nothing needs escaping (ids never do). */
export const jsonString = (v: string | null): string => (v === null ? 'null' : NEEDS_ESCAPE.test(v) ? JSON.stringify(v) : `"${v}"`);
const stateJson = (v: string): string => (v === 'Active' ? '"Active"' : v === 'Inactive' ? '"Inactive"' : jsonString(v));

/** A mac_state as JSON text, built directly (bulk answers hold thousands). */
export function macStateJson(s: MacStateOut): string {
  const m = s.meta;
  return `{"mac_address":"${formatMac(s.mac)}","project_id":${jsonString(m.projectId)},"vpc_id":${jsonString(m.vpcId)},"port_id":${jsonString(m.portId)},"state":${stateJson(m.state)}}`;
}

/** A pre-serialised JSON body. */
export class Json {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

export function rangeJson(r: MacRange, s: RangeStats): Record<string, unknown> {
  return {
    range_id: r.id,
    from: formatMac(r.from),
    to: formatMac(r.to),
    state: r.state,
    capacity: s.capacity,
    used: s.used,
    available: s.available,
    source: r.source,
  };
}

export function bad(reason: 'invalid_request' | 'missing_field' | 'malformed_mac', message: string): MacdError {
  return new MacdError(400, reason, message);
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** What a request body may hold: the limits of macd-limits.ts the parser applies. */
export interface BodyLimits {
  /** Most mac_states in one bulk request. */
  maxBulk: number;
  /** Longest project_id, vpc_id, port_id and range_id. */
  maxIdLength: number;
}

function optString(o: Record<string, unknown>, key: string, where: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw bad('invalid_request', `${where}.${key} must be a string`);
  return v;
}

/** An id (project_id, vpc_id, port_id, range_id): null when absent, else checked for length and characters. */
function optId(o: Record<string, unknown>, key: string, where: string, limits: BodyLimits): string | null {
  const v = optString(o, key, where);
  if (v === null || v === '') return v;
  if (v.length > limits.maxIdLength) throw bad('invalid_request', `${where}.${key} is ${v.length} characters long; the most is ${limits.maxIdLength}`);
  if (!idPattern.test(v)) throw bad('invalid_request', `${where}.${key} "${clip(v, 64)}" may hold only ${idCharacters}`);
  return v;
}

/** A MAC in a path or body: ":" or "-" separated, either case (as Alcor accepts); 400 malformed_mac otherwise. */
export function parseMacField(v: string, what: string): number {
  const mac = parseMacNotation(v);
  if (mac === undefined) throw bad('malformed_mac', `${what} "${clip(v, 64)}" is not a MAC address like aa:bb:cc:00:00:01`);
  return mac;
}

/**
 * Validates one mac_state of a request body. project_id, vpc_id and port_id
 * are required and not blank, as Alcor's MAC manager requires; state is
 * Active (default) or Inactive. `stored`: a state as macd may already hold it
 * (a backup being imported): before macd required all three, project_id and
 * vpc_id could be null.
 */
export function parseMacState(v: unknown, where: string, limits: BodyLimits, opts: { stored?: boolean } = {}): MacStateInput {
  if (!isObject(v)) throw bad('invalid_request', `${where} must be an object`);
  const addr = optString(v, 'mac_address', where);
  const id = (key: string, required: boolean): string | null => {
    const raw = optString(v, key, where);
    if (raw === null && !required) return null;
    if (raw === null || raw.trim() === '') throw bad('missing_field', `${where}.${key} is required (project_id, vpc_id and port_id must not be empty)`);
    return optId(v, key, where, limits)!;
  };
  const projectId = id('project_id', !opts.stored);
  const vpcId = id('vpc_id', !opts.stored);
  const portId = id('port_id', true)!;
  const state = optString(v, 'state', where)?.trim() || 'Active';
  if (state !== 'Active' && state !== 'Inactive') throw bad('invalid_request', `${where}.state must be "Active" or "Inactive"`);
  const meta: MacMeta = { portId, projectId, vpcId, state };
  return { mac: addr === null || addr === '' ? null : parseMacField(addr, `${where}.mac_address`), meta };
}

/** decodeURIComponent that answers 400 instead of throwing URIError. */
export function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw bad('invalid_request', `"${clip(part, 64)}" is not a valid URL path segment`);
  }
}

export function bodyField(body: unknown, key: string): unknown {
  if (!isObject(body) || !(key in body)) throw bad('invalid_request', `the body must be {"${key}": ...}`);
  return body[key];
}

/** The mac_states of a bulk request: more than maxBulk is 413 bulk_too_large before any is looked at. */
export function parseStates(body: unknown, limits: BodyLimits): MacStateInput[] {
  const list = bodyField(body, 'mac_states');
  if (!Array.isArray(list)) throw bad('invalid_request', 'mac_states must be an array');
  if (list.length > limits.maxBulk) throw new MacdError(413, 'bulk_too_large', `mac_states holds ${list.length} entries; the most in one request is ${limits.maxBulk}`);
  const out: MacStateInput[] = new Array<MacStateInput>(list.length);
  for (let i = 0; i < list.length; i++) out[i] = parseMacState(list[i], `mac_states[${i}]`, limits);
  return out;
}

/** A mac_range of a request body; without range_id, the one in the path (as Alcor's PUT does). */
export function parseRange(body: unknown, limits: BodyLimits, pathId?: string): { id: string; from: number; to: number; state: 'Active' | 'Inactive' } {
  const r = bodyField(body, 'mac_range');
  if (!isObject(r)) throw bad('invalid_request', 'mac_range must be an object');
  const id = optId(r, 'range_id', 'mac_range', limits) ?? pathId ?? null;
  if (!id) throw bad('invalid_request', 'mac_range.range_id is required');
  const from = optString(r, 'from', 'mac_range');
  const to = optString(r, 'to', 'mac_range');
  if (from === null || to === null) throw bad('invalid_request', 'mac_range.from and mac_range.to are required');
  const state = optString(r, 'state', 'mac_range') ?? 'Active';
  if (state !== 'Active' && state !== 'Inactive') throw bad('invalid_request', 'mac_range.state must be "Active" or "Inactive"');
  return { id, from: parseMacField(from, 'mac_range.from'), to: parseMacField(to, 'mac_range.to'), state };
}
