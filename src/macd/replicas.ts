// Several macd replicas serving one pool without a consensus protocol of our
// own: each replica claims blocks of the MAC address space as
// coordination.k8s.io Leases (create is atomic in the API server: 409
// AlreadyExists means another replica won, so we pick another block), the way
// Calico's IPAM claims address blocks. Blocks are aligned spans of the
// address space, not of a range, so where ranges overlap one block has one
// holder. A replica allocates only inside its blocks, so no MAC can be handed
// out twice. Blocks never expire: their allocations live on the holder's
// disk, and a replica restarting under the same name takes its blocks back.
// Requests for a MAC in another replica's block are forwarded to the endpoint
// on that block's Lease; range counts add the other replicas' (asked over
// HTTP, or read from their Leases when they do not answer). A Lease of the
// pool this release cannot read (a newer format: src/api/formats.ts) may
// cover any block, so while one exists no block is claimed: the replica
// serves the blocks it holds and its report says what blocks it.

import type { Logger } from 'pino';
import type { MacdConfig } from '../api/config/macd.ts';
import type { KubeClient } from '../runtime/client.ts';
import { MacdError } from './errors.ts';
import { FORMATS, PEER_FORMAT_HEADER, formatRefusal } from '../api/formats.ts';
import { ENDPOINT_ANNOTATION, reportText, type MacdReport } from '../api/leases.ts';
import type { OthersCounts } from './routes.ts';
import { BLOCK_FORMAT, blockLeaseName, countAnnotations, kubernetesLeaseApi, type BlockLease, type LeaseApi, type UnreadableLease } from './leases.ts';
import { formatMac } from '../api/mac.ts';
import { firstEndingAtOrAfter, mergeIntervals, type Interval } from './range.ts';
import type { Coordination } from './server.ts';
import type { MacStore } from './store.ts';

export interface CoordinatorOptions {
  store: MacStore;
  api: LeaseApi;
  pool: string;
  replica: string;
  endpoint: string;
  log: Logger;
  /** What this replica serves, published on its report Lease (alcor.dev/served) when it changes. */
  report?: () => MacdReport;
  /** How often `alcor.dev/allocated` and the report are published (when changed) and the Lease cache refreshed. */
  publishMs?: number;
}

export class BlockCoordinator {
  private readonly o: CoordinatorOptions;
  /** Lease cache by name (refreshed by list), and the same sorted by first MAC (blocks never overlap). */
  private leases = new Map<string, BlockLease>();
  private sorted: BlockLease[] = [];
  /** Leases of the pool this release cannot read (refreshed by list): no block is claimed while there is one. */
  private unreadable: UnreadableLease[] = [];
  /** What was last published per held Lease (allocated and counts by range). */
  private readonly published = new Map<string, string>();
  private claiming: Promise<boolean> | null = null;
  private refreshing: Promise<void> | null = null;
  private lastRefresh = 0;
  private timer: NodeJS.Timeout | null = null;
  private publishing: Promise<void> | null = null;
  /** A publish was asked for while one ran: run again when it ends. */
  private publishAgain = false;
  private publishedReport = '';

  constructor(o: CoordinatorOptions) {
    this.o = o;
  }

  private get store(): MacStore {
    return this.o.store;
  }

  private get blockSize(): number {
    return this.store.allocator.blockSize;
  }

