// The running server: one UDP socket on port 67, the core, the lease log, the
// config watcher and the probe/metrics endpoint. Replies that grant a lease
// leave only after the lease log has made the lease durable.

import { createSocket, type Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import type { Logger } from '../process/log.ts';
import { watchConfigFile, type ConfigWatcher } from '../process/config-watch.ts';
import { startProbeServer, type ProbeServer } from '../process/probes.ts';
import { messageTypeNames } from './codec/constants.ts';
import { parseRequest, type DhcpPacket } from './codec/packet.ts';
import { DhcpCore, type HostView, type LeaseRecord, type Outcome } from './core.ts';
import { parseConfigText, readConfig } from './config-file.ts';
import { formatIPv4, ipv4ToNumber } from '../api/ipv4.ts';
import { LeaseLog } from './lease-log.ts';
import { createMetrics, type DhcpMetrics } from './metrics.ts';
import { Pacer } from './pacer.ts';
import { defaultIcmpHelper, IcmpProber, type Prober } from './ping/prober.ts';

export interface DaemonOptions {
  configPath: string;
  dataDir: string;
  share: number;
  listenAddress: string;
  listenPort: number;
  /** host:port of /metrics, /healthz, /readyz; undefined for none. */
  metricsListen?: string;
  /** Server identifier for relayed subnets; default: the first non-loopback IPv4 address. */
  serverId?: string;
  offerHoldSeconds: number;
  /** conflictDetection: ping: the helper that sends the echoes, and how long to wait for a reply. */
  icmpHelper?: string;
  pingTimeoutMs?: number;
  /** Reply pacing: sustained replies per second and burst size (see pacer.ts). */
  replyRate?: number;
  replyBurst?: number;
  logger: Logger;
  /** Called after each reload of the config file, applied or refused (publish the report now). */
  onReload?: () => void;
}

/** What the server did with its config file: the generation it serves and, if it refused the current file, why. */
export interface ConfigApplied {
  generation: number;
  refused: string[];
}

export interface Daemon {
  core: DhcpCore;
  prober: Prober;
  metrics: DhcpMetrics;
  probePort: number | undefined;
  dhcpPort: number;
  /** Makes lease records durable (the lease API's releases and imports); resolves once they are. */
  persist(records: LeaseRecord[]): Promise<void>;
  share: number;
  applied(): ConfigApplied;
  close(): Promise<void>;
}

export function hostView(serverId: string | undefined): HostView {
  const interfaces: Array<{ address: number; prefix: number }> = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family !== 'IPv4' || a.internal) continue;
      const prefix = Number(a.cidr?.split('/')[1] ?? 32);
      interfaces.push({ address: ipv4ToNumber(a.address), prefix });
    }
  }
  const defaultServerId = serverId !== undefined ? ipv4ToNumber(serverId) : (interfaces[0]?.address ?? ipv4ToNumber('127.0.0.1'));
  return { interfaces, defaultServerId };
}

