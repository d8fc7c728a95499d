// The API of alcor.dev/v1alpha1: zod schemas (the single source of the CRDs),
// their TypeScript types, and the kinds table.

import { dataPlaneManagerKind } from './dataplanemanager.ts';
import { dhcpReservationKind } from './dhcpreservation.ts';
import { dhcpSubnetKind } from './dhcpsubnet.ts';
import { macPoolKind } from './macpool.ts';

export { API_VERSION, Condition, ConditionStatus, GROUP, ObjectMeta, Quantity, ResourceRequirements, VERSION, formatIssues } from './common.ts';
export type { KindInfo, Rule } from './common.ts';
export * from './macpool.ts';
export * from './dhcpsubnet.ts';
export * from './dhcpreservation.ts';
export * from './dataplanemanager.ts';
export { InvalidResourceError, parseResource, type AlcorResource } from './resource.ts';

/** Names of each kind as the API server knows them. */
export const kinds = {
  MacPool: macPoolKind,
  DhcpSubnet: dhcpSubnetKind,
  DataPlaneManager: dataPlaneManagerKind,
  DhcpReservation: dhcpReservationKind,
} as const;
export type KindName = keyof typeof kinds;
