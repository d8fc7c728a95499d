import { OWNER_ANNOTATION, OWNER_UID_LABEL } from '../render/index.ts';
import type { KubeObject } from '../runtime/client.ts';
import type { IndexFunc } from '../runtime/informer.ts';
import { podWorkload } from './pods.ts';

// The indexes the reconciles read the caches through, so that a pass over one
// resource looks at its own children and pods, not at every object of
// thousands of resources. One home: the manager keeps its informers indexed
// by these functions, the reconcile tests' fake caches answer through them.

/** Children by the uid of their owner: the controller reference in its namespace, the owner-uid label elsewhere. */
export const OWNER_UID_INDEX = 'owner-uid';
/** Children by their owner's `Kind/namespace/name` annotation (found when the owner is gone). */
export const OWNER_NAME_INDEX = 'owner-name';
/** Pods by their workload's `Kind/namespace/name`. */
export const WORKLOAD_INDEX = 'workload';
/** Objects by namespace. */
export const NAMESPACE_INDEX = 'namespace';

export const indexFuncs: Record<string, IndexFunc> = {
  [OWNER_UID_INDEX]: (o: KubeObject) => [
    ...(o.metadata.ownerReferences ?? []).filter((r) => r.controller).map((r) => r.uid),
    ...(o.metadata.labels?.[OWNER_UID_LABEL] ? [o.metadata.labels[OWNER_UID_LABEL]] : []),
  ],
  [OWNER_NAME_INDEX]: (o: KubeObject) => (o.metadata.annotations?.[OWNER_ANNOTATION] ? [o.metadata.annotations[OWNER_ANNOTATION]] : []),
  [WORKLOAD_INDEX]: (o: KubeObject) => {
    const w = podWorkload(o);
    return w ? [`${w.kind}/${w.key}`] : [];
  },
  [NAMESPACE_INDEX]: (o: KubeObject) => [o.metadata.namespace ?? ''],
};
