// kubectl alcor who-has ADDRESS and release ADDRESS: find the MacPool or
// DhcpSubnet whose range holds the address, ask its server who holds it,
// and (release) free it after a confirmation.

import type { LeaseItem, MacEntry } from '../../api/backup.ts';
import type { DhcpSubnet, MacPool } from '../../api/index.ts';
import { formatIPv4, parseIPv4 } from '../../api/ipv4.ts';
import { formatMac, parseMac } from '../../api/mac.ts';
import { answerError, answerJson, PluginError, proxy, type Connection } from '../cluster.ts';
import { oneArg, type Ctx } from '../context.ts';
import { document, relative, table } from '../output.ts';
import { dhcpTarget, macTarget, poolsHolding, refOf, subnetsHolding } from '../resources.ts';

export type Address = { kind: 'mac'; mac: number; text: string } | { kind: 'ip'; ip: number; text: string };

export function parseAddress(text: string): Address {
  const mac = parseMac(text);
  if (mac !== undefined) return { kind: 'mac', mac, text: formatMac(mac) };
  const ip = parseIPv4(text);
  if (ip !== undefined) return { kind: 'ip', ip, text: formatIPv4(ip) };
  throw new PluginError(`"${text}" is neither a MAC address (aa:bb:cc:00:00:01) nor an IPv4 address (10.0.0.7)`);
}

export interface MacHolder {
  pool: MacPool;
  state: MacEntry;
}
export interface IpHolder {
  subnet: DhcpSubnet;
  lease: LeaseItem;
}

/** Who holds a MAC, in every pool (in scope) whose ranges hold it; an error when none does. */
export async function macHolders(c: Connection, mac: number, text: string): Promise<MacHolder[]> {
  const pools = await poolsHolding(c, mac, text);
  const found: MacHolder[] = [];
  const free: string[] = [];
  for (const pool of pools) {
    const t = macTarget(pool);
    const a = await proxy(c, t, 'GET', `/macs/${text}`);
    // A MAC not allocated answers {"mac_state": null}, as Alcor's MAC manager does (docs/alcor-compat.md).
    const state = answerJson<{ mac_state: MacEntry | null }>(t, a).mac_state;
    if (state === null) {
      free.push(`macpool ${refOf(pool)}`);
      continue;
    }
    found.push({ pool, state });
  }
  if (found.length === 0) throw new PluginError(`${text} is not allocated (${free.join(', ')})`);
  return found;
}

/** Who holds an IP, in every subnet (in scope) whose CIDR holds it; an error when none does. */
export async function ipHolders(c: Connection, ip: number, text: string): Promise<IpHolder[]> {
  const subnets = await subnetsHolding(c, ip, text);
  const found: IpHolder[] = [];
  const free: string[] = [];
  for (const subnet of subnets) {
    const t = dhcpTarget(subnet);
    const a = await proxy(c, t, 'GET', `/v1/leases/${text}`);
    if (a.status === 404 && /not_leased|outside_subnets/.test(a.body)) {
      free.push(`dhcpsubnet ${refOf(subnet)}`);
      continue;
    }
    for (const lease of answerJson<{ items: LeaseItem[] }>(t, a).items) found.push({ subnet, lease });
  }
  if (found.length === 0) throw new PluginError(`${text} is not leased (${free.join(', ')})`);
  return found;
}

const macRow = (h: MacHolder): string[] => [refOf(h.pool), h.state.mac_address, h.state.port_id, h.state.project_id ?? '', h.state.vpc_id ?? '', h.state.state];
const MAC_HEADER = ['POOL', 'MAC', 'PORT', 'PROJECT', 'VPC', 'STATE'];
const ipRow = (h: IpHolder): string[] => [refOf(h.subnet), h.lease.ip, h.lease.mac, h.lease.client, h.lease.hostname ?? '', `${h.lease.expires} (${relative(h.lease.expires)})`, h.lease.state, h.lease.server];
const IP_HEADER = ['SUBNET', 'IP', 'MAC', 'CLIENT ID', 'HOSTNAME', 'EXPIRES', 'STATE', 'SERVER'];

