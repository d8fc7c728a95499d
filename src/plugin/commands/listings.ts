// kubectl alcor macs POOL and leases SUBNET: a pool's MACs or a subnet's
// leases, in address order, a page at a time (--chunk-size), printed as they
// arrive: a pool of millions is never held whole. --limit stops early and
// prints the --continue token that resumes there.

import type { LeaseItem, MacEntry } from '../../api/backup.ts';
import { answerJson, PluginError, proxy, type Connection, type Target } from '../cluster.ts';
import { int, oneArg, str, type Ctx } from '../context.ts';
import { ListPrinter, relative } from '../output.ts';
import { dhcpTarget, macTarget, needsMacd, refOf, resolve } from '../resources.ts';

interface Page<T> {
  items: T[];
  continue?: string;
  warnings?: string[];
}

/**
 * Prints every page from `query` on (up to --limit items); returns the exit
 * code (1 when a replica did not answer) and the token of what is left.
 */
async function pages<T>(ctx: Ctx, c: Connection, t: Target, path: string, query: URLSearchParams, printer: ListPrinter<T>): Promise<{ code: number; next?: string }> {
  const limit = int(ctx, 'limit', 0, 1, Number.MAX_SAFE_INTEGER);
  const chunk = int(ctx, 'chunk-size', 500, 1, 5000);
  let token = str(ctx, 'continue');
  let warned = false;
  for (;;) {
    const left = limit > 0 ? limit - printer.printed : chunk;
    const q = new URLSearchParams(query);
    q.set('limit', String(Math.min(chunk, left)));
    if (token) q.set('continue', token);
    const page = answerJson<Page<T>>(t, await proxy(c, t, 'GET', `${path}?${q}`));
    for (const w of page.warnings ?? []) {
      process.stderr.write(`Warning: ${w}\n`);
      warned = true;
    }
    await printer.page(page.items);
    token = page.continue;
    if (!token) break;
    if (limit > 0 && printer.printed >= limit) return { code: warned ? 1 : 0, next: token };
  }
  return { code: warned ? 1 : 0 };
}

/** Ends the list, and says how to go on when --limit stopped it. */
function finish<T>(printer: ListPrinter<T>, none: string, got: { code: number; next?: string }, resume: string): number {
  printer.end(none);
  if (got.next) process.stderr.write(`more: ${resume} --continue ${got.next}\n`);
  return got.code;
}

export async function macs(ctx: Ctx): Promise<number> {
  const ref = oneArg(ctx, 'a MacPool');
  const c = await ctx.conn();
  const named = await resolve(c, ref, 'MacPool');
  if (named.kind !== 'MacPool') throw new PluginError('unreachable');
  const pool = named.pool;
  needsMacd(pool, 'listing');
  const query = new URLSearchParams();
  for (const [flag, param] of [['project', 'project_id'], ['vpc', 'vpc_id'], ['port', 'port_id']] as const) {
    const v = str(ctx, flag);
    if (v !== undefined) query.set(param, v);
  }
  const printer = new ListPrinter<MacEntry>({
    format: ctx.output,
    out: ctx.out,
    header: ['MAC', 'PORT', 'PROJECT', 'VPC', 'STATE'],
    row: (m) => [m.mac_address, m.port_id, m.project_id ?? '', m.vpc_id ?? '', m.state],
  });
  const got = await pages(ctx, c, macTarget(pool), '/v1/macs', query, printer);
  const resume = `kubectl alcor macs ${ref} -n ${c.namespace}${[...query].map(([k, v]) => ` --${k.replace('_id', '')} ${v}`).join('')}`;
  return finish(printer, `No MACs allocated in macpool ${refOf(pool)}${query.size > 0 ? ' that match' : ''}.`, got, resume);
}

export async function leases(ctx: Ctx): Promise<number> {
  const ref = oneArg(ctx, 'a DhcpSubnet');
  const c = await ctx.conn();
  const named = await resolve(c, ref, 'DhcpSubnet');
  if (named.kind !== 'DhcpSubnet') throw new PluginError('unreachable');
  const subnet = named.subnet;
  const printer = new ListPrinter<LeaseItem>({
    format: ctx.output,
    out: ctx.out,
    header: ['IP', 'MAC', 'CLIENT ID', 'HOSTNAME', 'EXPIRES', 'STATE', 'SERVER'],
    row: (l) => [l.ip, l.mac, l.client, l.hostname ?? '', relative(l.expires), l.state, l.server],
  });
  const got = await pages(ctx, c, dhcpTarget(subnet), '/v1/leases', new URLSearchParams({ subnet: subnet.metadata.name }), printer);
  return finish(printer, `No leases in dhcpsubnet ${refOf(subnet)}.`, got, `kubectl alcor leases ${ref} -n ${c.namespace}`);
}
