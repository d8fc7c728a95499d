// Trusted relays and option 82 (RFC 3046, 3527, 5107) in the pure core: who
// is served, which subnet is chosen, which server identifier is used, and
// that a dropped packet changes no lease.

import { describe, expect, it } from 'vitest';
import { DhcpdConfig, type DhcpdConfigInput } from '../../src/api/config/dhcpd.ts';
import { MessageType, Opt } from '../../src/dhcpd/codec/constants.ts';
import { parseRequest, serializeRequest, type RequestSpec } from '../../src/dhcpd/codec/packet.ts';
import { parseRelayAgentInfo, RelaySub } from '../../src/dhcpd/codec/relay-agent.ts';
import { DhcpCore, type HostView, type Outcome } from '../../src/dhcpd/core.ts';
import { formatIPv4, ipv4ToNumber } from '../../src/api/ipv4.ts';
import { readIp } from '../../src/dhcpd/codec/packet.ts';

const T0 = 1_800_000_000_000;
const host: HostView = { interfaces: [{ address: ipv4ToNumber('10.1.0.1'), prefix: 24 }], defaultServerId: ipv4ToNumber('10.99.0.1') };
const ip4 = (s: string) => Uint8Array.from(s.split('.').map(Number));
const mac = (n: number) => Uint8Array.of(2, 0, 0, 0, 0, n);

function config(extra: Partial<DhcpdConfigInput['subnets'][number]> = {}): DhcpdConfigInput {
  return {
    subnets: [
      { name: 'local', cidr: '10.1.0.0/24', pools: [{ start: '10.1.0.10', end: '10.1.0.19' }], ...extra },
      { name: 'far', cidr: '10.2.0.0/24', pools: [{ start: '10.2.0.10', end: '10.2.0.19' }], trustedRelays: ['10.2.0.1/32', '192.168.7.0/24'] },
      { name: 'other', cidr: '10.3.0.0/24', pools: [{ start: '10.3.0.10', end: '10.3.0.19' }], trustedRelays: ['10.3.0.1/32'] },
    ],
  };
}

const core = (c: DhcpdConfigInput = config()) => new DhcpCore(DhcpdConfig.parse(c), { share: 0 });

function send(c: DhcpCore, spec: RequestSpec, from?: string): Outcome {
  const r = parseRequest(serializeRequest(spec));
  if (!r.ok) throw new Error(r.reason);
  return c.handle(r.packet, r.messageType, host, T0, from === undefined ? undefined : ipv4ToNumber(from));
}

function offered(o: Outcome): { yiaddr: string; serverId: string; relay: number[] | undefined } {
  if (o.kind !== 'reply') throw new Error(`expected a reply, got ${JSON.stringify(o)}`);
  const r = parseRequest(Buffer.concat([Buffer.from([1]), o.packet.subarray(1)]));
  if (!r.ok) throw new Error(r.reason);
  const sid = r.packet.options.get(Opt.SERVER_ID);
  const relay = r.packet.options.get(Opt.RELAY_AGENT);
  return { yiaddr: formatIPv4(r.packet.yiaddr), serverId: sid ? formatIPv4(readIp(sid, 0)) : '', relay: relay ? [...relay] : undefined };
}

const sub = (code: number, value: Uint8Array) => Uint8Array.of(code, value.length, ...value);
const agent = (...subs: Uint8Array[]) => Uint8Array.from(subs.flatMap((s) => [...s]));
const circuit = sub(RelaySub.CIRCUIT_ID, Uint8Array.of(0x65, 0x74, 0x30));

describe('trusted relays', () => {
  const discover = (giaddr: string, options: RequestSpec['options'] = []): RequestSpec => ({ messageType: MessageType.DISCOVER, chaddr: mac(1), giaddr: ipv4ToNumber(giaddr), options });

  it.each([
    ['a trusted relay sending from its giaddr', '10.2.0.1', '10.2.0.1', 'reply'],
    ['a trusted relay sending from another trusted address', '10.2.0.1', '192.168.7.20', 'reply'],
    ['an untrusted giaddr', '10.2.0.2', '10.2.0.2', 'untrusted-relay'],
    ['a trusted giaddr spoofed from an untrusted source', '10.2.0.1', '10.2.0.66', 'untrusted-relay-source'],
    ['a subnet without trustedRelays: every relay', '10.1.0.77', '172.16.0.1', 'reply'],
  ])('%s', (_name, giaddr, from, expected) => {
    const c = core();
    const out = send(c, discover(giaddr), from);
    if (expected === 'reply') expect(out.kind).toBe('reply');
    else expect(out).toMatchObject({ kind: 'silent', reason: expected });
    // A dropped packet holds no address.
    if (expected !== 'reply') expect(c.leases.byIp.size).toBe(0);
  });

  it('drops a REQUEST from an untrusted relay without touching the lease it names', () => {
    const c = core();
    const o = offered(send(c, discover('10.2.0.1'), '10.2.0.1'));
    const request = (from: string) =>
      send(c, { messageType: MessageType.REQUEST, chaddr: mac(1), giaddr: ipv4ToNumber('10.2.0.1'), options: [[Opt.SERVER_ID, ip4(o.serverId)], [Opt.REQUESTED_IP, ip4(o.yiaddr)]] }, from);
    expect(request('10.2.0.66')).toMatchObject({ kind: 'silent', reason: 'untrusted-relay-source' });
    expect(c.leases.get(ipv4ToNumber(o.yiaddr))?.state).toBe('offered');
    expect(request('10.2.0.1').kind).toBe('reply');
    expect(c.leases.get(ipv4ToNumber(o.yiaddr))?.state).toBe('bound');
  });
});

