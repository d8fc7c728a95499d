// The backup file of a MacPool or a DhcpSubnet, and the body of the servers'
// export and import: JSON lines, a header first, then one entry per line.
// One definition for macd, dhcpd and kubectl-alcor (which checks a file
// before sending it; the servers check it again). Plain checks rather than
// zod: the kubectl plugin loads this at start.
//
//   {"kind":"DhcpSubnetBackup","version":1,"subnet":{...},"ranges":[...],"created":"...","count":2}
//   {"ip":"10.0.0.100","mac":"52:54:00:12:34:56","client":"hw:1:525400123456","hostname":"vm1","expires":"2026-01-01T00:00:00.000Z","state":"bound"}

import { macAddressPattern } from './mac.ts';
import { parseIPv4 } from './ipv4.ts';
import { cidrPattern } from './cidr.ts';

export const BACKUP_VERSION = 1;

/** The resource a backup was taken of (from the cluster; the server leaves fields it does not know empty). */
export interface BackupSource {
  namespace: string;
  name: string;
  uid: string;
}

export interface MacPoolBackupHeader {
  kind: 'MacPoolBackup';
  version: number;
  pool: BackupSource;
  /** The ranges served when the backup was taken. */
  ranges: { id: string; from: string; to: string }[];
  /** RFC 3339. */
  created: string;
  /** How many entries follow (a shorter file is truncated). */
  count: number;
}

export interface DhcpSubnetBackupHeader {
  kind: 'DhcpSubnetBackup';
  version: number;
  subnet: BackupSource & { cidr: string };
  /** The pools served when the backup was taken. */
  ranges: { start: string; end: string }[];
  created: string;
  count: number;
}

export type BackupHeader = MacPoolBackupHeader | DhcpSubnetBackupHeader;

/** One allocated MAC: Alcor's mac_state. */
export interface MacEntry {
  mac_address: string;
  project_id: string | null;
  vpc_id: string | null;
  port_id: string;
  state: 'Active' | 'Inactive';
}

/** One DHCP lease (also an item of dhcpd's lease list, which adds the server holding it). */
export interface LeaseEntry {
  ip: string;
  /** Hardware address, colon-separated lower-case hex (6 octets for Ethernet). */
  mac: string;
  /** Client identity as dhcpd keys it: "id:<hex>" (option 61) or "hw:<htype hex>:<hex>". */
  client: string;
  hostname?: string;
  /** RFC 3339. */
  expires: string;
  state: 'bound';
}

/** A lease as dhcpd's lease API lists it: the backup entry plus its subnet, state and the replica holding it. */
export interface LeaseItem extends Omit<LeaseEntry, 'state'> {
  subnet: string;
  /** bound, or quarantined (an address in conflict, held by nobody). */
  state: string;
  server: string;
}

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

