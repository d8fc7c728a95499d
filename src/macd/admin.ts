// macd's admin API, beside Alcor's (under /v1, a path Alcor's MAC manager
// never had): the allocated MACs a page at a time with filters, a consistent
// export and an all-or-nothing import (restore), for kubectl-alcor. In
// replica mode any replica answers for the pool: it asks the others (the
// same route with ?local=true) and merges, and an import goes to the replica
// holding each MAC's block (a block nobody holds is claimed by this one).
//
//   GET  /v1/macs?limit&continue&project_id&vpc_id&port_id
//   GET  /v1/export                     JSON lines: header, then one mac_state per line
//   POST /v1/import?mode=restore|import[&checkOnly=true]

import { Readable } from 'node:stream';
import { checkImport, streamLines, type MacEntry, type MacPoolBackupHeader } from '../api/backup.ts';
import { FORMATS, PEER_FORMAT_HEADER, formatRefusal } from '../api/formats.ts';
import { readErrorBody } from '../api/http-error.ts';
import { formatMac, parseMac, parseMacPrefix } from '../api/mac.ts';
import { ApiFailure, type ApiAnswer, type ApiRequest } from '../process/json-api.ts';
import { parseMacState, type BodyLimits } from './api-json.ts';
import { MacdError } from './errors.ts';
import type { MacMeta } from './meta.ts';
import type { MacStore } from './store.ts';

export interface AdminOptions {
  /** The store; throws 503 while the state is loading. */
  store: () => MacStore;
  /** Replica mode: the other replicas' base URLs. */
  peers?: () => Promise<string[]>;
  /** Replica mode: the base URL of the replica holding `mac`'s block, or null for this one (or nobody). */
  ownerOf?: (mac: number) => Promise<string | null> | string | null;
  /** This replica's name, in answers. */
  self: string;
  /** The id rules of macd's API, which every imported mac_state must meet too. */
  limits: BodyLimits;
}

export const DEFAULT_PAGE = 500;
export const MAX_PAGE = 5000;
/** Allocated MACs a filtered page looks at before it answers what it found (and where to go on). */
const SCAN_BUDGET = 200_000;
const MAX_DETAILS = 100;
/** MACs per allocation when a restore applies (each an all-or-nothing write of the log). */
const APPLY_CHUNK = 50_000;

const entry = (mac: number, m: MacMeta): MacEntry => ({ mac_address: formatMac(mac), project_id: m.projectId, vpc_id: m.vpcId, port_id: m.portId, state: m.state === 'Inactive' ? 'Inactive' : 'Active' });

export function encodeCursor(mac: number): string {
  return Buffer.from(JSON.stringify([formatMac(mac)])).toString('base64url');
}

export function decodeCursor(token: string): number {
  try {
    const [text] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as [unknown];
    const mac = typeof text === 'string' ? parseMac(text) : undefined;
    if (mac === undefined) throw new Error('bad');
    return mac;
  } catch {
    throw new ApiFailure(400, 'invalid_request', `continue token "${token}" is not one this API gave out`);
  }
}

/** Allocated MACs after `after` (-1: from the start) in address order, read from pages of bits (a copy or the live ones). */
function* allocatedAfter(pages: readonly [number, Uint32Array][], after: number): Generator<number> {
  const PAGE = 65_536;
  for (const [index, words] of pages) {
    const base = index * PAGE;
    if (base + PAGE - 1 <= after) continue;
    const start = Math.max(0, after + 1 - base);
    for (let w = start >>> 5; w < words.length; w++) {
      let bits = words[w]!;
      if (w === start >>> 5) bits &= -1 << (start & 31);
      while (bits !== 0) {
        const low = bits & -bits;
        yield base + w * 32 + (31 - Math.clz32(low));
        bits ^= low;
      }
    }
  }
}

interface Page {
  items: MacEntry[];
  more: boolean;
  /** Where a page cut short by the scan budget resumes (it may hold fewer items than asked). */
  resume?: number;
}

/** A request to another replica, in this release's peer protocol; an answer in a newer one is refused, not misread. */
async function peerFetch(base: string, path: string, init: RequestInit = {}): Promise<Response> {
  const res = await fetch(base + path, { ...init, headers: { ...(init.headers as Record<string, string> | undefined), [PEER_FORMAT_HEADER]: String(FORMATS.macdPeer.writes) } });
  const refusal = formatRefusal('macdPeer', res.headers.get(PEER_FORMAT_HEADER) ?? undefined);
  if (refusal) {
    await res.body?.cancel();
    throw new ApiFailure(502, 'peer_failed', `${base}: ${refusal}`);
  }
  return res;
}

