import { describe, expect, it } from 'vitest';
import { DhcpdConfig, serverOwnedOptionCodes, type DhcpdConfigInput } from '../../src/api/config/dhcpd.ts';
import { MessageType, Opt } from '../../src/dhcpd/codec/constants.ts';
import { decodeDomainSearch } from '../../src/dhcpd/codec/encode.ts';
import { formatIPv4, ipv4ToNumber } from '../../src/api/ipv4.ts';
import { parseRequest, readIp, serializeRequest, type RequestSpec } from '../../src/dhcpd/codec/packet.ts';
import { DhcpCore, type HostView, type Outcome } from '../../src/dhcpd/core.ts';

const base: DhcpdConfigInput = {
  subnets: [
    {
      name: 'net-a',
      cidr: '10.1.0.0/24',
      gateway: '10.1.0.1',
      pools: [{ start: '10.1.0.10', end: '10.1.0.19' }],
      excludes: [{ start: '10.1.0.12', end: '10.1.0.12' }],
      reservations: [{ mac: '02:00:00:00:99:99', ip: '10.1.0.50' }, { mac: '02:00:00:00:88:88', ip: '10.1.0.11' }],
      dnsServers: ['10.1.0.2', '10.1.0.3'],
      domainName: 'a.example',
      domainSearch: ['a.example', 'example'],
      leaseTime: 3600,
      mtu: 1450,
      staticRoutes: [{ destination: '192.168.0.0/16', gateway: '10.1.0.254' }],
      options: [{ code: 66, type: 'string', value: 'tftp.a' }],
    },
    { name: 'net-b', cidr: '10.2.0.0/24', gateway: '10.2.0.1', pools: [{ start: '10.2.0.100', end: '10.2.0.200' }] },
  ],
};

const host: HostView = { interfaces: [{ address: ipv4ToNumber('10.1.0.1'), prefix: 24 }], defaultServerId: ipv4ToNumber('10.1.0.1') };
const SID = Uint8Array.of(10, 1, 0, 1);
const T0 = 1_800_000_000_000;

function core(input: DhcpdConfigInput = base, share = 0): DhcpCore {
  return new DhcpCore(DhcpdConfig.parse(input), { share });
}

function macOf(n: number): Uint8Array {
  return Uint8Array.of(2, 0, 0, 0, (n >> 8) & 255, n & 255);
}

function send(c: DhcpCore, spec: RequestSpec, now = T0): Outcome {
  const r = parseRequest(serializeRequest(spec));
  if (!r.ok) throw new Error(r.reason);
  return c.handle(r.packet, r.messageType, host, now);
}

function reply(o: Outcome) {
  if (o.kind !== 'reply') throw new Error(`expected a reply, got ${JSON.stringify(o)}`);
  const r = parseRequest(Buffer.concat([Buffer.from([1]), o.packet.subarray(1)]));
  if (!r.ok) throw new Error(r.reason);
  return { ...o, p: r.packet, yiaddr: formatIPv4(r.packet.yiaddr), type: r.messageType };
}

const ip4 = (s: string) => Uint8Array.from(s.split('.').map(Number));

function lease(c: DhcpCore, chaddr: Uint8Array, now = T0): string {
  const offer = reply(send(c, { messageType: MessageType.DISCOVER, chaddr }, now));
  const ack = reply(
    send(c, { messageType: MessageType.REQUEST, chaddr, options: [[Opt.SERVER_ID, SID], [Opt.REQUESTED_IP, ip4(offer.yiaddr)]] }, now),
  );
  expect(ack.type).toBe(MessageType.ACK);
  return ack.yiaddr;
}

