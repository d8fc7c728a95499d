// What one dhcpd replica answers about its own leases: a page in address
// order, one address, a release, a consistent export, and an import that is
// checked whole before any of it is applied. No HTTP here (routes.ts), no
// other replica (fanout.ts).

import { colonHex, type DhcpSubnetBackupHeader, type LeaseEntry, type LeaseItem } from '../../api/backup.ts';
import { cidrContains } from '../../api/cidr.ts';
import { formatIPv4, ipv4ToNumber } from '../../api/ipv4.ts';
import type { DhcpCore, LeaseRecord } from '../core.ts';
import type { Lease } from '../leases.ts';
import { holdsReservation, inPool, isExcluded, type Subnet } from '../subnet.ts';

/** Who answers: the replica's name (its pod) and its share of the pools. */
export interface ServerIdentity {
  name: string;
  share: number;
  shares: number;
}

/** Where a listing resumes: after this address, and after this server at the same address (node-local servers may share addresses). */
export interface Cursor {
  ip: number;
  server: string;
}

export interface ReplicaOptions {
  core: DhcpCore;
  /** Makes records durable (the lease log); resolves once they are. */
  persist: (records: LeaseRecord[]) => Promise<void>;
  identity: () => ServerIdentity;
  now?: () => number;
  /** How stale the address-ordered index may get before a page rebuilds it (ms). */
  indexMaxAgeMs?: number;
}

export interface ImportCheck {
  /** Entries this replica owns (its share of the addresses). */
  owned: number;
  /** Owned entries whose lease already ended: not imported. */
  expired: number;
  conflicts: string[];
}

/** Listed: every live lease except offers (they last seconds and belong to no one yet). */
const listed = (l: Lease, now: number): boolean => l.expires > now && l.state !== 'offered';

export class Replica {
  private readonly o: ReplicaOptions;
  private order = new Float64Array(0);
  private orderBuiltAt = -Infinity;

  constructor(o: ReplicaOptions) {
    this.o = o;
  }

  private now(): number {
    return this.o.now?.() ?? Date.now();
  }

  item(l: Lease): LeaseItem {
    return {
      ip: formatIPv4(l.ip),
      mac: colonHex(l.mac),
      client: l.client,
      ...(l.hostname !== undefined ? { hostname: l.hostname } : {}),
      expires: new Date(l.expires).toISOString(),
      subnet: l.subnet,
      state: l.state,
      server: this.o.identity().name,
    };
  }

  subnets(): readonly Subnet[] {
    return this.o.core.subnets();
  }

  /** The configured subnet containing `ip`, if any. */
  subnetOf(ip: number): Subnet | undefined {
    return this.o.core.subnets().find((s) => cidrContains(s.cidr, ip));
  }

  subnetNamed(name: string | undefined): Subnet | undefined {
    const all = this.o.core.subnets();
    return name === undefined ? (all.length === 1 ? all[0] : undefined) : all.find((s) => s.name === name);
  }

