// Address arithmetic shared by the schemas' client-side checks and by the
// renderers' capacity figures. MACs fit in 48 bits and IPv4 in 32, so plain
// numbers are exact (Number.MAX_SAFE_INTEGER is 2^53 - 1).

import { macAddressPattern, macPrefixPattern } from './config/macd.ts';

export const MAC_SPACE = 2 ** 48;

/** aa:bb:cc:00:00:01 → number. Throws on a malformed MAC. */
export function macToNumber(mac: string): number {
  if (!macAddressPattern.test(mac)) throw new Error(`malformed MAC "${mac}"`);
  return parseInt(mac.replaceAll(':', ''), 16);
}

export function numberToMac(n: number): string {
  const hex = n.toString(16).padStart(12, '0');
  return hex.match(/../g)!.join(':');
}

/** The first octet's least significant bit marks a multicast (group) address. */
export function isMulticastOctet(octetHex: string): boolean {
  return (parseInt(octetHex, 16) & 1) === 1;
}

/**
 * The inclusive interval a MAC exclusion covers: a full MAC is one address, a
 * prefix of 1-5 octets (with or without a trailing ":*") covers every address
 * starting with it.
 */
export function macExclusionInterval(exclusion: string): { from: number; to: number } {
  if (!macPrefixPattern.test(exclusion)) throw new Error(`malformed MAC exclusion "${exclusion}"`);
  const octets = exclusion.replace(/:\*$/, '').split(':');
  const free = 6 - octets.length;
  const base = parseInt(octets.join(''), 16) * 2 ** (8 * free);
  return { from: base, to: base + 2 ** (8 * free) - 1 };
}

const ipv4Pattern = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])){3}$/;

export function isIPv4(s: string): boolean {
  return ipv4Pattern.test(s);
}

/** 10.0.0.1 → number. Throws on a malformed address. */
export function ipv4ToNumber(ip: string): number {
  if (!isIPv4(ip)) throw new Error(`malformed IPv4 address "${ip}"`);
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

export function numberToIPv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export interface Cidr {
  /** The address as written (may have host bits set). */
  address: number;
  prefixLength: number;
  /** First and last address of the network. */
  first: number;
  last: number;
}

/** Parses "10.0.0.0/24"; undefined when it is not an IPv4 CIDR. */
export function parseCidr(s: string): Cidr | undefined {
  const m = /^([0-9.]+)\/(3[0-2]|[12][0-9]|[0-9])$/.exec(s);
  if (!m || !isIPv4(m[1]!)) return undefined;
  const address = ipv4ToNumber(m[1]!);
  const prefixLength = Number(m[2]);
  const size = 2 ** (32 - prefixLength);
  const first = Math.floor(address / size) * size;
  return { address, prefixLength, first, last: first + size - 1 };
}

export function cidrContains(cidr: Cidr, ip: number): boolean {
  return ip >= cidr.first && ip <= cidr.last;
}

/** Parses "10.0.0.5" or "10.0.0.5-10.0.0.9" into an inclusive interval; undefined when malformed. */
export function parseIPv4Range(s: string): { start: number; end: number } | undefined {
  const parts = s.split('-');
  if (parts.length > 2 || !parts.every(isIPv4)) return undefined;
  const start = ipv4ToNumber(parts[0]!);
  const end = ipv4ToNumber(parts[1] ?? parts[0]!);
  return { start, end };
}

/** Size of the union of inclusive intervals. */
export function unionSize(intervals: { from: number; to: number }[]): number {
  const sorted = intervals.filter((i) => i.to >= i.from).sort((a, b) => a.from - b.from);
  let total = 0;
  let cur: { from: number; to: number } | undefined;
  for (const i of sorted) {
    if (cur && i.from <= cur.to + 1) {
      cur.to = Math.max(cur.to, i.to);
    } else {
      if (cur) total += cur.to - cur.from + 1;
      cur = { from: i.from, to: i.to };
    }
  }
  if (cur) total += cur.to - cur.from + 1;
  return total;
}

/** Addresses of `base` intervals not covered by any of `minus` (both inclusive). */
export function coveredMinus(base: { from: number; to: number }[], minus: { from: number; to: number }[]): number {
  const covered = unionSize(base);
  const overlaps: { from: number; to: number }[] = [];
  for (const b of base) {
    for (const m of minus) {
      const from = Math.max(b.from, m.from);
      const to = Math.min(b.to, m.to);
      if (from <= to) overlaps.push({ from, to });
    }
  }
  return covered - unionSize(overlaps);
}

const durationUnits: Record<string, number> = { ns: 1e-9, us: 1e-6, µs: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };

/** A Go / Kubernetes duration string ("12h", "1h30m", "90s"): the pattern CEL's duration() accepts. */
export const durationPattern = /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/;

/** "1h30m" → 5400 (seconds, fractional allowed); undefined when malformed. */
export function parseDuration(s: string): number | undefined {
  if (!durationPattern.test(s)) return undefined;
  let total = 0;
  for (const m of s.matchAll(/([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(m[1]) * durationUnits[m[2]!]!;
  }
  return total;
}

/** True when two IPv4 CIDRs share an address (the DhcpSubnet overlap condition); false if either is malformed. */
export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return !!x && !!y && x.first <= y.last && y.first <= x.last;
}
