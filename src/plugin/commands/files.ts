// kubectl alcor backup, restore, import-kea and export: a pool's or subnet's
// state as a file and back. The servers take a consistent snapshot (export)
// and apply a file all-or-nothing (import); this side streams the snapshot
// to the file, checks a file before sending it, and converts Kea's CSV.

import { createWriteStream } from 'node:fs';
import { readFile, rename, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { backupLines, checkHeader, parseBackup, parseLine, streamLines, type Backup, type BackupHeader, type LeaseEntry } from '../../api/backup.ts';
import { parseCidr } from '../../api/cidr.ts';
import { parseDurationSeconds } from '../../api/duration.ts';
import type { DhcpSubnet } from '../../api/index.ts';
import { answerJson, PluginError, proxy, proxyStream, type Connection, type Target } from '../cluster.ts';
import { int, oneArg, str, type Ctx } from '../context.ts';
import { KeaCsvError, keaEntries, keaHeader, keaLine, parseKeaLeases4 } from '../kea-csv.ts';
import { document } from '../output.ts';
import { dhcpTarget, macTarget, needsMacd, refOf, resolve, type Named } from '../resources.ts';

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** Where a resource's export and import are, and the query naming it. */
function endpoint(named: Named, what: string): { target: Target; query: URLSearchParams; ref: string; noun: string } {
  if (named.kind === 'MacPool') {
    needsMacd(named.pool, what);
    return { target: macTarget(named.pool), query: new URLSearchParams(), ref: `macpool ${refOf(named.pool)}`, noun: 'MAC' };
  }
  return { target: dhcpTarget(named.subnet), query: new URLSearchParams({ subnet: named.subnet.metadata.name }), ref: `dhcpsubnet ${refOf(named.subnet)}`, noun: 'lease' };
}


/** Opens the server's export; reads its header. */
async function openExport(c: Connection, named: Named, server?: string): Promise<{ header: BackupHeader; entries: AsyncGenerator<string>; ref: string; noun: string }> {
  const e = endpoint(named, 'export');
  if (server !== undefined) e.query.set('server', server);
  const res: IncomingMessage = await proxyStream(c, e.target, 'GET', `/v1/export${e.query.size > 0 ? `?${e.query}` : ''}`);
  const entries = streamLines(res as AsyncIterable<Buffer>);
  const first = await entries.next();
  const parsed = first.done ? undefined : parseLine(first.value);
  const header = parsed?.ok ? checkHeader(parsed.value) : undefined;
  if (!header?.ok) throw new PluginError(`${e.ref}: the server's export does not start with a backup header${header && !header.ok ? ` (${header.error})` : ''}`);
  // The server knows what it serves; the cluster knows which object that is.
  const source = named.kind === 'MacPool' ? named.pool.metadata : named.subnet.metadata;
  const identity = { namespace: source.namespace ?? 'default', name: source.name, uid: source.uid ?? '' };
  const h = header.value;
  const full: BackupHeader = h.kind === 'MacPoolBackup' ? { ...h, pool: identity } : { ...h, subnet: { ...identity, cidr: h.subnet.cidr } };
  return { header: full, entries, ref: e.ref, noun: e.noun };
}

/** Writes to FILE through a temporary file renamed at the end (a failed backup leaves no partial file), or to stdout for "-". */
async function writeOut(file: string, produce: (write: (text: string) => Promise<void>) => Promise<void>): Promise<void> {
  if (file === '-') {
    await produce((text) => new Promise((done) => (process.stdout.write(text) ? done() : process.stdout.once('drain', done))));
    return;
  }
  const tmp = `${file}.tmp-${process.pid}`;
  const out = createWriteStream(tmp, { mode: 0o600 });
  const opened = new Promise<void>((ok, fail) => {
    out.once('open', () => ok());
    out.once('error', fail);
  });
  try {
    await opened.catch((err: unknown) => {
      throw new PluginError(`cannot write ${file}: ${err instanceof Error ? err.message : String(err)}`);
    });
    await produce((text) => new Promise((done, fail) => out.write(text, (err) => (err ? fail(err) : done()))));
    await new Promise<void>((done, fail) => out.end((err?: Error | null) => (err ? fail(err) : done())));
    await rename(tmp, file);
  } catch (err) {
    out.destroy();
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function backup(ctx: Ctx): Promise<number> {
  const ref = oneArg(ctx, 'a MacPool or DhcpSubnet');
  const file = str(ctx, 'filename');
  if (file === undefined) throw new PluginError('-f FILE is required (-f - writes to stdout)');
  const c = await ctx.conn();
  const exp = await openExport(c, await resolve(c, ref), str(ctx, 'server'));
  let count = 0;
  await writeOut(file, async (write) => {
    await write(JSON.stringify(exp.header) + '\n');
    let chunk = '';
    for await (const line of exp.entries) {
      chunk += line + '\n';
      count++;
      if (chunk.length >= 256 * 1024) {
        await write(chunk);
        chunk = '';
      }
    }
    if (chunk) await write(chunk);
    if (count !== exp.header.count) throw new PluginError(`${exp.ref}: the export ended after ${count} of ${exp.header.count} entries: nothing was written`);
  });
  process.stderr.write(`backed up ${plural(count, exp.noun)} of ${exp.ref}${file === '-' ? '' : ` to ${file}`}\n`);
  return 0;
}

/** A file's text, or stdin's for "-". */
async function readInput(file: string): Promise<string> {
  try {
    if (file !== '-') return await readFile(file, 'utf8');
    let text = '';
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) text += chunk.toString('utf8');
    return text;
  } catch (err) {
    throw new PluginError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Sends a whole file to the server's import; prints what it did. */
async function sendImport(ctx: Ctx, c: Connection, named: Named, body: string, mode: 'restore' | 'import', count: number): Promise<number> {
  const e = endpoint(named, mode);
  e.query.set('mode', mode);
  const dryRun = ctx.flags['dry-run'] === true;
  if (dryRun) e.query.set('checkOnly', 'true');
  const server = str(ctx, 'server');
  if (server !== undefined) e.query.set('server', server);
  const a = await proxy(c, e.target, 'POST', `/v1/import?${e.query}`, body, 'application/x-ndjson');
  const result = answerJson<{ imported: number; expired?: number }>(e.target, a);
  if (ctx.output !== 'table') {
    ctx.out.write(await document(ctx.output, { kind: named.kind, ...result, dryRun }));
    return 0;
  }
  const verb = mode === 'restore' ? 'restored' : 'imported';
  const expired = result.expired ? ` (${plural(result.expired, `${e.noun} that had ended`, `${e.noun}s that had ended`)} left out)` : '';
  ctx.out.write(`${dryRun ? `would have ${verb}` : verb} ${plural(result.imported, e.noun)} of ${count} into ${e.ref}${expired}${dryRun ? ': nothing changed (--dry-run)' : ''}\n`);
  return 0;
}

export async function restore(ctx: Ctx): Promise<number> {
  const ref = oneArg(ctx, 'a MacPool or DhcpSubnet');
  const file = str(ctx, 'filename');
  if (file === undefined) throw new PluginError('-f FILE is required (-f - reads stdin)');
  const text = await readInput(file);
  const parsed = parseBackup(text);
  if (!parsed.ok) throw new PluginError(`${file}: ${parsed.error}`);
  const c = await ctx.conn();
  const named = await resolve(c, ref);
  const b: Backup = parsed.value;
  const want = named.kind === 'MacPool' ? 'MacPoolBackup' : 'DhcpSubnetBackup';
  if (b.header.kind !== want) throw new PluginError(`${file} is a ${b.header.kind}: it restores into a ${b.header.kind === 'MacPoolBackup' ? 'MacPool' : 'DhcpSubnet'}, not ${named.kind === 'MacPool' ? 'macpool' : 'dhcpsubnet'} ${ref}`);
  const source = b.header.kind === 'MacPoolBackup' ? b.header.pool : b.header.subnet;
  const target = named.kind === 'MacPool' ? named.pool.metadata : named.subnet.metadata;
  const code = await sendImport(ctx, c, named, text, 'restore', b.entries.length);
  if (source.uid && target.uid && source.uid !== target.uid) {
    process.stderr.write(`note: ${file} was taken of ${source.namespace}/${source.name} (uid ${source.uid}), restored into ${target.namespace ?? 'default'}/${target.name} (uid ${target.uid})\n`);
  }
  return code;
}

async function subnetOf(c: Connection, ref: string): Promise<DhcpSubnet> {
  const named = await resolve(c, ref, 'DhcpSubnet');
  if (named.kind !== 'DhcpSubnet') throw new PluginError('unreachable');
  return named.subnet;
}

export async function importKea(ctx: Ctx): Promise<number> {
  const ref = oneArg(ctx, 'a DhcpSubnet');
  const files = ctx.flags['filename'];
  const names = Array.isArray(files) ? files : typeof files === 'string' ? [files] : [];
  if (names.length === 0) throw new PluginError('-f FILE is required: Kea\'s leases4.csv (older files first: -f leases4.csv.2 -f leases4.csv)');
  const texts = await Promise.all(names.map(async (name) => ({ name, text: await readInput(name) })));
  let leases;
  try {
    leases = parseKeaLeases4(texts);
  } catch (err) {
    if (err instanceof KeaCsvError) throw new PluginError(err.message);
    throw err;
  }
  const c = await ctx.conn();
  const subnet = await subnetOf(c, ref);
  const cidr = parseCidr(subnet.spec.cidr);
  if (!cidr) throw new PluginError(`dhcpsubnet ${refOf(subnet)} has no valid cidr`);
  const keaId = ctx.flags['kea-subnet-id'] === undefined ? undefined : int(ctx, 'kea-subnet-id', 0, 1, 4_294_967_294);
  const picked = keaEntries(leases, cidr, Date.now(), keaId);
  const skipped = [picked.ended ? `${plural(picked.ended, 'lease')} that had ended` : '', picked.elsewhere ? `${plural(picked.elsewhere, 'lease')} of other subnets` : ''].filter(Boolean).join(', ');
  if (skipped) process.stderr.write(`left out: ${skipped}\n`);
  if (picked.entries.length === 0) throw new PluginError(`no live lease of ${subnet.spec.cidr} in ${names.join(', ')}`);
  const header: BackupHeader = {
    kind: 'DhcpSubnetBackup',
    version: 1,
    subnet: { namespace: subnet.metadata.namespace ?? 'default', name: subnet.metadata.name, uid: subnet.metadata.uid ?? '', cidr: subnet.spec.cidr },
    ranges: subnet.spec.pools.map((p) => ({ start: p.start, end: p.end })),
    created: new Date().toISOString(),
    count: picked.entries.length,
  };
  return sendImport(ctx, c, { kind: 'DhcpSubnet', subnet }, backupLines(header, picked.entries), 'import', picked.entries.length);
}

export async function exportLeases(ctx: Ctx): Promise<number> {
  const ref = oneArg(ctx, 'a DhcpSubnet');
  const format = str(ctx, 'format') ?? 'jsonl';
  if (format !== 'kea-csv' && format !== 'jsonl') throw new PluginError(`--format must be kea-csv or jsonl, got "${format}"`);
  const file = str(ctx, 'filename') ?? '-';
  const c = await ctx.conn();
  const subnet = await subnetOf(c, ref);
  const exp = await openExport(c, { kind: 'DhcpSubnet', subnet }, str(ctx, 'server'));
  const lifetime = Math.floor(parseDurationSeconds(subnet.spec.leaseTime) ?? 86_400);
  const keaId = int(ctx, 'kea-subnet-id', 1, 1, 4_294_967_294);
  let count = 0;
  await writeOut(file, async (write) => {
    await write(format === 'kea-csv' ? keaHeader() : JSON.stringify(exp.header) + '\n');
    let chunk = '';
    for await (const line of exp.entries) {
      count++;
      chunk += format === 'kea-csv' ? keaLine(JSON.parse(line) as LeaseEntry, lifetime, keaId) : line + '\n';
      if (chunk.length >= 256 * 1024) {
        await write(chunk);
        chunk = '';
      }
    }
    if (chunk) await write(chunk);
    if (count !== exp.header.count) throw new PluginError(`${exp.ref}: the export ended after ${count} of ${exp.header.count} entries: nothing was written`);
  });
  process.stderr.write(`exported ${plural(count, 'lease')} of ${exp.ref}${format === 'kea-csv' ? ` as Kea leases4.csv (subnet-id ${keaId})` : ''}${file === '-' ? '' : ` to ${file}`}\n`);
  return 0;
}
