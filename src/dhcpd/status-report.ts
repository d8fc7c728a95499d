// What a server reports beyond the lease count (src/api/leases.ts): per
// subnet, the quarantined addresses and the conflicts within the window, and
// the state of each DhcpReservation in this replica's share. Pure and
// deterministic (sorted, seconds), so equal state gives equal text and the
// publisher writes only on change.

import { type ConflictReport, MAX_REPORTED_QUARANTINE, type QuarantinedAddress, type ReservationReport } from '../api/leases.ts';
import { formatIPv4 } from '../api/ipv4.ts';
import type { DhcpCore } from './core.ts';

export function conflictReport(core: DhcpCore, now: number, pingUnavailable: string | undefined): ConflictReport {
  const bySubnet = new Map<string, Array<{ ip: number; reason: QuarantinedAddress['reason']; until: number }>>();
  for (const l of core.leases.byIp.values()) {
    if (l.state !== 'quarantined' || l.expires <= now) continue;
    let list = bySubnet.get(l.subnet);
    if (!list) bySubnet.set(l.subnet, (list = []));
    list.push({ ip: l.ip, reason: l.conflict ?? 'decline', until: l.expires });
  }
  const out: ConflictReport = {};
  for (const s of [...core.subnets()].sort((a, b) => a.name.localeCompare(b.name))) {
    const list = (bySubnet.get(s.name) ?? []).sort((a, b) => a.until - b.until || a.ip - b.ip);
    out[s.name] = {
      quarantined: list.length,
      recent: core.conflictsOf(s.name, now).recent,
      windowSeconds: Math.round(s.conflictWindowMs / 1000),
      addresses: list.slice(0, MAX_REPORTED_QUARANTINE).map((q) => ({ ip: formatIPv4(q.ip), reason: q.reason, until: rfc3339(q.until) })),
      ...(s.pingCheck && pingUnavailable !== undefined ? { pingUnavailable } : {}),
    };
  }
  return out;
}

/** ms since the epoch → RFC 3339 in whole seconds. */
function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** "020000000001" → "02:00:00:00:00:01". */
function colonMac(hex: string): string {
  return hex.match(/../g)?.join(':') ?? hex;
}

/** Each named reservation (from a DhcpReservation) whose address is in this replica's share. */
export function reservationReport(core: DhcpCore, now: number): ReservationReport {
  const out: ReservationReport = {};
  for (const s of [...core.subnets()].sort((a, b) => a.name.localeCompare(b.name))) {
    const mine: ReservationReport[string] = {};
    const named = [...s.reservationByIp.values()].filter((r) => r.name !== undefined && core.inShare(r.ip));
    for (const r of named.sort((a, b) => (a.name as string).localeCompare(b.name as string))) {
      const st = core.reservationState(r, now);
      mine[r.name as string] = {
        ip: formatIPv4(r.ip),
        state: st.state,
        ...(st.state !== 'pending' ? { expires: rfc3339(st.expires) } : {}),
        ...(st.state === 'conflict' && st.holder !== undefined ? { holder: colonMac(st.holder) } : {}),
        ...(st.state === 'conflict' && st.quarantined !== undefined ? { quarantined: st.quarantined } : {}),
      };
    }
    if (named.length > 0) out[s.name] = mine;
  }
  return out;
}
