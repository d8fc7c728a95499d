// Address conflicts in the pure core: a DECLINEd address and one that
// answered a ping stay out of the pool for the quarantine time, the conflict
// count follows its window, and the ping check is asked for exactly when a
// new address would be offered.

import { describe, expect, it } from 'vitest';
import { formatIPv4, ipv4ToNumber } from '../../src/api/ipv4.ts';
import { DhcpdConfig, type DhcpdConfigInput } from '../../src/api/config/dhcpd.ts';
import { MessageType, Opt } from '../../src/dhcpd/codec/constants.ts';
import { parseRequest, serializeRequest, type RequestSpec } from '../../src/dhcpd/codec/packet.ts';
import { DhcpCore, type HostView, type Outcome } from '../../src/dhcpd/core.ts';
import { decodeRecord, encodeRecord } from '../../src/dhcpd/lease-log.ts';

const T0 = 1_800_000_000_000;
const host: HostView = { interfaces: [{ address: ipv4ToNumber('10.1.0.1'), prefix: 24 }], defaultServerId: ipv4ToNumber('10.1.0.1') };
const SID = Uint8Array.of(10, 1, 0, 1);
const ip4 = (s: string) => Uint8Array.from(s.split('.').map(Number));
const mac = (n: number) => Uint8Array.of(2, 0, 0, 0, (n >> 8) & 255, n & 255);

function config(extra: Partial<DhcpdConfigInput['subnets'][number]> = {}): DhcpdConfigInput {
  return {
    subnets: [
      {
        name: 'net',
        cidr: '10.1.0.0/24',
        pools: [{ start: '10.1.0.10', end: '10.1.0.14' }],
        reservations: [{ mac: '02:00:00:00:99:99', ip: '10.1.0.50' }],
        quarantineTime: 600,
        conflictWindow: 300,
        ...extra,
      },
    ],
  };
}
const core = (c: DhcpdConfigInput = config()) => new DhcpCore(DhcpdConfig.parse(c), { share: 0 });

function send(c: DhcpCore, spec: RequestSpec, now = T0): Outcome {
  const r = parseRequest(serializeRequest(spec));
  if (!r.ok) throw new Error(r.reason);
  return c.handle(r.packet, r.messageType, host, now);
}

function yiaddr(o: Outcome): string {
  if (o.kind !== 'reply') throw new Error(`expected a reply, got ${JSON.stringify(o)}`);
  return formatIPv4(o.packet.readUInt32BE(16));
}

/** DISCOVER then REQUEST; returns the ACKed address. */
function lease(c: DhcpCore, n: number, now = T0): string {
  const offered = yiaddr(send(c, { messageType: MessageType.DISCOVER, chaddr: mac(n) }, now));
  const ack = send(c, { messageType: MessageType.REQUEST, chaddr: mac(n), options: [[Opt.SERVER_ID, SID], [Opt.REQUESTED_IP, ip4(offered)]] }, now);
  expect(ack).toMatchObject({ kind: 'reply', messageType: MessageType.ACK });
  return offered;
}

const decline = (c: DhcpCore, n: number, ip: string, now = T0) =>
  send(c, { messageType: MessageType.DECLINE, chaddr: mac(n), options: [[Opt.SERVER_ID, SID], [Opt.REQUESTED_IP, ip4(ip)]] }, now);

describe('DECLINE quarantine', () => {
  it('keeps the address from every client for the quarantine time, then returns it', () => {
    const c = core();
    const declined = lease(c, 1);
    expect(decline(c, 1, declined)).toMatchObject({ kind: 'done', records: [{ op: 'quarantine', reason: 'decline', expires: T0 + 600_000 }] });
    expect(c.leases.get(ipv4ToNumber(declined))).toMatchObject({ state: 'quarantined', conflict: 'decline' });
    // The pool has 5 addresses: 4 other clients take the other 4, a 5th finds the pool exhausted.
    const given = [1, 2, 3, 4].map((n) => lease(c, n, T0 + 1000));
    expect(given).not.toContain(declined);
    expect(send(c, { messageType: MessageType.DISCOVER, chaddr: mac(5) }, T0 + 2000)).toMatchObject({ kind: 'silent', reason: 'pool-exhausted' });
    // Asked for by name during the quarantine: still not given.
    expect(send(c, { messageType: MessageType.DISCOVER, chaddr: mac(5), options: [[Opt.REQUESTED_IP, ip4(declined)]] }, T0 + 599_000).kind).toBe('silent');
    const nak = send(c, { messageType: MessageType.REQUEST, chaddr: mac(5), options: [[Opt.REQUESTED_IP, ip4(declined)]] }, T0 + 599_000);
    expect(nak).toMatchObject({ kind: 'reply', messageType: MessageType.NAK });
    // After it, the sweep puts it back.
    c.sweep(T0 + 600_001);
    expect(lease(c, 5, T0 + 600_002)).toBe(declined);
  });

  it('counts conflicts in the window; a restart restores quarantine and count', () => {
    const c = core();
    const a = lease(c, 1);
    decline(c, 1, a);
    const b = lease(c, 2, T0 + 100_000);
    decline(c, 2, b, T0 + 100_000);
    expect(c.conflictsOf('net', T0 + 100_000)).toEqual({ recent: 2, total: { decline: 2, ping: 0 } });
    // The window is 300 s: the first falls out first.
    expect(c.conflictsOf('net', T0 + 350_000).recent).toBe(1);
    expect(c.conflictsOf('net', T0 + 450_000).recent).toBe(0);

    const restarted = core();
    for (const r of c.snapshot(T0 + 200_000)) restarted.restore(r, T0 + 200_000);
    expect(restarted.leases.get(ipv4ToNumber(a))).toMatchObject({ state: 'quarantined', conflict: 'decline', expires: T0 + 600_000 });
    expect(restarted.conflictsOf('net', T0 + 200_000).recent).toBe(2);
  });

  it('a DECLINE by a client that does not hold the address changes nothing', () => {
    const c = core();
    const ip = lease(c, 1);
    expect(decline(c, 2, ip)).toMatchObject({ kind: 'silent', reason: 'decline-unknown' });
    expect(c.leases.get(ipv4ToNumber(ip))?.state).toBe('bound');
  });
});