  /**
   * Up to `limit` leases after `after`, in address order, and whether more
   * follow. The order comes from a sorted copy of the addresses, rebuilt
   * when older than a second: a page costs a binary search, not a sort of
   * every lease (a listing is a live view; export is the consistent one).
   */
  page(after: Cursor | undefined, limit: number, subnet?: string): { items: LeaseItem[]; more: boolean } {
    const now = this.now();
    const byIp = this.o.core.leases.byIp;
    if (now - this.orderBuiltAt > (this.o.indexMaxAgeMs ?? 1000) || this.order.length === 0) {
      this.order = Float64Array.from(byIp.keys()).sort();
      this.orderBuiltAt = now;
    }
    const self = this.o.identity().name;
    // The first address to look at: past the cursor's, or at it when this server sorts after the cursor's.
    const from = after === undefined ? 0 : self > after.server ? after.ip : after.ip + 1;
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.order[mid] as number) < from) lo = mid + 1;
      else hi = mid;
    }
    const items: LeaseItem[] = [];
    for (let i = lo; i < this.order.length; i++) {
      const l = byIp.get(this.order[i] as number);
      if (!l || !listed(l, now) || (subnet !== undefined && l.subnet !== subnet)) continue;
      if (items.length === limit) return { items, more: true };
      items.push(this.item(l));
    }
    return { items, more: false };
  }

  get(ip: number): LeaseItem | undefined {
    const l = this.o.core.leases.get(ip);
    return l && listed(l, this.now()) ? this.item(l) : undefined;
  }

  /** Frees the address once the release is durable; undefined when nothing holds it here. */
  async release(ip: number): Promise<LeaseItem | undefined> {
    const l = this.o.core.leases.get(ip);
    if (!l || !listed(l, this.now())) return undefined;
    const item = this.item(l);
    const record = this.o.core.releaseAddress(ip, this.now());
    if (!record) return undefined;
    await this.o.persist([record]);
    return item;
  }

  /** Bound leases of a subnet, copied at one instant (nothing runs between the reads): a consistent snapshot. */
  snapshot(subnet: Subnet): { header: DhcpSubnetBackupHeader; entries: LeaseEntry[] } {
    const now = this.now();
    const entries: LeaseEntry[] = [];
    for (const l of this.o.core.leases.byIp.values()) {
      if (l.subnet !== subnet.name || l.state !== 'bound' || l.expires <= now) continue;
      entries.push({ ip: formatIPv4(l.ip), mac: colonHex(l.mac), client: l.client, ...(l.hostname !== undefined ? { hostname: l.hostname } : {}), expires: new Date(l.expires).toISOString(), state: 'bound' });
    }
    entries.sort((a, b) => ipv4ToNumber(a.ip) - ipv4ToNumber(b.ip));
    return {
      header: {
        kind: 'DhcpSubnetBackup',
        version: 1,
        subnet: { namespace: '', name: subnet.name, uid: '', cidr: `${formatIPv4(subnet.cidr.first)}/${subnet.cidr.prefixLength}` },
        ranges: subnet.pools.map((p) => ({ start: formatIPv4(p.start), end: formatIPv4(p.end) })),
        created: new Date(now).toISOString(),
        count: entries.length,
      },
      entries,
    };
  }

  /** Live bound leases of a subnet on this replica. */
  bound(subnet: Subnet): number {
    return this.o.core.leases.countBySubnet(this.now()).get(subnet.name)?.bound ?? 0;
  }

  private owns(ip: number): boolean {
    const { share, shares } = this.o.identity();
    return ip % shares === share;
  }

  /**
   * Checks the entries this replica owns against its state: each address in
   * the subnet, in a pool and not excluded or reserved to someone else (or
   * reserved to this MAC), not leased to another client, its client holding
   * no other address; restore also wants no lease at all.
   */
  check(subnet: Subnet, entries: readonly LeaseEntry[], restore: boolean): ImportCheck {
    const now = this.now();
    const conflicts: string[] = [];
    let owned = 0;
    let expired = 0;
    if (restore) {
      // Not empty: that is the one thing to say.
      const n = this.bound(subnet);
      if (n > 0) return { owned: 0, expired: 0, conflicts: [`subnet ${subnet.name} holds ${n} lease${n === 1 ? '' : 's'} on ${this.o.identity().name}: restore goes into an empty subnet`] };
    }
    for (const e of entries) {
      const ip = ipv4ToNumber(e.ip);
      if (!cidrContains(subnet.cidr, ip)) {
        conflicts.push(`${e.ip}: outside ${formatIPv4(subnet.cidr.first)}/${subnet.cidr.prefixLength}`);
        continue;
      }
      // A client holds one address of a subnet, whichever replica holds it: every replica checks every client.
      const other = this.o.core.leases.forClient(subnet.name, e.client);
      if (other && other.expires > now && other.ip !== ip && Date.parse(e.expires) > now) conflicts.push(`${e.ip}: client ${e.client} already holds ${formatIPv4(other.ip)}`);
      if (!this.owns(ip)) continue;
      owned++;
      if (Date.parse(e.expires) <= now) {
        expired++;
        continue;
      }
      const mac = e.mac.replaceAll(':', '');
      const reserved = subnet.reservationByIp.get(ip);
      if (reserved !== undefined && !holdsReservation(reserved, { client: e.client, mac })) {
        conflicts.push(`${e.ip}: reserved for ${reserved.mac !== undefined ? colonHex(reserved.mac) : `client identifier ${reserved.clientId ?? ''}`}`);
      } else if (reserved === undefined && !inPool(subnet, ip)) conflicts.push(`${e.ip}: not in a pool of ${subnet.name}`);
      else if (reserved === undefined && isExcluded(subnet, ip)) conflicts.push(`${e.ip}: excluded from ${subnet.name}`);
      const held = this.o.core.leases.get(ip);
      if (held && held.expires > now && held.client !== e.client) conflicts.push(`${e.ip}: leased to ${held.client || 'nobody (quarantined)'} until ${new Date(held.expires).toISOString()}`);
    }
    return { owned, expired, conflicts };
  }

  /**
   * Checks, then applies the owned, unexpired entries and makes them durable.
   * Nothing runs between the check and the change, so either every entry is
   * applied or none is (a failed write takes them back out).
   */
  async apply(subnet: Subnet, entries: readonly LeaseEntry[], restore: boolean): Promise<ImportCheck & { imported: number }> {
    const checked = this.check(subnet, entries, restore);
    if (checked.conflicts.length > 0) return { ...checked, imported: 0 };
    const now = this.now();
    const records: LeaseRecord[] = [];
    for (const e of entries) {
      const ip = ipv4ToNumber(e.ip);
      const expires = Date.parse(e.expires);
      if (!cidrContains(subnet.cidr, ip) || !this.owns(ip) || expires <= now) continue;
      records.push({ op: 'bind', ip, subnet: subnet.name, client: e.client, mac: e.mac.replaceAll(':', ''), expires, ...(e.hostname !== undefined ? { hostname: e.hostname } : {}) });
    }
    for (const r of records) this.o.core.restore(r, now);
    try {
      await this.o.persist(records);
    } catch (err) {
      for (const r of records) this.o.core.releaseAddress(r.ip, now);
      throw err;
    }
    return { ...checked, imported: records.length };
  }

  /** Takes back what an import applied here (another replica failed to apply its part): only leases still held by the imported client. */
  async undo(subnet: Subnet, entries: readonly LeaseEntry[]): Promise<number> {
    const now = this.now();
    const records: LeaseRecord[] = [];
    for (const e of entries) {
      const ip = ipv4ToNumber(e.ip);
      const l = this.o.core.leases.get(ip);
      if (!l || l.subnet !== subnet.name || l.client !== e.client || !this.owns(ip)) continue;
      const r = this.o.core.releaseAddress(ip, now);
      if (r) records.push(r);
    }
    await this.o.persist(records);
    return records.length;
  }
}
