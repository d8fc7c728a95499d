// IPv4 CIDRs: the one parser for the schemas, the operator's overlap check
// and dhcpd.

import { ipv4Source, parseIPv4 } from './ipv4.ts';

export const cidrPattern = new RegExp(`^${ipv4Source}/(3[0-2]|[12][0-9]|[0-9])$`);

export interface Cidr {
  /** The address as written (host bits may be set). */
  address: number;
  prefixLength: number;
  /** The netmask as a number (255.255.255.0 for /24). */
  mask: number;
  /** First (network) and last (broadcast) address. */
  first: number;
  last: number;
}

/** "10.0.0.0/24" → its network; undefined when it is not an IPv4 CIDR. */
export function parseCidr(text: string): Cidr | undefined {
  if (!cidrPattern.test(text)) return undefined;
  const slash = text.indexOf('/');
  const address = parseIPv4(text.slice(0, slash))!;
  const prefixLength = Number(text.slice(slash + 1));
  const size = 2 ** (32 - prefixLength);
  const first = Math.floor(address / size) * size;
  return { address, prefixLength, mask: 2 ** 32 - size, first, last: first + size - 1 };
}

export function cidrContains(cidr: Cidr, ip: number): boolean {
  return ip >= cidr.first && ip <= cidr.last;
}

/** True when two IPv4 CIDRs share an address; false if either is malformed. */
export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  return !!x && !!y && x.first <= y.last && y.first <= x.last;
}
