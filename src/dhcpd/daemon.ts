// The running server: one UDP socket on port 67 (in a socket thread of its
// own, or in this one: io/packet-io.ts), the core, the lease log, the config
// watcher and the probe/metrics endpoint. Replies that grant a lease leave
// only after the lease log has made the lease durable. A data directory of a
// newer format is left alone (refused-data-dir.ts). On shutdown (stopServing,
// then close) it turns unready, takes no new packet, and finishes the ones
// taken: their records made durable, their replies sent.

import { networkInterfaces } from 'node:os';
import type { Logger } from '../process/log.ts';
import { watchConfigFile, type ConfigWatcher } from '../process/config-watch.ts';
import { dataDirRefusal, writeDataDirMarker } from '../process/data-dir-format.ts';
import { startProbeServer, type ProbeServer } from '../process/probes.ts';
import { messageTypeNames } from './codec/constants.ts';
import { parseRequest, type DhcpPacket } from './codec/packet.ts';
import type { Received } from './io/batch.ts';
import { openPacketIo, type PacketIo } from './io/packet-io.ts';
import { DhcpCore, type HostView, type LeaseRecord, type Outcome } from './core.ts';
import { parseConfigText, readConfig } from './config-file.ts';
import { formatIPv4, ipv4ToNumber } from '../api/ipv4.ts';
import { LeaseLog } from './lease-log.ts';
import { createMetrics, Tally, type DhcpMetrics } from './metrics.ts';
import { defaultIcmpHelper, IcmpProber, type Prober } from './ping/prober.ts';
import { startRefusedDaemon } from './refused-data-dir.ts';

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
  /** Receive and send in a thread of their own (a second core's worth of work off this thread). */
  socketThread?: boolean;
  logger: Logger;
  /** The socket thread died: the server can no longer serve (default: log and exit 1). */
  onFatal?: (err: Error) => void;
  /** Called after each reload of the config file, applied or refused (publish the report now). */
  onReload?: () => void;
}

/** What the server did with its config file: the generation it serves and, if it refused the current file, why. */
export interface ConfigApplied {
  generation: number;
  refused: string[];
  /** The data directory is refused (src/process/data-dir-format.ts): why. Nothing is served. */
  blocked?: string;
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
  /** The data directory is refused: why (no socket; the lease API answers 503). */
  blocked?: string;
  /** Shutting down: /readyz answers 503 and DHCP packets received from now on are dropped unread. */
  stopServing(): void;
  /** Stops serving, finishes the packets taken (records durable, replies sent), closes the log and the probe port. */
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
  // Checked before anything reads or creates a file there.
  const refusal = dataDirRefusal(o.dataDir, 'dhcpd');
  if (refusal) return startRefusedDaemon(o, config, refusal);
  const core = new DhcpCore(config, { share: o.share, offerHoldSeconds: o.offerHoldSeconds });
  let applied: ConfigApplied = { generation: config.generation ?? 0, refused: [] };
  // Started on the first probe: a server without conflictDetection: ping never runs the helper.
  const prober: Prober = new IcmpProber({ helper: o.icmpHelper ?? defaultIcmpHelper, timeoutMs: o.pingTimeoutMs ?? 500, logger: log });
  const metrics = createMetrics(() => core, o.share);

  const opened = await LeaseLog.open({ dir: o.dataDir, snapshot: () => core.liveRecords(Date.now()) });
  const leaseLog = opened.log;
  leaseLog.onFlush = (ms) => metrics.flushSeconds.observe(ms / 1000);
  const now = Date.now();
  for (const r of opened.records) core.restore(r, now);
  await leaseLog.compact();
  await writeDataDirMarker(o.dataDir, 'dhcpd');
  log.info({ restored: core.leases.byIp.size, replayed: opened.records.length, skipped: opened.skipped, dataDir: o.dataDir }, 'lease log replayed');

