// The Leases of a pool's replicas: the block Leases through which they share
// the pool, and each replica's report Lease (what it serves, for the
// operator's status; src/api/leases.ts); the Kubernetes implementation of the
// small API the coordinator needs. A block is a span of the MAC address space,
// not of a range: where ranges overlap, one block (one holder) serves them all.

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

/** What the coordinator needs from the Lease API (faked in unit tests). */
export interface LeaseApi {
  /** Every block Lease of the pool. */
  list(): Promise<BlockLease[]>;
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
  const toBlock = (l: Lease): BlockLease | null => blockFromAnnotations(l.metadata.name, l.spec?.holderIdentity ?? '', l.metadata.annotations ?? {});
  return {
    async list() {
      const out: BlockLease[] = [];
      let cont = '';
      do {
        const query = new URLSearchParams({ labelSelector: `${MAC_POOL_LABEL}=${pool.name}`, limit: '500', ...(cont ? { continue: cont } : {}) });
        const page = await client.get<ObjectList<Lease>>(`${leasePath(pool.namespace)}?${query}`);
        for (const l of page.items) {
          const b = toBlock(l);
          if (b) out.push(b);
        }
        cont = page.metadata.continue ?? '';
      } while (cont);
      return out;
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
      const annotations = { [SERVED_ANNOTATION]: report };
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
          // No range label: the report is no block (list() passes over it).
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
