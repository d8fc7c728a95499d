// Which configured subnet a message is for, and the server identifier to
// answer with (RFC 2131 4.3.1, RFC 3527, RFC 5107), including the checks on
// relays: a relayed message is served only when the subnet it selects trusts
// its giaddr and its UDP source, and only then are option 82's sub-options
// used. Pure: the subnets, the message, the host's addresses in.

import { cidrContains } from '../api/cidr.ts';
import { Opt } from './codec/constants.ts';
import type { DhcpPacket } from './codec/packet.ts';
import { parseRelayAgentInfo } from './codec/relay-agent.ts';
import { trustsRelay, type Subnet } from './subnet.ts';

/** What the server knows about the host it runs on. */
export interface HostView {
  /** IPv4 addresses of this host's interfaces with their prefix lengths (no loopback). */
  interfaces: ReadonlyArray<{ address: number; prefix: number }>;
  /** Server identifier used for relayed subnets (no local interface on them). */
  defaultServerId: number;
}

export interface Selection<S> {
  s: S;
  serverId: number;
  /** The local interface inside the subnet, if any (direct clients are answered through it). */
  local: { address: number; prefix: number } | undefined;
}

export type SelectionDrop = 'no-subnet' | 'untrusted-relay' | 'untrusted-relay-source' | 'bad-relay-agent-info' | 'relay-info-without-giaddr';

/**
 * Relayed: by the link selection sub-option of option 82, else by giaddr;
 * then giaddr and the UDP source (`from`) must be relays the subnet trusts.
 * Direct: by ciaddr when set, else the subnet of a local interface; option 82
 * without giaddr only where the subnet accepts it.
 */
export function selectSubnet<S extends { subnet: Subnet }>(served: readonly S[], p: DhcpPacket, host: HostView, from: number): Selection<S> | SelectionDrop {
  const containing = (ip: number) => served.find((s) => cidrContains(s.subnet.cidr, ip));
  const findLocal = (s: S) => host.interfaces.find((i) => cidrContains(s.subnet.cidr, i.address));
  const relayInfo = p.options.get(Opt.RELAY_AGENT);
  if (p.giaddr !== 0) {
    const info = relayInfo === undefined ? {} : parseRelayAgentInfo(relayInfo);
    const s = containing(info?.linkSelection ?? p.giaddr);
    if (!s) return 'no-subnet';
    if (!trustsRelay(s.subnet, p.giaddr)) return 'untrusted-relay';
    if (from !== p.giaddr && !trustsRelay(s.subnet, from)) return 'untrusted-relay-source';
    if (info === undefined) return 'bad-relay-agent-info';
    const local = findLocal(s);
    return { s, serverId: info.serverIdOverride ?? local?.address ?? host.defaultServerId, local };
  }
  let sel: Selection<S> | undefined;
  if (p.ciaddr !== 0) {
    const s = containing(p.ciaddr);
    if (s) {
      const local = findLocal(s);
      sel = { s, serverId: local?.address ?? host.defaultServerId, local };
    }
  }
  if (!sel) {
    for (const s of served) {
      const local = findLocal(s);
      if (local) {
        sel = { s, serverId: local.address, local };
        break;
      }
    }
  }
  if (!sel) return 'no-subnet';
  if (relayInfo !== undefined && !sel.s.subnet.acceptRelayInfoWithoutGiaddr) return 'relay-info-without-giaddr';
  return sel;
}
