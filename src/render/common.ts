import { createHash } from 'node:crypto';
import type { V1Container, V1PodSecurityContext, V1Probe, V1SecurityContext } from '@kubernetes/client-node';
import { API_VERSION, type ResourceRequirements } from '../api/index.ts';
import type { KubeObject, OwnerReference, RenderSettings } from './types.ts';

// Building blocks shared by the renderers: metadata with owner references and
// app.kubernetes.io labels, restricted security contexts, PDBs, checksums.

/** The owning resource as the renderers need it. */
export interface Owner {
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string };
}

/** What every child object is about: its owner and the part it plays. */
export interface Part {
  owner: Owner;
  /** app.kubernetes.io/name: the program (macd, dhcpd, macmanager, dataplanemanager). */
  app: string;
  /** app.kubernetes.io/component. */
  component: string;
}

export function namespaceOf(owner: Owner): string {
  return owner.metadata.namespace ?? 'default';
}

/** Labels that select the pods of one part of one owner; never change them (selectors are immutable). */
export function selectorLabels(part: Part): Record<string, string> {
  return {
    'app.kubernetes.io/name': part.app,
    'app.kubernetes.io/instance': part.owner.metadata.name,
    'app.kubernetes.io/component': part.component,
  };
}

export function labels(part: Part): Record<string, string> {
  return {
    ...selectorLabels(part),
    'app.kubernetes.io/part-of': 'alcor',
    'app.kubernetes.io/managed-by': 'alcor-operator',
  };
}

