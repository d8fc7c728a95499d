// Prometheus metrics of the DHCP server (its own registry).

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { collectProcessMetrics } from '../process/process-metrics.ts';
import type { DhcpCore } from './core.ts';
import { shareSize } from './subnet.ts';

export interface DhcpMetrics {
  registry: Registry;
  received: Counter<'type'>;
  sent: Counter<'type'>;
  drops: Counter<'reason'>;
  latency: Histogram<'type'>;
  reloads: Counter<'result'>;
  syncs: Counter;
  flushSeconds: Histogram;
  conflicts: Counter<'subnet' | 'source'>;
  pingChecks: Counter<'result'>;
  /** Runs before each scrape (the socket thread's counts are brought in). */
  beforeCollect: (() => Promise<void>) | undefined;
}

/**
 * Counts kept as plain numbers on the hot path and added to their counter
 * before each scrape: prom-client hashes the labels on every inc.
 */
export class Tally {
  private counts = new Map<string, number>();
  private readonly counter: Counter<string>;
  private readonly label: string;

  constructor(counter: Counter<string>, label: string) {
    this.counter = counter;
    this.label = label;
  }

  add(value: string, n = 1): void {
    this.counts.set(value, (this.counts.get(value) ?? 0) + n);
  }

  flush(): void {
    for (const [value, n] of this.counts) this.counter.inc({ [this.label]: value }, n);
    this.counts.clear();
  }
}

export function createMetrics(core: () => DhcpCore, share: number): DhcpMetrics {
  const registry = new Registry();
  // process_resident_memory_bytes, nodejs_heap_*: the memory budget of a DHCP pod is part of its contract.
  collectProcessMetrics(registry);
  const received = new Counter({ name: 'alcor_dhcpd_packets_received_total', help: 'DHCP messages received, by message type (invalid ones as "invalid").', labelNames: ['type'], registers: [registry] });
  const sent = new Counter({ name: 'alcor_dhcpd_packets_sent_total', help: 'DHCP replies sent, by message type.', labelNames: ['type'], registers: [registry] });
  const drops = new Counter({
    name: 'alcor_dhcpd_drops_total',
    help: 'Messages that got no reply, by reason (malformed packets, unknown subnet, other HA replica, pool exhausted, ...).',
    labelNames: ['reason'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'alcor_dhcpd_reply_duration_seconds',
    help: 'From receiving a message to sending its reply, including the lease log flush.',
    labelNames: ['type'],
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const reloads = new Counter({ name: 'alcor_dhcpd_config_reloads_total', help: 'Configuration reloads, by result.', labelNames: ['result'], registers: [registry] });
  const syncs = new Counter({ name: 'alcor_dhcpd_lease_log_syncs_total', help: 'Durable (O_DSYNC) writes of the lease log; each covers a group of ACKs.', registers: [registry] });

  const flushSeconds = new Histogram({
    name: 'alcor_dhcpd_lease_log_flush_seconds',
    help: 'Duration of one group commit of the lease log (one O_DSYNC write).',
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    registers: [registry],
  });
  const leases = new Gauge({
    name: 'alcor_dhcpd_leases',
    help: 'Addresses held, by subnet and state: bound, offered, quarantined (a conflict: DECLINEd, or answered a ping).',
    labelNames: ['subnet', 'state'],
    registers: [registry],
  });
  const conflicts = new Counter({
    name: 'alcor_dhcpd_conflicts_total',
    help: 'Address conflicts, by subnet and what showed them: decline (a client found the address in use) or ping (it answered before an offer).',
    labelNames: ['subnet', 'source'],
    registers: [registry],
  });
  const pingChecks = new Counter({
    name: 'alcor_dhcpd_ping_checks_total',
    help: 'Ping checks before an offer (conflictDetection: ping), by result: free, in-use, unavailable (no ICMP helper or socket, or too many in flight; offered unchecked).',
    labelNames: ['result'],
    registers: [registry],
  });
  const poolSize = new Gauge({ name: 'alcor_dhcpd_pool_addresses', help: "Addresses of this replica's share of the pools (excludes and reservations not counted).", labelNames: ['subnet'], registers: [registry] });
  const utilisation = new Gauge({ name: 'alcor_dhcpd_pool_utilisation_ratio', help: "Bound plus offered leases over the size of this replica's share of the pools.", labelNames: ['subnet'], registers: [registry] });
  // Computed at scrape time from the lease store: always consistent with it.
  let collecting = false;
  const collect = (): void => {
    if (collecting) return;
    collecting = true;
    try {
      const c = core();
      const counts = c.leases.countBySubnet(Date.now());
      leases.reset();
      poolSize.reset();
      utilisation.reset();
      for (const s of c.subnets()) {
        const n = counts.get(s.name) ?? { bound: 0, offered: 0, quarantined: 0 };
        leases.set({ subnet: s.name, state: 'bound' }, n.bound);
        leases.set({ subnet: s.name, state: 'offered' }, n.offered);
        leases.set({ subnet: s.name, state: 'quarantined' }, n.quarantined);
        const size = shareSize(s, share, c.shareCount());
        poolSize.set({ subnet: s.name }, size);
        utilisation.set({ subnet: s.name }, size === 0 ? 0 : (n.bound + n.offered) / size);
      }
    } finally {
      collecting = false;
    }
  };
  const origMetrics = registry.metrics.bind(registry);
  const m: DhcpMetrics = { registry, received, sent, drops, latency, reloads, syncs, flushSeconds, conflicts, pingChecks, beforeCollect: undefined };
  registry.metrics = async () => {
    await m.beforeCollect?.();
    collect();
    return origMetrics();
  };
  return m;
}
