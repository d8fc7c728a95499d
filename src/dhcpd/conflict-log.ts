// When address conflicts happened, per subnet: the last 1024 times (for the
// count within a window the status report gives) and totals by source.

import type { ConflictSource } from './leases.ts';

const KEPT = 1024;

export class ConflictLog {
  private readonly bySubnet = new Map<string, { at: number[]; total: Record<ConflictSource, number> }>();

  note(subnet: string, source: ConflictSource, at: number): void {
    let log = this.bySubnet.get(subnet);
    if (!log) this.bySubnet.set(subnet, (log = { at: [], total: { decline: 0, ping: 0 } }));
    log.at.push(at);
    if (log.at.length > KEPT) log.at.shift();
    log.total[source]++;
  }

  /** Conflicts in (now - windowMs, now], and since start by source. */
  of(subnet: string, now: number, windowMs: number): { recent: number; total: Record<ConflictSource, number> } {
    const log = this.bySubnet.get(subnet);
    if (!log) return { recent: 0, total: { decline: 0, ping: 0 } };
    let recent = 0;
    for (const t of log.at) if (t > now - windowMs && t <= now) recent++;
    return { recent, total: { ...log.total } };
  }
}
