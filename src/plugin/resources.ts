// Which MacPool or DhcpSubnet an address or a name means, and where its
// server's API is.

import type { DhcpSubnet, MacPool } from '../api/index.ts';
import { cidrContains, parseCidr } from '../api/cidr.ts';
import { parseMac } from '../api/mac.ts';
import { DHCPD_API_PORT_NAME, MACD_API_PORT_NAME, dhcpdName, macManagerName, macdName } from '../api/services.ts';
import { effectiveRanges } from '../render/macpool/ranges.ts';
import { getObject, listPools, listSubnets, PluginError, type Connection, type Target } from './cluster.ts';

export const nsOf = (o: { metadata: { namespace?: string | undefined } }): string => o.metadata.namespace ?? 'default';

/** "ns/name" of an object. */
export const refOf = (o: { metadata: { name: string; namespace?: string | undefined } }): string => `${nsOf(o)}/${o.metadata.name}`;

/** The allocator API of a pool: macd's Service, or Alcor's MAC manager's (engine alcor). */
export function macTarget(pool: MacPool): Target {
  const name = pool.spec.engine === 'alcor' ? macManagerName(pool.metadata.name) : macdName(pool.metadata.name);
  return { namespace: nsOf(pool), service: name, port: MACD_API_PORT_NAME };
}

/** The lease API of a subnet's DHCP servers. */
export function dhcpTarget(subnet: DhcpSubnet): Target {
  return { namespace: nsOf(subnet), service: dhcpdName(subnet.metadata.name), port: DHCPD_API_PORT_NAME };
}

/** Whether one of the pool's ranges holds the MAC. */
export function poolHolds(pool: MacPool, mac: number): boolean {
  return effectiveRanges(pool.spec).some((r) => {
    const from = parseMac(r.from);
    const to = parseMac(r.to);
    return from !== undefined && to !== undefined && mac >= from && mac <= to;
  });
}

export function subnetHolds(subnet: DhcpSubnet, ip: number): boolean {
  const cidr = parseCidr(subnet.spec.cidr);
  return cidr !== undefined && cidrContains(cidr, ip);
}

/** Where to look: "in namespace X" or "in any namespace". */
export const scope = (c: Connection): string => (c.all ? 'in any namespace' : `in namespace ${c.namespace} (-A searches every namespace)`);

export async function poolsHolding(c: Connection, mac: number, text: string): Promise<MacPool[]> {
  const found = (await listPools(c)).filter((p) => poolHolds(p, mac));
  if (found.length === 0) throw new PluginError(`${text} is in no MacPool ${scope(c)}`);
  return found;
}

export async function subnetsHolding(c: Connection, ip: number, text: string): Promise<DhcpSubnet[]> {
  const found = (await listSubnets(c)).filter((s) => subnetHolds(s, ip));
  if (found.length === 0) throw new PluginError(`${text} is in no DhcpSubnet ${scope(c)}`);
  return found;
}

export type Named = { kind: 'MacPool'; pool: MacPool } | { kind: 'DhcpSubnet'; subnet: DhcpSubnet };

const POOL_TYPES = new Set(['macpool', 'macpools', 'mp', 'macpool.alcor.dev']);
const SUBNET_TYPES = new Set(['dhcpsubnet', 'dhcpsubnets', 'dsn', 'dhcpsubnet.alcor.dev']);

/** "macpool/NAME", "dhcpsubnet/NAME" (or their short names), or a NAME that only one kind has, in the connection's namespace. */
export async function resolve(c: Connection, ref: string, want?: Named['kind']): Promise<Named> {
  const slash = ref.indexOf('/');
  const type = slash >= 0 ? ref.slice(0, slash).toLowerCase() : undefined;
  const name = slash >= 0 ? ref.slice(slash + 1) : ref;
  if (name === '') throw new PluginError(`"${ref}" names nothing: want NAME, macpool/NAME or dhcpsubnet/NAME`);
  if (type !== undefined && !POOL_TYPES.has(type) && !SUBNET_TYPES.has(type)) throw new PluginError(`"${type}" is not a kind this plugin knows: use macpool/NAME or dhcpsubnet/NAME`);
  const tryPool = want !== 'DhcpSubnet' && (type === undefined || POOL_TYPES.has(type));
  const trySubnet = want !== 'MacPool' && (type === undefined || SUBNET_TYPES.has(type));
  const [pool, subnet] = await Promise.all([
    tryPool ? getObject<MacPool>(c, 'macpools', name) : undefined,
    trySubnet ? getObject<DhcpSubnet>(c, 'dhcpsubnets', name) : undefined,
  ]);
  if (pool && subnet) throw new PluginError(`both a MacPool and a DhcpSubnet are named ${name} in namespace ${c.namespace}: say macpool/${name} or dhcpsubnet/${name}`);
  if (pool) return { kind: 'MacPool', pool };
  if (subnet) return { kind: 'DhcpSubnet', subnet };
  const kinds = tryPool && trySubnet ? 'MacPool or DhcpSubnet' : tryPool ? 'MacPool' : 'DhcpSubnet';
  throw new PluginError(`no ${kinds} named ${name} in namespace ${c.namespace}`);
}

/** A pool with macd behind it (engine builtin): the listing, backup and restore need macd's API. */
export function needsMacd(pool: MacPool, what: string): void {
  if (pool.spec.engine === 'alcor') throw new PluginError(`macpool ${refOf(pool)} runs Alcor's MAC manager (engine alcor), which has no ${what}: only engine builtin (macd) has`);
}