/** The holders as -o json|yaml items: the server's object plus where it was found. */
const macItem = (h: MacHolder) => ({ kind: 'MacPool', namespace: h.pool.metadata.namespace, pool: h.pool.metadata.name, ...h.state });
const ipItem = (h: IpHolder) => ({ kind: 'DhcpSubnet', namespace: h.subnet.metadata.namespace, ...h.lease, subnet: h.subnet.metadata.name });

async function print(ctx: Ctx, holders: MacHolder[] | IpHolder[], address: Address): Promise<void> {
  if (ctx.output !== 'table') {
    const items = address.kind === 'mac' ? (holders as MacHolder[]).map(macItem) : (holders as IpHolder[]).map(ipItem);
    ctx.out.write(await document(ctx.output, { apiVersion: 'v1', kind: 'List', items }));
    return;
  }
  ctx.out.write(address.kind === 'mac' ? table(MAC_HEADER, (holders as MacHolder[]).map(macRow)) : table(IP_HEADER, (holders as IpHolder[]).map(ipRow)));
}

export async function whoHas(ctx: Ctx): Promise<number> {
  const address = parseAddress(oneArg(ctx, 'a MAC or IPv4 address'));
  const c = await ctx.conn();
  const holders = address.kind === 'mac' ? await macHolders(c, address.mac, address.text) : await ipHolders(c, address.ip, address.text);
  await print(ctx, holders, address);
  return 0;
}

export async function release(ctx: Ctx): Promise<number> {
  const address = parseAddress(oneArg(ctx, 'a MAC or IPv4 address'));
  const c = await ctx.conn();
  if (address.kind === 'mac') {
    const holders = await macHolders(c, address.mac, address.text);
    if (holders.length > 1) throw new PluginError(`${address.text} is allocated in ${holders.length} pools (${holders.map((h) => refOf(h.pool)).join(', ')}): name one with -n`);
    const h = holders[0]!;
    const what = `${address.text} (port ${h.state.port_id}${h.state.project_id ? `, project ${h.state.project_id}` : ''}${h.state.vpc_id ? `, vpc ${h.state.vpc_id}` : ''}) in macpool ${refOf(h.pool)}`;
    if (!(await ctx.confirm(`Release ${what}?`))) return cancelled();
    const t = macTarget(h.pool);
    const a = await proxy(c, t, 'DELETE', `/macs/${address.text}`);
    if (a.status !== 200) throw answerError(t, a);
    const released = answerJson<{ mac_state: MacEntry }>(t, a).mac_state;
    if (ctx.output === 'table') ctx.out.write(`released ${what}\n`);
    else ctx.out.write(await document(ctx.output, macItem({ pool: h.pool, state: released })));
    return 0;
  }
  const holders = await ipHolders(c, address.ip, address.text);
  const subnets = new Set(holders.map((h) => refOf(h.subnet)));
  if (subnets.size > 1) throw new PluginError(`${address.text} is leased in ${subnets.size} subnets (${[...subnets].join(', ')}): name one with -n`);
  const h = holders[0]!;
  const clients = holders.map((x) => `client ${x.lease.client}${x.lease.hostname ? ` (${x.lease.hostname})` : ''}${holders.length > 1 ? ` on ${x.lease.server}` : ''}`).join(', ');
  const what = `${address.text} leased to ${clients} in dhcpsubnet ${refOf(h.subnet)}`;
  if (!(await ctx.confirm(`Release ${what}?`))) return cancelled();
  const t = dhcpTarget(h.subnet);
  const a = await proxy(c, t, 'DELETE', `/v1/leases/${address.text}`);
  const released = answerJson<{ items: LeaseItem[] }>(t, a).items;
  if (ctx.output === 'table') ctx.out.write(`released ${what}\n`);
  else ctx.out.write(await document(ctx.output, { apiVersion: 'v1', kind: 'List', items: released.map((lease) => ipItem({ subnet: h.subnet, lease })) }));
  return 0;
}

function cancelled(): number {
  process.stderr.write('cancelled: nothing was released\n');
  return 1;
}
