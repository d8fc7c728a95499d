// A subnet of the config compiled for serving: numbers instead of strings,
// the option bytes that every reply of the subnet carries built once per
// (re)load, and the predicates the allocator needs.

import { serverOwnedOptionCodes, type DhcpdSubnetConfig } from '../api/config/dhcpd.ts';
import { Opt } from './codec/constants.ts';
import { classlessRoutes, domainSearch, extraOption, ipList, uint16, uint32 } from './codec/encode.ts';
import { tlv } from './codec/packet.ts';
import { cidrContains, parseCidr, type Cidr } from '../api/cidr.ts';
import { formatIPv4, ipv4ToNumber } from '../api/ipv4.ts';
import { macHex, parseMac } from '../api/mac.ts';

export interface Range {
  start: number;
  end: number;
}

/** A fixed address for one client, compiled. */
export interface Reservation {
  ip: number;
  /** Lowercase hex, as leases carry it; exactly one of mac and clientId. */
  mac?: string;
  clientId?: string;
  /** The DhcpReservation it comes from (its state is reported); none for inline ones. */
  name?: string;
  /** The subnet's option TLVs with this client's (host name, options) put in. */
  options: Uint8Array[];
}

/** Whether a lease is the reserved client's: by client identifier, or by MAC. */
export function holdsReservation(r: Reservation, lease: { client: string; mac: string }): boolean {
  return r.clientId !== undefined ? lease.client === `id:${r.clientId}` : lease.mac === r.mac;
}

export interface Subnet {
  name: string;
  cidr: Cidr;
  /** Pools, sorted, within the subnet, minus nothing: excludes are checked apart. */
  pools: Range[];
  /** Sorted and disjoint (overlapping ones merged), so each excluded address counts once. */
  excludes: Range[];
  /** Reservations by MAC (lowercase hex), by client identifier (lowercase hex) and by address. */
  reservationByMac: Map<string, Reservation>;
  reservationByClientId: Map<string, Reservation>;
  reservationByIp: Map<number, Reservation>;
  leaseTime: number;
  renewalTime: number;
  rebindingTime: number;
  /** Options 51, 58 and 59 (lease, T1, T2) as TLVs, built once. */
  leaseTimeOptions: Uint8Array[];
  /** TLVs sent in every OFFER/ACK (and INFORM reply) of this subnet. */
  options: Uint8Array[];
  /** Relays allowed to obtain addresses here; undefined: every relay. */
  trustedRelays: Cidr[] | undefined;
  /** Serve a direct (no giaddr) client packet that carries option 82. */
  acceptRelayInfoWithoutGiaddr: boolean;
  /** Ping a new address before offering it. */
  pingCheck: boolean;
  /** How long a conflicting address stays out of the pool, and the window conflicts are counted over (ms). */
  quarantineMs: number;
  conflictWindowMs: number;
}

/** Whether `ip` may act as a relay for the subnet (as giaddr and as UDP source). */
export function trustsRelay(s: Subnet, ip: number): boolean {
  const list = s.trustedRelays;
  if (list === undefined) return true;
  for (const c of list) if (cidrContains(c, ip)) return true;
  return false;
}

const serverOwnedCodes = new Set(serverOwnedOptionCodes);

function merged(ranges: Range[]): Range[] {
  const out: Range[] = [];
  for (const r of [...ranges].sort((a, b) => a.start - b.start)) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}

function range(start: string, end: string, what: string): Range {
  const r = { start: ipv4ToNumber(start), end: ipv4ToNumber(end) };
  if (r.start > r.end) throw new Error(`${what} ${start}-${end}: start is after end`);
  return r;
}