const ok = <T>(value: T): Checked<T> => ({ ok: true, value });
const fail = <T>(error: string): Checked<T> => ({ ok: false, error });

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The JSON of one line, or why not. */
export function parseLine(line: string): Checked<unknown> {
  try {
    return ok(JSON.parse(line) as unknown);
  } catch (err) {
    return fail(`not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
}

function source(v: unknown, what: string): Checked<BackupSource> {
  if (!isObject(v)) return fail(`${what} must be an object`);
  for (const k of ['namespace', 'name', 'uid'] as const) if (typeof v[k] !== 'string') return fail(`${what}.${k} must be a string`);
  return ok({ namespace: v['namespace'] as string, name: v['name'] as string, uid: v['uid'] as string });
}

const isTime = (v: unknown): v is string => typeof v === 'string' && !Number.isNaN(Date.parse(v));
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

export function checkHeader(v: unknown): Checked<BackupHeader> {
  if (!isObject(v)) return fail('the header must be a JSON object');
  if (v['kind'] !== 'MacPoolBackup' && v['kind'] !== 'DhcpSubnetBackup') return fail(`the header's kind must be MacPoolBackup or DhcpSubnetBackup, got ${JSON.stringify(v['kind'])}`);
  if (v['version'] !== BACKUP_VERSION) return fail(`backup version ${JSON.stringify(v['version'])} is not supported (this version reads ${BACKUP_VERSION})`);
  if (!isTime(v['created'])) return fail('the header\'s created must be an RFC 3339 time');
  if (!isCount(v['count'])) return fail('the header\'s count must be a whole number');
  if (!Array.isArray(v['ranges'])) return fail('the header\'s ranges must be a list');
  if (v['kind'] === 'MacPoolBackup') {
    const pool = source(v['pool'], 'pool');
    if (!pool.ok) return fail(pool.error);
    const ranges: MacPoolBackupHeader['ranges'] = [];
    for (const [i, r] of (v['ranges'] as unknown[]).entries()) {
      if (!isObject(r) || typeof r['id'] !== 'string' || !isMac(r['from']) || !isMac(r['to'])) return fail(`ranges[${i}] must be {id, from, to} with MAC addresses`);
      ranges.push({ id: r['id'], from: r['from'], to: r['to'] });
    }
    return ok({ kind: 'MacPoolBackup', version: BACKUP_VERSION, pool: pool.value, ranges, created: v['created'], count: v['count'] });
  }
  const subnet = source(v['subnet'], 'subnet');
  if (!subnet.ok) return fail(subnet.error);
  const cidr = (v['subnet'] as Record<string, unknown>)['cidr'];
  if (typeof cidr !== 'string' || !cidrPattern.test(cidr)) return fail('subnet.cidr must be an IPv4 CIDR');
  const ranges: DhcpSubnetBackupHeader['ranges'] = [];
  for (const [i, r] of (v['ranges'] as unknown[]).entries()) {
    if (!isObject(r) || !isIp(r['start']) || !isIp(r['end'])) return fail(`ranges[${i}] must be {start, end} with IPv4 addresses`);
    ranges.push({ start: r['start'], end: r['end'] });
  }
  return ok({ kind: 'DhcpSubnetBackup', version: BACKUP_VERSION, subnet: { ...subnet.value, cidr }, ranges, created: v['created'], count: v['count'] });
}

const isMac = (v: unknown): v is string => typeof v === 'string' && macAddressPattern.test(v.toLowerCase());
const isIp = (v: unknown): v is string => typeof v === 'string' && parseIPv4(v) !== undefined;
const optText = (v: unknown): v is string | null | undefined => v === undefined || v === null || typeof v === 'string';

/** One MAC entry; the same rules as macd's API (a full MAC, a port_id, Active or Inactive). */
export function checkMacEntry(v: unknown): Checked<MacEntry> {
  if (!isObject(v)) return fail('an entry must be a JSON object');
  if (!isMac(v['mac_address'])) return fail(`mac_address ${JSON.stringify(v['mac_address'])} is not a MAC address like aa:bb:cc:00:00:01`);
  if (typeof v['port_id'] !== 'string' || v['port_id'] === '') return fail(`${v['mac_address']}: port_id is required`);
  if (!optText(v['project_id']) || !optText(v['vpc_id'])) return fail(`${v['mac_address']}: project_id and vpc_id must be strings`);
  const state = v['state'] ?? 'Active';
  if (state !== 'Active' && state !== 'Inactive') return fail(`${v['mac_address']}: state must be Active or Inactive`);
  return ok({
    mac_address: v['mac_address'].toLowerCase(),
    project_id: (v['project_id'] as string | null | undefined) ?? null,
    vpc_id: (v['vpc_id'] as string | null | undefined) ?? null,
    port_id: v['port_id'],
    state,
  });
}

/** A hardware address: 1 to 16 octets, colon-separated hex. */
export const hardwareAddressPattern = /^[0-9a-f]{2}(:[0-9a-f]{2}){0,15}$/;
/** dhcpd's client key: option 61 as hex, or hardware type and address. */
export const clientKeyPattern = /^(id:([0-9a-f]{2})+|hw:[0-9a-f]{1,2}:([0-9a-f]{2}){1,16})$/;

export function checkLeaseEntry(v: unknown): Checked<LeaseEntry> {
  if (!isObject(v)) return fail('an entry must be a JSON object');
  if (!isIp(v['ip'])) return fail(`ip ${JSON.stringify(v['ip'])} is not an IPv4 address`);
  const ip = v['ip'];
  if (typeof v['mac'] !== 'string' || !hardwareAddressPattern.test(v['mac'].toLowerCase())) return fail(`${ip}: mac ${JSON.stringify(v['mac'])} is not a hardware address like 52:54:00:12:34:56`);
  if (typeof v['client'] !== 'string' || !clientKeyPattern.test(v['client'])) return fail(`${ip}: client ${JSON.stringify(v['client'])} must be "id:<hex>" or "hw:<type>:<hex>"`);
  if (v['hostname'] !== undefined && (typeof v['hostname'] !== 'string' || v['hostname'].length > 255)) return fail(`${ip}: hostname must be a string of at most 255 characters`);
  if (!isTime(v['expires'])) return fail(`${ip}: expires must be an RFC 3339 time`);
  if ((v['state'] ?? 'bound') !== 'bound') return fail(`${ip}: state must be bound`);
  return ok({
    ip,
    mac: v['mac'].toLowerCase(),
    client: v['client'],
    ...(typeof v['hostname'] === 'string' ? { hostname: v['hostname'] } : {}),
    expires: new Date(Date.parse(v['expires'])).toISOString(),
    state: 'bound',
  });
}

/** A hardware address from dhcpd's hex form ("525400123456" → "52:54:00:12:34:56"). */
export function colonHex(hex: string): string {
  return (hex.match(/../g) ?? []).join(':');
}

export type Backup = { header: MacPoolBackupHeader; entries: MacEntry[] } | { header: DhcpSubnetBackupHeader; entries: LeaseEntry[] };

/**
 * A whole backup (or an export or import body): the header, then its
 * entries. Refuses, naming the line, a line that is not JSON or not an
 * entry, an address listed twice (or a client twice), and a count that does
 * not match the lines (a truncated file).
 */
export function parseBackup(text: string): Checked<Backup> {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const first = lines[0];
  if (first === undefined || first.trim() === '') return fail('line 1: empty; a backup starts with its header');
  const json = parseLine(first);
  if (!json.ok) return fail(`line 1: ${json.error}`);
  const header = checkHeader(json.value);
  if (!header.ok) return fail(`line 1: ${header.error}`);
  const seen = new Map<string, number>();
  /** The refusal of an address (or client) seen on an earlier line. */
  const once = (what: string, n: number): string | undefined => {
    const before = seen.get(what);
    if (before !== undefined) return `line ${n}: ${what} listed twice (line ${before} too)`;
    seen.set(what, n);
    return undefined;
  };
  const macs: MacEntry[] = [];
  const leases: LeaseEntry[] = [];
  for (let i = 1; i < lines.length; i++) {
    const n = i + 1;
    const line = lines[i] as string;
    if (line.trim() === '') return fail(`line ${n}: empty`);
    const v = parseLine(line);
    if (!v.ok) return fail(`line ${n}: ${v.error}`);
    if (header.value.kind === 'MacPoolBackup') {
      const e = checkMacEntry(v.value);
      if (!e.ok) return fail(`line ${n}: ${e.error}`);
      const dup = once(e.value.mac_address, n);
      if (dup) return fail(dup);
      macs.push(e.value);
    } else {
      const e = checkLeaseEntry(v.value);
      if (!e.ok) return fail(`line ${n}: ${e.error}`);
      const dup = once(e.value.ip, n) ?? once(`client ${e.value.client}`, n);
      if (dup) return fail(dup);
      leases.push(e.value);
    }
  }
  const count = lines.length - 1;
  if (count !== header.value.count) return fail(`the header says ${header.value.count} entries but ${count} follow (a truncated or edited file)`);
  return header.value.kind === 'MacPoolBackup' ? ok({ header: header.value, entries: macs }) : ok({ header: header.value, entries: leases });
}

/** A backup as the text of its file. */
export function backupLines(header: BackupHeader, entries: readonly (MacEntry | LeaseEntry)[]): string {
  let text = JSON.stringify(header) + '\n';
  for (const e of entries) text += JSON.stringify(e) + '\n';
  return text;
}

/** A backup as its server imports it: the header, the entries, and the mode (import, or restore into an empty server). */
export type ImportBody<B extends Backup> = B & { mode: 'import' | 'restore' };

/** An import request's body checked for its server (a backup of `kind`); the refusal carries the API's reason. */
export function checkImport<K extends BackupHeader['kind']>(
  mode: string | null,
  text: string,
  kind: K,
  into: string,
): { ok: true; value: ImportBody<Extract<Backup, { header: { kind: K } }>> } | { ok: false; reason: 'invalid_request' | 'malformed_file'; error: string } {
  const m = mode ?? 'import';
  if (m !== 'import' && m !== 'restore') return { ok: false, reason: 'invalid_request', error: `mode must be import or restore, got "${m}"` };
  const parsed = parseBackup(text);
  if (!parsed.ok) return { ok: false, reason: 'malformed_file', error: parsed.error };
  if (parsed.value.header.kind !== kind) return { ok: false, reason: 'malformed_file', error: `a ${parsed.value.header.kind} cannot be imported into ${into}` };
  return { ok: true, value: { ...(parsed.value as Extract<Backup, { header: { kind: K } }>), mode: m } };
}

/** The lines of a backup (or export) as it streams in, without their newlines or empty ones; UTF-8 split across chunks is kept whole. */
export async function* streamLines(stream: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let rest = '';
  for await (const chunk of stream) {
    rest += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (line !== '') yield line;
    }
  }
  rest += decoder.decode();
  if (rest !== '') yield rest;
}