describe('ping check (conflictDetection: ping)', () => {
  const discover = (c: DhcpCore, n: number, now = T0, options: RequestSpec['options'] = []) => send(c, { messageType: MessageType.DISCOVER, chaddr: mac(n), options }, now);

  it('is asked for before a new address is offered, also by a retransmitted DISCOVER, not once it is done', () => {
    const c = core(config({ conflictDetection: 'ping' }));
    const first = discover(c, 1);
    expect(first).toMatchObject({ kind: 'reply', probe: ipv4ToNumber('10.1.0.10') });
    expect(discover(c, 1, T0 + 100)).toMatchObject({ probe: ipv4ToNumber('10.1.0.10') });
    c.probeDone(ipv4ToNumber('10.1.0.10'));
    const again = discover(c, 1, T0 + 200);
    expect(again.kind === 'reply' && again.probe).toBeFalsy();
  });

  it('a reply quarantines the address and the next try offers another, itself checked', () => {
    const c = core(config({ conflictDetection: 'ping' }));
    const first = discover(c, 1);
    const ip = ipv4ToNumber(yiaddr(first));
    expect(c.quarantineProbed(ip, T0 + 500)).toMatchObject([{ op: 'quarantine', reason: 'ping', expires: T0 + 500 + 600_000 }]);
    expect(c.leases.get(ip)).toMatchObject({ state: 'quarantined', conflict: 'ping', client: '' });
    const next = discover(c, 1, T0 + 500);
    expect(yiaddr(next)).not.toBe(formatIPv4(ip));
    expect(next).toMatchObject({ probe: ipv4ToNumber(yiaddr(next)) });
    expect(c.conflictsOf('net', T0 + 500)).toEqual({ recent: 1, total: { decline: 0, ping: 1 } });
    // Once checked, quarantineProbed has nothing left to do for it.
    c.probeDone(ipv4ToNumber(yiaddr(next)));
    expect(c.quarantineProbed(ipv4ToNumber(yiaddr(next)), T0 + 600)).toEqual([]);
  });

  it('is not asked for a renewal, a client holding its lease, a reservation, or without conflictDetection', () => {
    const c = core(config({ conflictDetection: 'ping' }));
    const o = discover(c, 1);
    c.probeDone(ipv4ToNumber(yiaddr(o)));
    const ip = yiaddr(o);
    expect(send(c, { messageType: MessageType.REQUEST, chaddr: mac(1), options: [[Opt.SERVER_ID, SID], [Opt.REQUESTED_IP, ip4(ip)]] })).toMatchObject({ messageType: MessageType.ACK });
    const held = discover(c, 1, T0 + 1000);
    expect(held.kind === 'reply' && held.probe).toBeFalsy();
    const renew = send(c, { messageType: MessageType.REQUEST, chaddr: mac(1), ciaddr: ipv4ToNumber(ip) }, T0 + 2000);
    expect(renew.kind === 'reply' && renew.probe).toBeFalsy();
    const reserved = send(c, { messageType: MessageType.DISCOVER, chaddr: Uint8Array.of(2, 0, 0, 0, 0x99, 0x99) });
    expect(yiaddr(reserved)).toBe('10.1.0.50');
    expect(reserved.kind === 'reply' && reserved.probe).toBeFalsy();
    const plain = discover(core(), 1);
    expect(plain.kind === 'reply' && plain.probe).toBeFalsy();
  });
});

describe('lease log records of a quarantine', () => {
  it('round-trip with their reason; an older "d" record reads as a DECLINE', () => {
    const ping = { op: 'quarantine' as const, ip: ipv4ToNumber('10.1.0.10'), subnet: 'net', client: '', mac: '020000000001', expires: T0, reason: 'ping' as const };
    expect(decodeRecord(encodeRecord(ping))).toEqual(ping);
    expect(decodeRecord(encodeRecord({ ...ping, reason: 'decline' }))).toEqual({ ...ping, reason: 'decline' });
    expect(decodeRecord('{"o":"d","ip":"10.1.0.10","s":"net","c":"","m":"020000000001","e":1}')).toMatchObject({ op: 'quarantine', reason: 'decline' });
  });
});
