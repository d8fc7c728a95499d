// The HTTP load generator of the benchmarks: keep-alive connections sending
// requests back to back, latency per request, and a process's RSS. One client
// for every server a benchmark compares (the HTTP floor, macd, Alcor's MAC
// manager), so their figures differ only by the server.

import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';

/** Sends one request; resolves with the status, or with 0 when the body says the answer carries no MAC (`"mac_address":null`). */
export function send(agent: Agent, port: number, path: string, body: string, method = 'POST'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let nullMac = false;
      res.on('data', (c: Buffer) => {
        // A 201 without a MAC is a failure to Alcor's callers (Alcor answers one when it finds no free MAC).
        if (!nullMac && c.includes('"mac_address":null')) nullMac = true;
      });
      res.on('end', () => resolve(nullMac ? 0 : (res.statusCode ?? 0)));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface LoadResult {
  /** Requests answered per second. */
  rps: number;
  /** Successful answers per second (2xx with a MAC where one is expected). */
  okRps: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
}

/** An allocation request as Alcor's port manager sends it, with a distinct port_id. */
export const allocationBody = (i: number): string => `{"mac_state":{"project_id":"project-1","vpc_id":"vpc-1","port_id":"port-${i}"}}`;

/** `conns` keep-alive connections, each sending requests back to back for `secs` after `warmupMs` of the same. */
export async function load(port: number, conns: number, secs: number, path: string | ((i: number) => string), makeBody: (i: number) => string, warmupMs = 300): Promise<LoadResult> {
  const pathOf = typeof path === 'string' ? () => path : path;
  const agent = new Agent({ keepAlive: true, maxSockets: conns });
  let i = 0;
  // Warm-up: open the connections and let the JIT settle.
  const warmEnd = performance.now() + warmupMs;
  await Promise.all(Array.from({ length: conns }, async () => {
    while (performance.now() < warmEnd) {
      const n = i++;
      await send(agent, port, pathOf(n), makeBody(n));
    }
  }));
  const lat: number[] = [];
  let errors = 0;
  const t0 = performance.now();
  const end = t0 + secs * 1000;
  await Promise.all(Array.from({ length: conns }, async () => {
    while (performance.now() < end) {
      const s = performance.now();
      const n = i++;
      const status = await send(agent, port, pathOf(n), makeBody(n));
      lat.push(performance.now() - s);
      if (status >= 300 || status === 0) errors++;
    }
  }));
  const elapsed = (performance.now() - t0) / 1000;
  agent.destroy();
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0;
  return { rps: lat.length / elapsed, okRps: (lat.length - errors) / elapsed, p50: q(0.5), p99: q(0.99), max: lat[lat.length - 1] ?? 0, errors };
}

export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

