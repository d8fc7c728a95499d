// Several macd replicas serving one pool without a consensus protocol of our
// own: each replica claims blocks of the ranges as coordination.k8s.io Leases
// (create is atomic in the API server: 409 AlreadyExists means another
// replica won, so we pick another block), the way Calico's IPAM claims
// address blocks. A replica allocates only inside its blocks, so no MAC can
// be handed out twice. Blocks never expire: their allocations live on the
// holder's disk, and a replica restarting under the same name takes its
// blocks back. Requests for a MAC in another replica's block are forwarded to
// the endpoint on that block's Lease.

import type { Logger } from 'pino';
import type { MacdConfig } from '../api/config/macd.ts';
import type { KubeClient } from '../runtime/client.ts';
import { MacdError } from './errors.ts';
import { ALLOCATED_ANNOTATION, ENDPOINT_ANNOTATION } from '../api/leases.ts';
import { blockLeaseName, kubernetesLeaseApi, type BlockLease, type LeaseApi } from './leases.ts';
import { formatMac } from '../api/mac.ts';
import type { MacRange } from './range.ts';
import type { Coordination } from './server.ts';
import type { MacStore } from './store.ts';

export interface CoordinatorOptions {
  store: MacStore;
  api: LeaseApi;
  pool: string;
  replica: string;
  endpoint: string;
  log: Logger;
  /** How often `alcor.dev/allocated` is published (when changed) and the Lease cache refreshed. */
  publishMs?: number;
}

export class BlockCoordinator {
  private readonly o: CoordinatorOptions;
  /** Lease cache by name (refreshed by list). */
  private leases = new Map<string, BlockLease>();
  private readonly published = new Map<string, number>();
  private claiming: Promise<boolean> | null = null;
  private refreshing: Promise<void> | null = null;
  private lastRefresh = 0;
  private timer: NodeJS.Timeout | null = null;
  private publishing: Promise<void> | null = null;

  constructor(o: CoordinatorOptions) {
    this.o = o;
  }

  private get store(): MacStore {
    return this.o.store;
  }

  private name(rangeId: string, block: number): string {
    return blockLeaseName(this.o.pool, rangeId, block);
  }

  private owned(rangeId: string): number[] {
    return this.store.ownedBlocks.get(rangeId) ?? [];
  }

  /** Takes back this replica's blocks (from its Leases and its disk) and starts publishing counts. */
  async start(): Promise<void> {
    await this.refresh(true);
    const a = this.store.allocator;
    const mine = new Map<string, Set<number>>();
    for (const [id, blocks] of this.store.ownedBlocks) mine.set(id, new Set(blocks));
    for (const l of this.leases.values()) {
      if (l.holder !== this.o.replica) continue;
      if (!mine.has(l.rangeId)) mine.set(l.rangeId, new Set());
      mine.get(l.rangeId)!.add(l.block);
    }
    for (const [rangeId, blocks] of mine) {
      if (!a.hasRange(rangeId)) continue;
      const range = a.range(rangeId);
      const keep: number[] = [];
      for (const b of blocks) {
        const lease = this.leases.get(this.name(rangeId, b));
        if (!lease) {
          // On our disk but its Lease is gone (deleted by hand): claim it again.
          if ((await this.create(range, b)) === 'created') keep.push(b);
          else this.o.log.error({ range: rangeId, block: b }, 'a block on this replica’s disk is now held by another replica; not allocating from it');
          continue;
        }
        if (lease.holder !== this.o.replica) {
          this.o.log.error({ range: rangeId, block: b, holder: lease.holder }, 'a block on this replica’s disk is held by another replica; not allocating from it');
          continue;
        }
        if (lease.endpoint !== this.o.endpoint) await this.o.api.annotate(lease.name, { [ENDPOINT_ANNOTATION]: this.o.endpoint });
        keep.push(b);
      }
      await this.store.setOwnedBlocks(rangeId, keep.sort((x, y) => x - y));
    }
    this.store.onExhausted = (ids, needed) => this.onExhausted(ids, needed);
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
    const l = this.store.allocator.locate(mac);
    if (!l) return null;
    const b = Math.floor(l.off / l.range.blockSize);
    if (this.owned(l.range.id).includes(b)) return null;
    const name = this.name(l.range.id, b);
    if (!this.leases.has(name)) await this.refresh(true);
    const lease = this.leases.get(name);
    return lease && lease.holder !== this.o.replica && lease.endpoint ? lease.endpoint : null;
  }

