// The DHCP state machine of RFC 2131 section 4.3, without sockets or disks:
// a parsed request and the time go in; a reply with its destination, the
// lease records that must be durable before the reply leaves, or a reason for
// staying silent come out. The daemon does the I/O.

import { cidrContains } from '../api/cidr.ts';
import type { DhcpdConfig } from '../api/config/dhcpd.ts';
import { FLAG_BROADCAST, MessageType, Opt } from './codec/constants.ts';
import { optionIp, optionUint16, serializeReply, tlv, writeIp, type DhcpPacket } from './codec/packet.ts';
import { Allocator, LeaseStore, type ConflictSource, type Lease } from './leases.ts';
import { ConflictLog } from './conflict-log.ts';
import { selectSubnet, type HostView, type SelectionDrop } from './select.ts';
import { compileSubnet, holdsReservation, inPool, isExcluded, type Reservation, type Subnet } from './subnet.ts';

/** A change of lease state to make durable (the persistence log's unit). */
export interface LeaseRecord {
  op: 'bind' | 'release' | 'quarantine';
  ip: number;
  subnet: string;
  client: string;
  mac: string;
  expires: number;
  hostname?: string;
  /** quarantine: what showed the conflict. */
  reason?: ConflictSource;
}

export type SilentReason =
  | SelectionDrop
  | 'ha-other-replica'
  | 'not-selected'
  | 'not-for-this-server'
  | 'unknown-address'
  | 'pool-exhausted'
  | 'missing-requested-address'
  | 'release-unknown'
  | 'decline-unknown'
  | 'server-message';

export interface Destination {
  address: number;
  port: number;
  /** Sent to a broadcast address (the socket must allow it). */
  broadcast: boolean;
}

export type Outcome =
  /** probe: an OFFER of a new address that may leave only after a ping check of that address (conflictDetection: ping). */
  | { kind: 'reply'; messageType: number; subnet: string; packet: Buffer; to: Destination; records: LeaseRecord[]; probe?: number }
  | { kind: 'done'; messageType: number; subnet: string; records: LeaseRecord[] }
  | { kind: 'silent'; reason: SilentReason; records: LeaseRecord[] };

export type { HostView } from './select.ts';

export interface CoreOptions {
  share: number;
  /** Seconds an OFFER holds its address for the client. */
  offerHoldSeconds?: number;
}


/** Lowercase hex of the bytes, through one scratch Buffer: no Buffer made per packet. */
const hexScratch = Buffer.alloc(256);
function hex(b: Uint8Array): string {
  // Options repeated in one packet are joined (RFC 3396), so a value may be longer.
  if (b.length > hexScratch.length) return Buffer.from(b).toString('hex');
  hexScratch.set(b);
  return hexScratch.toString('hex', 0, b.length);
}

/** Client identity: option 61 when sent, else hardware type and address (RFC 2131 4.2). */
export function clientKey(p: DhcpPacket): string {
  const id = p.options.get(Opt.CLIENT_ID);
  if (id !== undefined) return `id:${hex(id)}`;
  return `hw:${p.htype.toString(16)}:${hex(p.chaddr.subarray(0, p.hlen))}`;
}

/** FNV-1a over the client key: the load-balancing bucket of a client in HA. */
export function clientBucket(key: string, shares: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shares;
}

interface ServedSubnet {
  subnet: Subnet;
  allocator: Allocator;
}

export class DhcpCore {
  readonly leases = new LeaseStore();
  private served: ServedSubnet[] = [];
  private shares = 1;
  private takeoverSecs = 10;
  private readonly share: number;
  private readonly offerHoldMs: number;
  private readonly conflicts = new ConflictLog();

  constructor(config: DhcpdConfig, opts: CoreOptions) {
    this.share = opts.share;
    this.offerHoldMs = (opts.offerHoldSeconds ?? 30) * 1000;
    this.configure(config);
  }

  /**
   * (Re)loads the configuration. Leases are kept; new option values reach a
   * client with its next ACK. Throws (and changes nothing) if invalid.
   */
  configure(config: DhcpdConfig): void {
    const shares = config.ha.shares;
    if (this.share < 0 || this.share >= shares) throw new Error(`share ${this.share} is not in 0..${shares - 1} (ha.shares = ${shares})`);
    const subnets = config.subnets.map(compileSubnet);
    const names = new Set<string>();
    for (const s of subnets) {
      if (names.has(s.name)) throw new Error(`subnet name "${s.name}" used twice`);
      names.add(s.name);
    }
    this.shares = shares;
    this.takeoverSecs = config.ha.takeoverSeconds ?? 10;
    this.served = subnets.map((subnet) => ({ subnet, allocator: new Allocator(subnet, this.share, shares, (ip) => this.isFree(ip)) }));
  }