  /** Takes back this replica's blocks (from its Leases and its disk) and starts publishing counts. */
  async start(): Promise<void> {
    await this.refresh(true);
    const keep: Interval[] = [];
    for (const l of this.sorted) {
      if (l.holder !== this.o.replica) continue;
      if (l.endpoint !== this.o.endpoint) await this.o.api.annotate(l.name, { [ENDPOINT_ANNOTATION]: this.o.endpoint });
      keep.push({ from: l.from, to: l.to });
    }
    // Blocks on our disk whose Lease is gone (deleted by hand): claim them again.
    const bs = this.blockSize;
    for (const h of this.store.held) {
      for (let g = Math.floor(h.from / bs); g <= Math.floor(h.to / bs); g++) {
        const from = Math.max(h.from, g * bs);
        const to = Math.min(h.to, g * bs + bs - 1);
        if (covered(keep, from, to)) continue;
        const other = this.leaseIn(from, to);
        const created = other ? 'exists' : await this.create(g);
        if (created === 'blocked') {
          this.o.log.error({ block: formatMac(from), blocked: this.blocked() }, 'a block on this replica’s disk has no Lease, and no block is claimed while a Lease of the pool cannot be read; not allocating from it');
          continue;
        }
        if (created !== 'created') {
          this.o.log.error({ block: formatMac(from), holder: other?.holder }, 'a block on this replica’s disk is now held by another replica; not allocating from it');
          continue;
        }
        keep.push({ from: g * bs, to: g * bs + bs - 1 });
      }
    }
    await this.store.setHeld(keep);
    this.store.onExhausted = (ids, needed, preferredOnly) => this.onExhausted(ids, needed, preferredOnly);
    this.store.beforeSpecific = (macs) => this.ensureOwned(macs);
    const every = this.o.publishMs ?? 2000;
    this.timer = setInterval(() => void this.publish(), every);
    this.timer.unref();
    await this.publish();
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.store.onExhausted = null;
    this.store.beforeSpecific = null;
    if (this.publishing) await this.publishing;
    await this.publish();
  }

  /** The endpoint of the replica holding `mac`'s block, or null when it is this one (or nobody). */
  async ownerOf(mac: number): Promise<string | null> {
    if (this.store.holds(mac)) return null;
    let lease = this.leaseIn(mac, mac);
    if (!lease) {
      await this.refresh(true);
      lease = this.leaseIn(mac, mac);
    }
    return lease && lease.holder !== this.o.replica && lease.endpoint ? lease.endpoint : null;
  }

  /**
   * The endpoint of another replica whose blocks (by their published counts)
   * have at least `needed` free MACs, the one with the most room; null if none.
   */
  async spillover(needed: number, rangeId?: string): Promise<string | null> {
    await this.refresh(true);
    const a = this.store.allocator;
    if (rangeId !== undefined && !a.hasRange(rangeId)) return null;
    const free = new Map<string, number>();
    for (const l of this.sorted) {
      if (l.holder === this.o.replica || !l.endpoint) continue;
      const used = rangeId !== undefined ? (l.byRange[rangeId] ?? l.allocated) : l.allocated;
      free.set(l.endpoint, (free.get(l.endpoint) ?? 0) + Math.max(0, a.allowedIn(l.from, l.to, rangeId) - used));
    }
    let best: string | null = null;
    let most = needed - 1;
    for (const [endpoint, n] of free) {
      if (n > most) {
        best = endpoint;
        most = n;
      }
    }
    return best;
  }

