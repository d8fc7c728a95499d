// Reservations in the pure core: by MAC or client identifier, with their own
// options; one added live moves its client at its next renewal; one whose
// address another client holds is reported in conflict and not enforced.

import { describe, expect, it } from 'vitest';
import { formatIPv4, ipv4ToNumber } from '../../src/api/ipv4.ts';
import { DhcpdConfig, type DhcpdConfigInput } from '../../src/api/config/dhcpd.ts';
import { MessageType, Opt } from '../../src/dhcpd/codec/constants.ts';
import { parseRequest, serializeRequest, type RequestSpec } from '../../src/dhcpd/codec/packet.ts';
import { DhcpCore, type HostView, type Outcome } from '../../src/dhcpd/core.ts';
import { reservationReport } from '../../src/dhcpd/status-report.ts';

const T0 = 1_800_000_000_000;
const host: HostView = { interfaces: [{ address: ipv4ToNumber('10.1.0.1'), prefix: 24 }], defaultServerId: ipv4ToNumber('10.1.0.1') };
const SID = Uint8Array.of(10, 1, 0, 1);
const ip4 = (s: string) => Uint8Array.from(s.split('.').map(Number));
const mac = (n: number) => Uint8Array.of(2, 0, 0, 0, 0, n);
const macText = (n: number) => `02:00:00:00:00:${n.toString(16).padStart(2, '0')}`;

type Reservations = NonNullable<DhcpdConfigInput['subnets'][number]['reservations']>;
function config(reservations: Reservations = []): ReturnType<typeof DhcpdConfig.parse> {
  return DhcpdConfig.parse({
    subnets: [{ name: 'net', cidr: '10.1.0.0/24', pools: [{ start: '10.1.0.100', end: '10.1.0.109' }], options: [{ code: 66, type: 'string', value: 'tftp.subnet' }], leaseTime: 600, reservations }],
  });
}

function send(c: DhcpCore, spec: RequestSpec, now = T0): Outcome {
  const r = parseRequest(serializeRequest(spec));
  if (!r.ok) throw new Error(r.reason);
  return c.handle(r.packet, r.messageType, host, now);
}

function replyOf(o: Outcome) {
  if (o.kind !== 'reply') throw new Error(`expected a reply, got ${JSON.stringify(o)}`);
  const r = parseRequest(Buffer.concat([Buffer.from([1]), o.packet.subarray(1)]));
  if (!r.ok) throw new Error(r.reason);
  return { type: r.messageType, yiaddr: formatIPv4(r.packet.yiaddr), options: r.packet.options };
}

/** DISCOVER + REQUEST; returns the ACKed address. */
function lease(c: DhcpCore, n: number, now = T0, extra: RequestSpec['options'] = []): string {
  const offer = replyOf(send(c, { messageType: MessageType.DISCOVER, chaddr: mac(n), options: extra }, now));
  const ack = replyOf(send(c, { messageType: MessageType.REQUEST, chaddr: mac(n), options: [...extra, [Opt.SERVER_ID, SID], [Opt.REQUESTED_IP, ip4(offer.yiaddr)]] }, now));
  expect(ack.type).toBe(MessageType.ACK);
  return ack.yiaddr;
}

const renew = (c: DhcpCore, n: number, ip: string, now: number, extra: RequestSpec['options'] = []) =>
  replyOf(send(c, { messageType: MessageType.REQUEST, chaddr: mac(n), ciaddr: ipv4ToNumber(ip), options: extra }, now));

