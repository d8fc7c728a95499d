// The Leases of a pool's replicas: the block Leases through which they share
// the pool, and each replica's report Lease (what it serves, for the
// operator's status; src/api/leases.ts); the Kubernetes implementation of the
// small API the coordinator needs. A block is a span of the MAC address space,
// not of a range: where ranges overlap, one block (one holder) serves them all.

import { FORMAT_ANNOTATION, FORMATS, formatRefusal } from '../api/formats.ts';
import { ALLOCATED_ANNOTATION, ALLOCATED_BY_RANGE_ANNOTATION, BLOCK_SIZE_ANNOTATION, BLOCK_START_ANNOTATION, ENDPOINT_ANNOTATION, MAC_POOL_LABEL, SERVED_ANNOTATION } from '../api/leases.ts';
import { formatMac, parseMac } from '../api/mac.ts';
import { ApiError, type KubeClient, type ObjectList } from '../runtime/client.ts';
import { leasePath, microTime, type Lease } from '../runtime/lease.ts';

export interface BlockLease {
  name: string;
  /** First and last MAC of the block (its block-start and block-size annotations). */
  from: number;
  to: number;
  holder: string;
  endpoint: string;
  allocated: number;
  /** Allocated MACs of the block per range id (ranges may overlap: each counts its own). */
  byRange: Record<string, number>;
}

/** A Lease of the pool this release cannot read (a newer format, or neither a block nor a report): it may cover any block. */
export interface UnreadableLease {
  name: string;
  why: string;
}

/** The pool's Leases as this release reads them: its blocks, and the Leases it cannot read (report Leases are neither). */
export interface PoolLeases {
  blocks: BlockLease[];
  unreadable: UnreadableLease[];
}

/** What the coordinator needs from the Lease API (faked in unit tests). */
export interface LeaseApi {
  /** Every Lease of the pool (label alcor.dev/mac-pool). */
  list(): Promise<PoolLeases>;
  /** Creates the Lease; 'exists' when another replica (or we, earlier) created it first. */
  create(lease: BlockLease): Promise<'created' | 'exists'>;
  /** Merge-patches the annotations of a Lease. */
  annotate(name: string, annotations: Record<string, string>): Promise<void>;
  /** Writes the replica's report (alcor.dev/served) on its own Lease, named after it; creates the Lease the first time. */
  putReport(replica: string, report: string): Promise<void>;
}

/** `<pool>-block-<first MAC as 12 hex digits>`, e.g. pool-block-aabbcc200000. */
export function blockLeaseName(pool: string, from: number): string {
  return `${pool}-block-${from.toString(16).padStart(12, '0')}`;
}

/** The annotations that publish a block's counts. */
export function countAnnotations(allocated: number, byRange: Record<string, number>): Record<string, string> {
  return { [ALLOCATED_ANNOTATION]: String(allocated), [ALLOCATED_BY_RANGE_ANNOTATION]: JSON.stringify(byRange) };
}

/** The format annotations of the Leases this release writes: what 0.2.0 reads, plus the version it ignores. */
export const BLOCK_FORMAT = { [FORMAT_ANNOTATION]: String(FORMATS.macdLeases.writes) };
export const REPORT_FORMAT = { [FORMAT_ANNOTATION]: String(FORMATS.reportLeases.writes) };

/**
 * What a Lease of the pool is to this release: a block it reads, a replica's
 * report (no block), or unreadable (a format newer than it reads, or neither
 * a block nor a report), which may cover any block. No format annotation: 0.2.0's, format 1.
 */
export function readPoolLease(name: string, holder: string, ann: Record<string, string>): { block: BlockLease } | { report: true } | { unreadable: UnreadableLease } {
  const unreadable = (why: string) => ({ unreadable: { name, why } });
  const format = ann[FORMAT_ANNOTATION];
  if (ann[BLOCK_START_ANNOTATION] !== undefined || ann[BLOCK_SIZE_ANNOTATION] !== undefined) {
    const refusal = formatRefusal('macdLeases', format);
    if (refusal) return unreadable(refusal);
    const block = blockFromAnnotations(name, holder, ann);
    if (!block) return unreadable(`block annotations malformed (${BLOCK_START_ANNOTATION} ${JSON.stringify(ann[BLOCK_START_ANNOTATION] ?? null)}, ${BLOCK_SIZE_ANNOTATION} ${JSON.stringify(ann[BLOCK_SIZE_ANNOTATION] ?? null)})`);
    return { block };
  }
  if (ann[SERVED_ANNOTATION] !== undefined) {
    const refusal = formatRefusal('reportLeases', format);
    return refusal ? unreadable(refusal) : { report: true };
  }
  return unreadable(`neither a block Lease (no ${BLOCK_START_ANNOTATION}, ${BLOCK_SIZE_ANNOTATION}) nor a report Lease (no ${SERVED_ANNOTATION})`);
}

