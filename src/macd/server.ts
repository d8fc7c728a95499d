// Wires one macd process: config, durable store, API (with /healthz, /readyz,
// /metrics on the same port), an optional probe port, and live config reload.

import { readFileSync, type FSWatcher } from 'node:fs';
import type { Logger } from 'pino';
import type { MacdConfig } from '../api/config/macd.ts';
import { startProbeServer, type ProbeServer } from '../runtime/probes.ts';
import { readConfig, watchConfig } from './config.ts';
import { startApi, type ApiServer } from './http.ts';
import { createMetrics, type MacdMetrics } from './metrics.ts';
import { MacStore } from './store.ts';

export interface MacdOptions {
  host: string;
  port: number;
  dataDir: string;
  configFile?: string;
  metricsAddress?: string;
  log: Logger;
  /** Replica-mode wiring (see replicas.ts), given the store once loaded. */
  coordinate?: (store: MacStore, config: MacdConfig, api: { port: number }) => Promise<{ ownerOf(mac: number): Promise<string | null> | string | null; spillover?(needed: number, rangeId?: string): Promise<string | null>; onConfig(c: MacdConfig): Promise<void>; close(): Promise<void> }>;
  snapshotBytes?: number;
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
  let store: MacStore | null = null;
  let ready = false;
  let healthy = true;
  const metrics = createMetrics(() => store?.allocator ?? null);
  let probe: ProbeServer | null = null;
  if (opts.metricsAddress) {
    probe = await startProbeServer({ address: opts.metricsAddress, registry: metrics.registry, ready: () => ready, healthy: () => healthy });
    log.info({ port: probe.port }, 'probes and metrics listening');
  }
  const config = readConfig(opts.configFile);
  const configText = opts.configFile ? readFileSync(opts.configFile, 'utf8') : '';
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

  let coord: Awaited<ReturnType<NonNullable<MacdOptions['coordinate']>>> | null = null;
  const ownerOf = (mac: number): Promise<string | null> | string | null => (coord ? coord.ownerOf(mac) : null);
  const api: ApiServer = await startApi({
    host: opts.host,
    port: opts.port,
    // Until ready (replica mode: blocks taken back), requests answer 503.
    store: () => (ready ? store : null),
    metrics,
    log,
    ownerOf: opts.coordinate && config.coordination.mode === 'kubernetes' ? ownerOf : undefined,
    spillover: opts.coordinate && config.coordination.mode === 'kubernetes' ? async (n, id) => (coord?.spillover ? coord.spillover(n, id) : null) : undefined,
    extra: (req, res, path) => {
      if (path === '/healthz' || path === '/livez') {
        res.writeHead(healthy ? 200 : 500, { 'content-type': 'text/plain' }).end(healthy ? 'ok' : 'unhealthy');
        return true;
      }
      if (path === '/readyz') {
        res.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ok' : 'not ready');
        return true;
      }
      if (path === '/metrics' && req.method === 'GET') {
        metrics.registry.metrics().then(
          (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
          (err: unknown) => res.writeHead(500).end(String(err)),
        );
        return true;
      }
      return false;
    },
  });
  if (opts.coordinate) coord = await opts.coordinate(loaded, config, { port: api.port });
  ready = true;
  log.info({ port: api.port, host: opts.host, dataDir: opts.dataDir }, 'macd listening');

  let watcher: FSWatcher | null = null;
  if (opts.configFile) {
    watcher = watchConfig(
      opts.configFile,
      configText,
      (c) => {
        void (async () => {
          for (const w of await loaded.applyConfig(c)) log.warn(w);
          if (coord) await coord.onConfig(c);
          log.info({ ranges: c.ranges.length, exclusions: c.exclusions.length }, 'config reloaded');
        })().catch((e: unknown) => log.error({ err: e }, 'config reload failed'));
      },
      (e) => log.error({ err: e.message }, 'config not reloaded; keeping the running one'),
    );
  }

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