  /**
   * The other replicas' counts per range: each is asked over HTTP for its own
   * (its answer is exact at that moment); one that does not answer within a
   * second counts what its Leases last published.
   */
  async othersRanges(): Promise<Map<string, OthersCounts>> {
    await this.refresh(true);
    const byHolder = new Map<string, BlockLease[]>();
    for (const l of this.sorted) {
      if (l.holder === this.o.replica) continue;
      byHolder.set(l.holder, [...(byHolder.get(l.holder) ?? []), l]);
    }
    const out = new Map<string, OthersCounts>();
    const add = (id: string, used: number, usedAllowed: number): void => {
      const c = out.get(id) ?? { used: 0, usedAllowed: 0 };
      c.used += used;
      c.usedAllowed += usedAllowed;
      out.set(id, c);
    };
    await Promise.all(
      [...byHolder.values()].map(async (leases) => {
        const endpoint = leases.find((l) => l.endpoint)?.endpoint;
        try {
          if (!endpoint) throw new Error('no endpoint');
          const res = await fetch(`${endpoint}/macs/ranges`, { headers: { 'x-macd-forwarded': '1', [PEER_FORMAT_HEADER]: String(FORMATS.macdPeer.writes) }, signal: AbortSignal.timeout(1000) });
          if (res.status !== 200) throw new Error(`answered ${res.status}`);
          // An answer in a newer protocol could mean something else: as if it did not answer.
          const refusal = formatRefusal('macdPeer', res.headers.get(PEER_FORMAT_HEADER) ?? undefined);
          if (refusal) throw new Error(refusal);
          const body = (await res.json()) as { mac_ranges?: { range_id: string; capacity: number; used: number; available: number }[] };
          for (const r of body.mac_ranges ?? []) add(r.range_id, r.used, r.capacity - r.available);
        } catch (e) {
          this.o.log.debug({ err: e, endpoint }, 'a replica did not answer for its counts; using its Leases');
          for (const l of leases) for (const [id, n] of Object.entries(l.byRange)) add(id, n, n);
        }
      }),
    );
    return out;
  }

  /** The endpoints of the other replicas that hold blocks (the ones that hold MACs). */
  async peers(): Promise<string[]> {
    await this.refresh(true);
    const out = new Set<string>();
    for (const l of this.sorted) if (l.holder !== this.o.replica && l.endpoint) out.add(l.endpoint);
    return [...out].sort();
  }

  /** Claims the blocks of MACs asked for by address, or refuses those another replica holds. */
  async ensureOwned(macs: readonly number[]): Promise<void> {
    const bs = this.blockSize;
    for (const mac of macs) {
      if (this.store.holds(mac)) continue;
      let lease = this.leaseIn(mac, mac);
      const g = Math.floor(mac / bs);
      const created = !lease && !this.leaseIn(g * bs, g * bs + bs - 1) ? await this.create(g) : 'exists';
      if (created === 'blocked') throw new MacdError(503, 'claims_blocked', `${formatMac(mac)} is in a block nobody holds: ${this.blocked()}`);
      if (created === 'created') {
        await this.store.setHeld([...this.store.held, { from: g * bs, to: g * bs + bs - 1 }]);
        continue;
      }
      await this.refresh(true);
      lease = this.leaseIn(mac, mac);
      if (lease?.holder === this.o.replica) {
        await this.store.setHeld([...this.store.held, { from: lease.from, to: lease.to }]);
        continue;
      }
      const holder = lease ?? this.leaseIn(g * bs, g * bs + bs - 1);
      throw new MacdError(409, 'owned_elsewhere', `${formatMac(mac)} is in a block held by replica "${holder?.holder ?? '?'}" (${holder?.endpoint ?? '?'}); ask it`);
    }
  }

  /** Held blocks are full: claim more. Concurrent callers share one claim. */
  private async onExhausted(rangeIds: string[], needed: number, preferredOnly: boolean): Promise<boolean> {
    if (this.claiming) {
      await this.claiming;
      return true;
    }
    this.claiming = this.claim(rangeIds, needed, preferredOnly).finally(() => {
      this.claiming = null;
    });
    return this.claiming;
  }