/** Compiles one subnet; throws a message naming the bad field. */
export function compileSubnet(c: DhcpdSubnetConfig): Subnet {
  const where = `subnet "${c.name}"`;
  const cidr = parseCidr(c.cidr);
  if (!cidr) throw new Error(`${where}: cidr "${c.cidr}" is not an IPv4 CIDR`);
  const inside = (ip: number): boolean => cidrContains(cidr, ip);
  const pools = c.pools.map((p) => range(p.start, p.end, `${where}: pool`)).sort((a, b) => a.start - b.start);
  for (const p of pools) {
    if (!inside(p.start) || !inside(p.end)) throw new Error(`${where}: pool outside ${c.cidr}`);
  }
  for (let i = 1; i < pools.length; i++) {
    const prev = pools[i - 1] as Range;
    if ((pools[i] as Range).start <= prev.end) throw new Error(`${where}: pools overlap`);
  }
  const excludes = merged(c.excludes.map((e) => range(e.start, e.end, `${where}: exclude`)));

  const byCode = new Map<number, Uint8Array>();
  byCode.set(Opt.SUBNET_MASK, ipList([formatIPv4(cidr.mask)]));
  if (c.gateway) byCode.set(Opt.ROUTER, ipList([c.gateway]));
  if (c.dnsServers.length > 0) byCode.set(Opt.DNS, ipList(c.dnsServers));
  if (c.domainName) byCode.set(Opt.DOMAIN_NAME, new TextEncoder().encode(c.domainName));
  if (c.mtu !== undefined) byCode.set(Opt.MTU, uint16(c.mtu));
  byCode.set(Opt.BROADCAST, ipList([formatIPv4(cidr.last)]));
  if (c.ntpServers.length > 0) byCode.set(Opt.NTP, ipList(c.ntpServers));
  if (c.domainSearch.length > 0) byCode.set(Opt.DOMAIN_SEARCH, domainSearch(c.domainSearch));
  if (c.staticRoutes.length > 0) {
    // RFC 3442: a client that gets option 121 ignores option 3, so the
    // default route must travel inside 121 as well.
    const routes = [...c.staticRoutes];
    const hasDefault = routes.some((r) => /^0\.0\.0\.0\/0$/.test(r.destination));
    if (c.gateway && !hasDefault) routes.push({ destination: '0.0.0.0/0', gateway: c.gateway });
    byCode.set(Opt.CLASSLESS_ROUTES, classlessRoutes(routes));
  }
  for (const o of c.options) {
    if (serverOwnedCodes.has(o.code)) throw new Error(`${where}: option ${o.code} is set by the server and cannot be configured`);
    byCode.set(o.code, extraOption(o));
  }
  const tlvs = (m: Map<number, Uint8Array>) => [...m.entries()].sort((a, b) => a[0] - b[0]).map(([code, v]) => tlv(code, v));
  const options = tlvs(byCode);

  const reservationByMac = new Map<string, Reservation>();
  const reservationByClientId = new Map<string, Reservation>();
  const reservationByIp = new Map<number, Reservation>();
  for (const r of c.reservations) {
    const label = `${where}: reservation ${r.name ?? r.ip}`;
    const ip = ipv4ToNumber(r.ip);
    if (!inside(ip)) throw new Error(`${label}: ${r.ip} outside ${c.cidr}`);
    if (reservationByIp.has(ip)) throw new Error(`${label}: ${r.ip} reserved twice`);
    let own = options;
    if (r.hostname !== undefined || r.options.length > 0) {
      const mine = new Map(byCode);
      if (r.hostname !== undefined) mine.set(Opt.HOSTNAME, new TextEncoder().encode(r.hostname));
      for (const o of r.options) {
        if (serverOwnedCodes.has(o.code)) throw new Error(`${label}: option ${o.code} is set by the server and cannot be configured`);
        mine.set(o.code, extraOption(o));
      }
      own = tlvs(mine);
    }
    const res: Reservation = { ip, options: own, ...(r.name !== undefined ? { name: r.name } : {}) };
    if (r.mac !== undefined) {
      const mac = parseMac(r.mac.toLowerCase());
      if (mac === undefined) throw new Error(`${label}: MAC "${r.mac}" is not a MAC such as aa:bb:cc:00:00:01`);
      res.mac = macHex(mac);
      if (reservationByMac.has(res.mac)) throw new Error(`${label}: MAC ${r.mac} reserved twice`);
      reservationByMac.set(res.mac, res);
    } else if (r.clientId !== undefined) {
      res.clientId = r.clientId.toLowerCase();
      if (reservationByClientId.has(res.clientId)) throw new Error(`${label}: client identifier ${r.clientId} reserved twice`);
      reservationByClientId.set(res.clientId, res);
    }
    reservationByIp.set(ip, res);
  }

  return {
    name: c.name,
    cidr,
    pools,
    excludes,
    reservationByMac,
    reservationByClientId,
    reservationByIp,
    leaseTime: c.leaseTime,
    renewalTime: Math.floor(c.leaseTime * 0.5),
    rebindingTime: Math.floor(c.leaseTime * 0.875),
    leaseTimeOptions: [tlv(Opt.LEASE_TIME, uint32(c.leaseTime)), tlv(Opt.RENEWAL_TIME, uint32(Math.floor(c.leaseTime * 0.5))), tlv(Opt.REBINDING_TIME, uint32(Math.floor(c.leaseTime * 0.875)))],
    options,
    trustedRelays: c.trustedRelays?.map((r) => {
      const relays = parseCidr(r);
      if (!relays) throw new Error(`${where}: trustedRelays: "${r}" is not an IPv4 CIDR`);
      return relays;
    }),
    acceptRelayInfoWithoutGiaddr: c.relayInfoWithoutGiaddr === 'accept',
    pingCheck: c.conflictDetection === 'ping',
    quarantineMs: c.quarantineTime * 1000,
    conflictWindowMs: c.conflictWindow * 1000,
  };
}

export function isExcluded(s: Subnet, ip: number): boolean {
  for (const e of s.excludes) if (ip >= e.start && ip <= e.end) return true;
  return false;
}

export function inPool(s: Subnet, ip: number): boolean {
  for (const p of s.pools) if (ip >= p.start && ip <= p.end) return true;
  return false;
}

/**
 * Addresses of the pools in share `share` of `shares`, excludes not counted:
 * what the server of that share serves (reservations in the pools included),
 * the capacity it reports.
 */
export function shareCapacity(s: Subnet, share: number, shares: number): number {
  let n = 0;
  for (const p of s.pools) n += countInShare(p.start, p.end, share, shares);
  for (const e of s.excludes) {
    for (const p of s.pools) {
      const a = Math.max(p.start, e.start);
      const b = Math.min(p.end, e.end);
      if (a <= b) n -= countInShare(a, b, share, shares);
    }
  }
  return n;
}

/** The part of shareCapacity handed out dynamically: reservations not counted. */
export function shareSize(s: Subnet, share: number, shares: number): number {
  let n = shareCapacity(s, share, shares);
  for (const ip of s.reservationByIp.keys()) {
    if (inPool(s, ip) && !isExcluded(s, ip) && ip % shares === share) n--;
  }
  return n;
}

function countInShare(start: number, end: number, share: number, shares: number): number {
  const first = start + ((share - (start % shares) + shares) % shares);
  return first > end ? 0 : Math.floor((end - first) / shares) + 1;
}
