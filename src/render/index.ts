// Pure rendering: a resource and settings in, the Kubernetes objects its pods
// need out. No clock, no randomness, no I/O, no client.

export { defaultRenderSettings } from './types.ts';
export type { KubeObject, OwnerReference, RenderSettings } from './types.ts';
export { CONFIG_CHECKSUM_ANNOTATION } from './common.ts';
export { renderMacPool, macPoolCapacity, macPoolEndpoint, effectiveRanges, macdConfig, macManagerProperties } from './macpool/index.ts';
export { renderDhcpSubnet, dhcpSubnetCapacity, dhcpdConfig, dhcpdName, leaseSeconds } from './dhcpsubnet/index.ts';
export { renderDataPlaneManager, dpmProperties } from './dataplanemanager/index.ts';