  subnets(): readonly Subnet[] {
    return this.served.map((s) => s.subnet);
  }

  shareCount(): number {
    return this.shares;
  }

  /** Restores a lease from the persistence log (startup). */
  restore(r: LeaseRecord, now: number): void {
    if (r.op === 'release' || r.expires <= now) {
      const cur = this.leases.get(r.ip);
      if (cur && (r.op === 'release' || cur.expires <= now)) this.leases.remove(r.ip);
      return;
    }
    const quarantine = r.op === 'quarantine';
    this.leases.put({
      ip: r.ip,
      subnet: r.subnet,
      client: quarantine ? '' : r.client,
      mac: r.mac,
      state: quarantine ? 'quarantined' : 'bound',
      expires: r.expires,
      ...(r.hostname !== undefined ? { hostname: r.hostname } : {}),
      ...(quarantine ? { conflict: r.reason ?? 'decline' } : {}),
    });
    if (quarantine) {
      // The conflict happened one quarantine time before its end: a restart
      // must not hide a burst of conflicts from the status report.
      const s = this.servedByName(r.subnet);
      if (s) this.conflicts.note(r.subnet, r.reason ?? 'decline', r.expires - s.subnet.quarantineMs);
    }
  }

  /** Everything that must survive a restart: bound and quarantined leases. */
  snapshot(now: number): LeaseRecord[] {
    return [...this.liveRecords(now)];
  }

  /** The same, one at a time: valid across turns of the event loop while leases change (each lease as it is when reached). */
  *liveRecords(now: number): Generator<LeaseRecord> {
    for (const l of this.leases.byIp.values()) {
      if (l.state === 'offered' || l.expires <= now) continue;
      yield this.record(l.state === 'bound' ? 'bind' : 'quarantine', l);
    }
  }

  /** Conflicts of a subnet within its conflict window before `now`, and since start by source. */
  conflictsOf(subnet: string, now: number): { recent: number; total: Record<ConflictSource, number> } {
    const s = this.servedByName(subnet);
    return this.conflicts.of(subnet, now, s ? s.subnet.conflictWindowMs : 0);
  }

  /**
   * Someone answered the ping of an address offered (not yet sent) to a
   * client: the offer is withdrawn and the address quarantined. Returns the
   * record to make durable; handling the client's packet again then offers
   * another address.
   */
  quarantineProbed(ip: number, now: number): LeaseRecord[] {
    const l = this.leases.get(ip);
    if (!l || l.state !== 'offered' || !l.probe) return [];
    const s = this.servedByName(l.subnet);
    if (!s) return [];
    return [this.quarantine(s, l, 'ping', now)];
  }

  /** The ping check of an offered address found nobody: the offer may leave. */
  probeDone(ip: number): void {
    const l = this.leases.get(ip);
    if (l && l.state === 'offered') l.probe = false;
  }

  private quarantine(s: ServedSubnet, l: Lease, source: ConflictSource, now: number): LeaseRecord {
    this.leases.remove(l.ip);
    const q: Lease = { ip: l.ip, subnet: l.subnet, client: '', mac: l.mac, state: 'quarantined', expires: now + s.subnet.quarantineMs, conflict: source };
    this.leases.put(q);
    this.conflicts.note(l.subnet, source, now);
    return this.record('quarantine', q);
  }

  /** Drops expired leases and offers, returning their addresses to the pools. */
  sweep(now: number): number {
    const gone = this.leases.expire(now);
    for (const l of gone) this.servedFor(l.ip)?.allocator.giveBack(l.ip);
    return gone.length;
  }

  /**
   * An operator frees an address (the lease API), as if its client had sent
   * RELEASE: the address goes back to the pool. Returns the record to make
   * durable, or undefined when nothing live holds the address.
   */
  releaseAddress(ip: number, now: number): LeaseRecord | undefined {
    const lease = this.leases.get(ip);
    if (!lease || lease.expires <= now) return undefined;
    this.leases.remove(ip);
    this.servedByName(lease.subnet)?.allocator.giveBack(ip);
    return { ...this.record('release', lease), expires: now };
  }

