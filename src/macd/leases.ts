// The block Leases through which replicas share a pool: the contract with the
// operator (which sums alcor.dev/allocated over the pool's Leases) and the
// Kubernetes implementation of the small API the coordinator needs.

import { ALLOCATED_ANNOTATION, BLOCK_SIZE_ANNOTATION, BLOCK_START_ANNOTATION, ENDPOINT_ANNOTATION, MAC_POOL_LABEL, MAC_RANGE_LABEL } from '../api/leases.ts';
import { ApiError, type KubeClient, type ObjectList } from '../runtime/client.ts';
import { leasePath, microTime, type Lease } from '../runtime/lease.ts';

export interface BlockLease {
  name: string;
  rangeId: string;
  block: number;
  holder: string;
  endpoint: string;
  allocated: number;
}

export interface NewBlockLease extends BlockLease {
  blockStart: string;
  blockSize: number;
}

/** What the coordinator needs from the Lease API (faked in unit tests). */
export interface LeaseApi {
  /** Every block Lease of the pool. */
  list(): Promise<BlockLease[]>;
  /** Creates the Lease; 'exists' when another replica (or we, earlier) created it first. */
  create(lease: NewBlockLease): Promise<'created' | 'exists'>;
  /** Merge-patches the annotations of a Lease. */
  annotate(name: string, annotations: Record<string, string>): Promise<void>;
}

/** `<pool>-block-<rangeId>-<index>`, lower-case, characters outside a DNS name replaced by "-". */
export function blockLeaseName(pool: string, rangeId: string, block: number): string {
  return `${pool}-block-${rangeId}-${block}`.toLowerCase().replace(/[^a-z0-9.-]/g, '-');
}

export interface PoolRef {
  name: string;
  namespace: string;
  uid: string;
}

export function kubernetesLeaseApi(client: KubeClient, pool: PoolRef): LeaseApi {
  const toBlock = (l: Lease): BlockLease | null => {
    const labels = l.metadata.labels ?? {};
    const ann = l.metadata.annotations ?? {};
    const m = /-(\d+)$/.exec(l.metadata.name);
    const rangeId = labels[MAC_RANGE_LABEL];
    if (!m || !rangeId) return null;
    return {
      name: l.metadata.name,
      rangeId,
      block: Number(m[1]),
      holder: l.spec?.holderIdentity ?? '',
      endpoint: ann[ENDPOINT_ANNOTATION] ?? '',
      allocated: Number(ann[ALLOCATED_ANNOTATION] ?? '0'),
    };
  };
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
          labels: { [MAC_POOL_LABEL]: pool.name, [MAC_RANGE_LABEL]: l.rangeId },
          annotations: { [BLOCK_START_ANNOTATION]: l.blockStart, [BLOCK_SIZE_ANNOTATION]: String(l.blockSize), [ENDPOINT_ANNOTATION]: l.endpoint, [ALLOCATED_ANNOTATION]: String(l.allocated) },
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
  };
}