  /**
   * The endpoint of another replica whose blocks (by their published counts)
   * have at least `needed` free MACs, the one with the most room; null if none.
   */
  async spillover(needed: number, rangeId?: string): Promise<string | null> {
    await this.refresh(true);
    const free = new Map<string, number>();
    for (const l of this.leases.values()) {
      if (l.holder === this.o.replica || !l.endpoint || (rangeId !== undefined && l.rangeId !== rangeId)) continue;
      if (!this.store.allocator.hasRange(l.rangeId)) continue;
      const r = this.store.allocator.range(l.rangeId);
      const size = Math.min(r.blockSize, r.size - l.block * r.blockSize);
      free.set(l.endpoint, (free.get(l.endpoint) ?? 0) + Math.max(0, size - l.allocated));
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

  /** Claims the blocks of MACs asked for by address, or refuses those another replica holds. */
  async ensureOwned(macs: readonly number[]): Promise<void> {
    for (const mac of macs) {
      const l = this.store.allocator.locate(mac);
      if (!l) continue; // the allocator refuses it
      const b = Math.floor(l.off / l.range.blockSize);
      if (this.owned(l.range.id).includes(b)) continue;
      let lease = this.leases.get(this.name(l.range.id, b));
      if (!lease && (await this.create(l.range, b)) === 'created') {
        await this.store.setOwnedBlocks(l.range.id, [...this.owned(l.range.id), b].sort((x, y) => x - y));
        continue;
      }
      await this.refresh(true);
      lease = this.leases.get(this.name(l.range.id, b));
      if (lease?.holder === this.o.replica) {
        await this.store.setOwnedBlocks(l.range.id, [...this.owned(l.range.id), b].sort((x, y) => x - y));
        continue;
      }
      throw new MacdError(409, 'owned_elsewhere', `${formatMac(mac)} is in a block held by replica "${lease?.holder ?? '?'}" (${lease?.endpoint ?? '?'}); ask it`);
    }
  }

  /** Own blocks are full: claim more. Concurrent callers share one claim. */
  private async onExhausted(rangeIds: string[], needed: number): Promise<boolean> {
    if (this.claiming) {
      await this.claiming;
      return true;
    }
    this.claiming = this.claim(rangeIds, needed).finally(() => {
      this.claiming = null;
    });
    return this.claiming;
  }

  private async claim(rangeIds: string[], needed: number): Promise<boolean> {
    for (let attempt = 0; attempt < 20; attempt++) {
      await this.refresh(true);
      let anyFree = false;
      for (const id of rangeIds) {
        if (!this.store.allocator.hasRange(id)) continue;
        const range = this.store.allocator.range(id);
        const free: number[] = [];
        for (let b = 0; b < range.blockCount; b++) if (!this.leases.has(this.name(id, b))) free.push(b);
        if (free.length === 0) continue;
        anyFree = true;
        const want = Math.min(free.length, Math.max(1, Math.ceil(needed / range.blockSize)));
        const got: number[] = [];
        // A random free block: replicas claiming at once rarely collide.
        while (got.length < want && free.length > 0) {
          const b = free.splice(Math.floor(Math.random() * free.length), 1)[0]!;
          if ((await this.create(range, b)) === 'created') got.push(b);
        }
        if (got.length > 0) {
          await this.store.setOwnedBlocks(id, [...this.owned(id), ...got].sort((x, y) => x - y));
          this.o.log.info({ range: id, blocks: got }, 'claimed blocks');
          return true;
        }
      }
      if (!anyFree) return false;
    }
    return false;
  }

  private async create(range: MacRange, b: number): Promise<'created' | 'exists'> {
    const name = this.name(range.id, b);
    const allocated = range.blockAllocated[b] ?? 0;
    const lease: BlockLease = { name, rangeId: range.id, block: b, holder: this.o.replica, endpoint: this.o.endpoint, allocated };
    const r = await this.o.api.create({ ...lease, blockStart: formatMac(range.from + b * range.blockSize), blockSize: Math.min(range.blockSize, range.size - b * range.blockSize) });
    if (r === 'created') {
      this.leases.set(name, lease);
      this.published.set(name, allocated);
    }
    return r;
  }

  /** Re-lists the pool's Leases (at most every 250 ms unless forced; concurrent callers share one list). */
  private async refresh(force: boolean): Promise<void> {
    if (this.refreshing) return this.refreshing;
    if (!force && Date.now() - this.lastRefresh < 250) return;
    this.refreshing = this.o.api
      .list()
      .then((list) => {
        this.leases = new Map(list.map((l) => [l.name, l]));
        this.lastRefresh = Date.now();
      })
      .finally(() => {
        this.refreshing = null;
      });
    return this.refreshing;
  }

  /** Publishes `alcor.dev/allocated` of each held block whose count changed; refreshes the cache. */
  private publish(): Promise<void> {
    if (this.publishing) return this.publishing;
    const run = async (): Promise<void> => {
      for (const [rangeId, blocks] of this.store.ownedBlocks) {
        if (!this.store.allocator.hasRange(rangeId)) continue;
        const range = this.store.allocator.range(rangeId);
        for (const b of blocks) {
          const name = this.name(rangeId, b);
          const n = range.blockAllocated[b] ?? 0;
          if (this.published.get(name) === n) continue;
          await this.o.api.annotate(name, { [ALLOCATED_ANNOTATION]: String(n) });
          this.published.set(name, n);
        }
      }
      await this.refresh(false);
    };
    this.publishing = run()
      .catch((e: unknown) => this.o.log.warn({ err: e }, 'publishing block counts failed; retrying'))
      .finally(() => {
        this.publishing = null;
      });
    return this.publishing;
  }
}

export interface ReplicaOptions {
  store: MacStore;
  config: MacdConfig;
  client: KubeClient;
  replica: string;
  endpoint: string;
  log: Logger;
}

/** Replica mode wiring for server.ts. */
export async function startReplica(o: ReplicaOptions): Promise<Coordination> {
  if (o.config.coordination.mode !== 'kubernetes') throw new Error('startReplica needs coordination.mode kubernetes');
  const pool = o.config.coordination.pool;
  const c = new BlockCoordinator({ store: o.store, api: kubernetesLeaseApi(o.client, pool), pool: pool.name, replica: o.replica, endpoint: o.endpoint, log: o.log });
  await c.start();
  o.log.info({ replica: o.replica, endpoint: o.endpoint, pool: `${pool.namespace}/${pool.name}` }, 'replica mode: block Leases');
  return {
    ownerOf: (mac) => c.ownerOf(mac),
    spillover: (needed, rangeId) => c.spillover(needed, rangeId),
    close: () => c.close(),
  };
}