  private isFree(ip: number): boolean {
    const l = this.leases.get(ip);
    return l === undefined || l.expires <= Date.now();
  }

  private servedFor(ip: number): ServedSubnet | undefined {
    return this.served.find((s) => cidrContains(s.subnet.cidr, ip));
  }

  private servedByName(name: string): ServedSubnet | undefined {
    return this.served.find((s) => s.subnet.name === name);
  }

  /**
   * One client message. `from` is the UDP source address (a relay's own
   * address for relayed packets); left out, the packet counts as sent from
   * its giaddr.
   */
  handle(p: DhcpPacket, messageType: number, host: HostView, now: number, from: number = p.giaddr): Outcome {
    switch (messageType) {
      case MessageType.DISCOVER:
      case MessageType.REQUEST:
      case MessageType.DECLINE:
      case MessageType.RELEASE:
      case MessageType.INFORM:
        break;
      default:
        return silent('server-message');
    }
    const sel = selectSubnet(this.served, p, host, from);
    if (typeof sel === 'string') return silent(sel);
    const client = clientKey(p);
    const mac = hex(p.chaddr.subarray(0, p.hlen));
    const reservation = this.reservationFor(sel.s.subnet, p, client, mac);
    const ctx: Ctx = { p, now, host, s: sel.s, serverId: sel.serverId, local: sel.local, client, mac, reservation };
    switch (messageType) {
      case MessageType.DISCOVER:
        return this.discover(ctx);
      case MessageType.REQUEST:
        return this.request(ctx);
      case MessageType.DECLINE:
        return this.decline(ctx);
      case MessageType.RELEASE:
        return this.release(ctx);
      default:
        return this.inform(ctx);
    }
  }

  /** The client's reservation: by client identifier (option 61) first, else by MAC. */
  private reservationFor(s: Subnet, p: DhcpPacket, client: string, mac: string): Reservation | undefined {
    if (s.reservationByClientId.size > 0 && client.startsWith('id:')) {
      const r = s.reservationByClientId.get(client.slice(3));
      if (r) return r;
    }
    return p.htype === 1 && p.hlen === 6 ? s.reservationByMac.get(mac) : undefined;
  }

  /**
   * Whether the reserved address is free for its client. Not when another
   * client holds a lease on it (a reservation added over a live lease): the
   * reservation is then in conflict, reported and not enforced; its client is
   * served from the pool until the address comes free.
   */
  private usable(r: Reservation, ctx: Ctx): boolean {
    const l = this.leases.get(r.ip);
    return l === undefined || l.expires <= ctx.now || l.client === ctx.client;
  }

  /** A reservation's state as the servers report it: bound to its client, or held by another. */
  reservationState(r: Reservation, now: number): ReservationState {
    const l = this.leases.get(r.ip);
    if (!l || l.expires <= now) return { state: 'pending' };
    if (l.state === 'quarantined') return { state: 'conflict', expires: l.expires, quarantined: l.conflict ?? 'decline' };
    if (holdsReservation(r, l)) return l.state === 'bound' ? { state: 'bound', expires: l.expires } : { state: 'pending' };
    return l.state === 'bound' ? { state: 'conflict', expires: l.expires, holder: l.mac } : { state: 'pending' };
  }

  /** Whether `ip` is in this replica's share (it alone holds its leases). */
  inShare(ip: number): boolean {
    return ip % this.shares === this.share;
  }

  /** Whether this replica answers the DISCOVER (HA load balancing). */
  private answersDiscover(ctx: Ctx): boolean {
    if (this.shares === 1) return true;
    // The replica of the reserved address's share answers, in conflict or not: it alone knows.
    if (ctx.reservation) return this.inShare(ctx.reservation.ip);
    if (clientBucket(ctx.client, this.shares) === this.share) return true;
    // RFC 3074 style: a client that has waited long enough is served by any replica.
    return ctx.p.secs >= this.takeoverSecs;
  }

