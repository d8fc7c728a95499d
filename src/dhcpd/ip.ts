// IPv4 addresses as unsigned 32-bit numbers: cheap to compare, hash and store.

export function ipToNumber(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new Error(`invalid IPv4 address "${ip}"`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) throw new Error(`invalid IPv4 address "${ip}"`);
    const v = Number(p);
    if (v > 255) throw new Error(`invalid IPv4 address "${ip}"`);
    n = n * 256 + v;
  }
  return n;
}

export function numberToIp(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export interface Cidr {
  network: number;
  prefix: number;
  mask: number;
  broadcast: number;
}

export function parseCidr(cidr: string): Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr.trim());
  if (!m || m[1] === undefined || m[2] === undefined) throw new Error(`invalid CIDR "${cidr}"`);
  const prefix = Number(m[2]);
  if (prefix > 32) throw new Error(`invalid CIDR "${cidr}"`);
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  const network = (ipToNumber(m[1]) & mask) >>> 0;
  return { network, prefix, mask, broadcast: (network | (~mask >>> 0)) >>> 0 };
}

export function cidrContains(c: Cidr, ip: number): boolean {
  return ((ip & c.mask) >>> 0) === c.network;
}

export function readIp(b: Uint8Array, off: number): number {
  return ((b[off] ?? 0) * 0x1000000 + ((b[off + 1] ?? 0) << 16) + ((b[off + 2] ?? 0) << 8) + (b[off + 3] ?? 0)) >>> 0;
}

export function writeIp(b: Uint8Array, off: number, ip: number): void {
  b[off] = (ip >>> 24) & 255;
  b[off + 1] = (ip >>> 16) & 255;
  b[off + 2] = (ip >>> 8) & 255;
  b[off + 3] = ip & 255;
}

/** "aa:bb:cc:dd:ee:ff" or "aa-bb-..." or "aabbcc..." to lowercase hex without separators. */
export function normalizeMac(mac: string): string {
  const hex = mac.replace(/[:\-.]/g, '').toLowerCase();
  if (!/^([0-9a-f]{2}){1,16}$/.test(hex)) throw new Error(`invalid MAC address "${mac}"`);
  return hex;
}
