// Starts dhcpd's lease API on its own port: the transport (src/process/json-api.ts)
// around the routes, with a request counter on the server's registry.

import { Counter, type Registry } from 'prom-client';
import { httpLimitValues } from '../../api/http-limits.ts';
import { ApiFailure, startJsonApi, type ApiAnswer, type ApiRequest, type JsonApi } from '../../process/json-api.ts';
import type { Logger } from '../../process/log.ts';
import type { DhcpCore, LeaseRecord } from '../core.ts';
import type { PeerSource } from './peers.ts';
import { Replica, type ServerIdentity } from './replica.ts';
import { leaseRoutes } from './routes.ts';

export interface LeaseApiOptions {
  /** host:port of the API. */
  address: string;
  core: DhcpCore;
  persist: (records: LeaseRecord[]) => Promise<void>;
  /** This replica's name (its pod) and share. */
  name: string;
  share: number;
  peers?: PeerSource;
  registry: Registry;
  log: Logger;
  /** Largest import body (bytes). */
  maxImportBytes: number;
  /** The data directory is refused (why): every request answers 503 data_dir_refused. */
  blocked?: string;
}

/** Bodies other than an import: a few KiB at most. */
const SMALL_BODY = 64 * 1024;
/** Time to send a whole request: an import is large. */
const IMPORT_TIMEOUT = '5m';

/** Every request refused: the server holds no lease it could answer for. */
function refuseAll(why: string): (req: ApiRequest) => Promise<ApiAnswer> {
  return () => Promise.reject(new ApiFailure(503, 'data_dir_refused', why));
}

export async function startLeaseApi(o: LeaseApiOptions): Promise<JsonApi> {
  const identity = (): ServerIdentity => ({ name: o.name, share: o.share, shares: o.core.shareCount() });
  const replica = new Replica({ core: o.core, persist: o.persist, identity });
  const requests = new Counter({
    name: 'alcor_dhcpd_api_requests_total',
    help: 'Requests to the lease API, by method and status code.',
    labelNames: ['method', 'code'],
    registers: [o.registry],
  });
  return startJsonApi({
    address: o.address,
    handle: o.blocked !== undefined ? refuseAll(o.blocked) : leaseRoutes({ replica, identity, ...(o.peers ? { peers: o.peers } : {}), log: o.log }),
    maxBody: (method, path) => (method === 'POST' && path === '/v1/import' ? o.maxImportBytes : SMALL_BODY),
    // The shared limits, but an import of up to maxImportBytes may take minutes to send.
    limits: httpLimitValues({ requestTimeout: IMPORT_TIMEOUT }),
    log: o.log,
    observe: (method, status) => requests.inc({ method, code: String(status) }),
  });
}