export async function startDaemon(o: DaemonOptions): Promise<Daemon> {
  const log = o.logger;
  const { config, text } = await readConfig(o.configPath);
  const core = new DhcpCore(config, { share: o.share, offerHoldSeconds: o.offerHoldSeconds });
  let applied: ConfigApplied = { generation: config.generation ?? 0, refused: [] };
  // Started on the first probe: a server without conflictDetection: ping never runs the helper.
  const prober: Prober = new IcmpProber({ helper: o.icmpHelper ?? defaultIcmpHelper, timeoutMs: o.pingTimeoutMs ?? 500, logger: log });
  const metrics = createMetrics(() => core, o.share);

  const opened = await LeaseLog.open({ dir: o.dataDir, snapshot: () => core.snapshot(Date.now()) });
  const leaseLog = opened.log;
  leaseLog.onFlush = (ms) => metrics.flushSeconds.observe(ms / 1000);
  const now = Date.now();
  for (const r of opened.records) core.restore(r, now);
  await leaseLog.compact();
  log.info({ restored: core.leases.byIp.size, replayed: opened.records.length, skipped: opened.skipped, dataDir: o.dataDir }, 'lease log replayed');

  let host = hostView(o.serverId);
  const hostTimer = setInterval(() => {
    host = hostView(o.serverId);
  }, 5000);
  const sweepTimer = setInterval(() => core.sweep(Date.now()), 5000);

  let ready = false;
  const probes: ProbeServer | undefined = o.metricsListen
    ? await startProbeServer({ address: o.metricsListen, registry: metrics.registry, ready: () => ready })
    : undefined;

  const socket: Socket = createSocket({ type: 'udp4', reuseAddr: false });
  const typeName = (t: number): string => messageTypeNames[t] ?? 'unknown';
  // Label children looked up once: the hot path then skips label hashing.
  const memo = <T>(make: (k: string) => T): ((k: string) => T) => {
    const m = new Map<string, T>();
    return (k) => {
      let v = m.get(k);
      if (v === undefined) m.set(k, (v = make(k)));
      return v;
    };
  };
  const receivedBy = memo((type) => metrics.received.labels({ type }));
  const sentBy = memo((type) => metrics.sent.labels({ type }));
  const dropBy = memo((reason) => metrics.drops.labels({ reason }));
  const latencyBy = memo((type) => metrics.latency.labels({ type }));
  let lastSyncs = 0;

  const pacer: Pacer = new Pacer(o.replyRate ?? 40_000, o.replyBurst ?? 64);
  const send = (out: Extract<Outcome, { kind: 'reply' }>, started: bigint, requestType: number): void => {
    pacer.submit(() => sendNow(out, started, requestType));
  };
  const sendNow = (out: Extract<Outcome, { kind: 'reply' }>, started: bigint, requestType: number): void => {
    socket.send(out.packet, out.to.port, formatIPv4(out.to.address), (err) => {
      if (err) {
        dropBy('send-failed').inc();
        log.warn({ err: err.message, to: formatIPv4(out.to.address) }, 'send failed');
        return;
      }
      sentBy(typeName(out.messageType)).inc();
      latencyBy(typeName(requestType)).observe(Number(process.hrtime.bigint() - started) / 1e9);
    });
  };

  const pingChecks = memo((result) => metrics.pingChecks.labels({ result }));
  /** Hands a packet to the core; a bug must cost one packet, never the server. */
  const handle = (packet: DhcpPacket, messageType: number, from: number): Outcome | undefined => {
    try {
      return core.handle(packet, messageType, host, Date.now(), from);
    } catch (err) {
      dropBy('internal-error').inc();
      log.error({ err: err instanceof Error ? err.stack : String(err) }, 'handling a packet failed');
      return undefined;
    }
  };
  /**
   * conflictDetection: ping. The OFFER leaves once the echo to its address
   * went unanswered; a reply quarantines the address (made durable) and the
   * DISCOVER is handled again for another address, three addresses at most.
   */
  const probeThenSend = async (out: Extract<Outcome, { kind: 'reply' }>, ip: number, packet: DhcpPacket, messageType: number, from: number, started: bigint, attempt: number): Promise<void> => {
    const result = await prober.probe(ip);
    pingChecks(result).inc();
    if (result !== 'in-use') {
      core.probeDone(ip);
      send(out, started, messageType);
      return;
    }
    const records = core.quarantineProbed(ip, Date.now());
    if (records.length > 0) {
      metrics.conflicts.inc({ subnet: out.subnet, source: 'ping' });
      log.warn({ ip: formatIPv4(ip), subnet: out.subnet }, 'address answered a ping before being offered: quarantined');
      try {
        await leaseLog.append(records);
      } catch (err) {
        dropBy('persist-failed').inc();
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'lease log write failed');
        return;
      }
    }
    if (attempt >= 2) {
      dropBy('ping-conflicts').inc();
      return;
    }
    const again = handle(packet, messageType, from);
    if (!again) return;
    if (again.kind === 'silent') dropBy(again.reason).inc();
    else if (again.kind === 'reply' && again.probe !== undefined) await probeThenSend(again, again.probe, packet, messageType, from, started, attempt + 1);
    else if (again.kind === 'reply') send(again, started, messageType);
  };

  socket.on('message', (msg, rinfo) => {
    const started = process.hrtime.bigint();
    const parsed = parseRequest(msg);
    if (!parsed.ok) {
      receivedBy('invalid').inc();
      dropBy(parsed.reason).inc();
      log.debug({ reason: parsed.reason, bytes: msg.length }, 'dropped malformed packet');
      return;
    }
    receivedBy(typeName(parsed.messageType)).inc();
    const from = ipv4ToNumber(rinfo.address);
    const out = handle(parsed.packet, parsed.messageType, from);
    if (!out) return;
    if (out.kind === 'silent') {
      dropBy(out.reason).inc();
      return;
    }
    if (out.kind === 'reply' && out.probe !== undefined) {
      void probeThenSend(out, out.probe, parsed.packet, parsed.messageType, from, started, 0);
      return;
    }
    if (out.records.length === 0) {
      if (out.kind === 'reply') send(out, started, parsed.messageType);
      return;
    }
    for (const r of out.records) if (r.op === 'quarantine') metrics.conflicts.inc({ subnet: r.subnet, source: r.reason ?? 'decline' });
    leaseLog.append(out.records).then(
      () => {
        if (leaseLog.syncs !== lastSyncs) {
          metrics.syncs.inc(leaseLog.syncs - lastSyncs);
          lastSyncs = leaseLog.syncs;
        }
        if (out.kind === 'reply') send(out, started, parsed.messageType);
      },
      (err: unknown) => {
        // Not durable, so not acknowledged; the client retries.
        dropBy('persist-failed').inc();
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'lease log write failed');
      },
    );
  });

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(o.listenPort, o.listenAddress, () => {
      socket.off('error', reject);
      socket.setBroadcast(true);
      // Bursts (a rack booting) must queue in the kernel, not be dropped there.
      try {
        socket.setRecvBufferSize(8 * 1024 * 1024);
        socket.setSendBufferSize(4 * 1024 * 1024);
      } catch {
        // Best effort: the kernel may cap the sizes.
      }
      resolve();
    });
  });
  socket.on('error', (err) => log.error({ err: err.message }, 'socket error'));
  const dhcpPort = socket.address().port;

  const watcher: ConfigWatcher = watchConfigFile({
    path: o.configPath,
    current: text,
    onChange: (newText) => {
      try {
        const next = parseConfigText(newText, o.configPath);
        core.configure(next);
        applied = { generation: next.generation ?? 0, refused: [] };
        metrics.reloads.inc({ result: 'ok' });
        log.info({ generation: applied.generation, subnets: core.subnets().map((s) => s.name) }, 'config reloaded');
        if (core.subnets().some((s) => s.pingCheck)) prober.warmUp();
      } catch (err) {
        // The whole file is refused (configure changes nothing): the report says why.
        const message = err instanceof Error ? err.message : String(err);
        applied = { ...applied, refused: [message] };
        metrics.reloads.inc({ result: 'invalid' });
        log.error({ err: message }, 'config reload rejected; keeping the previous config');
      }
      o.onReload?.();
    },
    onError: (err) => log.warn({ err: err.message }, 'config file not readable; keeping the previous config'),
  });

  if (core.subnets().some((s) => s.pingCheck)) prober.warmUp();
  ready = true;
  log.info(
    { address: o.listenAddress, port: dhcpPort, share: o.share, shares: core.shareCount(), subnets: core.subnets().map((s) => s.name), metrics: probes?.port },
    'dhcpd serving',
  );

  return {
    core,
    prober,
    metrics,
    probePort: probes?.port,
    dhcpPort,
    persist: (records) => leaseLog.append(records),
    share: o.share,
    applied: () => applied,
    async close() {
      ready = false;
      watcher.close();
      clearInterval(hostTimer);
      clearInterval(sweepTimer);
      pacer.stop();
      prober.close();
      await new Promise<void>((r) => socket.close(() => r()));
      await leaseLog.close();
      await probes?.close();
    },
  };
}
