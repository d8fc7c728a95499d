// dhcpd's lease API: the routes. Every request is answered for the whole
// subnet, whichever replica the Service sends it to: the replica asks its
// peers (the same route with ?local=true) and merges. With ?local=true it
// answers for itself only.
//
//   GET    /v1/server                  who answers: name, share, subnets
//   GET    /v1/leases?limit&continue   a page in address order, and a continue token
//   GET    /v1/leases/{ip}             who holds the address
//   DELETE /v1/leases/{ip}             release it
//   GET    /v1/export                  every bound lease: JSON lines, header first
//   POST   /v1/import?mode=import|restore[&checkOnly=true]
//                                      JSON lines (src/api/backup.ts): all applied, or none

import { Readable } from 'node:stream';
import { checkImport, streamLines, type LeaseItem } from '../../api/backup.ts';
import { formatIPv4, parseIPv4 } from '../../api/ipv4.ts';
import { readErrorBody } from '../../api/http-error.ts';
import { ApiFailure, type ApiAnswer, type ApiRequest } from '../../process/json-api.ts';
import type { Logger } from '../../process/log.ts';
import { callPeer, streamPeer, type Peer, type PeerSource } from './peers.ts';
import type { Cursor, ImportCheck, Replica, ServerIdentity } from './replica.ts';
import type { Subnet } from '../subnet.ts';

export interface LeaseRoutesOptions {
  replica: Replica;
  identity: () => ServerIdentity;
  /** The other replicas; undefined: this one serves alone. */
  peers?: PeerSource;
  log: Logger;
}

export const DEFAULT_PAGE = 500;
export const MAX_PAGE = 5000;
/** Conflicts listed in a refusal; the rest are counted. */
const MAX_DETAILS = 100;

/** The opaque continue token of a listing. */
export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([formatIPv4(c.ip), c.server])).toString('base64url');
}

export function decodeCursor(token: string): Cursor {
  try {
    const [ip, server] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as [unknown, unknown];
    const n = typeof ip === 'string' ? parseIPv4(ip) : undefined;
    if (n === undefined || typeof server !== 'string') throw new Error('bad');
    return { ip: n, server };
  } catch {
    throw new ApiFailure(400, 'invalid_request', `continue token "${token}" is not one this API gave out`);
  }
}

const json = (status: number, body: unknown): ApiAnswer => ({ status, json: body });

function limitOf(q: URLSearchParams): number {
  const text = q.get('limit');
  if (text === null) return DEFAULT_PAGE;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PAGE) throw new ApiFailure(400, 'invalid_request', `limit must be a whole number in 1..${MAX_PAGE}, got "${text}"`);
  return n;
}

function ipOf(text: string): number {
  const ip = parseIPv4(text);
  if (ip === undefined) throw new ApiFailure(400, 'malformed_ip', `"${text}" is not an IPv4 address like 10.0.0.7`);
  return ip;
}

/** A peer's refusal or failure as one line. */
function peerError(peer: Peer, status: number, body: string): string {
  const e = readErrorBody(body);
  return `${peer.name}: ${e ? e.message : `HTTP ${status}`}`;
}

interface Gathered<T> {
  results: Array<{ server: string; value: T }>;
  /** Replicas that did not answer, one line each. */
  failures: string[];
}

/** The address a detail line starts with, as a number (for address order); -1 for none (lines about the whole subnet come first). */
const leadingIp = (line: string): number => parseIPv4(/^[0-9.]+/.exec(line)?.[0] ?? '') ?? -1;

function listDetails(all: string[]): string[] {
  const unique = [...new Set(all)].sort((a, b) => leadingIp(a) - leadingIp(b) || (a < b ? -1 : a > b ? 1 : 0));
  return unique.length <= MAX_DETAILS ? unique : [...unique.slice(0, MAX_DETAILS), `... and ${unique.length - MAX_DETAILS} more`];
}

