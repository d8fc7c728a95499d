import { z } from 'zod';
import { dnsLabel, withRules, type Rule } from './common.ts';

// What Alcor's Java services (the DPM, the MAC manager of a MacPool with
// engine alcor) share: how they find Apache Ignite, and how a field that
// turned out to render a key Alcor never uses is retired.
//
// Alcor's lib IgniteConfiguration (commit 21f11b5c) connects straight to
// ignite.host:ignite.port only when ignite.host is exactly "localhost". Any
// other host makes it ask the Kubernetes API for the Endpoints of the Service
// ignite.kubeServiceName in ignite.kubeNamespace (Ignite's
// ThinClientKubernetesAddressFinder: GET /api/v1/namespaces/NS/endpoints/NAME
// with the pod's ServiceAccount token) and connect to port 10800 of every
// ready address. ignite.port must still be present, and is not used.

/** The thin-client port Ignite's Kubernetes address finder always connects to. */
export const IGNITE_THIN_CLIENT_PORT = 10800;

/**
 * A retired field: kept in the schema so an object stored before keeps
 * parsing and admission can say what to do instead. Only its absence, or the
 * one value that was ever stored by default (and that changed nothing), is
 * accepted.
 */
export function retiredRule<T extends Record<string, unknown>>(field: string, why: string, storedDefault?: string | number | boolean): Rule<T> {
  const literal = typeof storedDefault === 'string' ? `'${storedDefault}'` : String(storedDefault);
  return {
    rule: storedDefault === undefined ? `!has(self.${field})` : `!has(self.${field}) || self.${field} == ${literal}`,
    message: `${field} is retired: ${why}`,
    fieldPath: `.${field}`,
    check: (v) => v[field] === undefined || (storedDefault !== undefined && v[field] === storedDefault),
  };
}

export const igniteFields = {
  serviceName: dnsLabel
    .default('ignite')
    .describe(
      "Name of the Service in front of Ignite's pods (ignite.kubeServiceName; Alcor's default: ignite). Alcor's services read this Service's Endpoints " +
        `through the Kubernetes API and connect to port ${IGNITE_THIN_CLIENT_PORT} (Ignite's thin-client port) of each ready pod.`,
    ),
  namespace: dnsLabel
    .optional()
    .describe(
      "Namespace of that Service (ignite.kubeNamespace). Default: the resource's own namespace. The operator renders a ServiceAccount for the pods and, " +
        'in this namespace, a Role and RoleBinding granting it get on that one Endpoints object, all Alcor needs.',
    ),
  host: z
    .string()
    .max(253)
    .optional()
    .describe('Retired: Alcor finds Ignite through the Kubernetes API (serviceName, namespace), not a host name. Refused when set.'),
  port: z
    .number()
    .int()
    .optional()
    .describe(`Retired: Alcor's Kubernetes discovery always connects to port ${IGNITE_THIN_CLIENT_PORT}. Only ${IGNITE_THIN_CLIENT_PORT} is accepted.`),
};

export const igniteRules: Rule<{ host?: string | undefined; port?: number | undefined }>[] = [
  retiredRule(
    'host',
    "Alcor's services find Ignite's pods through the Kubernetes API, not a host name: name Ignite's Service in ignite.serviceName (and ignite.namespace when it is in another namespace)",
  ),
  retiredRule('port', `Alcor's Kubernetes discovery always connects to port ${IGNITE_THIN_CLIENT_PORT} of Ignite's pods; remove the field`, IGNITE_THIN_CLIENT_PORT),
];

export const igniteDescription =
  "Apache Ignite, where Alcor's services keep their state: the Service in front of Ignite's pods, found through the Kubernetes API as Alcor does.";

export const AlcorIgnite = withRules(z.object(igniteFields), igniteDescription, igniteRules).prefault({});
export type AlcorIgnite = z.infer<typeof AlcorIgnite>;

/** Namespace and Service name of Ignite for a resource in `namespace`. */
export function igniteService(ignite: { serviceName: string; namespace?: string | undefined }, namespace: string): { namespace: string; name: string } {
  return { namespace: ignite.namespace ?? namespace, name: ignite.serviceName };
}
