// Wires one macd process: config, durable store, API (with /healthz, /readyz,
// /metrics on the same port), an optional probe port, and live config reload;
// a config it cannot parse at startup is waited out (refused-start.ts), and a
// data directory of a newer format is left alone (refused-data-dir.ts).
// What it serves of its config (generation applied, capacity, parts refused)
// is its report, which replica mode publishes on the replica's Lease; /readyz
// fails while it serves none of the ranges its config asks for, and from the
// start of its shutdown (close: the API drains, then the coordinator
// publishes last, the store takes its snapshot, the probe port closes).

import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { MacdConfig } from '../api/config/macd.ts';
import { macdLimitValues, type MacdLimitValues } from '../api/macd-limits.ts';
import type { MacdReport } from '../api/leases.ts';
import { RELEASE_VERSION } from '../api/version.ts';
import { dataDirRefusal, writeDataDirMarker } from '../process/data-dir-format.ts';
import { watchConfigFile, type ConfigWatcher } from '../process/config-watch.ts';
import { QUICK_DRAIN, type DrainOptions } from '../process/http-drain.ts';
import { probeHandler, startProbeServer, type ProbeServer } from '../process/probes.ts';
import { parseConfig } from './config.ts';
import type { PoolRef } from './leases.ts';
import { waitForConfig } from './refused-start.ts';
import { refuseDataDir } from './refused-data-dir.ts';
import { startApi, type ApiServer, type OthersCounts } from './http.ts';
import { createMetrics, type MacdMetrics } from './metrics.ts';
import { adminRoutes } from './admin.ts';
import { ApiFailure } from '../process/json-api.ts';
import { mergeIntervals } from './range.ts';
import { MacStore, type ConfigOutcome } from './store.ts';

export interface MacdOptions {
  host: string;
  port: number;
  dataDir: string;
  configFile?: string;
  metricsAddress?: string;
  log: Logger;
  /** Replica-mode wiring (see replicas.ts), given the store once loaded and the report to publish; null: standalone. */
  coordinate?: (store: MacStore, config: MacdConfig, api: { port: number }, report: () => MacdReport) => Promise<Coordination | null>;
  snapshotBytes?: number;
  /** Replica mode: puts the report of a config refused whole at startup on this replica's Lease of `pool` (see refused-start.ts). */
  publishRefusal?: (pool: PoolRef, report: MacdReport) => Promise<void>;
  /** Limits of the API and probe listeners (default: MacdLimits' defaults). */
  limits?: MacdLimitValues;
  /** This replica's name in the admin API's answers. */
  replica?: string;
  /** metadata.uid of this process's pod, in its report. */
  podUid?: string;
  /** Largest body of the admin API's import (bytes; default 256 MiB). */
  maxImportBytes?: number;
}

/** Replica mode: which replica serves a MAC, and which has room when this one is full. */
export interface Coordination {
  /** The base URL of the replica that owns `mac`, or null when this one does. */
  ownerOf(mac: number): Promise<string | null> | string | null;
  /** The base URL of a replica with at least `needed` free MACs, or null. */
  spillover?(needed: number, rangeId?: string): Promise<string | null>;
  /** The other replicas' counts per range (range counts are the pool's whichever replica answers). */
  othersRanges?(): Promise<Map<string, OthersCounts>>;
  /** The other replicas' base URLs (the admin API asks them for their MACs). */
  peers?(): Promise<string[]>;
  /** The report changed (a config applied or refused): publish it now rather than at the next tick. */
  publishNow?(): void;
  close(): Promise<void>;
}

export interface Macd {
  port: number;
  metricsPort: number | null;
  store: MacStore;
  metrics: MacdMetrics;
  /** What this process serves of its config, as it reports it. */
  report(): MacdReport;
  /**
   * Not ready from now on (both ports), the API drained (default
   * QUICK_DRAIN), then the coordinator, the store (snapshot) and the probe
   * port closed.
   */
  close(drain?: DrainOptions): Promise<void>;
}

/** The report of a store that applied a config with this outcome. */
export function macdReport(store: MacStore, applied: { generation: number; refused: string[] }): MacdReport {
  const a = store.allocator;
  // Ranges may overlap: the union of the Active ones, minus the exclusions.
  const active = mergeIntervals(a.ranges().filter((r) => r.state === 'Active'));
  const capacity = active.reduce((n, i) => n + a.allowedIn(i.from, i.to), 0);
  return { generation: applied.generation, refused: applied.refused, capacity, allocated: a.space.allocated };
}

/** True while at least one range the config asks for is served (Active). */
function servesAsked(store: MacStore, outcome: ConfigOutcome): boolean {
  return outcome.asked.some((id) => store.allocator.hasRange(id) && store.allocator.range(id).state === 'Active');
}