  private discover(ctx: Ctx): Outcome {
    if (!this.answersDiscover(ctx)) return silent('ha-other-replica');
    const { s, now } = ctx;
    let ip: number | undefined;
    const existing = this.leases.forClient(s.subnet.name, ctx.client);
    const res = ctx.reservation;
    if (res && this.usable(res, ctx)) {
      ip = res.ip;
    } else if (existing && existing.expires > now && this.stillValid(s, existing.ip)) {
      ip = existing.ip;
    } else {
      const requested = optionIp(ctx.p, Opt.REQUESTED_IP);
      if (requested !== undefined && cidrContains(s.subnet.cidr, requested) && s.allocator.allocatable(requested)) ip = requested;
      else ip = s.allocator.allocate();
    }
    if (ip === undefined) return silent('pool-exhausted');
    const held = this.leases.get(ip);
    const mine = held !== undefined && held.client === ctx.client && held.expires > now;
    let probe = false;
    if (!(mine && held.state === 'bound')) {
      // A ping check for an address new to the client (a retransmitted
      // DISCOVER waits for the check still running); never for a reservation.
      probe = s.subnet.pingCheck && ip !== res?.ip && (mine ? held.probe === true : true);
      const offer = this.put(ctx, ip, 'offered', now + this.offerHoldMs);
      // Only touched where ping checks run: a property added to every lease
      // costs every lease memory (about 40 bytes each at 65,536 leases).
      if (probe || offer.probe) offer.probe = probe;
    }
    const out = this.reply(ctx, MessageType.OFFER, ip, true, []);
    if (probe && out.kind === 'reply') out.probe = ip;
    return out;
  }

  /** A leased address still served after a reload: in a pool (or reserved), not excluded. */
  private stillValid(s: ServedSubnet, ip: number): boolean {
    if (s.subnet.reservationByIp.has(ip)) return true;
    return inPool(s.subnet, ip) && !isExcluded(s.subnet, ip);
  }

  private request(ctx: Ctx): Outcome {
    const { p, s } = ctx;
    const serverId = optionIp(p, Opt.SERVER_ID);
    const requested = optionIp(p, Opt.REQUESTED_IP);
    if (serverId !== undefined) {
      // SELECTING: the client answers one OFFER; everyone else drops theirs.
      if (serverId !== ctx.serverId) {
        const mine = this.leases.forClient(s.subnet.name, ctx.client);
        if (mine && mine.state === 'offered') {
          this.leases.remove(mine.ip);
          s.allocator.giveBack(mine.ip);
        }
        return silent('not-selected');
      }
      if (requested === undefined) return silent('missing-requested-address');
      return this.confirm(ctx, requested, true);
    }
    if (p.ciaddr === 0) {
      // INIT-REBOOT: the client checks an address it remembers.
      if (requested === undefined) return silent('missing-requested-address');
      return this.confirm(ctx, requested, false);
    }
    // RENEWING (unicast) or REBINDING (broadcast): ciaddr is the lease.
    return this.confirm(ctx, p.ciaddr, false);
  }

  /** ACK `ip` for the client if it may have it, NAK if it may not, silence if another replica knows. */
  private confirm(ctx: Ctx, ip: number, selecting: boolean): Outcome {
    const { s, now } = ctx;
    if (!cidrContains(s.subnet.cidr, ip)) return this.nak(ctx, 'wrong network');
    const res = ctx.reservation;
    const reserved = res?.ip;
    const lease = this.leases.get(ip);
    const leaseLive = lease !== undefined && lease.expires > now;
    if (leaseLive && lease.client !== ctx.client) return this.nak(ctx, 'address in use');
    // Its own reserved address is free: move the client there (a reservation added live applies at its next renewal).
    if (res && reserved !== ip && this.usable(res, ctx)) return this.nak(ctx, 'address reserved for this client is another');
    // Reserved for another client: refused, except to a client that holds it bound (conflict: not enforced).
    const other = s.subnet.reservationByIp.get(ip);
    if (other && other !== res && !(leaseLive && lease.state === 'bound')) return this.nak(ctx, 'address reserved');
    const known = leaseLive && lease.client === ctx.client;
    if (!known && reserved !== ip) {
      if (!this.stillValid(s, ip)) return this.nak(ctx, 'address not served');
      if (!s.allocator.ownsAddress(ip)) {
        // Another replica's share: it holds the record, so stay out of it.
        return selecting ? this.nak(ctx, 'address not offered') : silent('unknown-address');
      }
    } else if (!known && !selecting && !s.allocator.ownsAddress(ip)) {
      // The client's own reservation, in another replica's share: that replica
      // offered it and holds the record; a renewal or a rebind is its to answer
      // (two ACKs, two records of one lease otherwise).
      return silent('unknown-address');
    } else if (known && reserved !== ip && !this.stillValid(s, ip)) {
      return this.nak(ctx, 'address no longer served');
    }
    const expires = now + s.subnet.leaseTime * 1000;
    const lease2 = this.put(ctx, ip, 'bound', expires);
    return this.reply(ctx, MessageType.ACK, ip, true, [this.record('bind', lease2)]);
  }

