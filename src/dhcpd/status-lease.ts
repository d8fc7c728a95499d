// The report Lease, dhcpd's side of the status contract (src/api/leases.ts):
// a coordination.k8s.io/v1 Lease per server, labelled with its DhcpSubnet.
// Its alcor.dev/served annotation says what the server serves: the config
// generation it applied, what it refused, its share, and per subnet its
// capacity and bound leases (dhcpdReport); beside it alcor.dev/conflicts (the
// quarantined addresses and recent conflicts) and alcor.dev/reservations (the
// state of each DhcpReservation), each by its schema there. Written when any
// changes: at once after a reload, otherwise checked every 5 s. The operator
// builds the DhcpSubnet's status from these.
//
// The Lease says what a running server serves, so it lives as long as the
// server's pod: an ownerReference to the pod (--owner-pod, from the downward
// API) lets the garbage collector delete it with the pod, after a scale-down,
// a node leaving a node-local DaemonSet or the DhcpSubnet's deletion. A
// replacement pod (same Lease name) takes the Lease over as its owner, and
// every 30 s the server checks that its Lease is still there.

import { readFileSync } from 'node:fs';
import { FORMAT_ANNOTATION, FORMATS } from '../api/formats.ts';
import { DHCP_SERVER_LABEL, type DhcpdReport } from '../api/leases.ts';
import { RELEASE_VERSION } from '../api/version.ts';
import type { Logger } from '../process/log.ts';
import { KubeClient } from '../runtime/client.ts';
import { stableStringify } from '../runtime/diff.ts';
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
  /** The pod this server runs in: the Lease's owner. Absent (outside a pod), the Lease has none. */
  ownerPod?: { name: string; uid: string };
  logger: Logger;
  intervalMs?: number;
  /** How often an unchanged report is checked against the Lease (one GET), so a Lease deleted meanwhile comes back. */
  verifyMs?: number;
}

export interface StatusPublisher {
  /** Something changed (a reload): publish now, not at the next tick. */
  publishNow(): void;
  stop(): Promise<void>;
}

/** What a server with this core serves: its share of each subnet and the leases bound there; its release, and its pod's uid when known. */
export function dhcpdReport(core: DhcpCore, applied: ConfigApplied, share: number, now: number, pod?: string): DhcpdReport {
  const counts = core.leases.countBySubnet(now);
  const shares = core.shareCount();
  const subnets: DhcpdReport['subnets'] = {};
  for (const s of core.subnets()) subnets[s.name] = { capacity: shareCapacity(s, share, shares), leased: counts.get(s.name)?.bound ?? 0 };
  return {
    generation: applied.generation,
    refused: applied.refused,
    share,
    shares,
    subnets,
    version: RELEASE_VERSION,
    ...(pod !== undefined ? { pod } : {}),
    ...(applied.blocked !== undefined ? { blocked: applied.blocked } : {}),
  };
}

function podNamespace(): string {
  try {
    return readFileSync('/var/run/secrets/kubernetes.io/serviceaccount/namespace', 'utf8').trim();
  } catch {
    return 'default';
  }
}

/** Labels, annotations and owners as the Lease has them already: no write needed. */
function sameMetadata(have: Lease['metadata'], want: Lease['metadata']): boolean {
  const same = (a: unknown, b: unknown) => stableStringify(a ?? null) === stableStringify(b ?? null);
  return same(have.labels, want.labels) && same(have.annotations, want.annotations) && same(have.ownerReferences, want.ownerReferences);
}

export async function startStatusPublisher(o: StatusPublisherOptions): Promise<StatusPublisher> {
  const client = new KubeClient(await loadRestConfig(o.kubeconfig));
  const namespace = o.namespace ?? podNamespace();
  const path = leasePath(namespace, o.leaseName);
  const ownerReferences = o.ownerPod ? [{ apiVersion: 'v1', kind: 'Pod', name: o.ownerPod.name, uid: o.ownerPod.uid }] : undefined;
  const verifyMs = o.verifyMs ?? 30_000;
  let published: string | undefined;
  let verifiedAt = 0;
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
      if (value === published && Date.now() - verifiedAt < verifyMs) return;
      const existing = await client.getOptional<Lease>(path);
      const metadata = {
        ...(existing?.metadata ?? {}),
        name: o.leaseName,
        namespace,
        labels: { ...(existing?.metadata.labels ?? {}), [DHCP_SERVER_LABEL]: o.serverName },
        // The format of what it writes: what 0.2.0 reads, plus this version it ignores.
        annotations: { ...(existing?.metadata.annotations ?? {}), ...annotations, [FORMAT_ANNOTATION]: String(FORMATS.reportLeases.writes) },
        // Ours replace an earlier pod's: that pod is gone, and its reference would let the collector take the Lease.
        ...(ownerReferences ? { ownerReferences } : {}),
      };
      if (existing && sameMetadata(existing.metadata, metadata)) {
        published = value;
        verifiedAt = Date.now();
        return;
      }
      const body: Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec: { ...(existing?.spec ?? {}), holderIdentity: o.serverName, renewTime: microTime(new Date()) } };
      // An update carries the resourceVersion read: a conflict fails it, and the next tick re-reads.
      if (existing) await client.update(path, body);
      else await client.create(leasePath(namespace), body);
      published = value;
      verifiedAt = Date.now();
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
