// A data directory this release cannot read (its format marker is newer, or
// not a marker: src/process/data-dir-format.ts), as after a rollback from a
// release that moved the lease log on: dhcpd must not touch it, since reading
// it as an older format could hand out an address that is leased. It serves
// nothing until the pod is replaced: no DHCP socket, /readyz 503, the lease
// API answers 503 data_dir_refused, and its report says why (`blocked`, and
// in `refused` for operators before 0.3.0) and serves no subnet.

import { startProbeServer } from '../process/probes.ts';
import { DhcpCore } from './core.ts';
import type { ConfigApplied, Daemon, DaemonOptions } from './daemon.ts';
import type { DhcpdConfig } from '../api/config/dhcpd.ts';
import { createMetrics } from './metrics.ts';
import { IcmpProber, defaultIcmpHelper } from './ping/prober.ts';

export async function startRefusedDaemon(o: DaemonOptions, config: DhcpdConfig, refusal: string): Promise<Daemon> {
  o.logger.error({ err: refusal, dataDir: o.dataDir }, 'data directory refused at startup: not touching it, serving nothing until terminated');
  // No subnet: the reports list none, and nothing could answer a client.
  const core = new DhcpCore({ ...config, subnets: [] }, { share: o.share, offerHoldSeconds: o.offerHoldSeconds });
  const metrics = createMetrics(() => core, o.share);
  const probes = o.metricsListen ? await startProbeServer({ address: o.metricsListen, registry: metrics.registry, ready: () => false }) : undefined;
  // Never started: there is nothing to probe.
  const prober = new IcmpProber({ helper: o.icmpHelper ?? defaultIcmpHelper, timeoutMs: o.pingTimeoutMs ?? 500, logger: o.logger });
  const applied: ConfigApplied = { generation: 0, refused: [refusal], blocked: refusal };
  return {
    core,
    prober,
    metrics,
    probePort: probes?.port,
    dhcpPort: 0,
    persist: () => Promise.reject(new Error(refusal)),
    share: o.share,
    applied: () => applied,
    blocked: refusal,
    // Nothing is served: nothing to stop or finish.
    stopServing() {},
    async close() {
      prober.close();
      await probes?.close();
    },
  };
}
