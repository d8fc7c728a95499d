import { z } from 'zod';
import { GROUP, nameRule, VERSION, type KindInfo } from './common.ts';
import { DataPlaneManagerSpec, DataPlaneManagerStatus, dataPlaneManagerKind } from './dataplanemanager.ts';
import { DhcpReservationSpec, DhcpReservationStatus, dhcpReservationKind } from './dhcpreservation.ts';
import { DhcpSubnetSpec, DhcpSubnetStatus, dhcpSubnetKind } from './dhcpsubnet.ts';
import { MacPoolSpec, MacPoolStatus, macPoolKind } from './macpool.ts';
import { toStructural, type JsonSchema } from './openapi.ts';

// The CustomResourceDefinitions, generated from the zod schemas: `alcor-operator
// crds` prints them and scripts/generate-crds.ts writes crds/*.yaml.

interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

const ready: PrinterColumn = {
  name: 'Ready',
  type: 'string',
  jsonPath: '.status.conditions[?(@.type=="Ready")].status',
  description: 'The Ready condition',
};
const age: PrinterColumn = { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' };

interface KindDefinition {
  info: KindInfo;
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  columns: PrinterColumn[];
  /** Its name names rendered objects, so it is held to nameRule. */
  namesObjects: boolean;
}

const definitions: KindDefinition[] = [
  {
    info: macPoolKind,
    description: "A pool of MAC addresses served over Alcor's MAC manager REST API.",
    spec: MacPoolSpec,
    status: MacPoolStatus,
    columns: [
      { name: 'OUI', type: 'string', jsonPath: '.spec.oui' },
      { name: 'Capacity', type: 'integer', jsonPath: '.status.capacity' },
      { name: 'Allocated', type: 'integer', jsonPath: '.status.allocated' },
      ready,
      { name: 'Endpoint', type: 'string', jsonPath: '.status.endpoint', priority: 1 },
      age,
    ],
    namesObjects: true,
  },
  {
    info: dhcpSubnetKind,
    description: "An IPv4 subnet served by the operator's DHCP servers.",
    spec: DhcpSubnetSpec,
    status: DhcpSubnetStatus,
    columns: [
      { name: 'CIDR', type: 'string', jsonPath: '.spec.cidr' },
      { name: 'Leased', type: 'integer', jsonPath: '.status.leased' },
      { name: 'Available', type: 'integer', jsonPath: '.status.available' },
      ready,
      { name: 'Mode', type: 'string', jsonPath: '.spec.server.mode', priority: 1 },
      { name: 'Quarantined', type: 'integer', jsonPath: '.status.quarantined', priority: 1 },
      age,
    ],
    namesObjects: true,
  },
  {
    info: dataPlaneManagerKind,
    description: "Alcor's Data Plane Manager (Deployment, Service and application.properties).",
    spec: DataPlaneManagerSpec,
    status: DataPlaneManagerStatus,
    columns: [
      { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
      { name: 'Ready', type: 'integer', jsonPath: '.status.readyReplicas', description: 'Ready pods' },
      { name: 'PathMode', type: 'string', jsonPath: '.spec.pathMode' },
      age,
    ],
    namesObjects: true,
  },
  {
    info: dhcpReservationKind,
    description: 'A fixed address for one client of a DhcpSubnet, owned apart from the subnet.',
    spec: DhcpReservationSpec,
    status: DhcpReservationStatus,
    columns: [
      { name: 'Subnet', type: 'string', jsonPath: '.spec.subnetRef.name' },
      { name: 'IP', type: 'string', jsonPath: '.spec.ip' },
      { name: 'MAC', type: 'string', jsonPath: '.spec.mac' },
      { name: 'State', type: 'string', jsonPath: '.status.state' },
      { name: 'Expires', type: 'date', jsonPath: '.status.expires', priority: 1 },
      { name: 'Client-ID', type: 'string', jsonPath: '.spec.clientId', priority: 1 },
      age,
    ],
    namesObjects: false,
  },
];

function openApi(schema: z.ZodType, path: string): JsonSchema {
  const json = z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0', unrepresentable: 'throw' }) as JsonSchema;
  return toStructural(json, path);
}

function crd(def: KindDefinition): Record<string, unknown> {
  const { info } = def;
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: {
      name: `${info.plural}.${GROUP}`,
      labels: { 'app.kubernetes.io/part-of': 'alcor', 'app.kubernetes.io/managed-by': 'alcor-operator' },
    },
    spec: {
      group: GROUP,
      names: {
        kind: info.kind,
        listKind: info.listKind,
        plural: info.plural,
        singular: info.singular,
        shortNames: info.shortNames,
        categories: ['alcor'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: def.columns,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: def.description,
              required: ['spec'],
              ...(def.namesObjects ? { 'x-kubernetes-validations': [nameRule] } : {}),
              properties: {
                apiVersion: {
                  type: 'string',
                  description: 'APIVersion defines the versioned schema of this representation of an object.',
                },
                kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
                metadata: { type: 'object' },
                spec: openApi(def.spec, 'spec'),
                status: openApi(def.status, 'status'),
              },
            },
          },
        },
      ],
    },
  };
}

/** One CustomResourceDefinition per kind: MacPool, DhcpSubnet, DataPlaneManager, DhcpReservation. */
export function generateCrds(): Record<string, unknown>[] {
  return definitions.map(crd);
}
