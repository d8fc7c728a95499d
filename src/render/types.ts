import { RELEASE_VERSION } from '../api/version.ts';

// What every renderer takes and returns.

export interface RenderSettings {
  /** The operator image; it also runs macd and dhcpd. */
  image: string;
  imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never';
  /**
   * Where the API server's connections come from (CIDRs): the servers'
   * NetworkPolicies admit them to the APIs kubectl-alcor reaches through the
   * service proxy. Empty: no such rule (the proxy then works only where
   * NetworkPolicies are not enforced).
   */
  apiServerCIDRs?: readonly string[];
}

export const defaultRenderSettings: RenderSettings = { image: `alcor-operator:${RELEASE_VERSION}` };

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller: true;
  blockOwnerDeletion: true;
}

/** A Kubernetes object as plain JSON, ready for server-side apply. */
export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerReference[];
  };
  [k: string]: unknown;
};
