import { cidrContains, parseCidr } from '../api/cidr.ts';
import { DHCP_RESERVATIONS_ANNOTATION, readReport, ReservationReport, type ReservedAddressReport } from '../api/leases.ts';
import { DhcpReservation, formatIssues, type DhcpSubnet, type ReservationState } from '../api/index.ts';
import { parseIPv4 } from '../api/ipv4.ts';
import type { KubeObject } from '../runtime/client.ts';

// DhcpReservations of a subnet, as pure functions: which are merged into the
// subnet's config (the rest rejected, each with its reason), and the status
// of one from what the subnet's servers report. Older wins an overlap
// (creation time, then name), so every pass decides the same way; inline
// spec.reservations always win over resources.

/** Merged into a subnet's config at most; more are rejected (the servers' report stays well under a Lease's annotation limit). */
export const MAX_RESERVATIONS_PER_SUBNET = 4096;

export interface Rejection {
  reason: string;
  message: string;
}

export interface Judgement {
  /** Accepted, in a stable order (by name): what the config carries. */
  accepted: DhcpReservation[];
  /** By reservation name. */
  rejected: Map<string, Rejection>;
}

/** The DhcpReservations naming `subnet` (by namespace and subnetRef), not being deleted. */
export function reservationsOf(objects: readonly KubeObject[], namespace: string | undefined, subnet: string): KubeObject[] {
  return objects.filter(
    (o) => o.metadata.namespace === namespace && !o.metadata.deletionTimestamp && (o['spec'] as { subnetRef?: { name?: unknown } } | undefined)?.subnetRef?.name === subnet,
  );
}

function olderFirst(a: KubeObject, b: KubeObject): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  return ta === tb ? a.metadata.name.localeCompare(b.metadata.name) : ta.localeCompare(tb);
}

function who(r: DhcpReservation): string {
  return r.spec.mac !== undefined ? `mac ${r.spec.mac}` : `clientId ${r.spec.clientId}`;
}

/** Decides which reservations of the subnet are served. */
export function judgeReservations(subnet: DhcpSubnet, objects: readonly KubeObject[]): Judgement {
  const rejected = new Map<string, Rejection>();
  const accepted: DhcpReservation[] = [];
  const cidr = parseCidr(subnet.spec.cidr);
  const name = subnet.metadata.name;
  const inlineByIp = new Map((subnet.spec.reservations ?? []).map((r) => [r.ip, r.mac]));
  const inlineByMac = new Map((subnet.spec.reservations ?? []).map((r) => [r.mac, r.ip]));
  const takenIp = new Map<string, string>();
  const takenClient = new Map<string, string>();
  for (const obj of [...objects].sort(olderFirst)) {
    const reject = (reason: string, message: string) => rejected.set(obj.metadata.name, { reason, message });
    const parsed = DhcpReservation.safeParse(obj);
    if (!parsed.success) {
      reject('InvalidSpec', formatIssues(parsed.error));
      continue;
    }
    const r = parsed.data;
    const ip = parseIPv4(r.spec.ip);
    const client = r.spec.mac !== undefined ? `mac:${r.spec.mac}` : `id:${r.spec.clientId}`;
    if (!cidr || ip === undefined || !cidrContains(cidr, ip)) {
      reject('OutsideSubnet', `ip ${r.spec.ip} is outside DhcpSubnet ${name} (${subnet.spec.cidr})`);
    } else if ((cidr.prefixLength < 31 && (ip === cidr.first || ip === cidr.last)) || r.spec.ip === subnet.spec.gateway) {
      reject('UnusableAddress', `ip ${r.spec.ip} is the network, broadcast or gateway address of DhcpSubnet ${name}`);
    } else if (inlineByIp.has(r.spec.ip)) {
      reject('Overlap', `ip ${r.spec.ip} is already reserved in DhcpSubnet ${name} spec.reservations (mac ${inlineByIp.get(r.spec.ip)}); inline reservations and DhcpReservations may not overlap: remove one of them`);
    } else if (r.spec.mac !== undefined && inlineByMac.has(r.spec.mac)) {
      reject('Overlap', `mac ${r.spec.mac} already has a reservation in DhcpSubnet ${name} spec.reservations (${inlineByMac.get(r.spec.mac)}); inline reservations and DhcpReservations may not overlap: remove one of them`);
    } else if (takenIp.has(r.spec.ip)) {
      reject('Overlap', `ip ${r.spec.ip} is already reserved by DhcpReservation ${takenIp.get(r.spec.ip)}, which was there first`);
    } else if (takenClient.has(client)) {
      reject('Overlap', `${who(r)} already has a reservation: DhcpReservation ${takenClient.get(client)}, which was there first`);
    } else if (accepted.length >= MAX_RESERVATIONS_PER_SUBNET) {
      reject('TooMany', `DhcpSubnet ${name} already serves ${MAX_RESERVATIONS_PER_SUBNET} DhcpReservations, the most one subnet takes`);
    } else {
      accepted.push(r);
      takenIp.set(r.spec.ip, r.metadata.name);
      takenClient.set(client, r.metadata.name);
    }
  }
  accepted.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  return { accepted, rejected };
}

