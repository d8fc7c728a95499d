import { IGNITE_THIN_CLIENT_PORT, igniteService } from '../api/alcor.ts';
import { labels, metadata, namespaceOf, type Part } from './common.ts';
import type { KubeObject } from './types.ts';

// What Alcor's two Spring Boot services (the DPM and the MAC manager) need
// from any render: the Spring keys their own application.properties set (ours
// replaces theirs), the Ignite keys of lib's IgniteConfiguration, and the
// permission Ignite's Kubernetes discovery uses.

export type PropertyEntry = [string, string | number | boolean];

/** Keys the jar's own application.properties sets that Spring Boot itself reads. */
export function springBootEntries(restPort: number): PropertyEntry[] {
  return [
    ['server.port', restPort],
    // The jar's own file turns Spring's Redis health check off; without it /actuator/health is 503 (no Redis).
    ['management.health.redis.enabled', false],
  ];
}

/**
 * lib IgniteConfiguration: any ignite.host but "localhost" makes it look
 * Ignite's pods up through the Kubernetes API (kubeNamespace, kubeServiceName)
 * and connect to their port 10800. The host is the Service's DNS name, which
 * says the same to a reader; ignite.port is required, and unused there.
 */
export function alcorIgniteEntries(ignite: { serviceName: string; namespace?: string | undefined }, namespace: string): PropertyEntry[] {
  const svc = igniteService(ignite, namespace);
  return [
    ['ignite.host', `${svc.name}.${svc.namespace}.svc`],
    ['ignite.port', IGNITE_THIN_CLIENT_PORT],
    ['ignite.kubeNamespace', svc.namespace],
    ['ignite.kubeServiceName', svc.name],
    ['ignite.thin.client.enable', true],
  ];
}

/** Label (the owner's uid) and annotation (Kind/namespace/name) on children in another namespace, where owner references cannot point. */
export const OWNER_UID_LABEL = 'alcor.dev/owner-uid';
export const OWNER_ANNOTATION = 'alcor.dev/owner';

/** The owner as OWNER_ANNOTATION spells it. */
export function ownerAnnotationValue(owner: Part['owner']): string {
  return `${owner.kind}/${namespaceOf(owner)}/${owner.metadata.name}`;
}

/** Metadata of a child in `namespace`: owner references when it is the owner's own, owner label and annotation always. */
function childMetadata(part: Part, name: string, namespace: string): KubeObject['metadata'] {
  const same = namespace === namespaceOf(part.owner);
  const base = same ? metadata(part, name) : { name, namespace, labels: labels(part) };
  const uid = part.owner.metadata.uid;
  return {
    ...base,
    namespace,
    labels: { ...base.labels, ...(uid ? { [OWNER_UID_LABEL]: uid } : {}) },
    annotations: { [OWNER_ANNOTATION]: ownerAnnotationValue(part.owner) },
  };
}

/**
 * The pods' ServiceAccount, and in Ignite's namespace a Role granting it get
 * on Ignite's Service's Endpoints (the only call Ignite's address finder
 * makes) and the RoleBinding. The Role's name carries the owner's namespace,
 * so resources of several namespaces sharing one Ignite never collide.
 */
export function igniteDiscoveryRbac(part: Part, serviceAccount: string, ignite: { serviceName: string; namespace?: string | undefined }): KubeObject[] {
  const own = namespaceOf(part.owner);
  const svc = igniteService(ignite, own);
  const name = `${own}.${serviceAccount}.ignite-discovery`;
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: metadata(part, serviceAccount) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: childMetadata(part, name, svc.namespace),
      rules: [{ apiGroups: [''], resources: ['endpoints'], resourceNames: [svc.name], verbs: ['get'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: childMetadata(part, name, svc.namespace),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace: own }],
    },
  ];
}
