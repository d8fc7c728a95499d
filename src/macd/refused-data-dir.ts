// A data directory this release cannot read (its format marker is newer, or
// not a marker: src/process/data-dir-format.ts), as after a rollback from a
// release that moved the format on: macd must not touch it, since reading it
// as an older format would lose or hand out MACs twice. It serves nothing and
// says why, until the pod is replaced: its API port answers /healthz ok (no
// restart loop) and /readyz 503 (no traffic), every other path 503
// data_dir_refused, and in replica mode its report on its Lease carries the
// reason (`blocked`, and in `refused` for operators before 0.3.0).

import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { errorBody } from '../api/http-error.ts';
import type { HttpLimitValues } from '../api/http-limits.ts';
import type { MacdReport } from '../api/leases.ts';
import { clip, pathOf } from '../process/http-input.ts';
import { createLimitedServer, listen } from '../process/http-limits.ts';
import { parseHostPort, probeHandler } from '../process/probes.ts';
import type { PoolRef } from './leases.ts';

export interface RefusedDataDirOptions {
  /** Why the directory is refused (what, and why). */
  refusal: string;
  /** host:port of the API, where the probes answer meanwhile. */
  address: string;
  registry: Registry;
  limits: HttpLimitValues;
  log: Logger;
  /** The report's version and pod. */
  identity: Pick<MacdReport, 'version' | 'pod'>;
  /** Replica mode: the pool, and how to put the report on this replica's Lease. */
  pool?: PoolRef;
  publish?: (pool: PoolRef, report: MacdReport) => Promise<void>;
  /** Wait before publishing again after a failed write (default 5 s). */
  retryMs?: number;
}

/** The report of a process that serves nothing because its data directory is refused. */
export function refusedDataDirReport(refusal: string, identity: Pick<MacdReport, 'version' | 'pod'>): MacdReport {
  return { generation: 0, refused: [refusal], blocked: refusal, capacity: 0, allocated: 0, ...identity };
}

/** Serves nothing, says why, and never returns: the process ends when it is terminated. */
export async function refuseDataDir(o: RefusedDataDirOptions): Promise<never> {
  const probes = probeHandler({ registry: o.registry, ready: () => false });
  const server = createLimitedServer({
    limits: o.limits,
    handle: (req, res) => {
      const path = pathOf(req.url);
      if (probes(req, res, path)) return;
      const text = JSON.stringify(errorBody(503, 'data_dir_refused', o.refusal, clip(path)));
      res.writeHead(503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
    },
  });
  const { host, port } = parseHostPort(o.address);
  const bound = await listen(server, host, port);
  o.log.error({ err: o.refusal, port: bound }, 'data directory refused at startup: not touching it, serving nothing until terminated');

  const report = refusedDataDirReport(o.refusal, o.identity);
  const publish = async (): Promise<void> => {
    if (!o.publish || !o.pool) return;
    for (;;) {
      try {
        await o.publish(o.pool, report);
        return;
      } catch (err) {
        o.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'report Lease update failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, o.retryMs ?? 5000));
      }
    }
  };
  await publish();
  return new Promise<never>(() => {});
}