/** Sorts Leases into the blocks and the unreadable ones. */
export function poolLeases(leases: Iterable<{ name: string; holder: string; annotations: Record<string, string> }>): PoolLeases {
  const out: PoolLeases = { blocks: [], unreadable: [] };
  for (const l of leases) {
    const r = readPoolLease(l.name, l.holder, l.annotations);
    if ('block' in r) out.blocks.push(r.block);
    else if ('unreadable' in r) out.unreadable.push(r.unreadable);
  }
  return out;
}

/** Reads a block Lease's annotations; null when it is not one (no block bounds). */
export function blockFromAnnotations(name: string, holder: string, ann: Record<string, string>): BlockLease | null {
  const from = parseMac(ann[BLOCK_START_ANNOTATION] ?? '');
  const size = Number(ann[BLOCK_SIZE_ANNOTATION]);
  if (from === undefined || !Number.isSafeInteger(size) || size < 1) return null;
  let byRange: Record<string, number> = {};
  try {
    const parsed: unknown = JSON.parse(ann[ALLOCATED_BY_RANGE_ANNOTATION] ?? '{}');
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      byRange = Object.fromEntries(Object.entries(parsed).filter((e): e is [string, number] => typeof e[1] === 'number'));
    }
  } catch {
    // A hand-edited annotation: counts by range unknown.
  }
  return { name, from, to: from + size - 1, holder, endpoint: ann[ENDPOINT_ANNOTATION] ?? '', allocated: Number(ann[ALLOCATED_ANNOTATION] ?? '0') || 0, byRange };
}

export interface PoolRef {
  name: string;
  namespace: string;
  uid: string;
}

export function kubernetesLeaseApi(client: KubeClient, pool: PoolRef): LeaseApi {
  return {
    async list() {
      const all: Lease[] = [];
      let cont = '';
      do {
        const query = new URLSearchParams({ labelSelector: `${MAC_POOL_LABEL}=${pool.name}`, limit: '500', ...(cont ? { continue: cont } : {}) });
        const page = await client.get<ObjectList<Lease>>(`${leasePath(pool.namespace)}?${query}`);
        all.push(...page.items);
        cont = page.metadata.continue ?? '';
      } while (cont);
      return poolLeases(all.map((l) => ({ name: l.metadata.name, holder: l.spec?.holderIdentity ?? '', annotations: l.metadata.annotations ?? {} })));
    },
    async create(l) {
      const lease: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name: l.name,
          namespace: pool.namespace,
          labels: { [MAC_POOL_LABEL]: pool.name },
          annotations: {
            [BLOCK_START_ANNOTATION]: formatMac(l.from),
            [BLOCK_SIZE_ANNOTATION]: String(l.to - l.from + 1),
            [ENDPOINT_ANNOTATION]: l.endpoint,
            ...countAnnotations(l.allocated, l.byRange),
            ...BLOCK_FORMAT,
          },
          ownerReferences: [{ apiVersion: 'alcor.dev/v1alpha1', kind: 'MacPool', name: pool.name, uid: pool.uid }],
        },
        // Blocks never expire: their allocations live on the holder's disk.
        spec: { holderIdentity: l.holder, acquireTime: microTime(new Date()) },
      };
      try {
        await client.create(leasePath(pool.namespace), lease);
        return 'created';
      } catch (e) {
        if (e instanceof ApiError && e.status === 409) return 'exists';
        throw e;
      }
    },
    async annotate(name, annotations) {
      await client.mergePatch(leasePath(pool.namespace, name), { metadata: { annotations } });
    },
    async putReport(replica, report) {
      const annotations = { [SERVED_ANNOTATION]: report, ...REPORT_FORMAT };
      try {
        await client.mergePatch(leasePath(pool.namespace, replica), { metadata: { annotations } });
        return;
      } catch (e) {
        if (!(e instanceof ApiError && e.status === 404)) throw e;
      }
      const lease: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name: replica,
          namespace: pool.namespace,
          // No block annotations: the report is no block (list() passes over it).
          labels: { [MAC_POOL_LABEL]: pool.name },
          annotations,
          ownerReferences: [{ apiVersion: 'alcor.dev/v1alpha1', kind: 'MacPool', name: pool.name, uid: pool.uid }],
        },
        spec: { holderIdentity: replica, acquireTime: microTime(new Date()) },
      };
      try {
        await client.create(leasePath(pool.namespace), lease);
      } catch (e) {
        // Created meanwhile (a restart racing itself): the next change patches it.
        if (!(e instanceof ApiError && e.status === 409)) throw e;
      }
    },
  };
}
