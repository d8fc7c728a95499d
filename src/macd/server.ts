// Wires one macd process: config, durable store, API (with /healthz, /readyz,
// /metrics on the same port), an optional probe port, and live config reload.

import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import type { MacdConfig } from '../api/config/macd.ts';
import { macdLimitValues, type MacdLimitValues } from '../api/macd-limits.ts';
import { watchConfigFile, type ConfigWatcher } from '../process/config-watch.ts';
import { probeHandler, startProbeServer, type ProbeServer } from '../process/probes.ts';
import { parseConfig } from './config.ts';
import { startApi, type ApiServer, type OthersCounts } from './http.ts';
import { createMetrics, type MacdMetrics } from './metrics.ts';
import { MacStore } from './store.ts';
import { adminRoutes } from './admin.ts';
import { ApiFailure } from '../process/json-api.ts';

export interface MacdOptions {
  host: string;
  port: number;
  dataDir: string;
  configFile?: string;
  metricsAddress?: string;
  log: Logger;
  /** Replica-mode wiring (see replicas.ts), given the store once loaded; null: standalone. */
  coordinate?: (store: MacStore, config: MacdConfig, api: { port: number }) => Promise<Coordination | null>;
  snapshotBytes?: number;
  /** Limits of the API and probe listeners (default: MacdLimits' defaults). */
  limits?: MacdLimitValues;
  /** This replica's name in the admin API's answers. */
  replica?: string;
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
  close(): Promise<void>;
}

export interface Macd {
  port: number;
  metricsPort: number | null;
  store: MacStore;
  metrics: MacdMetrics;
  close(): Promise<void>;
}

export async function startMacd(opts: MacdOptions): Promise<Macd> {
  const { log } = opts;
  const limits = opts.limits ?? macdLimitValues();
  let store: MacStore | null = null;
  let ready = false;
  let healthy = true;
  const metrics = createMetrics(() => store?.allocator ?? null);
  let probe: ProbeServer | null = null;
  if (opts.metricsAddress) {
    probe = await startProbeServer({ address: opts.metricsAddress, registry: metrics.registry, ready: () => ready, healthy: () => healthy, limits });
    log.info({ port: probe.port }, 'probes and metrics listening');
  }
  const configText = opts.configFile ? readFileSync(opts.configFile, 'utf8') : '';
  const config = parseConfig(configText);
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
  for (const w of await loaded.applyConfig(config)) log.warn(w);
  store = loaded;

  let coord: Coordination | null = null;
  const ownerOf = (mac: number): Promise<string | null> | string | null => (coord ? coord.ownerOf(mac) : null);
  const api: ApiServer = await startApi({
    host: opts.host,
    port: opts.port,
    // Until ready (replica mode: blocks taken back), requests answer 503.
    store: () => (ready ? store : null),
    metrics,
    log,
    limits,
    ownerOf: opts.coordinate && config.coordination.mode === 'kubernetes' ? ownerOf : undefined,
    spillover: opts.coordinate && config.coordination.mode === 'kubernetes' ? async (n, id) => (coord?.spillover ? coord.spillover(n, id) : null) : undefined,
    othersRanges: opts.coordinate && config.coordination.mode === 'kubernetes' ? async () => (coord?.othersRanges ? coord.othersRanges() : new Map()) : undefined,
    probes: probeHandler({ registry: metrics.registry, ready: () => ready, healthy: () => healthy }),
    admin: adminRoutes({
      store: () => {
        if (!ready || !store) throw new ApiFailure(503, 'internal', 'state is still loading');
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
  if (opts.coordinate) coord = await opts.coordinate(loaded, config, { port: api.port });
  ready = true;
  log.info({ port: api.port, host: opts.host, dataDir: opts.dataDir }, 'macd listening');

  const watcher: ConfigWatcher | null = opts.configFile
    ? watchConfigFile({
        path: opts.configFile,
        current: configText,
        onChange: (text) => {
          void (async () => {
            const c = parseConfig(text);
            for (const w of await loaded.applyConfig(c)) log.warn(w);
            log.info({ ranges: c.ranges.length, exclusions: c.exclusions.length }, 'config reloaded');
          })().catch((e: unknown) => log.error({ err: e instanceof Error ? e.message : String(e) }, 'config not reloaded; keeping the running one'));
        },
        onError: (e) => log.error({ err: e.message }, 'config not reloaded; keeping the running one'),
      })
    : null;

  return {
    port: api.port,
    metricsPort: probe?.port ?? null,
    store: loaded,
    metrics,
    close: async () => {
      ready = false;
      watcher?.close();
      await api.close();
      if (coord) await coord.close();
      await loaded.close({ snapshot: true });
      if (probe) await probe.close();
    },
  };
}