/** What the subnet's servers report about one reservation (only the reports for its current address). */
export function reportsFor(leases: readonly KubeObject[], subnet: string, reservation: string, ip: string): ReservedAddressReport[] {
  const out: ReservedAddressReport[] = [];
  for (const lease of leases) {
    const report = readReport(ReservationReport, lease.metadata.annotations, DHCP_RESERVATIONS_ANNOTATION);
    const entry = report?.[subnet]?.[reservation];
    // Another address: a server still running the config from before an edit.
    if (entry && entry.ip === ip) out.push(entry);
  }
  return out;
}

export interface ReservationOutcome {
  state: ReservationState;
  reason: string;
  message: string;
  expires?: string;
  holder?: string;
  /** Ready: the servers serve it and nothing stands in its way (Bound, or Pending for its client). */
  ready: boolean;
}

export interface ReservationInputs {
  reservation: DhcpReservation;
  /** The subnet, when it exists and is valid. */
  subnet?: DhcpSubnet;
  /** Why the subnet does not serve at all (invalid, overlapping another), when it does not. */
  subnetProblem?: string;
  rejection?: Rejection;
  reports: ReservedAddressReport[];
}

/** The status of one reservation: a chain of checks, the first that applies decides. */
export function reservationOutcome(i: ReservationInputs): ReservationOutcome {
  const r = i.reservation;
  const subnetName = r.spec.subnetRef.name;
  const client = r.spec.mac !== undefined ? `the client (mac ${r.spec.mac})` : `the client (clientId ${r.spec.clientId})`;
  if (!i.subnet) {
    return { state: 'Pending', reason: 'SubnetNotFound', message: `DhcpSubnet ${subnetName} does not exist in namespace ${r.metadata.namespace ?? ''}`, ready: false };
  }
  if (i.subnetProblem !== undefined) {
    return { state: 'Pending', reason: 'SubnetNotServed', message: `DhcpSubnet ${subnetName} is not served: ${i.subnetProblem}`, ready: false };
  }
  if (i.rejection) return { state: 'Rejected', reason: i.rejection.reason, message: i.rejection.message, ready: false };
  const conflict = i.reports.find((e) => e.state === 'conflict');
  if (conflict) {
    const until = conflict.expires ?? 'unknown';
    if (conflict.quarantined !== undefined) {
      const found = conflict.quarantined === 'ping' ? 'it answered a ping before being offered' : 'a client found it in use (DHCPDECLINE)';
      return {
        state: 'Conflict',
        reason: 'AddressQuarantined',
        message: `${r.spec.ip} is quarantined until ${until}: ${found}, so a host uses it without a lease. Take the address off that host (look for ${r.spec.ip} with arping or in your inventory), or reserve another address; ${client} is served a pool address meanwhile and gets ${r.spec.ip} at its next renewal after the quarantine.`,
        expires: until,
        ready: false,
      };
    }
    return {
      state: 'Conflict',
      reason: 'LeasedToAnotherClient',
      message: `${r.spec.ip} is leased to another client (mac ${conflict.holder ?? 'unknown'}) until ${until}. Nobody is kicked off: that client keeps the address while it renews, and ${client} is served a pool address meanwhile. To hand the address over, release it on that client (e.g. dhclient -r) or let its lease run out; the reservation then takes effect at the reserved client's next renewal. Or reserve another address.`,
      expires: until,
      ...(conflict.holder !== undefined ? { holder: conflict.holder } : {}),
      ready: false,
    };
  }
  const bound = i.reports.filter((e) => e.state === 'bound' && e.expires !== undefined).sort((a, b) => (b.expires ?? '').localeCompare(a.expires ?? ''))[0];
  if (bound) {
    return { state: 'Bound', reason: 'Bound', message: `${client} holds ${r.spec.ip}`, expires: bound.expires as string, ready: true };
  }
  if (i.reports.length > 0) {
    return {
      state: 'Pending',
      reason: 'NotLeased',
      message: `served by DhcpSubnet ${subnetName}; ${client} has no lease on ${r.spec.ip} yet: it gets it at its next DISCOVER, or at its next renewal if it holds another address`,
      ready: true,
    };
  }
  return {
    state: 'Pending',
    reason: 'NotServedYet',
    message: `waiting for the servers of DhcpSubnet ${subnetName} to load it (a ConfigMap update reaches the pods within a minute or two)`,
    ready: false,
  };
}
