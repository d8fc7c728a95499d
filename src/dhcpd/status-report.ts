// The conflict part of the status report (src/api/dhcp-status.ts): per
// subnet, the quarantined addresses and the conflicts within the window.
// Pure and deterministic (sorted, seconds), so equal state gives equal text
// and the publisher writes only on change.

import { type ConflictReport, MAX_REPORTED_QUARANTINE, type QuarantinedAddress } from '../api/dhcp-status.ts';
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
      addresses: list.slice(0, MAX_REPORTED_QUARANTINE).map((q) => ({ ip: formatIPv4(q.ip), reason: q.reason, until: new Date(Math.floor(q.until / 1000) * 1000).toISOString().replace('.000Z', 'Z') })),
      ...(s.pingCheck && pingUnavailable !== undefined ? { pingUnavailable } : {}),
    };
  }
  return out;
}