  private decline(ctx: Ctx): Outcome {
    const serverId = optionIp(ctx.p, Opt.SERVER_ID);
    if (serverId !== undefined && serverId !== ctx.serverId) return silent('not-for-this-server');
    const ip = optionIp(ctx.p, Opt.REQUESTED_IP);
    const lease = ip === undefined ? undefined : this.leases.get(ip);
    if (!lease || lease.client !== ctx.client) return silent('decline-unknown');
    const s = this.servedByName(lease.subnet) ?? ctx.s;
    return { kind: 'done', messageType: MessageType.DECLINE, subnet: lease.subnet, records: [this.quarantine(s, lease, 'decline', ctx.now)] };
  }

  private release(ctx: Ctx): Outcome {
    const serverId = optionIp(ctx.p, Opt.SERVER_ID);
    if (serverId !== undefined && serverId !== ctx.serverId) return silent('not-for-this-server');
    const lease = this.leases.get(ctx.p.ciaddr);
    if (!lease || lease.client !== ctx.client) return silent('release-unknown');
    this.leases.remove(lease.ip);
    this.servedByName(lease.subnet)?.allocator.giveBack(lease.ip);
    return { kind: 'done', messageType: MessageType.RELEASE, subnet: lease.subnet, records: [{ ...this.record('release', lease), expires: ctx.now }] };
  }

  private inform(ctx: Ctx): Outcome {
    return this.reply(ctx, MessageType.ACK, 0, false, []);
  }

  private put(ctx: Ctx, ip: number, state: 'offered' | 'bound', expires: number): Lease {
    const opt = ctx.p.options.get(Opt.HOSTNAME);
    const hostname = opt !== undefined ? Buffer.from(opt).toString('latin1') : undefined;
    const current = this.leases.get(ip);
    if (current && current.client === ctx.client && current.subnet === ctx.s.subnet.name) {
      // OFFER to ACK, or a renewal: update in place. Fewer short-lived objects
      // reach the old generation, which keeps the resident set small.
      current.state = state;
      current.expires = expires;
      current.mac = ctx.mac;
      if (hostname !== undefined) current.hostname = hostname;
      return current;
    }
    const lease: Lease = { ip, subnet: ctx.s.subnet.name, client: ctx.client, mac: ctx.mac, state, expires, hostname };
    const displaced = this.leases.put(lease);
    if (displaced) ctx.s.allocator.giveBack(displaced.ip);
    return lease;
  }

  private record(op: LeaseRecord['op'], l: Lease): LeaseRecord {
    return {
      op,
      ip: l.ip,
      subnet: l.subnet,
      client: l.client,
      mac: l.mac,
      expires: l.expires,
      ...(l.hostname !== undefined ? { hostname: l.hostname } : {}),
      ...(op === 'quarantine' ? { reason: l.conflict ?? 'decline' } : {}),
    };
  }

  private nak(ctx: Ctx, message: string): Outcome {
    const { p } = ctx;
    const opts: Uint8Array[] = [
      messageTypeTlv(MessageType.NAK),
      serverIdTlv(ctx.serverId),
      tlv(Opt.MESSAGE, new TextEncoder().encode(message)),
    ];
    const relay = p.options.get(Opt.RELAY_AGENT);
    if (relay !== undefined) opts.push(tlv(Opt.RELAY_AGENT, relay));
    const packet = serializeReply(
      { xid: p.xid, flags: p.giaddr !== 0 ? FLAG_BROADCAST : p.flags, ciaddr: 0, yiaddr: 0, siaddr: 0, giaddr: p.giaddr, htype: p.htype, hlen: p.hlen, chaddr: p.chaddr },
      opts,
    );
    const to: Destination = p.giaddr !== 0 ? { address: p.giaddr, port: 67, broadcast: false } : this.broadcastTo(ctx);
    return { kind: 'reply', messageType: MessageType.NAK, subnet: ctx.s.subnet.name, packet, to, records: [] };
  }