  let host = hostView(o.serverId);
  const hostTimer = setInterval(() => {
    host = hostView(o.serverId);
  }, 5000);
  const sweepTimer = setInterval(() => core.sweep(Date.now()), 5000);

  let ready = false;
  // False from the start of the shutdown: no new packet is taken.
  let serving = true;
  const probes: ProbeServer | undefined = o.metricsListen
    ? await startProbeServer({ address: o.metricsListen, registry: metrics.registry, ready: () => ready })
    : undefined;

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
  const received = new Tally(metrics.received, 'type');
  const drops = new Tally(metrics.drops, 'reason');
  const sentBy = memo((type) => metrics.sent.labels({ type }));
  const latencyBy = memo((type) => metrics.latency.labels({ type }));
  let lastSyncs = 0;

  // Bound below, once the handlers it calls exist.
  let io: PacketIo | undefined;
  /** `stamp`: when the request arrived, on the socket's clock (for the latency metric). */
  const send = (out: Extract<Outcome, { kind: 'reply' }>, stamp: number, requestType: number): void => {
    io?.send({ packet: out.packet, to: out.to.address, port: out.to.port, replyType: out.messageType, requestType, stamp });
  };
  /** The counts since the last call, and what the socket sent, into the metrics (each second, and before each scrape). */
  const collectCounts = async (): Promise<void> => {
    received.flush();
    drops.flush();
    if (!io) return;
    const s = await io.drainStats();
    for (const [type, n] of s.sent.entries()) if (n) sentBy(typeName(type)).inc(n);
    for (let i = 0; i + 1 < s.latencies.length; i += 2) latencyBy(typeName(s.latencies[i] as number)).observe(s.latencies[i + 1] as number);
    if (s.overloaded > 0) {
      drops.add('overloaded', s.overloaded);
      log.warn({ dropped: s.overloaded }, 'overloaded: datagrams dropped unread (too many waiting for this thread, or waiting too long)');
    }
    if (s.failed > 0) {
      drops.add('send-failed', s.failed);
      log.warn({ err: s.failure?.error, to: s.failure?.to, failed: s.failed }, 'send failed');
    }
    drops.flush();
  };
  metrics.beforeCollect = collectCounts;

