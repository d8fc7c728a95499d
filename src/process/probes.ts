import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { HttpLimitValues } from '../api/http-limits.ts';
import { pathOf } from './http-input.ts';
import type { DrainOptions, Drained } from './http-drain.ts';
import { createLimitedServer, listen } from './http-limits.ts';

// /metrics, /healthz and /readyz of every process: the operator and dhcpd
// serve them on a port of their own (startProbeServer), macd also on its API
// port (probeHandler in front of its routes).

export interface ProbeOptions {
  registry: Registry;
  /** Liveness: the process can make progress. */
  healthy?: () => boolean;
  /** Readiness: state is loaded and the process should receive traffic. */
  ready: () => boolean;
}

export interface ProbeServerOptions extends ProbeOptions {
  /** host:port; port 0 picks a free one. */
  address: string;
  /** Body size, timeouts and connections (default: HttpLimits' defaults). */
  limits?: HttpLimitValues;
}

export interface ProbeServer {
  readonly port: number;
  /** Drains the listener (default: PROBE_DRAIN). */
  close(drain?: DrainOptions): Promise<Drained>;
}

/** A probe answers at once: the drain of a probe port only waits for the answers being written. */
export const PROBE_DRAIN: DrainOptions = { timeoutMs: 2000 };

/** Answers a request for /metrics, /healthz (/livez) or /readyz and returns true; false for any other path. */
export type ProbeHandler = (req: IncomingMessage, res: ServerResponse, path: string) => boolean;

const PROBE_PATHS = new Set(['/metrics', '/healthz', '/livez', '/readyz']);

export function probeHandler(o: ProbeOptions): ProbeHandler {
  return (req, res, path) => {
    if (!PROBE_PATHS.has(path)) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return true;
    }
    if (path === '/metrics') {
      o.registry.metrics().then(
        (body) => res.writeHead(200, { 'content-type': o.registry.contentType }).end(body),
        (err: unknown) => res.writeHead(500).end(String(err)),
      );
      return true;
    }
    const [ok, failStatus, failText] = path === '/readyz' ? [o.ready(), 503, 'not ready'] : [o.healthy?.() ?? true, 500, 'unhealthy'];
    res.writeHead(ok ? 200 : failStatus, { 'content-type': 'text/plain' }).end(ok ? 'ok' : failText);
    return true;
  };
}

/** Parses "host:port", "[v6]:port" or ":port" (all interfaces). */
export function parseHostPort(address: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(address);
  if (!m) throw new Error(`invalid address "${address}": want host:port`);
  const port = Number(m[3]);
  if (port > 65535) throw new Error(`invalid port in "${address}"`);
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** Serves the probes on an address of their own, behind the shared limit layer; any other path is 404. */
export async function startProbeServer(opts: ProbeServerOptions): Promise<ProbeServer> {
  const { host, port } = parseHostPort(opts.address);
  const probes = probeHandler(opts);
  const server = createLimitedServer({
    ...(opts.limits ? { limits: opts.limits } : {}),
    refuse: (_req, _status, _reason, message) => ({ contentType: 'text/plain', body: message }),
    handle: (req, res) => {
      if (!probes(req, res, pathOf(req.url))) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    },
  });
  return {
    port: await listen(server, host, port),
    close: (drain = PROBE_DRAIN) => server.drain(drain),
  };
}