  /**
   * Claims free blocks where the ranges allocate (with `preferredOnly`: where
   * they allocate first, away from narrower ranges). A block nobody holds has
   * no allocated MAC, so any block it can reach has room.
   */
  private async claim(rangeIds: string[], needed: number, preferredOnly: boolean): Promise<boolean> {
    const a = this.store.allocator;
    const bs = this.blockSize;
    for (let attempt = 0; attempt < 20; attempt++) {
      await this.refresh(true);
      // Blocked: the other replicas' room (spillover), else pool_full; the report says why.
      if (this.unreadable.length > 0) return false;
      let anyFree = false;
      for (const id of rangeIds) {
        if (!a.hasRange(id)) continue;
        const where = a.claimable(id)[preferredOnly ? 'preferred' : 'all'];
        const free: number[] = [];
        const seen = new Set<number>();
        for (const iv of where) {
          for (let g = Math.floor(iv.from / bs); g <= Math.floor(iv.to / bs); g++) {
            if (seen.has(g)) continue;
            seen.add(g);
            if (!this.leaseIn(g * bs, g * bs + bs - 1)) free.push(g);
          }
        }
        if (free.length === 0) continue;
        anyFree = true;
        const want = Math.min(free.length, Math.max(1, Math.ceil(needed / bs)));
        const got: number[] = [];
        // A random free block: replicas claiming at once rarely collide.
        while (got.length < want && free.length > 0) {
          const g = free.splice(Math.floor(Math.random() * free.length), 1)[0]!;
          if ((await this.create(g)) === 'created') got.push(g);
        }
        if (got.length > 0) {
          await this.store.setHeld([...this.store.held, ...got.map((g) => ({ from: g * bs, to: g * bs + bs - 1 }))]);
          this.o.log.info({ range: id, blocks: got.map((g) => formatMac(g * bs)) }, 'claimed blocks');
          return true;
        }
      }
      if (!anyFree) return false;
    }
    return false;
  }

  /** Creates the Lease of block `g`; 'blocked' (nothing created) while a Lease of the pool cannot be read. */
  private async create(g: number): Promise<'created' | 'exists' | 'blocked'> {
    if (this.unreadable.length > 0) return 'blocked';
    const bs = this.blockSize;
    const from = g * bs;
    const to = from + bs - 1;
    const allocated = this.store.allocator.space.count(from, to);
    const byRange = this.countsByRange(from, to);
    const lease: BlockLease = { name: blockLeaseName(this.o.pool, from), from, to, holder: this.o.replica, endpoint: this.o.endpoint, allocated, byRange };
    const r = await this.o.api.create(lease);
    if (r === 'created') {
      this.cache([...this.leases.values(), lease]);
      this.published.set(lease.name, JSON.stringify([allocated, byRange]));
    }
    return r;
  }

  /** Allocated MACs of [from, to] per range id that intersects it. */
  private countsByRange(from: number, to: number): Record<string, number> {
    const a = this.store.allocator;
    const out: Record<string, number> = {};
    for (const r of a.ranges()) if (r.from <= to && r.to >= from) out[r.id] = a.space.count(Math.max(from, r.from), Math.min(to, r.to));
    return out;
  }

  /** The Lease intersecting [from, to] (the first by address), or undefined. */
  private leaseIn(from: number, to: number): BlockLease | undefined {
    const l = this.sorted[firstEndingAtOrAfter(this.sorted, from)];
    return l && l.from <= to ? l : undefined;
  }

  /** What keeps this replica from claiming blocks: the Leases it cannot read, and why; undefined when nothing does. */
  blocked(): string | undefined {
    if (this.unreadable.length === 0) return undefined;
    const named = this.unreadable.slice(0, 3).map((u) => `Lease ${u.name}: ${u.why}`);
    const more = this.unreadable.length > 3 ? `; and ${this.unreadable.length - 3} more` : '';
    return `${named.join('; ')}${more} (no block is claimed while a Lease of the pool cannot be read: it may cover any block)`;
  }

  /** The report as published: with what blocks claims, also among `refused` (operators before 0.3.0 read only that). */
  private reportToPublish(): MacdReport | undefined {
    const report = this.o.report?.();
    const blocked = this.blocked();
    return report && blocked ? { ...report, blocked, refused: [...report.refused, `blocked: ${blocked}`] } : report;
  }