export async function startMacd(opts: MacdOptions): Promise<Macd> {
  const { log } = opts;
  const limits = opts.limits ?? macdLimitValues();
  let store: MacStore | null = null;
  // Loaded, and in replica mode its blocks taken back.
  let started = false;
  // Shutting down: the API answers what it is sent until it has drained, but the Service should send nothing more.
  let stopping = false;
  let outcome: ConfigOutcome = { refused: [], notes: [], asked: [] };
  let applied = { generation: 0, refused: [] as string[] };
  const ready = (): boolean => started && !stopping && store !== null && servesAsked(store, outcome);
  let healthy = true;
  const metrics = createMetrics(() => store?.allocator ?? null);
  let probe: ProbeServer | null = null;
  if (opts.metricsAddress) {
    probe = await startProbeServer({ address: opts.metricsAddress, registry: metrics.registry, ready, healthy: () => healthy, limits });
    log.info({ port: probe.port }, 'probes and metrics listening');
  }
  const identity = { version: RELEASE_VERSION, ...(opts.podUid ? { pod: opts.podUid } : {}) };
  const apiAddress = `${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${opts.port}`;
  let configText = opts.configFile ? readFileSync(opts.configFile, 'utf8') : '';
  let config: MacdConfig;
  try {
    config = parseConfig(configText);
  } catch (e) {
    if (!opts.configFile) throw e;
    // Serve nothing and say why, instead of a crash loop (refused-start.ts).
    ({ text: configText, config } = await waitForConfig({
      path: opts.configFile,
      text: configText,
      error: e instanceof Error ? e : new Error(String(e)),
      address: apiAddress,
      registry: metrics.registry,
      limits,
      log,
      identity,
      ...(opts.publishRefusal ? { publish: opts.publishRefusal } : {}),
    }));
  }
  // Checked before anything reads or creates a file there.
  const refusal = dataDirRefusal(opts.dataDir, 'macd');
  if (refusal) {
    await refuseDataDir({
      refusal,
      address: apiAddress,
      registry: metrics.registry,
      limits,
      log,
      identity,
      ...(config.coordination.mode === 'kubernetes' && opts.publishRefusal ? { pool: config.coordination.pool, publish: opts.publishRefusal } : {}),
    });
  }
  const loaded = await MacStore.open({
    dataDir: opts.dataDir,
    log,
    blockSize: config.coordination.mode === 'kubernetes' ? config.coordination.blockSize : undefined,
    coordinated: config.coordination.mode === 'kubernetes',
    snapshotBytes: opts.snapshotBytes,
    onLogFlush: (seconds) => metrics.logFlush.observe(seconds),
    onFatal: (err) => {
      // The disk failed: nothing can be acknowledged any more. Exit so the
      // pod restarts and replays what is durable.
      healthy = false;
      log.fatal({ err }, 'log write failed; exiting');
      process.exit(70);
    },
  });
  const apply = async (c: MacdConfig): Promise<void> => {
    outcome = await loaded.applyConfig(c);
    applied = { generation: c.generation ?? 0, refused: outcome.refused };
    for (const note of outcome.notes) log.warn(note);
    for (const part of outcome.refused) log.error({ refused: part }, 'part of the config not served');
    if (!servesAsked(loaded, outcome)) log.error({ asked: outcome.asked }, 'serves none of the ranges the config asks for: not ready');
  };
  await writeDataDirMarker(opts.dataDir, 'macd');
  await apply(config);
  store = loaded;
  const report = (): MacdReport => ({ ...macdReport(loaded, applied), ...identity });

  let coord: Coordination | null = null;
  const ownerOf = (mac: number): Promise<string | null> | string | null => (coord ? coord.ownerOf(mac) : null);
  const api: ApiServer = await startApi({
    host: opts.host,
    port: opts.port,
    // Until ready (replica mode: blocks taken back), requests answer 503.
    store: () => (started ? store : null),
    metrics,
    log,
    limits,
    ownerOf: opts.coordinate && config.coordination.mode === 'kubernetes' ? ownerOf : undefined,
    spillover: opts.coordinate && config.coordination.mode === 'kubernetes' ? async (n, id) => (coord?.spillover ? coord.spillover(n, id) : null) : undefined,
    othersRanges: opts.coordinate && config.coordination.mode === 'kubernetes' ? async () => (coord?.othersRanges ? coord.othersRanges() : new Map()) : undefined,
    probes: probeHandler({ registry: metrics.registry, ready, healthy: () => healthy }),
    admin: adminRoutes({
      store: () => {
        if (!started || !store) throw new ApiFailure(503, 'internal', 'state is still loading');
        return store;
      },
      self: opts.replica ?? 'macd',
      limits,
      ...(opts.coordinate && config.coordination.mode === 'kubernetes'
        ? { ownerOf, peers: async () => (coord?.peers ? coord.peers() : []) }
        : {}),
    }),
    ...(opts.maxImportBytes !== undefined ? { maxImportBytes: opts.maxImportBytes } : {}),
  });
  if (opts.coordinate) coord = await opts.coordinate(loaded, config, { port: api.port }, report);
  started = true;
  log.info({ port: api.port, host: opts.host, dataDir: opts.dataDir }, 'macd listening');

  const watcher: ConfigWatcher | null = opts.configFile
    ? watchConfigFile({
        path: opts.configFile,
        current: configText,
        onChange: (text) => {
          void (async () => {
            const c = parseConfig(text);
            await apply(c);
            log.info({ generation: applied.generation, ranges: c.ranges.length, exclusions: c.exclusions.length, refused: applied.refused.length }, 'config reloaded');
          })()
            .catch((e: unknown) => {
              // The whole file refused: the running config stays, and the report says why.
              const message = e instanceof Error ? e.message : String(e);
              applied = { ...applied, refused: [`config: ${message}`] };
              log.error({ err: message }, 'config not reloaded; keeping the running one');
            })
            .finally(() => coord?.publishNow?.());
        },
        onError: (e) => log.error({ err: e.message }, 'config not reloaded; keeping the running one'),
      })
    : null;

  let closed: Promise<void> | null = null;
  const close = async (drain: DrainOptions): Promise<void> => {
    stopping = true;
    watcher?.close();
    const drained = await api.close(drain);
    if (drained.cutOwing > 0) log.warn(drained, 'API drained, but requests still in flight at the timeout were cut: their answers are lost');
    else log.info(drained, 'API drained');
    started = false;
    if (coord) await coord.close();
    await loaded.close({ snapshot: true });
    if (probe) await probe.close();
  };
  return {
    port: api.port,
    metricsPort: probe?.port ?? null,
    store: loaded,
    metrics,
    report,
    // Once: a second call waits for the first.
    close: (drain = QUICK_DRAIN) => (closed ??= close(drain)),
  };
}
