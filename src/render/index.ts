// Pure rendering: a resource and settings in, the Kubernetes objects its pods
// need out. No clock, no randomness, no I/O, no client.

export { defaultRenderSettings } from './types.ts';
export type { KubeObject, OwnerReference, RenderSettings } from './types.ts';
export { CONFIG_CHECKSUM_ANNOTATION } from './common.ts';
export { OWNER_ANNOTATION, OWNER_UID_LABEL } from './alcor.ts';
export { HEALTH_PATH } from './springboot.ts';
export { renderMacPool, macPoolEndpoint, macdName, effectiveRanges, macdConfig, macManagerProperties } from './macpool/index.ts';
export { renderDhcpSubnet, dhcpdConfig, dhcpdName, leaseSeconds } from './dhcpsubnet/index.ts';
export { renderDataPlaneManager, dpmProperties } from './dataplanemanager/index.ts';

import type { AlcorResource, DhcpReservation } from '../api/index.ts';
import { renderDataPlaneManager } from './dataplanemanager/index.ts';
import { renderDhcpSubnet } from './dhcpsubnet/index.ts';
import { renderMacPool } from './macpool/index.ts';
import type { KubeObject, RenderSettings } from './types.ts';

/**
 * Renders whichever kind the resource is. A DhcpSubnet takes the
 * DhcpReservations accepted for it; a DhcpReservation renders nothing of its
 * own (its subnet's ConfigMap carries it).
 */
export function renderResource(r: AlcorResource, settings: RenderSettings, reservations: readonly DhcpReservation[] = []): KubeObject[] {
  switch (r.kind) {
    case 'MacPool':
      return renderMacPool(r.resource, settings);
    case 'DhcpSubnet':
      return renderDhcpSubnet(r.resource, settings, reservations);
    case 'DataPlaneManager':
      return renderDataPlaneManager(r.resource, settings);
    case 'DhcpReservation':
      return [];
  }
}