  private setUnreadable(list: UnreadableLease[]): void {
    const key = (l: UnreadableLease[]): string => JSON.stringify(l.map((u) => [u.name, u.why]).sort());
    if (key(list) === key(this.unreadable)) return;
    this.unreadable = list;
    if (list.length > 0) this.o.log.error({ leases: list }, 'Leases of the pool this release cannot read: claiming no block while they exist; serving the blocks held');
    else this.o.log.info('every Lease of the pool is readable again: claiming blocks');
    // Started: the report says it now (start() publishes it anyway).
    if (this.timer) this.publishNow();
  }

  private cache(list: BlockLease[]): void {
    this.leases = new Map(list.map((l) => [l.name, l]));
    this.sorted = [...this.leases.values()].sort((x, y) => x.from - y.from);
  }

  /** Re-lists the pool's Leases (at most every 250 ms unless forced; concurrent callers share one list). */
  private async refresh(force: boolean): Promise<void> {
    if (this.refreshing) return this.refreshing;
    if (!force && Date.now() - this.lastRefresh < 250) return;
    this.refreshing = this.o.api
      .list()
      .then((list) => {
        this.cache(list.blocks);
        this.lastRefresh = Date.now();
        this.setUnreadable(list.unreadable);
      })
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  /** Publishes now what changed (the report after a config reload), not at the next tick. */
  publishNow(): void {
    void this.publish();
  }

  /** Publishes the counts of each held block whose counts changed and the report if it changed; refreshes the cache. */
  private publish(): Promise<void> {
    if (this.publishing) {
      this.publishAgain = true;
      return this.publishing;
    }
    const run = async (): Promise<void> => {
      const report = this.reportToPublish();
      if (report) {
        const text = reportText(report);
        if (text !== this.publishedReport) {
          await this.o.api.putReport(this.o.replica, text);
          this.publishedReport = text;
        }
      }
      for (const l of this.sorted) {
        if (l.holder !== this.o.replica) continue;
        const n = this.store.allocator.space.count(l.from, l.to);
        const byRange = this.countsByRange(l.from, l.to);
        const key = JSON.stringify([n, byRange]);
        if (this.published.get(l.name) === key) continue;
        await this.o.api.annotate(l.name, { ...countAnnotations(n, byRange), ...BLOCK_FORMAT });
        this.published.set(l.name, key);
      }
      await this.refresh(false);
    };
    this.publishing = run()
      .catch((e: unknown) => this.o.log.warn({ err: e }, 'publishing block counts failed; retrying'))
      .finally(() => {
        this.publishing = null;
        if (this.publishAgain) {
          this.publishAgain = false;
          void this.publish();
        }
      });
    return this.publishing;
  }
}

/** True when the sorted, merged `list` covers [from, to] whole. */
function covered(list: readonly Interval[], from: number, to: number): boolean {
  const merged = mergeIntervals(list);
  const i = merged[firstEndingAtOrAfter(merged, from)];
  return i !== undefined && i.from <= from && i.to >= to;
}

export interface ReplicaOptions {
  store: MacStore;
  config: MacdConfig;
  client: KubeClient;
  replica: string;
  endpoint: string;
  log: Logger;
  report: () => MacdReport;
}

/** Replica mode wiring for server.ts. */
export async function startReplica(o: ReplicaOptions): Promise<Coordination> {
  if (o.config.coordination.mode !== 'kubernetes') throw new Error('startReplica needs coordination.mode kubernetes');
  const pool = o.config.coordination.pool;
  const c = new BlockCoordinator({ store: o.store, api: kubernetesLeaseApi(o.client, pool), pool: pool.name, replica: o.replica, endpoint: o.endpoint, log: o.log, report: o.report });
  await c.start();
  o.log.info({ replica: o.replica, endpoint: o.endpoint, pool: `${pool.namespace}/${pool.name}` }, 'replica mode: block Leases');
  return {
    ownerOf: (mac) => c.ownerOf(mac),
    spillover: (needed, rangeId) => c.spillover(needed, rangeId),
    othersRanges: () => c.othersRanges(),
    peers: () => c.peers(),
    publishNow: () => c.publishNow(),
    close: () => c.close(),
  };
}