  const pingChecks = memo((result) => metrics.pingChecks.labels({ result }));
  /** Hands a packet to the core; a bug must cost one packet, never the server. */
  const handle = (packet: DhcpPacket, messageType: number, from: number): Outcome | undefined => {
    try {
      return core.handle(packet, messageType, host, Date.now(), from);
    } catch (err) {
      drops.add('internal-error');
      log.error({ err: err instanceof Error ? err.stack : String(err) }, 'handling a packet failed');
      return undefined;
    }
  };
  /**
   * conflictDetection: ping. The OFFER leaves once the echo to its address
   * went unanswered; a reply quarantines the address (made durable) and the
   * DISCOVER is handled again for another address, three addresses at most.
   */
  const probeThenSend = async (out: Extract<Outcome, { kind: 'reply' }>, ip: number, packet: DhcpPacket, messageType: number, from: number, stamp: number, attempt: number): Promise<void> => {
    const result = await prober.probe(ip);
    pingChecks(result).inc();
    if (result !== 'in-use') {
      core.probeDone(ip);
      send(out, stamp, messageType);
      return;
    }
    const records = core.quarantineProbed(ip, Date.now());
    if (records.length > 0) {
      metrics.conflicts.inc({ subnet: out.subnet, source: 'ping' });
      log.warn({ ip: formatIPv4(ip), subnet: out.subnet }, 'address answered a ping before being offered: quarantined');
      try {
        await leaseLog.append(records);
      } catch (err) {
        drops.add('persist-failed');
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'lease log write failed');
        return;
      }
    }
    if (attempt >= 2) {
      drops.add('ping-conflicts');
      return;
    }
    const again = handle(packet, messageType, from);
    if (!again) return;
    if (again.kind === 'silent') drops.add(again.reason);
    else if (again.kind === 'reply' && again.probe !== undefined) await probeThenSend(again, again.probe, packet, messageType, from, stamp, attempt + 1);
    else if (again.kind === 'reply') send(again, stamp, messageType);
  };

  /** Exchanges waiting for a ping check: the shutdown lets them finish. */
  const probing = new Set<Promise<void>>();
  const onPacket = ({ bytes, from, stamp }: Received): void => {
    if (!serving) return;
    const parsed = parseRequest(bytes);
    if (!parsed.ok) {
      received.add('invalid');
      drops.add(parsed.reason);
      log.debug({ reason: parsed.reason, bytes: bytes.length }, 'dropped malformed packet');
      return;
    }
    received.add(typeName(parsed.messageType));
    const out = handle(parsed.packet, parsed.messageType, from);
    if (!out) return;
    if (out.kind === 'silent') {
      drops.add(out.reason);
      return;
    }
    if (out.kind === 'reply' && out.probe !== undefined) {
      const p = probeThenSend(out, out.probe, parsed.packet, parsed.messageType, from, stamp, 0).finally(() => probing.delete(p));
      probing.add(p);
      return;
    }
    if (out.records.length === 0) {
      if (out.kind === 'reply') send(out, stamp, parsed.messageType);
      return;
    }
    for (const r of out.records) if (r.op === 'quarantine') metrics.conflicts.inc({ subnet: r.subnet, source: r.reason ?? 'decline' });
    const requestType = parsed.messageType;
    leaseLog.appendThen(out.records, (err) => {
      if (err !== undefined) {
        // Not durable, so not acknowledged; the client retries.
        drops.add('persist-failed');
        log.error({ err: err instanceof Error ? err.message : String(err) }, 'lease log write failed');
        return;
      }
      if (leaseLog.syncs !== lastSyncs) {
        metrics.syncs.inc(leaseLog.syncs - lastSyncs);
        lastSyncs = leaseLog.syncs;
      }
      if (out.kind === 'reply') send(out, stamp, requestType);
    });
  };

  // A port it cannot bind (EADDRINUSE, EACCES) stops the server: what was
  // started so far must stop with it, or its timers and the probe server would
  // keep the process alive, never ready, instead of exiting with the error.
  const stopStarted = async (): Promise<void> => {
    clearInterval(hostTimer);
    clearInterval(sweepTimer);
    prober.close();
    await leaseLog.close();
    await probes?.close();
  };
  io = await openPacketIo({
    thread: o.socketThread ?? false,
    address: o.listenAddress,
    port: o.listenPort,
    replyRate: o.replyRate ?? 40_000,
    replyBurst: o.replyBurst ?? 64,
    onPacket,
    onSocketError: (message) => log.error({ err: message }, 'socket error'),
    onFatal:
      o.onFatal ??
      ((err) => {
        log.fatal({ err: err.message }, 'the socket thread died; exiting');
        process.exit(1);
      }),
  }).catch(async (err: unknown) => {
    await stopStarted();
    throw err;
  });
  const statsTimer = setInterval(() => void collectCounts(), 1000);
  const dhcpPort = io.port;

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
    { address: o.listenAddress, port: dhcpPort, socketThread: io.threaded, share: o.share, shares: core.shareCount(), subnets: core.subnets().map((s) => s.name), metrics: probes?.port },
    'dhcpd serving',
  );

  const stopServing = (): void => {
    ready = false;
    serving = false;
  };
  return {
    core,
    prober,
    metrics,
    probePort: probes?.port,
    dhcpPort,
    persist: (records) => leaseLog.append(records),
    share: o.share,
    applied: () => applied,
    stopServing,
    async close() {
      stopServing();
      watcher.close();
      clearInterval(hostTimer);
      clearInterval(sweepTimer);
      clearInterval(statsTimer);
      await Promise.all(probing);
      prober.close();
      // The log's last flush sends its ACKs, then the socket sends what it holds.
      await leaseLog.close();
      await io?.close();
      await probes?.close();
    },
  };
}
