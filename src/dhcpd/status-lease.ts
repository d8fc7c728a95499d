// The report Lease, dhcpd's side of the status contract (src/api/leases.ts):
// a coordination.k8s.io/v1 Lease per server, labelled with its DhcpSubnet.
// Its alcor.dev/served annotation says what the server serves: the config
// generation it applied, what it refused, its share, and per subnet its
// capacity and bound leases (dhcpdReport); beside it alcor.dev/conflicts (the
// quarantined addresses and recent conflicts) and alcor.dev/reservations (the
// state of each DhcpReservation), src/api/dhcp-status.ts. Written when any
// changes: at once after a reload, otherwise checked every 5 s. The operator
// builds the DhcpSubnet's status from these.

import { readFileSync } from 'node:fs';
import { DHCP_SERVER_LABEL, type DhcpdReport } from '../api/leases.ts';
import type { Logger } from '../process/log.ts';
import { KubeClient } from '../runtime/client.ts';
import { leasePath, microTime, type Lease } from '../runtime/lease.ts';
import { loadRestConfig } from '../runtime/restconfig.ts';
import type { DhcpCore } from './core.ts';
import type { ConfigApplied } from './daemon.ts';
import { shareCapacity } from './subnet.ts';

export interface StatusPublisherOptions {
  /** The annotations to publish as of `now` (ms), each a deterministic text (equal state, equal text). */
  annotations: (now: number) => Record<string, string>;
  leaseName: string;
  namespace?: string;
  kubeconfig?: string;
  serverName: string;
  logger: Logger;
  intervalMs?: number;
}

export interface StatusPublisher {
  /** Something changed (a reload): publish now, not at the next tick. */
  publishNow(): void;
  stop(): Promise<void>;
}

/** What a server with this core serves: its share of each subnet and the leases bound there. */
export function dhcpdReport(core: DhcpCore, applied: ConfigApplied, share: number, now: number): DhcpdReport {
  const counts = core.leases.countBySubnet(now);
  const shares = core.shareCount();
  const subnets: DhcpdReport['subnets'] = {};
  for (const s of core.subnets()) subnets[s.name] = { capacity: shareCapacity(s, share, shares), leased: counts.get(s.name)?.bound ?? 0 };
  return { generation: applied.generation, refused: applied.refused, share, shares, subnets };
}

function podNamespace(): string {
  try {
    return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim();
  } catch {
    return 'default';
  }
}

export async function startStatusPublisher(o: StatusPublisherOptions): Promise<StatusPublisher> {
  const client = new KubeClient(await loadRestConfig(o.kubeconfig));
  const namespace = o.namespace ?? podNamespace();
  const path = leasePath(namespace, o.leaseName);
  let published: string | undefined;
  let running = false;
  let again = false;
  const publish = async (): Promise<void> => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      const annotations = o.annotations(Date.now());
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
      o.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'report Lease update failed');
    } finally {
      running = false;
      if (again) {
        again = false;
        void publish();
      }
    }
  };
  await publish();
  const timer = setInterval(() => void publish(), o.intervalMs ?? 5000);
  return {
    publishNow: () => void publish(),
    stop: async () => {
      clearInterval(timer);
      client.close();
    },
  };
}