export function leaseRoutes(o: LeaseRoutesOptions): (req: ApiRequest) => Promise<ApiAnswer> {
  const { replica } = o;

  const subnetFor = (q: URLSearchParams): Subnet => {
    const name = q.get('subnet') ?? undefined;
    const s = replica.subnetNamed(name);
    if (!s) throw new ApiFailure(404, 'unknown_subnet', name === undefined ? 'this server serves several subnets: name one with ?subnet=' : `this server serves no subnet "${name}"`);
    return s;
  };

  /** Asks this replica (directly) and every peer (over HTTP). */
  const gather = async <T>(targets: Peer[] | undefined, local: () => Promise<T>, remote: (p: Peer) => Promise<T>): Promise<Gathered<T>> => {
    const peers = targets ?? (o.peers ? await o.peers() : []);
    const out: Gathered<T> = { results: [], failures: [] };
    const self = o.identity().name;
    await Promise.all([
      local().then((value) => out.results.push({ server: self, value })),
      ...peers.map((p) =>
        remote(p).then(
          (value) => out.results.push({ server: p.name, value }),
          (err: unknown) => out.failures.push(err instanceof ApiFailure ? err.message : `${p.name} did not answer: ${err instanceof Error ? err.message : String(err)}`),
        ),
      ),
    ]);
    return out;
  };

  /** A peer's JSON answer; a refusal rejects with its message. */
  const peerJson = async <T>(p: Peer, method: string, path: string, body?: string): Promise<T> => {
    const a = await callPeer(p, method, path, body);
    if (a.status === 404 && method !== 'POST') return undefined as T;
    if (a.status < 200 || a.status >= 300) throw new ApiFailure(502, 'peer_failed', peerError(p, a.status, a.body));
    return JSON.parse(a.body) as T;
  };

  // ---- GET /v1/leases ----
  const list = async (q: URLSearchParams, local: boolean): Promise<ApiAnswer> => {
    const limit = limitOf(q);
    const token = q.get('continue');
    const after = token ? decodeCursor(token) : undefined;
    const subnet = q.get('subnet') ?? undefined;
    if (local) {
      const page = replica.page(after, limit, subnet);
      return json(200, { items: page.items, more: page.more });
    }
    const query = new URLSearchParams({ local: 'true', limit: String(limit), ...(token ? { continue: token } : {}), ...(subnet ? { subnet } : {}) });
    type Page = { items: LeaseItem[]; more: boolean };
    const got = await gather<Page>(
      undefined,
      async () => replica.page(after, limit, subnet),
      (p) => peerJson<Page>(p, 'GET', `/v1/leases?${query}`),
    );
    const merged = got.results.flatMap((r) => r.value.items);
    merged.sort((a, b) => (parseIPv4(a.ip) as number) - (parseIPv4(b.ip) as number) || (a.server < b.server ? -1 : a.server > b.server ? 1 : 0));
    const more = merged.length > limit || got.results.some((r) => r.value.more);
    const items = merged.slice(0, limit);
    const last = items.at(-1);
    return json(200, {
      items,
      ...(more && last ? { continue: encodeCursor({ ip: parseIPv4(last.ip) as number, server: last.server }) } : {}),
      ...(got.failures.length > 0 ? { warnings: got.failures } : {}),
    });
  };

  // ---- GET / DELETE /v1/leases/{ip} ----
  const one = async (method: 'GET' | 'DELETE', ipText: string, local: boolean): Promise<ApiAnswer> => {
    const ip = ipOf(ipText);
    if (!replica.subnetOf(ip)) throw new ApiFailure(404, 'outside_subnets', `${ipText} is in no subnet this server serves`);
    const mine = (): Promise<LeaseItem | undefined> => (method === 'GET' ? Promise.resolve(replica.get(ip)) : replica.release(ip));
    if (local) {
      const item = await mine();
      if (!item) throw new ApiFailure(404, 'not_leased', `${ipText} is not leased`);
      return json(200, { items: [item] });
    }
    const got = await gather<LeaseItem[]>(
      undefined,
      async () => {
        const item = await mine();
        return item ? [item] : [];
      },
      async (p) => (await peerJson<{ items: LeaseItem[] } | undefined>(p, method, `/v1/leases/${ipText}?local=true`))?.items ?? [],
    );
    const items = got.results.flatMap((r) => r.value).sort((a, b) => a.server.localeCompare(b.server));
    if (items.length === 0) {
      if (got.failures.length > 0) throw new ApiFailure(503, 'replica_unavailable', `${ipText} is not leased on the servers that answered; ${got.failures.length} did not`, got.failures);
      throw new ApiFailure(404, 'not_leased', `${ipText} is not leased`);
    }
    return json(200, { items, ...(got.failures.length > 0 ? { warnings: got.failures } : {}) });
  };

  /** Who takes part in an export or import: one named server, or all; several servers that each serve every address (node-local) need a name. */
  const targets = async (q: URLSearchParams): Promise<Peer[] | 'self'> => {
    const peers = o.peers ? await o.peers() : [];
    const named = q.get('server');
    const self = o.identity();
    if (named !== null) {
      if (named === self.name) return 'self';
      const p = peers.find((x) => x.name === named);
      if (!p) throw new ApiFailure(404, 'unknown_server', `no server "${named}" serves this subnet (servers: ${[self.name, ...peers.map((x) => x.name)].sort().join(', ')})`);
      return [p];
    }
    if (self.shares === 1 && peers.length > 0) {
      throw new ApiFailure(400, 'server_required', `${peers.length + 1} servers each serve every address of this subnet (node-local): name one with ?server= (${[self.name, ...peers.map((x) => x.name)].sort().join(', ')})`);
    }
    return peers;
  };

  // ---- GET /v1/export ----
  const exportAll = async (q: URLSearchParams, local: boolean): Promise<ApiAnswer> => {
    const subnet = subnetFor(q);
    const who = local ? 'self' : await targets(q);
    const mine = who === 'self' || q.get('server') === null ? replica.snapshot(subnet) : undefined;
    const peers = who === 'self' ? [] : who;
    const query = new URLSearchParams({ local: 'true', subnet: subnet.name });
    // Each replica's part is a consistent snapshot; open them all before the header, which carries the total.
    const parts = await Promise.all(
      peers.map(async (p) => {
        const res = await streamPeer(p, `/v1/export?${query}`).catch((err: unknown) => {
          throw new ApiFailure(503, 'replica_unavailable', `${p.name} did not answer: ${err instanceof Error ? err.message : String(err)}`);
        });
        if (res.statusCode !== 200) {
          let text = '';
          for await (const c of res as AsyncIterable<Buffer>) text += c.toString();
          throw new ApiFailure(502, 'peer_failed', peerError(p, res.statusCode ?? 0, text));
        }
        const lines = streamLines(res);
        const first = await lines.next();
        if (first.done) throw new ApiFailure(502, 'peer_failed', `${p.name}: empty export`);
        const header = JSON.parse(first.value) as { count: number };
        return { count: header.count, lines };
      }),
    );
    const header = mine?.header ?? { ...replica.snapshot(subnet).header, count: 0 };
    header.count = (mine?.entries.length ?? 0) + parts.reduce((n, p) => n + p.count, 0);
    async function* own(): AsyncGenerator<string> {
      for (const e of mine?.entries ?? []) yield JSON.stringify(e);
    }
    // Each part is in address order: merging them keeps the whole file so (the same state gives the same file).
    const sources = [own(), ...parts.map((p) => p.lines)];
    async function* body(): AsyncGenerator<string> {
      yield JSON.stringify(header) + '\n';
      const heads = await Promise.all(sources.map(async (src) => ({ src, line: (await src.next()).value as string | undefined })));
      let chunk = '';
      for (;;) {
        let best: (typeof heads)[number] | undefined;
        let bestIp = Infinity;
        for (const h of heads) {
          if (h.line === undefined) continue;
          const ip = parseIPv4((JSON.parse(h.line) as { ip: string }).ip) ?? Infinity;
          if (ip < bestIp) [best, bestIp] = [h, ip];
        }
        if (!best) break;
        chunk += best.line + '\n';
        best.line = (await best.src.next()).value as string | undefined;
        if (chunk.length > 64 * 1024) {
          yield chunk;
          chunk = '';
        }
      }
      if (chunk) yield chunk;
    }
    return { status: 200, stream: Readable.from(body()), contentType: 'application/x-ndjson' };
  };

  // ---- POST /v1/import ----
  const importAll = async (q: URLSearchParams, bodyText: string, local: boolean): Promise<ApiAnswer> => {
    const checked = checkImport(q.get('mode'), bodyText, 'DhcpSubnetBackup', 'a DHCP server');
    if (!checked.ok) throw new ApiFailure(400, checked.reason, checked.error);
    const { mode, entries } = checked.value;
    const restore = mode === 'restore';
    const subnet = subnetFor(q);
    if (local) {
      const phase = q.get('phase') ?? 'check';
      const identity = o.identity();
      if (phase === 'check') return json(200, { server: identity, ...replica.check(subnet, entries, restore) });
      if (phase === 'apply') {
        const done = await replica.apply(subnet, entries, restore);
        if (done.conflicts.length > 0) throw new ApiFailure(409, 'conflict', `${done.conflicts.length} conflicts on ${identity.name}`, listDetails(done.conflicts));
        return json(200, { server: identity, ...done });
      }
      if (phase === 'undo') return json(200, { server: identity, released: await replica.undo(subnet, entries) });
      throw new ApiFailure(400, 'invalid_request', `phase must be check, apply or undo, got "${phase}"`);
    }
    const who = await targets(q);
    const peers = who === 'self' ? [] : who;
    const withSelf = who === 'self' || q.get('server') === null;
    const path = (phase: string): string => `/v1/import?${new URLSearchParams({ local: 'true', phase, mode, subnet: subnet.name })}`;
    type Checked = ImportCheck & { server: ServerIdentity };

    // 1. Every replica checks the entries of its share; nothing changes yet.
    const checks = await gather<Checked | undefined>(
      peers,
      async () => (withSelf ? { server: o.identity(), ...replica.check(subnet, entries, restore) } : undefined),
      (p) => peerJson<Checked>(p, 'POST', path('check'), bodyText),
    );
    if (checks.failures.length > 0) throw new ApiFailure(503, 'replica_unavailable', `${checks.failures.length} server(s) did not answer: nothing was imported`, checks.failures);
    const answered = checks.results.flatMap((r) => (r.value ? [r.value] : []));
    const conflicts = answered.flatMap((c) => c.conflicts);
    const shares = o.identity().shares;
    if (shares > 1 && q.get('server') === null) {
      // Relay replicas split the addresses by share: every share must have answered.
      const present = new Set(answered.map((c) => c.server.share));
      for (const e of entries) {
        const share = (parseIPv4(e.ip) as number) % shares;
        if (!present.has(share)) conflicts.push(`${e.ip}: no server of share ${share} is running`);
      }
    }
    if (conflicts.length > 0) {
      throw new ApiFailure(409, 'conflict', `${new Set(conflicts).size} conflict(s): nothing was ${restore ? 'restored' : 'imported'}`, listDetails(conflicts));
    }
    const expired = answered.reduce((n, c) => n + c.expired, 0);
    const owned = answered.reduce((n, c) => n + c.owned, 0);
    // (Not "dryRun": the API server's proxy refuses that parameter.)
    if (q.get('checkOnly') === 'true') return json(200, { checkOnly: true, imported: owned - expired, expired });

    // 2. Apply everywhere; if one replica fails, take back what the others applied.
    type Applied = ImportCheck & { imported: number; server: ServerIdentity };
    const applied = await gather<Applied | undefined>(
      peers,
      async () => (withSelf ? { server: o.identity(), ...(await replica.apply(subnet, entries, restore)) } : undefined),
      (p) => peerJson<Applied>(p, 'POST', path('apply'), bodyText),
    );
    const late = applied.results.flatMap((r) => r.value?.conflicts ?? []);
    if (applied.failures.length > 0 || late.length > 0) {
      const undo = await gather<unknown>(
        peers,
        async () => (withSelf ? replica.undo(subnet, entries) : undefined),
        (p) => peerJson<unknown>(p, 'POST', path('undo'), bodyText),
      );
      for (const f of undo.failures) o.log.error({ failure: f }, 'taking back a partly applied import failed');
      throw new ApiFailure(409, 'conflict', `the import changed while it was applied: nothing was ${restore ? 'restored' : 'imported'}`, listDetails([...applied.failures, ...late]));
    }
    const imported = applied.results.reduce((n, r) => n + (r.value?.imported ?? 0), 0);
    o.log.info({ mode, subnet: subnet.name, imported, expired }, 'leases imported');
    return json(200, { imported, expired });
  };

  return async (req) => {
    const parts = req.path.split('/').filter((p) => p !== '');
    const local = req.query.get('local') === 'true';
    if (parts[0] !== 'v1') throw new ApiFailure(404, 'not_found', `no such path ${req.path}`);
    const route = parts.slice(1);
    const method = req.method;
    const refuse = (): never => {
      throw new ApiFailure(405, 'method_not_allowed', `${method} is not allowed on ${req.path}`);
    };
    if (route.length === 1 && route[0] === 'server') {
      if (method !== 'GET') refuse();
      const s = o.identity();
      return json(200, {
        ...s,
        subnets: replica.subnets().map(summary),
        peers: o.peers ? (await o.peers()).map((p) => p.name) : [],
      });
    }
    if (route[0] === 'leases' && route.length === 1) return method === 'GET' ? list(req.query, local) : refuse();
    if (route[0] === 'leases' && route.length === 2) return method === 'GET' || method === 'DELETE' ? one(method, route[1] as string, local) : refuse();
    if (route[0] === 'export' && route.length === 1) return method === 'GET' ? exportAll(req.query, local) : refuse();
    if (route[0] === 'import' && route.length === 1) return method === 'POST' ? importAll(req.query, req.body.toString('utf8'), local) : refuse();
    throw new ApiFailure(404, 'not_found', `no such path ${req.path}`);
  };
}

function summary(s: Subnet): { name: string; cidr: string; pools: { start: string; end: string }[] } {
  return { name: s.name, cidr: `${formatIPv4(s.cidr.first)}/${s.cidr.prefixLength}`, pools: s.pools.map((p) => ({ start: formatIPv4(p.start), end: formatIPv4(p.end) })) };
}