describe('DhcpCore', () => {
  it('writes itself only the option codes the config may not carry (serverOwnedOptionCodes, refused at admission too)', () => {
    const c = core({ subnets: [{ name: 'bare', cidr: '10.1.0.0/24', pools: [{ start: '10.1.0.10', end: '10.1.0.19' }] }] });
    const agent = Uint8Array.of(1, 2, 0x61, 0x62);
    const offer = reply(send(c, { messageType: MessageType.DISCOVER, chaddr: macOf(1), giaddr: ipv4ToNumber('10.1.0.1'), options: [[Opt.RELAY_AGENT, agent]] }));
    // Of a bare subnet's reply, only the mask and broadcast come from its config.
    const own = [...offer.p.options.keys()].filter((code) => code !== Opt.SUBNET_MASK && code !== Opt.BROADCAST);
    expect(own.sort((a, b) => a - b)).toEqual([Opt.LEASE_TIME, Opt.MESSAGE_TYPE, Opt.SERVER_ID, Opt.RENEWAL_TIME, Opt.REBINDING_TIME, Opt.RELAY_AGENT].sort((a, b) => a - b));
    for (const code of own) expect(serverOwnedOptionCodes).toContain(code);
  });

  it('offers an address from the pool with the subnet options, then ACKs it', () => {
    const c = core();
    const offer = reply(send(c, { messageType: MessageType.DISCOVER, chaddr: macOf(1) }));
    expect(offer.type).toBe(MessageType.OFFER);
    expect(offer.yiaddr).toBe('10.1.0.10');
    const o = offer.p.options;
    expect(formatIPv4(readIp(o.get(Opt.SUBNET_MASK) ?? new Uint8Array(4), 0))).toBe('255.255.255.0');
    expect(formatIPv4(readIp(o.get(Opt.ROUTER) ?? new Uint8Array(4), 0))).toBe('10.1.0.1');
    expect([...(o.get(Opt.DNS) ?? [])]).toEqual([10, 1, 0, 2, 10, 1, 0, 3]);
    expect([...(o.get(Opt.SERVER_ID) ?? [])]).toEqual([...SID]);
    expect(readIp(o.get(Opt.LEASE_TIME) ?? new Uint8Array(4), 0)).toBe(3600);
    expect(readIp(o.get(Opt.RENEWAL_TIME) ?? new Uint8Array(4), 0)).toBe(1800);
    expect(readIp(o.get(Opt.REBINDING_TIME) ?? new Uint8Array(4), 0)).toBe(3150);
    expect(decodeDomainSearch(o.get(Opt.DOMAIN_SEARCH) ?? new Uint8Array())).toEqual(['a.example', 'example']);
    expect(Buffer.from(o.get(66) ?? []).toString()).toBe('tftp.a');
    // 121 carries the default route too (RFC 3442).
    expect([...(o.get(Opt.CLASSLESS_ROUTES) ?? [])]).toEqual([16, 192, 168, 10, 1, 0, 254, 0, 10, 1, 0, 1]);
    expect(offer.to).toEqual({ address: ipv4ToNumber('10.1.0.255'), port: 68, broadcast: true });
    const ack = reply(send(c, { messageType: MessageType.REQUEST, chaddr: macOf(1), options: [[Opt.SERVER_ID, SID], [Opt.REQUESTED_IP, ip4('10.1.0.10')]] }));
    expect(ack.type).toBe(MessageType.ACK);
    expect(ack.records).toHaveLength(1);
    expect(ack.records[0]).toMatchObject({ op: 'bind', expires: T0 + 3600_000 });
  });

  it('never offers excluded or reserved addresses to others, and offers a reservation to its MAC', () => {
    const c = core();
    const got = new Set<string>();
    for (let i = 1; i <= 8; i++) got.add(lease(c, macOf(i)));
    expect(got.size).toBe(8);
    expect(got.has('10.1.0.12')).toBe(false);
    expect(got.has('10.1.0.11')).toBe(false);
    // Pool 10..19 minus .11 (reserved) and .12 (excluded) = 8 addresses: exhausted now.
    const o = send(c, { messageType: MessageType.DISCOVER, chaddr: macOf(100) });
    expect(o).toMatchObject({ kind: 'silent', reason: 'pool-exhausted' });
    expect(lease(c, Uint8Array.of(2, 0, 0, 0, 0x99, 0x99))).toBe('10.1.0.50');
    expect(lease(c, Uint8Array.of(2, 0, 0, 0, 0x88, 0x88))).toBe('10.1.0.11');
  });

  it('gives the same address again to the same client, identified by option 61 over chaddr', () => {
    const c = core();
    const id = Uint8Array.of(0xff, 1, 2, 3, 4);
    const a = reply(send(c, { messageType: MessageType.DISCOVER, chaddr: macOf(1), options: [[Opt.CLIENT_ID, id]] }));
    const b = reply(send(c, { messageType: MessageType.DISCOVER, chaddr: macOf(2), options: [[Opt.CLIENT_ID, id]] }));
    expect(b.yiaddr).toBe(a.yiaddr);
    const d = reply(send(c, { messageType: MessageType.DISCOVER, chaddr: macOf(1) }));
    expect(d.yiaddr).not.toBe(a.yiaddr);
  });

  it('NAKs a REQUEST for an address held by another client or outside the subnet', () => {
    const c = core();
    const ip = lease(c, macOf(1));
    const taken = reply(send(c, { messageType: MessageType.REQUEST, chaddr: macOf(2), options: [[Opt.REQUESTED_IP, ip4(ip)]] }));
    expect(taken.type).toBe(MessageType.NAK);
    const wrong = reply(send(c, { messageType: MessageType.REQUEST, chaddr: macOf(2), options: [[Opt.REQUESTED_IP, ip4('192.168.1.5')]] }));
    expect(wrong.type).toBe(MessageType.NAK);
    expect(wrong.to.broadcast).toBe(true);
    const outsidePool = reply(send(c, { messageType: MessageType.REQUEST, chaddr: macOf(2), options: [[Opt.REQUESTED_IP, ip4('10.1.0.200')]] }));
    expect(outsidePool.type).toBe(MessageType.NAK);
  });

  it('renews (unicast to ciaddr) and rebinds, extending the lease', () => {
    const c = core();
    const ip = lease(c, macOf(1));
    const later = T0 + 1000_000;
    const renew = reply(send(c, { messageType: MessageType.REQUEST, chaddr: macOf(1), ciaddr: ipv4ToNumber(ip) }, later));
    expect(renew.type).toBe(MessageType.ACK);
    expect(renew.yiaddr).toBe(ip);
    expect(renew.to).toEqual({ address: ipv4ToNumber(ip), port: 68, broadcast: false });
    expect(renew.records[0]?.expires).toBe(later + 3600_000);
  });

  it('confirms an init-reboot for its own lease, NAKs another', () => {
    const c = core();
    const ip = lease(c, macOf(1));
    expect(reply(send(c, { messageType: MessageType.REQUEST, chaddr: macOf(1), options: [[Opt.REQUESTED_IP, ip4(ip)]] })).type).toBe(MessageType.ACK);
  });

  it('drops the held offer when the client selects another server', () => {
    const c = core();
    const offer = reply(send(c, { messageType: MessageType.DISCOVER, chaddr: macOf(1) }));
    const o = send(c, { messageType: MessageType.REQUEST, chaddr: macOf(1), options: [[Opt.SERVER_ID, ip4('10.1.0.99')], [Opt.REQUESTED_IP, ip4('10.1.0.77')]] });
    expect(o).toMatchObject({ kind: 'silent', reason: 'not-selected' });
    expect(c.leases.get(ipv4ToNumber(offer.yiaddr))).toBeUndefined();
  });

  it('RELEASE returns the address to the pool; DECLINE keeps it out', () => {
    const c = core();
    const ip = lease(c, macOf(1));
    const rel = send(c, { messageType: MessageType.RELEASE, chaddr: macOf(1), ciaddr: ipv4ToNumber(ip), options: [[Opt.SERVER_ID, SID]] });
    expect(rel).toMatchObject({ kind: 'done', records: [{ op: 'release' }] });
    expect(c.leases.get(ipv4ToNumber(ip))).toBeUndefined();
    const ip2 = lease(c, macOf(2));
    expect(ip2).toBe(ip);
    const dec = send(c, { messageType: MessageType.DECLINE, chaddr: macOf(2), options: [[Opt.SERVER_ID, SID], [Opt.REQUESTED_IP, ip4(ip2)]] });
    expect(dec).toMatchObject({ kind: 'done', records: [{ op: 'quarantine', reason: 'decline' }] });
    const ip3 = lease(c, macOf(2));
    expect(ip3).not.toBe(ip2);
  });

  it('a release by another client changes nothing', () => {
    const c = core();
    const ip = lease(c, macOf(1));
    expect(send(c, { messageType: MessageType.RELEASE, chaddr: macOf(9), ciaddr: ipv4ToNumber(ip) })).toMatchObject({ kind: 'silent', reason: 'release-unknown' });
    expect(c.leases.get(ipv4ToNumber(ip))?.state).toBe('bound');
  });

  it('answers INFORM with options and no lease', () => {
    const c = core();
    const r = reply(send(c, { messageType: MessageType.INFORM, chaddr: macOf(1), ciaddr: ipv4ToNumber('10.1.0.77') }));
    expect(r.type).toBe(MessageType.ACK);
    expect(r.p.yiaddr).toBe(0);
    expect(r.p.options.has(Opt.LEASE_TIME)).toBe(false);
    expect(r.p.options.has(Opt.DNS)).toBe(true);
    expect(r.to).toEqual({ address: ipv4ToNumber('10.1.0.77'), port: 68, broadcast: false });
  });

  it('selects the subnet by giaddr, answers the relay on port 67 and echoes option 82', () => {
    const c = core();
    const agent = Uint8Array.of(1, 3, 0x65, 0x74, 0x30);
    const r = reply(send(c, { messageType: MessageType.DISCOVER, chaddr: macOf(1), giaddr: ipv4ToNumber('10.2.0.1'), options: [[Opt.RELAY_AGENT, agent]] }));
    expect(r.yiaddr).toBe('10.2.0.100');
    expect(r.to).toEqual({ address: ipv4ToNumber('10.2.0.1'), port: 67, broadcast: false });
    expect([...(r.p.options.get(Opt.RELAY_AGENT) ?? [])]).toEqual([...agent]);
    expect(send(c, { messageType: MessageType.DISCOVER, chaddr: macOf(1), giaddr: ipv4ToNumber('10.9.0.1') })).toMatchObject({ kind: 'silent', reason: 'no-subnet' });
  });

  it('expired leases return to the pool', () => {
    const c = core();
    const ip = lease(c, macOf(1));
    expect(c.sweep(T0 + 3601_000)).toBe(1);
    expect(lease(c, macOf(2), T0 + 3602_000)).toBe(ip);
  });

  it('a reload changes options but keeps leases', () => {
    const c = core();
    const ip = lease(c, macOf(1));
    const first = base.subnets[0];
    if (!first) throw new Error('no subnet');
    c.configure(DhcpdConfig.parse({ ...base, subnets: [{ ...first, dnsServers: ['9.9.9.9'] }] }));
    const renew = reply(send(c, { messageType: MessageType.REQUEST, chaddr: macOf(1), ciaddr: ipv4ToNumber(ip) }));
    expect(renew.type).toBe(MessageType.ACK);
    expect([...(renew.p.options.get(Opt.DNS) ?? [])]).toEqual([9, 9, 9, 9]);
    expect(() => c.configure(DhcpdConfig.parse({ ...base, subnets: [{ ...first, options: [{ code: 53, type: 'uint8', value: 1 }] }] }))).toThrow(/option 53/);
  });

  it('HA: two shares never offer the same address and each answers a client bucket', () => {
    const cfg: DhcpdConfigInput = { ...base, subnets: [{ name: 'n', cidr: '10.1.0.0/24', pools: [{ start: '10.1.0.10', end: '10.1.0.250' }] }], ha: { shares: 2 } };
    const r0 = core(cfg, 0);
    const r1 = core(cfg, 1);
    const given = new Map<string, number>();
    let answered = 0;
    for (let i = 0; i < 200; i++) {
      const replies = [r0, r1].map((c) => send(c, { messageType: MessageType.DISCOVER, chaddr: macOf(i) }));
      const offers = replies.filter((o) => o.kind === 'reply');
      expect(offers).toHaveLength(1);
      answered++;
      for (const [k, o] of replies.entries()) {
        if (o.kind !== 'reply') continue;
        const ip = reply(o).yiaddr;
        expect(given.has(ip)).toBe(false);
        given.set(ip, k);
        expect(ipv4ToNumber(ip) % 2).toBe(k);
      }
    }
    expect(answered).toBe(200);
    // A client that has waited (secs >= 10) is answered by both.
    const both = [r0, r1].map((c) => send(c, { messageType: MessageType.DISCOVER, chaddr: macOf(999), secs: 12 }));
    expect(both.every((o) => o.kind === 'reply')).toBe(true);
  });

  it("HA: a reserved address is answered by the share it is in, a rebind too (the other replica stays silent)", () => {
    const cfg: DhcpdConfigInput = { ...base, subnets: [{ name: 'n', cidr: '10.1.0.0/24', pools: [{ start: '10.1.0.10', end: '10.1.0.250' }], reservations: [{ mac: '02:00:00:00:99:99', ip: '10.1.0.50' }] }], ha: { shares: 2 } };
    const owner = core(cfg, 0);
    const other = core(cfg, 1);
    const chaddr = Uint8Array.of(2, 0, 0, 0, 0x99, 0x99);
    expect(lease(owner, chaddr)).toBe('10.1.0.50');
    const rebind = (c: DhcpCore) => send(c, { messageType: MessageType.REQUEST, chaddr, ciaddr: ipv4ToNumber('10.1.0.50') });
    expect(reply(rebind(owner)).type).toBe(MessageType.ACK);
    expect(rebind(other)).toMatchObject({ kind: 'silent' });
  });

  it('broadcasts on the interface prefix even when the subnet is wider', () => {
    const c = core({ subnets: [{ name: 'wide', cidr: '10.1.0.0/16', pools: [{ start: '10.1.5.0', end: '10.1.5.9' }] }] });
    const r = reply(send(c, { messageType: MessageType.DISCOVER, chaddr: macOf(1) }));
    expect(r.to).toEqual({ address: ipv4ToNumber('10.1.0.255'), port: 68, broadcast: true });
  });

  it('keeps a reply within 576 bytes (or option 57) by sending only requested options', () => {
    const big = Array.from({ length: 6 }, (_, i) => ({ code: 224 + i, type: 'hex' as const, value: 'ab'.repeat(100) }));
    const c = core({ subnets: [{ name: 'n', cidr: '10.1.0.0/24', gateway: '10.1.0.1', pools: [{ start: '10.1.0.10', end: '10.1.0.20' }], options: big }] });
    const small = reply(send(c, { messageType: MessageType.DISCOVER, chaddr: macOf(1), options: [[Opt.PARAMETER_LIST, Uint8Array.of(1, 3, 225)]] }));
    expect(small.packet.length).toBeLessThanOrEqual(576);
    expect(small.p.options.has(225)).toBe(true);
    expect(small.p.options.has(224)).toBe(false);
    expect(small.p.options.has(Opt.ROUTER)).toBe(true);
    const large = reply(send(c, { messageType: MessageType.DISCOVER, chaddr: macOf(2), options: [[Opt.MAX_MESSAGE_SIZE, Uint8Array.of(0x05, 0xdc)]] }));
    expect(large.p.options.has(224)).toBe(true);
    expect(large.p.options.has(229)).toBe(true);
  });
});
