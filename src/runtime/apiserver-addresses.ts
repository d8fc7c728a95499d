// Where the API server connects from, for the NetworkPolicies that admit its
// service proxy: the addresses of the `kubernetes` Service's endpoints in
// `default`, which is the API server's own address on kubeadm and kind
// clusters and on most managed ones. Where its connections come from
// elsewhere (a tunnel address, a konnectivity agent), the user says so with
// --api-server-cidrs.

import { cidrPattern } from '../api/cidr.ts';
import { parseIPv4 } from '../api/ipv4.ts';
import type { KubeClient } from './client.ts';

interface SliceList {
  items: Array<{ addressType?: string; endpoints?: Array<{ addresses: string[] }> | null }>;
}

/** "10.0.0.0/24,172.18.0.2/32" → the CIDRs; a bare address becomes a /32; throws naming a malformed one. */
export function parseCidrList(text: string): string[] {
  return text
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '')
    .map((c) => {
      const cidr = parseIPv4(c) !== undefined ? `${c}/32` : c;
      if (!cidrPattern.test(cidr)) throw new Error(`"${c}" is not an IPv4 address or CIDR`);
      return cidr;
    });
}

/** The API server's IPv4 addresses as /32s, sorted; empty when the `kubernetes` Service lists none. */
export async function discoverApiServerCidrs(client: KubeClient): Promise<string[]> {
  const selector = encodeURIComponent('kubernetes.io/service-name=kubernetes');
  const list = await client.get<SliceList>(`/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=${selector}`);
  const out = new Set<string>();
  for (const slice of list.items) {
    if (slice.addressType !== 'IPv4') continue;
    for (const ep of slice.endpoints ?? []) for (const a of ep.addresses) if (parseIPv4(a) !== undefined) out.add(`${a}/32`);
  }
  return [...out].sort();
}