describe('option 82', () => {
  it('is echoed to a trusted relay', () => {
    const rai = agent(circuit, sub(RelaySub.REMOTE_ID, Uint8Array.of(1, 2, 3)));
    const o = offered(send(core(), { messageType: MessageType.DISCOVER, chaddr: mac(1), giaddr: ipv4ToNumber('10.2.0.1'), options: [[Opt.RELAY_AGENT, rai]] }, '10.2.0.1'));
    expect(o.relay).toEqual([...rai]);
  });

  it('link selection (RFC 3527) from a trusted relay chooses the subnet; the relay must be trusted by that subnet', () => {
    const c = core();
    // giaddr on the relay's uplink (a subnet that trusts every relay), the client on 10.2.0.0/24.
    const ls = agent(circuit, sub(RelaySub.LINK_SELECTION, ip4('10.2.0.0')));
    const fromTrusted = send(c, { messageType: MessageType.DISCOVER, chaddr: mac(1), giaddr: ipv4ToNumber('192.168.7.5'), options: [[Opt.RELAY_AGENT, ls]] }, '192.168.7.5');
    expect(offered(fromTrusted).yiaddr).toMatch(/^10\.2\.0\./);
    // The same link selection from a relay that "other" does not trust is not honoured.
    const toOther = agent(sub(RelaySub.LINK_SELECTION, ip4('10.3.0.0')));
    expect(send(c, { messageType: MessageType.DISCOVER, chaddr: mac(2), giaddr: ipv4ToNumber('192.168.7.5'), options: [[Opt.RELAY_AGENT, toOther]] }, '192.168.7.5')).toMatchObject({
      kind: 'silent',
      reason: 'untrusted-relay',
    });
    expect(c.leases.byIp.size).toBe(1);
  });

  it('server identifier override (RFC 5107) from a trusted relay is the server identifier of the replies and of SELECTING', () => {
    const c = core();
    const rai = agent(sub(RelaySub.SERVER_ID_OVERRIDE, ip4('10.2.0.1')));
    const giaddr = ipv4ToNumber('10.2.0.1');
    const o = offered(send(c, { messageType: MessageType.DISCOVER, chaddr: mac(1), giaddr, options: [[Opt.RELAY_AGENT, rai]] }, '10.2.0.1'));
    expect(o.serverId).toBe('10.2.0.1');
    const ack = send(c, { messageType: MessageType.REQUEST, chaddr: mac(1), giaddr, options: [[Opt.SERVER_ID, ip4('10.2.0.1')], [Opt.REQUESTED_IP, ip4(o.yiaddr)], [Opt.RELAY_AGENT, rai]] }, '10.2.0.1');
    expect(ack).toMatchObject({ kind: 'reply', messageType: MessageType.ACK });
  });

  it('a malformed option 82 from a trusted relay is dropped and counted', () => {
    const bad = Uint8Array.of(1, 9, 0x65);
    expect(send(core(), { messageType: MessageType.DISCOVER, chaddr: mac(1), giaddr: ipv4ToNumber('10.2.0.1'), options: [[Opt.RELAY_AGENT, bad]] }, '10.2.0.1')).toMatchObject({
      kind: 'silent',
      reason: 'bad-relay-agent-info',
    });
  });

  it('from a client (no giaddr) is dropped unless the subnet accepts it, and then its sub-options are not used', () => {
    const rai = agent(circuit, sub(RelaySub.LINK_SELECTION, ip4('10.2.0.0')), sub(RelaySub.SERVER_ID_OVERRIDE, ip4('10.2.0.1')));
    const spec: RequestSpec = { messageType: MessageType.DISCOVER, chaddr: mac(1), options: [[Opt.RELAY_AGENT, rai]] };
    const strict = core();
    expect(send(strict, spec, '0.0.0.0')).toMatchObject({ kind: 'silent', reason: 'relay-info-without-giaddr' });
    expect(strict.leases.byIp.size).toBe(0);
    const lenient = core(config({ relayInfoWithoutGiaddr: 'accept' }));
    const o = offered(send(lenient, spec, '0.0.0.0'));
    expect(o.yiaddr).toMatch(/^10\.1\.0\./);
    expect(o.serverId).toBe('10.1.0.1');
    expect(o.relay).toEqual([...rai]);
  });

  it('sub-option parsing', () => {
    expect(parseRelayAgentInfo(agent(circuit, sub(5, ip4('10.2.0.0'))))).toEqual({ linkSelection: ipv4ToNumber('10.2.0.0') });
    expect(parseRelayAgentInfo(new Uint8Array())).toEqual({});
    expect(parseRelayAgentInfo(Uint8Array.of(5, 3, 1, 2, 3))).toBeUndefined();
    expect(parseRelayAgentInfo(Uint8Array.of(1))).toBeUndefined();
  });
});
