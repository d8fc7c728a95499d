// The block Leases through which replicas share a pool: the contract with the
// operator (which sums alcor.dev/allocated over the pool's Leases) and the
// Kubernetes implementation of the small API the coordinator needs.

import { CoordinationV1Api, type KubeConfig, type V1Lease, PatchStrategy, V1MicroTime, setHeaderOptions } from '@kubernetes/client-node';
import { ALLOCATED_ANNOTATION, BLOCK_SIZE_ANNOTATION, BLOCK_START_ANNOTATION, ENDPOINT_ANNOTATION, MAC_POOL_LABEL, MAC_RANGE_LABEL } from '../api/leases.ts';


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

export function kubernetesLeaseApi(kc: KubeConfig, pool: PoolRef): LeaseApi {
  const api = kc.makeApiClient(CoordinationV1Api);
  const toBlock = (l: V1Lease): BlockLease | null => {
    const labels = l.metadata?.labels ?? {};
    const ann = l.metadata?.annotations ?? {};
    const m = /-(\d+)$/.exec(l.metadata?.name ?? '');
    const rangeId = labels[MAC_RANGE_LABEL];
    if (!m || !rangeId) return null;
    return {
      name: l.metadata!.name!,
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
      let cont: string | undefined;
      do {
        const page = await api.listNamespacedLease({ namespace: pool.namespace, labelSelector: `${MAC_POOL_LABEL}=${pool.name}`, limit: 500, _continue: cont });
        for (const l of page.items) {
          const b = toBlock(l);
          if (b) out.push(b);
        }
        cont = page.metadata?._continue || undefined;
      } while (cont);
      return out;
    },
    async create(l) {
      try {
        await api.createNamespacedLease({
          namespace: pool.namespace,
          body: {
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
            spec: { holderIdentity: l.holder, acquireTime: new V1MicroTime() },
          },
        });
        return 'created';
      } catch (e) {
        if ((e as { code?: number }).code === 409) return 'exists';
        throw e;
      }
    },
    async annotate(name, annotations) {
      await api.patchNamespacedLease({ name, namespace: pool.namespace, body: { metadata: { annotations } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    },
  };
}
