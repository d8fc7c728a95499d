// In-memory lease state: one Map by address, one by client, and per subnet a
// free-address allocator (a cursor that walks this replica's share of the
// pools once, plus a stack of addresses that came back). Allocation is O(1)
// amortised and memory grows with leases held, not with pool size.

import { inPool, isExcluded, type Subnet } from './subnet.ts';

export type LeaseState = 'offered' | 'bound' | 'quarantined';
/** Why an address is quarantined: a client DECLINEd it, or it answered a ping before an offer. */
export type ConflictSource = 'decline' | 'ping';

export interface Lease {
  ip: number;
  subnet: string;
  /** Option 61 or hardware address, see clientKey(); '' for quarantined addresses. */
  client: string;
  /** Hardware address, lowercase hex. */
  mac: string;
  state: LeaseState;
  /** Milliseconds since the epoch. */
  expires: number;
  hostname?: string;
  /** Quarantined: what showed the conflict. */
  conflict?: ConflictSource;
  /** Offered, but not to be sent before a ping check says the address is free. */
  probe?: boolean;
}

export type LeaseCounts = Record<LeaseState, number>;

export class LeaseStore {
  readonly byIp = new Map<number, Lease>();
  /** Subnet, then client: no key string built per lookup. */
  private readonly byClient = new Map<string, Map<string, Lease>>();

  private clients(subnet: string): Map<string, Lease> {
    let m = this.byClient.get(subnet);
    if (m === undefined) this.byClient.set(subnet, (m = new Map()));
    return m;
  }

  forClient(subnet: string, client: string): Lease | undefined {
    return this.byClient.get(subnet)?.get(client);
  }

  get(ip: number): Lease | undefined {
    return this.byIp.get(ip);
  }

  /** Inserts or replaces the lease of `lease.ip` (and the client's previous address, if another). */
  put(lease: Lease): Lease | undefined {
    const old = this.byIp.get(lease.ip);
    if (old && old.client !== '') this.byClient.get(old.subnet)?.delete(old.client);
    let displaced: Lease | undefined;
    if (lease.client !== '') {
      const clients = this.clients(lease.subnet);
      const prev = clients.get(lease.client);
      if (prev && prev.ip !== lease.ip) {
        this.byIp.delete(prev.ip);
        displaced = prev;
      }
      clients.set(lease.client, lease);
    }
    this.byIp.set(lease.ip, lease);
    return displaced;
  }

  remove(ip: number): Lease | undefined {
    const old = this.byIp.get(ip);
    if (!old) return undefined;
    this.byIp.delete(ip);
    if (old.client !== '') {
      const clients = this.byClient.get(old.subnet);
      if (clients?.get(old.client) === old) clients.delete(old.client);
    }
    return old;
  }

  /** Removes every lease that expired before `now`; returns them. */
  expire(now: number): Lease[] {
    const gone: Lease[] = [];
    for (const l of this.byIp.values()) if (l.expires <= now) gone.push(l);
    for (const l of gone) this.remove(l.ip);
    return gone;
  }

  countBySubnet(now: number): Map<string, LeaseCounts> {
    const out = new Map<string, LeaseCounts>();
    for (const l of this.byIp.values()) {
      if (l.expires <= now) continue;
      let c = out.get(l.subnet);
      if (!c) out.set(l.subnet, (c = { bound: 0, offered: 0, quarantined: 0 }));
      c[l.state]++;
    }
    return out;
  }
}

/**
 * Hands out free addresses of one subnet's share. The cursor visits each
 * address of the share once; addresses that are released or expire go on a
 * stack and are reused first. When the cursor has run through everything it
 * wraps and sweeps once more before reporting exhaustion.
 */
export class Allocator {
  private rangeIndex = 0;
  private next: number;
  private readonly returned: number[] = [];
  private exhausted = false;

  private readonly subnet: Subnet;
  private readonly share: number;
  private readonly shares: number;
  private readonly isFree: (ip: number) => boolean;

  constructor(subnet: Subnet, share: number, shares: number, isFree: (ip: number) => boolean) {
    this.subnet = subnet;
    this.share = share;
    this.shares = shares;
    this.isFree = isFree;
    this.next = this.alignedStart(0);
  }

  /** Whether `ip` belongs to this replica's share of the pools. */
  ownsAddress(ip: number): boolean {
    return ip % this.shares === this.share && inPool(this.subnet, ip);
  }

  /** Free, in this replica's share, not excluded and not reserved. */
  allocatable(ip: number): boolean {
    const s = this.subnet;
    return this.ownsAddress(ip) && !isExcluded(s, ip) && !s.reservationByIp.has(ip) && this.isFree(ip);
  }

  giveBack(ip: number): void {
    if (this.ownsAddress(ip)) {
      this.returned.push(ip);
      this.exhausted = false;
    }
  }

  allocate(): number | undefined {
    while (this.returned.length > 0) {
      const ip = this.returned.pop() as number;
      if (this.allocatable(ip)) return ip;
    }
    if (this.exhausted) return undefined;
    const pools = this.subnet.pools;
    // At most two passes over the pools: from the cursor to the end, then from the start.
    let wrapped = false;
    for (;;) {
      const r = pools[this.rangeIndex];
      if (r === undefined) {
        if (wrapped) break;
        wrapped = true;
        this.rangeIndex = 0;
        this.next = this.alignedStart(0);
        continue;
      }
      while (this.next <= r.end) {
        const ip = this.next;
        this.next += this.shares;
        if (this.allocatable(ip)) return ip;
      }
      this.rangeIndex++;
      this.next = this.alignedStart(this.rangeIndex);
    }
    this.exhausted = true;
    return undefined;
  }

  private alignedStart(i: number): number {
    const r = this.subnet.pools[i];
    if (!r) return 0;
    return r.start + ((this.share - (r.start % this.shares) + this.shares) % this.shares);
  }
}