/** Peer answers. */
async function peerCall(base: string, method: string, path: string, body?: string): Promise<{ status: number; text: string }> {
  const res = await peerFetch(base, path, { method, ...(body !== undefined ? { body, headers: { 'content-type': 'application/x-ndjson' } } : {}), signal: AbortSignal.timeout(300_000) });
  return { status: res.status, text: await res.text() };
}

function peerFailure(base: string, status: number, text: string): ApiFailure {
  const e = readErrorBody(text);
  return new ApiFailure(502, 'peer_failed', `${base}: ${e ? e.message : `HTTP ${status}`}`, e?.details);
}

/** Conflicts sorted, those about the whole pool first, then by MAC; at most MAX_DETAILS. */
function listDetails(all: string[]): string[] {
  const general = (line: string): number => (parseMac(line.slice(0, 17)) === undefined ? 0 : 1);
  const unique = [...new Set(all)].sort((x, y) => general(x) - general(y) || (x < y ? -1 : x > y ? 1 : 0));
  return unique.length <= MAX_DETAILS ? unique : [...unique.slice(0, MAX_DETAILS), `... and ${unique.length - MAX_DETAILS} more`];
}

export function adminRoutes(o: AdminOptions): (req: ApiRequest) => Promise<ApiAnswer> {
  const peers = async (): Promise<string[]> => (o.peers ? o.peers() : []);

  // ---- one replica ----

  const localPage = (after: number, limit: number, filter: Partial<Record<'project_id' | 'vpc_id' | 'port_id', string>>): Page => {
    const store = o.store();
    const items: MacEntry[] = [];
    let scanned = 0;
    const filtered = Object.keys(filter).length > 0;
    for (const mac of allocatedAfter(store.allocator.space.pagesInUse(), after)) {
      if (items.length === limit) return { items, more: true };
      if (filtered && ++scanned > SCAN_BUDGET) return { items, more: true, resume: mac - 1 };
      const s = store.find(mac);
      if (!s) continue;
      const e = entry(mac, s.meta);
      if ((filter.project_id !== undefined && e.project_id !== filter.project_id) || (filter.vpc_id !== undefined && e.vpc_id !== filter.vpc_id) || (filter.port_id !== undefined && e.port_id !== filter.port_id)) continue;
      items.push(e);
    }
    return { items, more: false };
  };

  /**
   * A snapshot without stopping the allocator: the bits are copied at once
   * (the cut); a MAC released or changed afterwards has its state at the cut
   * copied just before the change (store.watch), so every line is the state
   * at the cut, however long the stream takes.
   */
  const localExport = (): { header: MacPoolBackupHeader; batches: AsyncGenerator<string[]> } => {
    const store = o.store();
    const pages = store.allocator.space.pagesInUse().map(([i, w]) => [i, w.slice()] as [number, Uint32Array]);
    let count = 0;
    for (const [, w] of pages) for (const x of w) count += popcount(x);
    let position = -1;
    const saved = new Map<number, MacMeta>();
    const byIndex = new Map(pages);
    const inCut = (mac: number): boolean => {
      const words = byIndex.get(Math.floor(mac / 65_536));
      const off = mac % 65_536;
      return words !== undefined && (words[off >>> 5]! & (1 << (off & 31))) !== 0;
    };
    const stop = store.watch((macs) => {
      for (const mac of macs) {
        if (mac <= position || saved.has(mac) || !inCut(mac)) continue;
        const s = store.find(mac);
        if (s) saved.set(mac, s.meta);
      }
    });
    const header: MacPoolBackupHeader = {
      kind: 'MacPoolBackup',
      version: 1,
      pool: { namespace: '', name: '', uid: '' },
      ranges: store.allocator.ranges().map((r) => ({ id: r.id, from: formatMac(r.from), to: formatMac(r.to) })),
      created: new Date().toISOString(),
      count,
    };
    /** Lines in batches: a generator step per line would cost more than the line. */
    async function* batches(): AsyncGenerator<string[]> {
      try {
        let batch: string[] = [];
        for (const mac of allocatedAfter(pages, -1)) {
          const meta = saved.get(mac) ?? store.find(mac)?.meta;
          position = mac;
          saved.delete(mac);
          // A MAC of the cut whose state was not saved is still allocated (released ones are saved first).
          batch.push(JSON.stringify(entry(mac, meta ?? { portId: '', projectId: null, vpcId: null, state: 'Active' })));
          if (batch.length === 4096) {
            yield batch;
            batch = [];
            // Let allocations run between batches: the copy-on-change above keeps the snapshot whole.
            await new Promise((r) => setImmediate(r));
          }
        }
        if (batch.length > 0) yield batch;
      } finally {
        stop();
      }
    }
    return { header, batches: batches() };
  };

  const exclusionsOf = (store: MacStore): { from: number; to: number; pattern: string }[] =>
    store.allocator.exclusions().flatMap((p) => {
      const iv = parseMacPrefix(p);
      return iv ? [{ ...iv, pattern: p }] : [];
    });

  /** Every reason an entry cannot be allocated here, and (restore) that the pool must be empty. */
  const localCheck = (entries: readonly MacEntry[], restore: boolean): { conflicts: string[]; allocated: number } => {
    const store = o.store();
    const a = store.allocator;
    const conflicts: string[] = [];
    // Not empty: that is the one thing to say (each MAC would conflict with itself).
    if (restore && a.space.allocated > 0) return { conflicts: [`the pool holds ${a.space.allocated} MAC${a.space.allocated === 1 ? '' : 's'} on replica ${o.self}: restore goes into an empty pool`], allocated: a.space.allocated };
    const excluded = exclusionsOf(store);
    for (const e of entries) {
      const mac = parseMac(e.mac_address)!;
      const rs = a.rangesAt(mac);
      if (rs.length === 0) conflicts.push(`${e.mac_address}: outside every range`);
      else if (!rs.some((r) => r.state === 'Active')) conflicts.push(`${e.mac_address}: its range ${rs[0]!.id} is ${rs[0]!.state}`);
      const ex = excluded.find((x) => mac >= x.from && mac <= x.to);
      if (ex) conflicts.push(`${e.mac_address}: excluded (${ex.pattern})`);
      const held = store.find(mac);
      if (held) conflicts.push(`${e.mac_address}: already allocated to port ${held.meta.portId}`);
    }
    return { conflicts, allocated: a.space.allocated };
  };

  /** Allocates the entries here, in all-or-nothing chunks; a failed chunk takes the earlier ones back. */
  const localApply = async (entries: readonly MacEntry[]): Promise<number> => {
    const store = o.store();
    const done: number[] = [];
    try {
      for (let i = 0; i < entries.length; i += APPLY_CHUNK) {
        const chunk = entries.slice(i, i + APPLY_CHUNK).map((e) => ({ mac: parseMac(e.mac_address)!, meta: { portId: e.port_id, projectId: e.project_id, vpcId: e.vpc_id, state: e.state } }));
        const out = await store.allocate(chunk);
        for (const s of out) done.push(s.mac);
      }
    } catch (err) {
      if (done.length > 0) await store.release(done);
      if (err instanceof MacdError) throw new ApiFailure(409, 'conflict', err.message, [err.message]);
      throw err;
    }
    return done.length;
  };

  /** Takes back what an import applied here, when another replica failed its part. */
  const localUndo = async (entries: readonly MacEntry[]): Promise<number> => {
    const store = o.store();
    const back: number[] = [];
    for (const e of entries) {
      const mac = parseMac(e.mac_address)!;
      const s = store.find(mac);
      if (s && s.meta.portId === e.port_id) back.push(mac);
    }
    if (back.length > 0) await store.release(back);
    return back.length;
  };

  // ---- the pool ----

  const list = async (q: URLSearchParams, local: boolean): Promise<ApiAnswer> => {
    const text = q.get('limit');
    const limit = text === null ? DEFAULT_PAGE : Number(text);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new ApiFailure(400, 'invalid_request', `limit must be a whole number in 1..${MAX_PAGE}, got "${text}"`);
    const token = q.get('continue');
    const after = token ? decodeCursor(token) : -1;
    const filter: Partial<Record<'project_id' | 'vpc_id' | 'port_id', string>> = {};
    for (const k of ['project_id', 'vpc_id', 'port_id'] as const) {
      const v = q.get(k);
      if (v !== null) filter[k] = v;
    }
    if (local) return { status: 200, json: localPage(after, limit, filter) };
    const others = await peers();
    const query = new URLSearchParams(q);
    query.set('local', 'true');
    const warnings: string[] = [];
    const pages: Page[] = [localPage(after, limit, filter)];
    await Promise.all(
      others.map(async (base) => {
        try {
          const a = await peerCall(base, 'GET', `/v1/macs?${query}`);
          if (a.status !== 200) throw peerFailure(base, a.status, a.text);
          pages.push(JSON.parse(a.text) as Page);
        } catch (err) {
          warnings.push(err instanceof ApiFailure ? err.message : `${base} did not answer: ${err instanceof Error ? err.message : String(err)}`);
        }
      }),
    );
    // Merge: MACs are unique across replicas. A page cut short bounds what the merge may show.
    const bound = Math.min(...pages.map((p) => (p.resume !== undefined ? p.resume : Infinity)));
    const merged = pages
      .flatMap((p) => p.items)
      .filter((e) => parseMac(e.mac_address)! <= bound)
      .sort((x, y) => parseMac(x.mac_address)! - parseMac(y.mac_address)!);
    const items = merged.slice(0, limit);
    const more = merged.length > limit || pages.some((p) => p.more);
    const last = items.at(-1);
    const next = last ? parseMac(last.mac_address)! : bound !== Infinity ? bound : undefined;
    return { status: 200, json: { items, ...(more && next !== undefined ? { continue: encodeCursor(next) } : {}), ...(warnings.length > 0 ? { warnings } : {}) } };
  };

  const exportAll = async (local: boolean): Promise<ApiAnswer> => {
    const mine = localExport();
    const parts: { count: number; lines: AsyncGenerator<string> }[] = [];
    try {
      for (const base of local ? [] : await peers()) {
        const res = await peerFetch(base, '/v1/export?local=true').catch((err: unknown) => {
          if (err instanceof ApiFailure) throw err;
          throw new ApiFailure(503, 'replica_unavailable', `${base} did not answer: ${err instanceof Error ? err.message : String(err)}`);
        });
        if (res.status !== 200 || !res.body) throw peerFailure(base, res.status, await res.text());
        const lines = streamLines(res.body as unknown as AsyncIterable<Uint8Array>);
        const first = await lines.next();
        if (first.done) throw new ApiFailure(502, 'peer_failed', `${base}: empty export`);
        parts.push({ count: (JSON.parse(first.value) as { count: number }).count, lines });
      }
    } catch (err) {
      await mine.batches.return(undefined);
      throw err;
    }
    const header = { ...mine.header, count: mine.header.count + parts.reduce((n, p) => n + p.count, 0) };
    async function* body(): AsyncGenerator<string> {
      yield JSON.stringify(header) + '\n';
      if (parts.length === 0) {
        for await (const batch of mine.batches) yield batch.join('\n') + '\n';
        return;
      }
      // Merge by MAC: every line starts {"mac_address":"xx:xx:xx:xx:xx:xx", and that text sorts as the MACs do.
      const key = (line: string): string => line.slice(16, 33);
      const heads = await Promise.all([flatten(mine.batches), ...parts.map((p) => p.lines)].map(async (src) => ({ src, line: (await src.next()).value as string | undefined })));
      let chunk = '';
      for (;;) {
        let best: (typeof heads)[number] | undefined;
        for (const h of heads) if (h.line !== undefined && (!best || key(h.line) < key(best.line!))) best = h;
        if (!best) break;
        chunk += best.line + '\n';
        best.line = (await best.src.next()).value as string | undefined;
        if (chunk.length >= 64 * 1024) {
          yield chunk;
          chunk = '';
        }
      }
      if (chunk) yield chunk;
    }
    // One chunk read ahead at most: the export goes at the pace of its reader.
    return { status: 200, stream: Readable.from(body(), { objectMode: true, highWaterMark: 1 }), contentType: 'application/x-ndjson' };
  };

  const importAll = async (q: URLSearchParams, text: string, local: boolean): Promise<ApiAnswer> => {
    const checked = checkImport(q.get('mode'), text, 'MacPoolBackup', 'a MAC pool');
    if (!checked.ok) throw new ApiFailure(400, checked.reason, checked.error);
    const { mode, entries } = checked.value;
    const restore = mode === 'restore';
    const { header } = checked.value;
    // The same rules as an allocation's mac_state (ids: length and characters), as macd may hold it.
    entries.forEach((e, i) => {
      try {
        parseMacState(e, `line ${i + 2}`, o.limits, { stored: true });
      } catch (err) {
        if (err instanceof MacdError) throw new ApiFailure(400, 'malformed_file', err.message);
        throw err;
      }
    });
    if (local) {
      const phase = q.get('phase') ?? 'check';
      if (phase === 'check') return { status: 200, json: { replica: o.self, ...localCheck(entries, restore) } };
      if (phase === 'apply') return { status: 200, json: { replica: o.self, imported: await localApply(entries) } };
      if (phase === 'undo') return { status: 200, json: { replica: o.self, released: await localUndo(entries) } };
      throw new ApiFailure(400, 'invalid_request', `phase must be check, apply or undo, got "${phase}"`);
    }
    // Each MAC goes to the replica holding its block (asked once per block); unheld blocks here.
    const byOwner = new Map<string | null, MacEntry[]>();
    const ownerOfBlock = new Map<number, Promise<string | null> | string | null>();
    const bs = o.store().allocator.blockSize;
    for (const e of entries) {
      const mac = parseMac(e.mac_address)!;
      const block = Math.floor(mac / bs);
      if (!ownerOfBlock.has(block)) ownerOfBlock.set(block, o.ownerOf ? o.ownerOf(mac) : null);
      const owner = await ownerOfBlock.get(block)!;
      const list = byOwner.get(owner) ?? [];
      list.push(e);
      byOwner.set(owner, list);
    }
    const others = await peers();
    // Restore checks every replica for emptiness, owner of entries or not.
    const targets = [...new Set([...others, ...[...byOwner.keys()].filter((k): k is string => k !== null)])];
    const lines = (list: MacEntry[]): string => [JSON.stringify({ ...header, count: list.length }), ...list.map((e) => JSON.stringify(e))].join('\n') + '\n';
    const path = (phase: string): string => `/v1/import?${new URLSearchParams({ local: 'true', phase, mode })}`;
    const call = async (base: string, phase: string): Promise<Record<string, unknown>> => {
      const a = await peerCall(base, 'POST', path(phase), lines(byOwner.get(base) ?? []));
      if (a.status !== 200) throw peerFailure(base, a.status, a.text);
      return JSON.parse(a.text) as Record<string, unknown>;
    };

    const conflicts: string[] = [...localCheck(byOwner.get(null) ?? [], restore).conflicts];
    const failures: string[] = [];
    await Promise.all(
      targets.map((base) =>
        call(base, 'check').then(
          (r) => conflicts.push(...(r['conflicts'] as string[])),
          (err: unknown) => failures.push(err instanceof Error ? err.message : String(err)),
        ),
      ),
    );
    if (failures.length > 0) throw new ApiFailure(503, 'replica_unavailable', `${failures.length} replica(s) did not answer: nothing was ${restore ? 'restored' : 'imported'}`, failures);
    if (conflicts.length > 0) throw new ApiFailure(409, 'conflict', `${new Set(conflicts).size} conflict(s): nothing was ${restore ? 'restored' : 'imported'}`, listDetails(conflicts));
    // (Not "dryRun": the API server's proxy refuses that parameter.)
    if (q.get('checkOnly') === 'true') return { status: 200, json: { checkOnly: true, imported: entries.length } };

    const applied: string[] = [];
    let imported = 0;
    try {
      imported += await localApply(byOwner.get(null) ?? []);
      for (const base of [...byOwner.keys()].filter((k): k is string => k !== null)) {
        imported += (await call(base, 'apply'))['imported'] as number;
        applied.push(base);
      }
    } catch (err) {
      await localUndo(byOwner.get(null) ?? []).catch(() => undefined);
      for (const base of applied) await call(base, 'undo').catch(() => undefined);
      if (err instanceof ApiFailure) throw new ApiFailure(err.status, err.reason, `${err.message}: nothing was ${restore ? 'restored' : 'imported'}`, err.details);
      throw err;
    }
    return { status: 200, json: { imported } };
  };

  return async (req) => {
    const parts = req.path.split('/').filter((p) => p !== '');
    const local = req.query.get('local') === 'true';
    const route = parts.slice(1).join('/');
    const refuse = (): never => {
      throw new ApiFailure(405, 'method_not_allowed', `${req.method} is not allowed on ${req.path}`);
    };
    if (route === 'macs') return req.method === 'GET' ? list(req.query, local) : refuse();
    if (route === 'export') return req.method === 'GET' ? exportAll(local) : refuse();
    if (route === 'import') return req.method === 'POST' ? importAll(req.query, req.body.toString('utf8'), local) : refuse();
    throw new ApiFailure(404, 'not_found', `no such path ${req.path}`);
  };
}

function popcount(x: number): number {
  x = x - ((x >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

async function* flatten(batches: AsyncGenerator<string[]>): AsyncGenerator<string> {
  for await (const batch of batches) yield* batch;
}

