// Property: whatever clients send, in whatever order and timing, an address is
// never ACKed to a client while another client's ACKed lease on it is valid;
// excluded addresses are never given, reserved ones only to their MAC. Runs
// against one server and against two HA replicas that both see every message.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DhcpdConfig } from '../../src/api/config/dhcpd.ts';
import { MessageType, Opt } from '../../src/dhcpd/codec/constants.ts';
import { parseRequest, serializeRequest } from '../../src/dhcpd/codec/packet.ts';
import { DhcpCore, type HostView } from '../../src/dhcpd/core.ts';
import { ipv4ToNumber } from '../../src/api/ipv4.ts';

const host: HostView = { interfaces: [{ address: ipv4ToNumber('10.5.0.1'), prefix: 24 }], defaultServerId: ipv4ToNumber('10.5.0.1') };
const RESERVED = ipv4ToNumber('10.5.0.12');
const EXCLUDED = ipv4ToNumber('10.5.0.13');
const config = (shares: number) =>
  DhcpdConfig.parse({
    subnets: [
      {
        name: 'p',
        cidr: '10.5.0.0/24',
        pools: [{ start: '10.5.0.10', end: '10.5.0.17' }],
        excludes: [{ start: '10.5.0.13', end: '10.5.0.13' }],
        reservations: [{ mac: '02:00:00:00:00:00', ip: '10.5.0.12' }],
        leaseTime: 60,
      },
    ],
    ha: { shares },
  });

const step = fc.record({
  client: fc.integer({ min: 0, max: 7 }),
  kind: fc.constantFrom('discover', 'select', 'init-reboot', 'renew', 'release', 'decline'),
  ipPick: fc.integer({ min: 0, max: 11 }),
  advanceSeconds: fc.constantFrom(0, 0, 1, 5, 40, 70),
  secs: fc.constantFrom(0, 0, 15),
});

const ip4 = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);

function check(shares: number, steps: Array<typeof step extends fc.Arbitrary<infer T> ? T : never>): void {
  const replicas = Array.from({ length: shares }, (_, i) => new DhcpCore(config(shares), { share: i }));
  const model = new Map<number, { client: number; expires: number }>();
  const lastOffer = new Map<number, number>();
  let now = 1_900_000_000_000;
  for (const s of steps) {
    now += s.advanceSeconds * 1000;
    for (const r of replicas) r.sweep(now);
    const chaddr = Uint8Array.of(2, 0, 0, 0, 0, s.client);
    const known = lastOffer.get(s.client);
    const ip = s.ipPick < 8 ? ipv4ToNumber('10.5.0.10') + s.ipPick : (known ?? ipv4ToNumber('10.5.0.200'));
    const specs = {
      discover: { messageType: MessageType.DISCOVER, chaddr, secs: s.secs },
      select: { messageType: MessageType.REQUEST, chaddr, options: [[Opt.SERVER_ID, ip4(host.defaultServerId)], [Opt.REQUESTED_IP, ip4(ip)]] as const },
      'init-reboot': { messageType: MessageType.REQUEST, chaddr, options: [[Opt.REQUESTED_IP, ip4(ip)]] as const },
      renew: { messageType: MessageType.REQUEST, chaddr, ciaddr: ip },
      release: { messageType: MessageType.RELEASE, chaddr, ciaddr: ip },
      decline: { messageType: MessageType.DECLINE, chaddr, options: [[Opt.REQUESTED_IP, ip4(ip)]] as const },
    };
    const parsed = parseRequest(serializeRequest(specs[s.kind]));
    if (!parsed.ok) throw new Error(parsed.reason);
    for (const r of replicas) {
      const out = r.handle(parsed.packet, parsed.messageType, host, now);
      if (out.kind === 'done' && parsed.messageType === MessageType.RELEASE) {
        if (model.get(ip)?.client === s.client) model.delete(ip);
      }
      if (out.kind === 'done' && parsed.messageType === MessageType.DECLINE) {
        if (model.get(ip)?.client === s.client) model.delete(ip);
      }
      if (out.kind !== 'reply') continue;
      const yiaddr = out.packet.readUInt32BE(16);
      if (out.messageType === MessageType.OFFER) {
        expect(yiaddr).not.toBe(EXCLUDED);
        if (yiaddr === RESERVED) expect(s.client).toBe(0);
        lastOffer.set(s.client, yiaddr);
      }
      if (out.messageType === MessageType.ACK) {
        expect(yiaddr).not.toBe(EXCLUDED);
        if (yiaddr === RESERVED) expect(s.client).toBe(0);
        const holder = model.get(yiaddr);
        if (holder && holder.expires > now) expect(holder.client, `address ${yiaddr} ACKed to ${s.client} while held by ${holder.client}`).toBe(s.client);
        // One lease per client and subnet on a server: an ACK for a new address
        // ends the client's old lease on that server (its share: ip mod shares).
        for (const [a, h] of model) if (h.client === s.client && a !== yiaddr && a % shares === yiaddr % shares) model.delete(a);
        model.set(yiaddr, { client: s.client, expires: now + 60_000 });
      }
    }
  }
}

describe('DhcpCore invariants under random message sequences', () => {
  it('one server: an address is never held by two clients', () => {
    fc.assert(fc.property(fc.array(step, { minLength: 1, maxLength: 80 }), (steps) => check(1, steps)), { numRuns: 1000 });
  });

  it('two HA replicas seeing every message: an address is never held by two clients', () => {
    fc.assert(fc.property(fc.array(step, { minLength: 1, maxLength: 80 }), (steps) => check(2, steps)), { numRuns: 1000 });
  });
});