  private broadcastTo(ctx: Ctx): Destination {
    // Directed broadcast on the interface of the subnet leaves by that
    // interface; 255.255.255.255 would follow the default route.
    // The interface's own prefix, which may be narrower than the configured subnet.
    const l = ctx.local;
    const hostBits = l ? (l.prefix >= 32 ? 0 : (0xffffffff >>> l.prefix)) : 0;
    const address = l && l.prefix < 31 ? (l.address | hostBits) >>> 0 : 0xffffffff;
    return { address, port: 68, broadcast: true };
  }

  private reply(ctx: Ctx, messageType: number, yiaddr: number, withLease: boolean, records: LeaseRecord[]): Outcome {
    const { p, s } = ctx;
    const opts: Uint8Array[] = [messageTypeTlv(messageType), serverIdTlv(ctx.serverId)];
    // A reservation's own options (host name, per-client options) go with its address.
    const res = ctx.reservation;
    const subnetOptions = res && (yiaddr || p.ciaddr) === res.ip ? res.options : s.subnet.options;
    if (withLease) for (const o of s.subnet.leaseTimeOptions) opts.push(o);
    const relay = p.options.get(Opt.RELAY_AGENT);
    const relayTlv = relay !== undefined ? tlv(Opt.RELAY_AGENT, relay) : undefined;
    let size = 240 + 1 + (relayTlv?.length ?? 0);
    for (const o of opts) size += o.length;
    for (const o of subnetOptions) size += o.length;
    // RFC 2131 4.1 / option 57: the reply must fit what the client accepts
    // (576 bytes at least). If the configured options do not, send only the
    // ones the client asked for (option 55).
    if (size <= Math.max(576, optionUint16(p, Opt.MAX_MESSAGE_SIZE) ?? 0)) {
      for (const o of subnetOptions) opts.push(o);
    } else {
      const wanted = new Set(p.options.get(Opt.PARAMETER_LIST) ?? [Opt.SUBNET_MASK, Opt.ROUTER, Opt.DNS]);
      for (const o of subnetOptions) if (wanted.has(o[0] as number)) opts.push(o);
    }
    if (relayTlv) opts.push(relayTlv);
    const packet = serializeReply(
      { xid: p.xid, flags: p.flags, ciaddr: messageType === MessageType.ACK ? p.ciaddr : 0, yiaddr, siaddr: 0, giaddr: p.giaddr, htype: p.htype, hlen: p.hlen, chaddr: p.chaddr },
      opts,
    );
    let to: Destination;
    if (p.giaddr !== 0) to = { address: p.giaddr, port: 67, broadcast: false };
    else if (p.ciaddr !== 0) to = { address: p.ciaddr, port: 68, broadcast: false };
    else to = this.broadcastTo(ctx);
    return { kind: 'reply', messageType, subnet: s.subnet.name, packet, to, records };
  }
}

interface Ctx {
  p: DhcpPacket;
  now: number;
  host: HostView;
  s: ServedSubnet;
  serverId: number;
  local: { address: number; prefix: number } | undefined;
  client: string;
  mac: string;
  /** The client's reservation in the selected subnet. */
  reservation: Reservation | undefined;
}

/** A reservation as reported: pending (nobody holds it), bound to its client, or held by another client (or quarantined). */
export type ReservationState =
  | { state: 'pending' }
  | { state: 'bound'; expires: number }
  | { state: 'conflict'; expires: number; holder?: string; quarantined?: ConflictSource };

function silent(reason: SilentReason): Outcome {
  return { kind: 'silent', reason, records: [] };
}

/** Option 53 of each message type, built once (serializeReply copies option bytes, never changes them). */
const messageTypeTlvs = Array.from({ length: 9 }, (_, t) => Uint8Array.of(Opt.MESSAGE_TYPE, 1, t));
function messageTypeTlv(t: number): Uint8Array {
  return messageTypeTlvs[t] ?? Uint8Array.of(Opt.MESSAGE_TYPE, 1, t);
}

/** Option 54 of the server identifiers in use (a handful: one per local address or override), built once each. */
const serverIdTlvs = new Map<number, Uint8Array>();
function serverIdTlv(id: number): Uint8Array {
  let b = serverIdTlvs.get(id);
  if (b !== undefined) return b;
  b = new Uint8Array(6);
  b[0] = Opt.SERVER_ID;
  b[1] = 4;
  writeIp(b, 2, id);
  if (serverIdTlvs.size < 256) serverIdTlvs.set(id, b);
  return b;
}
