// The part of bench:dhcpd that needs no network: the CPU cost of one
// DISCOVER-OFFER plus REQUEST-ACK exchange through the codec and the core
// (what the server does per packet, minus sockets and the lease log), for the
// bench's relayed traffic with and without trustedRelays. In process, CPU time
// (process.cpuUsage), alternating rounds: other load on the machine stretches
// wall time far more than it does this.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DhcpdConfig } from '../src/api/config/dhcpd.ts';
import { ipv4ToNumber } from '../src/api/ipv4.ts';
import { MessageType, Opt } from '../src/dhcpd/codec/constants.ts';
import { parseRequest, serializeRequest } from '../src/dhcpd/codec/packet.ts';
import { DhcpCore } from '../src/dhcpd/core.ts';

const GIADDR = ipv4ToNumber('10.77.0.2');
const POOL_START = ipv4ToNumber('10.100.0.0');
const SERVER = Uint8Array.of(10, 77, 0, 1);

function core(trustedRelays: string[] | undefined): DhcpCore {
  const subnet = { name: 'bench', cidr: '10.0.0.0/8', gateway: '10.0.0.1', pools: [{ start: '10.100.0.0', end: '10.255.255.254' }], dnsServers: ['10.0.0.53'], leaseTime: 3600 };
  return new DhcpCore(DhcpdConfig.parse({ subnets: [{ ...subnet, ...(trustedRelays ? { trustedRelays } : {}) }] }), { share: 0 });
}

/** n clients' DISCOVERs and REQUESTs, as perfdhcp relays them (a fresh core hands out the pool in order). */
function packets(n: number): { discovers: Buffer[]; requests: Buffer[] } {
  const discovers: Buffer[] = [];
  const requests: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const chaddr = Uint8Array.of(0, 0x0c, (i >> 24) & 255, (i >> 16) & 255, (i >> 8) & 255, i & 255);
    const ip = POOL_START + i;
    discovers.push(serializeRequest({ messageType: MessageType.DISCOVER, chaddr, giaddr: GIADDR, xid: i }));
    requests.push(
      serializeRequest({ messageType: MessageType.REQUEST, chaddr, giaddr: GIADDR, xid: i, options: [[Opt.SERVER_ID, SERVER], [Opt.REQUESTED_IP, Uint8Array.of(ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255)]] }),
    );
  }
  return { discovers, requests };
}

// A full collection before each round, so no round pays for the garbage of the one before.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** CPU ns per exchange for one fresh core; throws if an exchange does not end in an ACK. */
function round(trustedRelays: string[] | undefined, p: { discovers: Buffer[]; requests: Buffer[] }): number {
  const c = core(trustedRelays);
  gc();
  const host = { interfaces: [{ address: ipv4ToNumber('10.77.0.1'), prefix: 24 }], defaultServerId: ipv4ToNumber('10.77.0.1') };
  const now = Date.now();
  let acks = 0;
  const t0 = process.cpuUsage();
  for (let i = 0; i < p.discovers.length; i++) {
    for (const buf of [p.discovers[i] as Buffer, p.requests[i] as Buffer]) {
      const r = parseRequest(buf);
      if (!r.ok) throw new Error(r.reason);
      const out = c.handle(r.packet, r.messageType, host, now, GIADDR);
      if (out.kind === 'reply' && out.messageType === MessageType.ACK) acks++;
    }
  }
  const used = process.cpuUsage(t0);
  if (acks !== p.discovers.length) throw new Error(`core bench: ${acks} ACKs for ${p.discovers.length} exchanges`);
  return ((used.user + used.system) * 1000) / p.discovers.length;
}

export interface CoreCost {
  /** ns of CPU per exchange, one per round. */
  without: number[];
  with: number[];
  exchanges: number;
}

/** Alternating rounds of `exchanges` clients each, after a warm-up round of each. */
export function coreCost(exchanges: number, rounds: number, trustedRelays: string[]): CoreCost {
  const p = packets(exchanges);
  round(undefined, p);
  round(trustedRelays, p);
  const out: CoreCost = { without: [], with: [], exchanges };
  for (let i = 0; i < rounds; i++) {
    const order = i % 2 === 0 ? ([undefined, trustedRelays] as const) : ([trustedRelays, undefined] as const);
    for (const t of order) (t ? out.with : out.without).push(round(t, p));
  }
  return out;
}
