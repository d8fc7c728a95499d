import { z } from 'zod';

// Pieces every kind shares: the group, object metadata, conditions, resource
// requirements, and the helper that attaches one validation rule twice — as
// CEL in the CRD (the API server enforces it) and as a zod check (render and
// tests refuse the same objects without a cluster).

export const GROUP = 'alcor.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** One CEL rule and its client-side twin. */
export interface Rule<T> {
  /** CEL, evaluated with `self` bound to the value (x-kubernetes-validations[].rule). */
  rule: string;
  /** Shown by kubectl and by the zod error: names the field and the reason. */
  message: string;
  /** Where the API server reports the error, relative to the value (e.g. ".gateway"). */
  fieldPath?: string;
  /** The same predicate in TypeScript; true when the value is valid. */
  check: (value: T) => boolean;
}

/**
 * Attaches rules to a schema: the CEL goes into the generated CRD through
 * `.meta`, the predicate becomes a zod refinement. The description shares the
 * meta call so `kubectl explain` keeps it.
 */
export function withRules<S extends z.ZodType>(schema: S, description: string, rules: Rule<z.output<S>>[]): S {
  let s = schema;
  for (const r of rules) {
    const path = r.fieldPath ? r.fieldPath.replace(/^\./, '').split('.') : [];
    s = s.superRefine((value, ctx) => {
      if (!r.check(value as z.output<S>)) ctx.addIssue({ code: 'custom', message: r.message, path: [...path] });
    }) as S;
  }
  return s.meta({
    description,
    'x-kubernetes-validations': rules.map((r) => ({
      rule: r.rule,
      message: r.message,
      ...(r.fieldPath ? { fieldPath: r.fieldPath } : {}),
    })),
  });
}

/** Object metadata as the API server returns it; other fields pass through. */
export const ObjectMeta = z.looseObject({
  name: z.string().min(1).max(253),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.number().int().optional(),
  resourceVersion: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
});
export type ObjectMeta = z.infer<typeof ObjectMeta>;

export const ConditionStatus = z.enum(['True', 'False', 'Unknown']);
export type ConditionStatus = z.infer<typeof ConditionStatus>;

export const Condition = z.object({
  type: z.string().min(1).max(316).describe('Type of condition in CamelCase: Ready, Progressing or Degraded.'),
  status: ConditionStatus.describe('True, False or Unknown.'),
  reason: z
    .string()
    .max(1024)
    .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/)
    .describe('Machine-readable CamelCase reason for the last transition.'),
  message: z.string().max(32768).describe('Human-readable details of the last transition.'),
  lastTransitionTime: z.string().describe('When the status last changed (RFC 3339).').meta({ format: 'date-time' }),
  observedGeneration: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe('The .metadata.generation the condition was computed from.'),
});
export type Condition = z.infer<typeof Condition>;

export const conditionsField = z
  .array(Condition)
  .max(16)
  .optional()
  .describe('Ready, Progressing and Degraded, per Kubernetes conventions.')
  .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] });

export const observedGenerationField = z
  .number()
  .int()
  .min(0)
  .optional()
  .describe('The .metadata.generation the status describes.');

/** Kubernetes' resource.Quantity grammar ("100m", "1Gi", "2"). */
export const quantityPattern = /^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$/;

/** A quantity: a string like "512Mi" or a bare number (x-kubernetes-int-or-string). */
export const Quantity = z
  .union([z.number().int().min(0), z.string().regex(quantityPattern).max(64)])
  .meta({ 'x-kubernetes-int-or-string': true, pattern: quantityPattern.source });
export type Quantity = z.infer<typeof Quantity>;

const resourceList = z.record(z.string(), Quantity).meta({ maxProperties: 16 });

export const ResourceRequirements = z
  .object({
    requests: resourceList.optional().describe('Minimum resources the scheduler reserves (cpu, memory, ...).'),
    limits: resourceList.optional().describe('Maximum resources the container may use.'),
  })
  .describe('Compute resources of the container, as in a Pod spec. Left out: sensible requests are rendered.');
export type ResourceRequirements = z.infer<typeof ResourceRequirements>;

/** RFC 1123 label: what Kubernetes accepts as a namespace or range name. */
export const dnsLabelPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const dnsLabel = z.string().min(1).max(63).regex(dnsLabelPattern);

/** RFC 1123 subdomain (host or domain name), each label 1-63 characters as DNS (and dhcpd's option 119 encoder) requires. */
export const dnsSubdomainPattern = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

export const imageField = z.string().min(1).max(512);

export const portField = z.number().int().min(1).max(65535);

/** Turns a zod error into one line per issue, each naming the field: "spec.oui: must be ...". */
export function formatIssues(error: z.ZodError, root = ''): string {
  return error.issues
    .map((issue) => {
      let path = root;
      for (const p of issue.path) {
        path += typeof p === 'number' ? `[${p}]` : path === '' ? String(p) : `.${String(p)}`;
      }
      return `${path || '(root)'}: ${issue.message}`;
    })
    .join('\n');
}

/**
 * The resource's name becomes part of Service and StatefulSet names (DNS-1035
 * labels; a StatefulSet's pods carry its name plus a 10-character revision
 * hash in a 63-character label), so it must be short and start with a letter.
 */
export const MAX_NAME_LENGTH = 45;
const namePattern = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
export const nameRule = {
  rule: `size(self.metadata.name) <= ${MAX_NAME_LENGTH} && self.metadata.name.matches('${namePattern.source}')`,
  message: `metadata.name must be at most ${MAX_NAME_LENGTH} characters, lower-case letters, digits and '-', starting with a letter: it names the Services and workloads rendered for it`,
};

/**
 * The shape shared by the kinds: apiVersion, kind, metadata, spec, status.
 * `anyName`: the name names nothing rendered (DhcpReservation), so any name
 * the API server takes will do.
 */
export function resourceSchema<K extends string, Spec extends z.ZodType, Status extends z.ZodType>(
  kind: K,
  spec: Spec,
  status: Status,
  opts: { anyName?: boolean } = {},
) {
  return z
    .object({
      apiVersion: z.literal(API_VERSION),
      kind: z.literal(kind),
      metadata: ObjectMeta,
      spec,
      status: status.optional(),
    })
    .superRefine((o, ctx) => {
      if (opts.anyName) return;
      if (o.metadata.name.length > MAX_NAME_LENGTH || !namePattern.test(o.metadata.name)) {
        ctx.addIssue({ code: 'custom', path: ['metadata', 'name'], message: nameRule.message });
      }
    });
}

export interface KindInfo {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  listKind: string;
}

/**
 * The persistent volume of each replica of a StatefulSet the resource renders.
 * Fixed once created: a StatefulSet's volumeClaimTemplates cannot change.
 */
export function volumeField(opts: { field: string; defaultSize: string; what: string; description: string; kind: string }) {
  return withRules(
    z.object({
      size: Quantity.default(opts.defaultSize).describe(`Size of each replica's volume for ${opts.what}.`),
      storageClassName: z.string().max(253).optional().describe('StorageClass of the volumes. Default: the cluster default.'),
    }),
    `${opts.description} Fixed once created.`,
    [
      {
        rule: 'self == oldSelf',
        message: `${opts.field} cannot change after creation (the volumes of a StatefulSet are fixed); create a new ${opts.kind} instead`,
        // A transition rule: only the API server sees the old object.
        check: () => true,
      },
    ],
  ).prefault({});
}
