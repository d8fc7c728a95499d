// Encoders for option values with a structure of their own (RFC 2132 lists,
// RFC 3397 domain search, RFC 3442 classless routes) and for the typed extra
// options a DhcpSubnet may carry.

import type { DhcpOptionValue } from '../../api/config/dhcpd.ts';
import { parseCidr } from '../../api/cidr.ts';
import { ipv4ToNumber } from '../../api/ipv4.ts';
import { writeIp } from './packet.ts';

export function ipList(ips: readonly string[]): Uint8Array {
  const out = new Uint8Array(ips.length * 4);
  ips.forEach((ip, i) => writeIp(out, i * 4, ipv4ToNumber(ip)));
  return out;
}

export function uint32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  writeIp(out, 0, n >>> 0);
  return out;
}

export function uint16(n: number): Uint8Array {
  return Uint8Array.of((n >>> 8) & 255, n & 255);
}

/** RFC 1035 section 3.1 names, uncompressed, concatenated (option 119). */
export function domainSearch(domains: readonly string[]): Uint8Array {
  const bytes: number[] = [];
  for (const domain of domains) {
    const name = domain.replace(/\.$/, '');
    if (name.length > 0) {
      for (const label of name.split('.')) {
        const enc = new TextEncoder().encode(label);
        if (enc.length === 0 || enc.length > 63) throw new Error(`invalid domain "${domain}": label length must be 1-63`);
        bytes.push(enc.length, ...enc);
      }
    }
    bytes.push(0);
  }
  return Uint8Array.from(bytes);
}

/** Decodes option 119 (with compression pointers) — used by tests and logs. */
export function decodeDomainSearch(b: Uint8Array): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < b.length) {
    const labels: string[] = [];
    let p = i;
    let jumped = false;
    let guard = 0;
    while (p < b.length && guard++ < 255) {
      const len = b[p] as number;
      if (len === 0) {
        if (!jumped) i = p + 1;
        break;
      }
      if ((len & 0xc0) === 0xc0) {
        const target = ((len & 0x3f) << 8) | (b[p + 1] ?? 0);
        if (!jumped) i = p + 2;
        jumped = true;
        p = target;
        continue;
      }
      labels.push(new TextDecoder().decode(b.subarray(p + 1, p + 1 + len)));
      p += 1 + len;
    }
    if (guard >= 255 || p >= b.length) break;
    out.push(labels.join('.'));
  }
  return out;
}

export interface StaticRoute {
  destination: string;
  gateway: string;
}

/** RFC 3442 option 121: width, significant octets of the destination, router. */
export function classlessRoutes(routes: readonly StaticRoute[]): Uint8Array {
  const bytes: number[] = [];
  for (const r of routes) {
    const c = parseCidr(r.destination.includes('/') ? r.destination : `${r.destination}/32`);
    if (!c) throw new Error(`static route destination "${r.destination}" is not an IPv4 CIDR`);
    const significant = Math.ceil(c.prefixLength / 8);
    bytes.push(c.prefixLength);
    for (let k = 0; k < significant; k++) bytes.push((c.first >>> (24 - 8 * k)) & 255);
    const gw = ipv4ToNumber(r.gateway);
    bytes.push((gw >>> 24) & 255, (gw >>> 16) & 255, (gw >>> 8) & 255, gw & 255);
  }
  return Uint8Array.from(bytes);
}

export function extraOption(o: DhcpOptionValue): Uint8Array {
  switch (o.type) {
    case 'ipv4':
      return ipList([o.value]);
    case 'ipv4List':
      return ipList(o.value);
    case 'string':
      return new TextEncoder().encode(o.value);
    case 'uint8':
      return Uint8Array.of(o.value);
    case 'uint16':
      return uint16(o.value);
    case 'uint32':
      return uint32(o.value);
    case 'boolean':
      return Uint8Array.of(o.value ? 1 : 0);
    case 'hex':
      return Uint8Array.from(Buffer.from(o.value, 'hex'));
  }
}