export function ownerReferences(owner: Owner): OwnerReference[] | undefined {
  // Without a uid (rendering a file, not a stored object) there is nothing to point at.
  if (!owner.metadata.uid) return undefined;
  return [
    {
      apiVersion: API_VERSION,
      kind: owner.kind,
      name: owner.metadata.name,
      uid: owner.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ];
}

export function metadata(part: Part, name: string, annotations?: Record<string, string>): KubeObject['metadata'] {
  const refs = ownerReferences(part.owner);
  return {
    name,
    namespace: namespaceOf(part.owner),
    labels: labels(part),
    ...(annotations ? { annotations } : {}),
    ...(refs ? { ownerReferences: refs } : {}),
  };
}

export function object(apiVersion: string, kind: string, part: Part, name: string, body: Record<string, unknown>): KubeObject {
  return { apiVersion, kind, metadata: metadata(part, name), ...body };
}

export const NONROOT_UID = 65532;

/** Pod-level half of the `restricted` Pod Security Standard. */
export function restrictedPodSecurityContext(): V1PodSecurityContext {
  return {
    runAsNonRoot: true,
    runAsUser: NONROOT_UID,
    runAsGroup: NONROOT_UID,
    fsGroup: NONROOT_UID,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Container-level half of the `restricted` Pod Security Standard. */
export function restrictedContainerSecurityContext(): V1SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    runAsNonRoot: true,
    capabilities: { drop: ['ALL'] },
  };
}

export function httpProbe(path: string, port: string, opts: { initialDelaySeconds?: number; periodSeconds?: number; failureThreshold?: number } = {}): V1Probe {
  return { httpGet: { path, port }, periodSeconds: opts.periodSeconds ?? 10, timeoutSeconds: 2, failureThreshold: opts.failureThreshold ?? 3, ...(opts.initialDelaySeconds ? { initialDelaySeconds: opts.initialDelaySeconds } : {}) };
}

export function tcpProbe(port: string, opts: { initialDelaySeconds?: number; periodSeconds?: number; failureThreshold?: number } = {}): V1Probe {
  return { tcpSocket: { port }, periodSeconds: opts.periodSeconds ?? 10, timeoutSeconds: 2, failureThreshold: opts.failureThreshold ?? 3, ...(opts.initialDelaySeconds ? { initialDelaySeconds: opts.initialDelaySeconds } : {}) };
}

/** The user's resources, or requests that let the scheduler place the pod sensibly. */
export function resourcesOr(user: ResourceRequirements | undefined, fallback: ResourceRequirements): V1Container['resources'] {
  const r = user && (user.requests || user.limits) ? user : fallback;
  const str = (m: Record<string, string | number> | undefined) =>
    m === undefined ? undefined : Object.fromEntries(Object.entries(m).map(([k, v]) => [k, String(v)]));
  const requests = str(r.requests);
  const limits = str(r.limits);
  return { ...(requests ? { requests } : {}), ...(limits ? { limits } : {}) };
}

export function pullPolicy(settings: RenderSettings): { imagePullPolicy?: RenderSettings['imagePullPolicy'] } {
  return settings.imagePullPolicy ? { imagePullPolicy: settings.imagePullPolicy } : {};
}

/** Lets at most one pod of a multi-replica workload be evicted at a time. */
export function podDisruptionBudget(part: Part, name: string): KubeObject {
  return object('policy/v1', 'PodDisruptionBudget', part, name, {
    spec: { maxUnavailable: 1, selector: { matchLabels: selectorLabels(part) } },
  });
}

/**
 * How a serving pod leaves (docs/upgrading.md). On delete, the endpoint
 * controllers and kube-proxy take the pod out of its Services while the
 * kubelet runs preStop: the sleep keeps it answering until no new connection
 * can reach it. Then SIGTERM: macd and dhcpd go unready, answer what is in
 * flight with `Connection: close`, close idle connections, write their last
 * snapshot and exit (their --shutdown-timeout, 15 s by default, bounds the
 * drain). The grace period, counted from preStop, covers both with room to spare.
 */
export const PRE_STOP_SLEEP_SECONDS = 5;
export const TERMINATION_GRACE_SECONDS = 30;

/** The preStop hook of a serving container (no binary needed: the kubelet sleeps). */
export function drainLifecycle(): NonNullable<V1Container['lifecycle']> {
  return { preStop: { sleep: { seconds: PRE_STOP_SLEEP_SECONDS } } };
}

/** The annotation that rolls Java pods when (and only when) their properties change. */
export const CONFIG_CHECKSUM_ANNOTATION = 'alcor.dev/config-checksum';

export function checksum(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The downward-API variables our servers take their identity from. */
export function podIdentityEnv(): NonNullable<V1Container['env']> {
  return [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
  ];
}

/** The pod's uid: a server names its pod in its report, so the operator tells a replaced replica's report from its successor's. */
export function podUidEnv(): NonNullable<V1Container['env']>[number] {
  return { name: 'POD_UID', valueFrom: { fieldRef: { fieldPath: 'metadata.uid' } } };
}

/** A rule of a Role. */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** A ServiceAccount with a Role on coordination.k8s.io Leases (and the other rules given) and its binding. */
export function leaseRbac(part: Part, name: string, verbs: string[], moreRules: PolicyRule[] = []): KubeObject[] {
  const namespace = namespaceOf(part.owner);
  return [
    object('v1', 'ServiceAccount', part, name, {}),
    object('rbac.authorization.k8s.io/v1', 'Role', part, name, {
      rules: [{ apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs }, ...moreRules],
    }),
    object('rbac.authorization.k8s.io/v1', 'RoleBinding', part, name, {
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    }),
  ];
}

/** The `data` volume of each StatefulSet replica, from a resource's storage field. */
export function dataVolumeClaimTemplate(part: Part, storage: { size: string | number; storageClassName?: string | undefined }): object {
  return {
    metadata: { name: 'data', labels: labels(part) },
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: String(storage.size) } },
      ...(storage.storageClassName ? { storageClassName: storage.storageClassName } : {}),
    },
  };
}

/**
 * The NetworkPolicy peers of the API server (its service proxy): one ipBlock
 * per CIDR of settings.apiServerCIDRs. Nothing else is admitted by them.
 */
export function apiServerPeers(settings: RenderSettings): Array<{ ipBlock: { cidr: string } }> {
  return (settings.apiServerCIDRs ?? []).map((cidr) => ({ ipBlock: { cidr } }));
}