describe('reservations', () => {
  it('by MAC and by client identifier, each with its host name and options replacing the subnet\'s', () => {
    const c = new DhcpCore(
      config([
        { name: 'by-mac', mac: macText(1), ip: '10.1.0.10', hostname: 'one', options: [{ code: 66, type: 'string', value: 'tftp.one' }] },
        { name: 'by-id', clientId: 'ff00aa', ip: '10.1.0.11' },
      ]),
      { share: 0 },
    );
    const one = replyOf(send(c, { messageType: MessageType.DISCOVER, chaddr: mac(1) }));
    expect(one.yiaddr).toBe('10.1.0.10');
    expect(Buffer.from(one.options.get(Opt.HOSTNAME) ?? []).toString()).toBe('one');
    expect(Buffer.from(one.options.get(66) ?? []).toString()).toBe('tftp.one');
    // Matched by option 61 whatever its MAC.
    const two = replyOf(send(c, { messageType: MessageType.DISCOVER, chaddr: mac(77), options: [[Opt.CLIENT_ID, Uint8Array.of(0xff, 0, 0xaa)]] }));
    expect(two.yiaddr).toBe('10.1.0.11');
    expect(Buffer.from(two.options.get(66) ?? []).toString()).toBe('tftp.subnet');
    // Others: pool addresses, never a reserved one, subnet options only.
    const other = replyOf(send(c, { messageType: MessageType.DISCOVER, chaddr: mac(2) }));
    expect(other.yiaddr).toBe('10.1.0.100');
    expect(other.options.has(Opt.HOSTNAME)).toBe(false);
  });

  it('added live: the client keeps its pool address until its next renewal, which is NAKed, and then gets the reserved one', () => {
    const c = new DhcpCore(config(), { share: 0 });
    const dynamic = lease(c, 1);
    c.configure(config([{ name: 'r', mac: macText(1), ip: '10.1.0.10' }]));
    expect(c.reservationState(c.subnets()[0]!.reservationByIp.get(ipv4ToNumber('10.1.0.10'))!, T0 + 1)).toEqual({ state: 'pending' });
    const nak = renew(c, 1, dynamic, T0 + 300_000);
    expect(nak.type).toBe(MessageType.NAK);
    expect(lease(c, 1, T0 + 300_001)).toBe('10.1.0.10');
    expect(reservationReport(c, T0 + 300_002)).toEqual({ net: { r: { ip: '10.1.0.10', state: 'bound', expires: new Date(T0 + 300_001 + 600_000).toISOString().replace(/\.\d+Z$/, 'Z') } } });
  });

  it('over another client\'s lease: reported in conflict, nobody kicked off, the reserved client served from the pool until the address is free', () => {
    const c = new DhcpCore(config(), { share: 0 });
    const held = lease(c, 9); // 10.1.0.100
    c.configure(config([{ name: 'r', mac: macText(1), ip: held }]));
    // The holder renews and keeps it.
    expect(renew(c, 9, held, T0 + 300_000)).toMatchObject({ type: MessageType.ACK, yiaddr: held });
    // The reserved client gets a pool address, and keeps it at renewal while the conflict lasts.
    const meanwhile = lease(c, 1, T0 + 300_001);
    expect(meanwhile).not.toBe(held);
    expect(renew(c, 1, meanwhile, T0 + 300_002)).toMatchObject({ type: MessageType.ACK, yiaddr: meanwhile });
    expect(reservationReport(c, T0 + 300_003)).toEqual({
      net: { r: { ip: held, state: 'conflict', expires: new Date(T0 + 300_000 + 600_000).toISOString().replace(/\.\d+Z$/, 'Z'), holder: '02:00:00:00:00:09' } },
    });
    // The holder releases it: at its next renewal the reserved client moves there.
    expect(send(c, { messageType: MessageType.RELEASE, chaddr: mac(9), ciaddr: ipv4ToNumber(held), options: [[Opt.SERVER_ID, SID]] }, T0 + 400_000).kind).toBe('done');
    expect(renew(c, 1, meanwhile, T0 + 450_000).type).toBe(MessageType.NAK);
    expect(lease(c, 1, T0 + 450_001)).toBe(held);
    expect(reservationReport(c, T0 + 450_002).net?.['r']?.state).toBe('bound');
    // Nobody else may take it now.
    expect(renew(c, 9, held, T0 + 450_003).type).toBe(MessageType.NAK);
  });

  it('a client OFFERed an address that becomes reserved for another is NAKed at its REQUEST', () => {
    const c = new DhcpCore(config(), { share: 0 });
    const offer = replyOf(send(c, { messageType: MessageType.DISCOVER, chaddr: mac(9) }));
    c.configure(config([{ name: 'r', mac: macText(1), ip: offer.yiaddr }]));
    const ack = replyOf(send(c, { messageType: MessageType.REQUEST, chaddr: mac(9), options: [[Opt.SERVER_ID, SID], [Opt.REQUESTED_IP, ip4(offer.yiaddr)]] }, T0 + 1));
    expect(ack.type).toBe(MessageType.NAK);
  });

  it('reports only named reservations in its share', () => {
    const cfg = DhcpdConfig.parse({
      subnets: [{ name: 'net', cidr: '10.1.0.0/24', pools: [{ start: '10.1.0.100', end: '10.1.0.109' }], reservations: [{ mac: macText(1), ip: '10.1.0.10' }, { name: 'even', mac: macText(2), ip: '10.1.0.12' }, { name: 'odd', mac: macText(3), ip: '10.1.0.13' }] }],
      ha: { shares: 2 },
    });
    expect(Object.keys(reservationReport(new DhcpCore(cfg, { share: 0 }), T0).net ?? {})).toEqual(['even']);
    expect(Object.keys(reservationReport(new DhcpCore(cfg, { share: 1 }), T0).net ?? {})).toEqual(['odd']);
  });

  it('a config with a reservation by neither or both of mac and clientId is refused', () => {
    expect(() => config([{ ip: '10.1.0.10' }])).toThrow(/exactly one of mac and clientId/);
    expect(() => config([{ ip: '10.1.0.10', mac: macText(1), clientId: 'ff00' }])).toThrow(/exactly one of mac and clientId/);
  });
});
