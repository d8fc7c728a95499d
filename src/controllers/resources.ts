import { GROUP, VERSION, kinds } from '../api/index.ts';
import type { ResourceType } from '../runtime/client.ts';

// Every resource type the operator reads or writes, in one table.

const own = (k: { kind: string; plural: string }): ResourceType => ({ group: GROUP, version: VERSION, plural: k.plural, kind: k.kind, namespaced: true });

export const MacPoolType = own(kinds.MacPool);
export const DhcpSubnetType = own(kinds.DhcpSubnet);
export const DataPlaneManagerType = own(kinds.DataPlaneManager);
export const DhcpReservationType = own(kinds.DhcpReservation);

/** Kinds the operator renders as children, by `kind`. */
export const childTypes: Record<string, ResourceType> = {
  ConfigMap: { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true },
  Service: { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true },
  ServiceAccount: { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
  StatefulSet: { group: 'apps', version: 'v1', plural: 'statefulsets', kind: 'StatefulSet', namespaced: true },
  Deployment: { group: 'apps', version: 'v1', plural: 'deployments', kind: 'Deployment', namespaced: true },
  DaemonSet: { group: 'apps', version: 'v1', plural: 'daemonsets', kind: 'DaemonSet', namespaced: true },
  PodDisruptionBudget: { group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', namespaced: true },
  NetworkPolicy: { group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true },
  Role: { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'roles', kind: 'Role', namespaced: true },
  RoleBinding: { group: 'rbac.authorization.k8s.io', version: 'v1', plural: 'rolebindings', kind: 'RoleBinding', namespaced: true },
};

/** Pods of the workloads we render (read only: their status says why a workload is not ready). */
export const PodType: ResourceType = { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true };

export { LeaseType } from '../runtime/lease.ts';

/** Label every child carries; child informers watch only these. */
export const MANAGED_BY_SELECTOR = 'app.kubernetes.io/managed-by=alcor-operator';
