// The status contract with the operator: a coordination.k8s.io/v1 Lease per
// server whose annotation alcor.dev/leases holds {"<subnet>": <bound leases>}
// and alcor.dev/conflicts the quarantined addresses and recent conflicts,
// alcor.dev/reservations the state of each DhcpReservation (src/api/dhcp-status.ts). Written at most every 5 s and only when a value
// changes; the operator sums the Leases of a DhcpSubnet's servers into its
// status.

import { readFileSync } from 'node:fs';
import { DHCP_CONFLICTS_ANNOTATION, DHCP_LEASES_ANNOTATION, DHCP_RESERVATIONS_ANNOTATION, DHCP_SERVER_LABEL } from '../api/leases.ts';
import type { Logger } from '../process/log.ts';
import { KubeClient } from '../runtime/client.ts';
import { leasePath, microTime, type Lease } from '../runtime/lease.ts';
import { loadRestConfig } from '../runtime/restconfig.ts';
import type { DhcpCore } from './core.ts';
import type { Prober } from './ping/prober.ts';
import { conflictReport, reservationReport } from './status-report.ts';

export interface StatusPublisherOptions {
  core: DhcpCore;
  /** Its reason to report, when conflictDetection: ping cannot work here. */
  prober?: Prober;
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
  const client = new KubeClient(await loadRestConfig(o.kubeconfig));
  const namespace = o.namespace ?? podNamespace();
  const path = leasePath(namespace, o.leaseName);
  let published: string | undefined;
  let running = false;
  const publish = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      const now = Date.now();
      const annotations = {
        [DHCP_LEASES_ANNOTATION]: leaseCounts(o.core, now),
        [DHCP_CONFLICTS_ANNOTATION]: JSON.stringify(conflictReport(o.core, now, o.prober?.unavailable())),
        [DHCP_RESERVATIONS_ANNOTATION]: JSON.stringify(reservationReport(o.core, now)),
      };
      const value = JSON.stringify(annotations);
      if (value === published) return;
      const existing = await client.getOptional<Lease>(path);
      const metadata = {
        ...(existing?.metadata ?? {}),
        name: o.leaseName,
        namespace,
        labels: { ...(existing?.metadata.labels ?? {}), [DHCP_SERVER_LABEL]: o.serverName },
        annotations: { ...(existing?.metadata.annotations ?? {}), ...annotations },
      };
      const body: Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec: { ...(existing?.spec ?? {}), holderIdentity: o.serverName, renewTime: microTime(new Date()) } };
      // An update carries the resourceVersion read: a conflict fails it, and the next tick re-reads.
      if (existing) await client.update(path, body);
      else await client.create(leasePath(namespace), body);
      published = value;
    } catch (err) {
      o.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'status Lease update failed');
    } finally {
      running = false;
    }
  };
  await publish();
  const timer = setInterval(() => void publish(), o.intervalMs ?? 5000);
  return async () => {
    clearInterval(timer);
    client.close();
  };
}
