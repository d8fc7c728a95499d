// coordination.k8s.io/v1 Leases, as the leader elector, macd's block Leases
// and dhcpd's status Lease write them.

import { resourcePath, type KubeObject, type ResourceType } from './client.ts';

export const LeaseType: ResourceType = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true };

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  spec?: LeaseSpec;
}

/** REST path of a namespace's Leases, or of one. */
export function leasePath(namespace: string, name?: string): string {
  return resourcePath(LeaseType, namespace, name);
}

/** A MicroTime (RFC 3339 with microseconds): the API server refuses a Date's milliseconds in a Lease. */
export function microTime(d: Date): string {
  return d.toISOString().replace('Z', '000Z');
}
