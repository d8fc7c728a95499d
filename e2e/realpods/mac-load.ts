// A steady load of MAC allocations through a MacPool's Service, as Alcor's
// port manager sends them: keep-alive connections, one POST /macs at a time
// each, distinct port ids, a connect timeout of 2 s and an answer timeout of
// 10 s (as HTTP clients set them). A request that fails (a connection reset,
// refused or not up in time, no answer in time, a 5xx) is retried once, after `retryDelayMs`
// (the first step of a client's backoff; 0: at once), on a fresh connection,
// as a client of a rolling service must; what still fails after that is a
// failed request. Every acknowledged MAC is kept with its port id, so a test
// can check afterwards that none was handed out twice and none was lost.
// Bounded: it stops when asked, or after `maxRequests`.
import { Agent, request } from 'node:http';

export interface MacLoadStats {
  /** Requests sent, retries not counted. */
  requests: number;
  /** Requests whose first try failed, by what failed (error code or HTTP status). */
  firstTryFailures: Record<string, number>;
  /** Requests that failed on the retry too: what a client of the service saw fail. */
  failed: number;
  failures: Record<string, number>;
  /** When each of those failed (ms since the epoch), to set beside the pods' events. */
  failedAt: number[];
  /** A MAC acknowledged twice (to two port ids): must stay empty. */
  duplicates: string[];
}

export interface MacLoad {
  /** MAC → port id of every acknowledged allocation. */
  readonly acked: Map<string, string>;
  stats(): MacLoadStats;
  /** Stops sending and waits for the requests in flight. */
  stop(): Promise<MacLoadStats>;
}

interface Answer {
  status: number;
  body: string;
}

/** A new connection that is not up within this long goes nowhere (a pod gone, its Service rules not yet updated). */
const CONNECT_TIMEOUT_MS = 2000;

function post(agent: Agent, url: URL, body: string, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('socket', (socket) => {
      if (!socket.connecting) return;
      const timer = setTimeout(() => req.destroy(Object.assign(new Error('not connected in time'), { code: 'CONNECT_TIMEOUT' })), CONNECT_TIMEOUT_MS);
      socket.once('connect', () => clearTimeout(timer));
      socket.once('close', () => clearTimeout(timer));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('no answer in time'), { code: 'TIMEOUT' })));
    req.on('error', reject);
    req.end(body);
  });
}

export function startMacLoad(opts: { serviceUrl: string; connections: number; prefix: string; maxRequests?: number; timeoutMs?: number; retryDelayMs?: number }): MacLoad {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.connections });
  const fresh = new Agent({ keepAlive: false });
  const url = new URL('/macs', opts.serviceUrl);
  const acked = new Map<string, string>();
  const stats: MacLoadStats = { requests: 0, firstTryFailures: {}, failed: 0, failures: {}, failedAt: [], duplicates: [] };
  const count = (m: Record<string, number>, k: string): void => {
    m[k] = (m[k] ?? 0) + 1;
  };
  let stopping = false;
  let n = 0;
  const max = opts.maxRequests ?? 1_000_000;

  /** One try (a retry on a connection of its own, not one from the pool that just failed): the MAC, or why it failed. */
  const attempt = async (port: string, retry = false): Promise<{ mac: string } | { why: string }> => {
    try {
      const a = await post(retry ? fresh : agent, url, JSON.stringify({ mac_state: { project_id: 'upgrade', vpc_id: 'vpc', port_id: port } }), opts.timeoutMs ?? 10_000);
      if (a.status !== 201 && a.status !== 200) return { why: `HTTP ${a.status}` };
      const mac = (JSON.parse(a.body) as { mac_state?: { mac_address?: string } }).mac_state?.mac_address;
      return mac ? { mac } : { why: 'no mac_address' };
    } catch (e) {
      return { why: (e as { code?: string }).code ?? (e instanceof Error ? e.message : String(e)) };
    }
  };

  const loop = async (): Promise<void> => {
    while (!stopping && n < max) {
      const port = `${opts.prefix}-${n++}`;
      stats.requests++;
      let r = await attempt(port);
      if ('why' in r) {
        count(stats.firstTryFailures, r.why);
        if (opts.retryDelayMs) await new Promise((res) => setTimeout(res, opts.retryDelayMs));
        r = await attempt(port, true);
        if ('why' in r) {
          stats.failed++;
          count(stats.failures, r.why);
          stats.failedAt.push(Date.now());
          continue;
        }
      }
      const before = acked.get(r.mac);
      if (before !== undefined) stats.duplicates.push(`${r.mac} (${before} and ${port})`);
      acked.set(r.mac, port);
    }
  };
  const loops = Array.from({ length: opts.connections }, loop);
  return {
    acked,
    stats: () => structuredClone(stats),
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
      agent.destroy();
      fresh.destroy();
      return structuredClone(stats);
    },
  };
}
