// Kea's memfile lease file for DHCPv4 (leases4.csv): reading it to migrate,
// writing it so Kea can read our leases back. The file is an append log:
// a later line for an address replaces the earlier one; a lease that ended
// has valid_lifetime 0 or state ≠ 0. Commas inside a field are written
// "&#x2c". Columns are found by name, so Kea 2.2's eleven and the later
// pool_id column both read.

import type { LeaseEntry } from '../api/backup.ts';
import { cidrContains, type Cidr } from '../api/cidr.ts';
import { parseIPv4 } from '../api/ipv4.ts';

/** The columns Kea 2.2 writes (and every later version reads). */
export const KEA_LEASE4_COLUMNS = ['address', 'hwaddr', 'client_id', 'valid_lifetime', 'expire', 'subnet_id', 'fqdn_fwd', 'fqdn_rev', 'hostname', 'state', 'user_context'] as const;

export interface KeaLease {
  address: string;
  hwaddr: string;
  /** Colon-separated hex, '' when the client sent no identifier. */
  clientId: string;
  validLifetime: number;
  /** Seconds since the epoch. */
  expire: number;
  subnetId: number;
  hostname: string;
  /** 0 default (leased), 1 declined, 2 expired-reclaimed, 3 released. */
  state: number;
}

export class KeaCsvError extends Error {}

const unescape = (v: string): string => v.replaceAll('&#x2c', ',');
const escape = (v: string): string => v.replaceAll(',', '&#x2c');
const colonHex = /^([0-9a-fA-F]{1,2})(:[0-9a-fA-F]{1,2})*$/;

/** Normalises "1:52:54:0:12:34:56" to "01:52:54:00:12:34:56". */
function normaliseHex(v: string): string {
  return v
    .split(':')
    .map((o) => o.padStart(2, '0').toLowerCase())
    .join(':');
}

/**
 * The leases of one or more files, read in the order given (older first:
 * leases4.csv.2 before leases4.csv), the last line of each address winning.
 * Throws KeaCsvError naming the file and line of the first malformed one.
 */
export function parseKeaLeases4(files: Array<{ name: string; text: string }>): KeaLease[] {
  const byAddress = new Map<string, KeaLease>();
  for (const { name, text } of files) {
    const lines = text.split(/\r?\n/);
    const header = (lines[0] ?? '').split(',');
    const at = (col: string): number => header.indexOf(col);
    for (const col of ['address', 'hwaddr', 'client_id', 'valid_lifetime', 'expire', 'subnet_id', 'hostname', 'state']) {
      if (at(col) < 0) throw new KeaCsvError(`${name} line 1: not a Kea DHCPv4 lease file (no "${col}" column; want ${KEA_LEASE4_COLUMNS.join(',')})`);
    }
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      if (line.trim() === '') continue;
      const where = `${name} line ${i + 1}`;
      const f = line.split(',');
      if (f.length < header.length) throw new KeaCsvError(`${where}: ${f.length} fields, the header has ${header.length}`);
      const get = (col: string): string => unescape(f[at(col)] as string);
      const address = get('address');
      if (parseIPv4(address) === undefined) throw new KeaCsvError(`${where}: address "${address}" is not an IPv4 address`);
      const hwaddr = get('hwaddr');
      if (hwaddr !== '' && !colonHex.test(hwaddr)) throw new KeaCsvError(`${where}: hwaddr "${hwaddr}" is not a hardware address`);
      const clientId = get('client_id');
      if (clientId !== '' && !colonHex.test(clientId)) throw new KeaCsvError(`${where}: client_id "${clientId}" is not colon-separated hex`);
      const int = (col: string): number => {
        const v = get(col);
        if (!/^[0-9]+$/.test(v)) throw new KeaCsvError(`${where}: ${col} "${v}" is not a whole number`);
        return Number(v);
      };
      byAddress.delete(address); // keep file order of the latest line
      byAddress.set(address, {
        address,
        hwaddr: hwaddr === '' ? '' : normaliseHex(hwaddr),
        clientId: clientId === '' ? '' : normaliseHex(clientId),
        validLifetime: int('valid_lifetime'),
        expire: int('expire'),
        subnetId: int('subnet_id'),
        hostname: get('hostname'),
        state: get('state') === '' ? 0 : int('state'),
      });
    }
  }
  return [...byAddress.values()];
}

export interface KeaSelection {
  entries: LeaseEntry[];
  /** Leases that ended (expired, released, declined, reclaimed): not migrated. */
  ended: number;
  /** Leases of other subnets in the file (outside the CIDR, or of another subnet_id when one is given). */
  elsewhere: number;
}

/** The live leases of one subnet, as backup entries (the client key as dhcpd computes it). */
export function keaEntries(leases: readonly KeaLease[], cidr: Cidr, now: number, subnetId?: number): KeaSelection {
  const out: KeaSelection = { entries: [], ended: 0, elsewhere: 0 };
  for (const l of leases) {
    if (!cidrContains(cidr, parseIPv4(l.address) as number) || (subnetId !== undefined && l.subnetId !== subnetId)) {
      out.elsewhere++;
      continue;
    }
    if (l.state !== 0 || l.validLifetime === 0 || l.expire * 1000 <= now || l.hwaddr === '') {
      out.ended++;
      continue;
    }
    const hex = (v: string): string => v.replaceAll(':', '');
    out.entries.push({
      ip: l.address,
      mac: l.hwaddr,
      // Option 61 when the client sent one, else Ethernet and its hardware address (RFC 2131 4.2).
      client: l.clientId !== '' ? `id:${hex(l.clientId)}` : `hw:1:${hex(l.hwaddr)}`,
      ...(l.hostname !== '' ? { hostname: l.hostname } : {}),
      expires: new Date(l.expire * 1000).toISOString(),
      state: 'bound',
    });
  }
  return out;
}

/** A client key of dhcpd as Kea's client_id: option 61's bytes, colon-separated; '' for a hardware-address key. */
function clientIdOf(client: string): string {
  return client.startsWith('id:') ? (client.slice(3).match(/../g) ?? []).join(':') : '';
}

/** The header line of a leases4.csv. */
export function keaHeader(): string {
  return KEA_LEASE4_COLUMNS.join(',') + '\n';
}

/** One lease as a leases4.csv line; valid_lifetime is the subnet's lease time (Kea derives the lease start from it). */
export function keaLine(e: LeaseEntry, validLifetime: number, subnetId: number): string {
  const expire = Math.floor(Date.parse(e.expires) / 1000);
  return [e.ip, e.mac, clientIdOf(e.client), validLifetime, expire, subnetId, 0, 0, escape(e.hostname ?? ''), 0, ''].join(',') + '\n';
}
