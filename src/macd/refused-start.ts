// A config file macd cannot parse at startup (an edited ConfigMap, a rule of
// a newer server): rather than exit, a crash loop whose reason is only in the
// pod's log, macd serves nothing and waits for one it can parse. Its API port
// answers the probes (/healthz ok, so the kubelet does not restart it;
// /readyz 503, so its Service sends it nothing), and in replica mode the
// refusal is its report on its Lease, so the MacPool shows
// Degraded/ConfigRejected in macd's words. The first config that parses ends
// the wait, and macd starts with it.

import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { MacdConfig } from '../api/config/macd.ts';
import type { MacdReport } from '../api/leases.ts';
import type { HttpLimitValues } from '../api/http-limits.ts';
import { watchConfigFile } from '../process/config-watch.ts';
import { startProbeServer } from '../process/probes.ts';
import { parseConfig, poolOfRefusedConfig } from './config.ts';
import type { PoolRef } from './leases.ts';

export interface RefusedStartOptions {
  path: string;
  /** The text refused, and why. */
  text: string;
  error: Error;
  /** host:port of the API, where the probes answer meanwhile. */
  address: string;
  registry: Registry;
  limits: HttpLimitValues;
  log: Logger;
  /** The report's version and pod. */
  identity?: Pick<MacdReport, 'version' | 'pod'>;
  /** Replica mode: puts the report on this replica's Lease of `pool`. */
  publish?: (pool: PoolRef, report: MacdReport) => Promise<void>;
  /** Wait before publishing again after a failed write (default 5 s). */
  retryMs?: number;
}

/** The report of a process that serves nothing: it applied no config, and says why. */
export function refusedStartReport(message: string, identity: Pick<MacdReport, 'version' | 'pod'> = {}): MacdReport {
  return { generation: 0, refused: [`config: ${message}`], capacity: 0, allocated: 0, ...identity };
}

/** Waits, serving nothing, until the config file holds one that parses; returns it. */
export async function waitForConfig(o: RefusedStartOptions): Promise<{ text: string; config: MacdConfig }> {
  const { log } = o;
  const probes = await startProbeServer({ address: o.address, registry: o.registry, ready: () => false, limits: o.limits });
  let text = o.text;
  let message = o.error.message;
  log.error({ err: message, port: probes.port }, 'config refused at startup: serving nothing until it changes');

  let retry: NodeJS.Timeout | undefined;
  let done = false;
  let publishing: Promise<void> = Promise.resolve();
  const publish = (): void => {
    clearTimeout(retry);
    if (!o.publish || done) return;
    const pool = poolOfRefusedConfig(text);
    if (!pool) {
      log.warn('the refused config names no pool: its refusal is in this log only');
      return;
    }
    const report = refusedStartReport(message, o.identity);
    publishing = publishing.then(() =>
      o.publish!(pool, report).catch((err: unknown) => {
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'report Lease update failed; retrying');
        if (!done) retry = setTimeout(publish, o.retryMs ?? 5000);
      }),
    );
  };
  publish();

  return new Promise((resolve) => {
    const watcher = watchConfigFile({
      path: o.path,
      current: text,
      onChange: (next) => {
        let config: MacdConfig;
        try {
          config = parseConfig(next);
        } catch (e) {
          text = next;
          message = e instanceof Error ? e.message : String(e);
          log.error({ err: message }, 'config still refused: serving nothing until it changes');
          publish();
          return;
        }
        watcher.close();
        done = true;
        clearTimeout(retry);
        log.info({ generation: config.generation ?? 0 }, 'config parsed: starting');
        // A refusal still being written lands before the report of what is served.
        void publishing
          .then(() => probes.close())
          .then(() => resolve({ text: next, config }));
      },
      onError: (e) => log.error({ err: e.message }, 'config file unreadable: serving nothing until it changes'),
    });
  });
}
