// The status contract with the operator: a coordination.k8s.io/v1 Lease per
// server whose annotation alcor.dev/leases holds {"<subnet>": <bound leases>}.
// Written at most every 5 s and only when the counts change; the operator sums
// the Leases of a DhcpSubnet's servers into status.leased.

import { readFileSync } from 'node:fs';
import { CoordinationV1Api, V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import { DHCP_LEASES_ANNOTATION, DHCP_SERVER_LABEL } from '../api/leases.ts';
import { loadKubeConfig } from '../runtime/kube.ts';
import type { Logger } from '../runtime/log.ts';
import type { DhcpCore } from './core.ts';

export interface StatusPublisherOptions {
  core: DhcpCore;
  leaseName: string;
  namespace?: string;
  kubeconfig?: string;
  serverName: string;
  logger: Logger;
  intervalMs?: number;
}

/** The annotation value: bound leases per subnet, keys sorted so equal counts give equal text. */
export function leaseCounts(core: DhcpCore, now: number): string {
  const counts = core.leases.countBySubnet(now);
  const out: Record<string, number> = {};
  for (const s of [...core.subnets()].sort((a, b) => a.name.localeCompare(b.name))) out[s.name] = counts.get(s.name)?.bound ?? 0;
  return JSON.stringify(out);
}

function podNamespace(): string {
  try {
    return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim();
  } catch {
    return 'default';
  }
}

export async function startStatusPublisher(o: StatusPublisherOptions): Promise<() => Promise<void>> {
  const api = loadKubeConfig(o.kubeconfig).makeApiClient(CoordinationV1Api);
  const namespace = o.namespace ?? podNamespace();
  let published: string | undefined;
  let running = false;
  const publish = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      const value = leaseCounts(o.core, Date.now());
      if (value === published) return;
      // A MicroTime: a plain Date serialises with milliseconds, which the API server refuses.
      const renewTime = new V1MicroTime();
      let existing: V1Lease | undefined;
      try {
        existing = await api.readNamespacedLease({ name: o.leaseName, namespace });
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
      }
      const metadata = {
        ...(existing?.metadata ?? {}),
        name: o.leaseName,
        namespace,
        labels: { ...(existing?.metadata?.labels ?? {}), [DHCP_SERVER_LABEL]: o.serverName },
        annotations: { ...(existing?.metadata?.annotations ?? {}), [DHCP_LEASES_ANNOTATION]: value },
      };
      const body: V1Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec: { ...(existing?.spec ?? {}), holderIdentity: o.serverName, renewTime } };
      if (existing) await api.replaceNamespacedLease({ name: o.leaseName, namespace, body });
      else await api.createNamespacedLease({ namespace, body });
      published = value;
    } catch (err) {
      // Retried on the next tick (a conflict re-reads the Lease).
      o.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'status Lease update failed');
    } finally {
      running = false;
    }
  };
  await publish();
  const timer = setInterval(() => void publish(), o.intervalMs ?? 5000);
  return async () => {
    clearInterval(timer);
  };
}
