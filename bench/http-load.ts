// The HTTP load generator of the benchmarks: keep-alive connections sending
// requests back to back, latency per request, and a process's RSS. One client
// for every server a benchmark compares (the HTTP floor, macd, Alcor's MAC
// manager), so their figures differ only by the server.
//
// `load` speaks HTTP/1.1 on raw sockets (a request written as one string, the
// answer's status line, Content-Length or chunked framing and Connection
// header read, nothing else): about a tenth of the CPU node:http's client
// spends per request, so on a 2-core machine the servers, not the client, get
// the cores (wrk's approach; `clientCpuUsPerRequest` says what it cost).
// `send` (setup requests, bulk) uses node:http.

import { Agent, request } from 'node:http';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';

/** Sends one request; resolves with the status, or with 0 when the body says the answer carries no MAC (`"mac_address":null`). */
export function send(agent: Agent, port: number, path: string, body: string, method = 'POST'): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let nullMac = false;
      res.on('data', (c: Buffer) => {
        // A 201 without a MAC is a failure to Alcor's callers (Alcor answers one when it finds no free MAC).
        if (!nullMac && c.includes(NULL_MAC)) nullMac = true;
      });
      res.on('end', () => resolve(nullMac ? 0 : (res.statusCode ?? 0)));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const NULL_MAC = '"mac_address":null';

export interface LoadResult {
  /** Requests answered per second. */
  rps: number;
  /** Successful answers per second (2xx with a MAC where one is expected). */
  okRps: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  /** The load generator's own CPU time per request answered (µs). */
  clientCpuUs: number;
  /** Answers received, the warm-up's included. */
  answered: number;
}

/** An allocation request as Alcor's port manager sends it, with a distinct port_id. */
export const allocationBody = (i: number): string => `{"mac_state":{"project_id":"project-1","vpc_id":"vpc-1","port_id":"port-${i}"}}`;

const CRLF2 = Buffer.from('\r\n\r\n');

/**
 * Reads HTTP/1.1 answers off one connection. `feed` takes bytes as they
 * come and calls `done` once per complete answer.
 */
class AnswerReader {
  private buf: Buffer | null = null;
  /** Answer in progress: status, body bytes still expected (-1: chunked), whether it carries no MAC, Connection: close. */
  private status = 0;
  private remaining = 0;
  private inBody = false;
  private chunked = false;
  private nullMac = false;
  private close = false;
  private readonly done: (status: number, close: boolean) => void;

  constructor(done: (status: number, close: boolean) => void) {
    this.done = done;
  }

  feed(chunk: Buffer): void {
    let b = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
    this.buf = null;
    for (;;) {
      if (!this.inBody) {
        const end = b.indexOf(CRLF2);
        if (end < 0) break;
        const head = b.toString('latin1', 0, end).toLowerCase();
        this.status = Number(head.slice(9, 12));
        const len = /\r\ncontent-length:\s*(\d+)/.exec(head);
        this.chunked = !len && /\r\ntransfer-encoding:[^\r]*chunked/.test(head);
        this.remaining = len ? Number(len[1]) : 0;
        this.close = /\r\nconnection:\s*close/.test(head);
        this.nullMac = false;
        this.inBody = true;
        b = b.subarray(end + 4);
      }
      if (this.chunked) {
        // size CRLF data CRLF ... 0 CRLF CRLF (no trailers from our servers)
        const eol = b.indexOf('\r\n');
        if (eol < 0) break;
        const size = parseInt(b.toString('latin1', 0, eol), 16);
        if (b.length < eol + 2 + size + 2) break;
        if (size === 0) {
          b = b.subarray(eol + 4);
          this.finish();
          continue;
        }
        if (b.subarray(eol + 2, eol + 2 + size).includes(NULL_MAC)) this.nullMac = true;
        b = b.subarray(eol + 2 + size + 2);
        continue;
      }
      if (b.length < this.remaining) {
        // A body split over reads: keep it whole so the null-MAC check sees it.
        break;
      }
      if (b.subarray(0, this.remaining).includes(NULL_MAC)) this.nullMac = true;
      b = b.subarray(this.remaining);
      this.finish();
    }
    if (b.length > 0) this.buf = Buffer.from(b);
  }

  private finish(): void {
    this.inBody = false;
    this.done(this.nullMac ? 0 : this.status, this.close);
  }
}

/** `conns` keep-alive connections, each sending requests back to back for `secs` after `warmupMs` of the same. */
export async function load(port: number, conns: number, secs: number, path: string | ((i: number) => string), makeBody: (i: number) => string, warmupMs = 300): Promise<LoadResult> {
  const pathOf = typeof path === 'string' ? () => path : path;
  let i = 0;
  const requestText = (): string => {
    const n = i++;
    const body = makeBody(n);
    return `POST ${pathOf(n)} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
  };
  const lat: number[] = [];
  let errors = 0;
  let answered = 0;
  const t0 = performance.now() + warmupMs;
  const end = t0 + secs * 1000;
  let cpu0 = process.cpuUsage();

  /** One connection sending requests back to back until `end`; reconnects when the server closes it. */
  const run = (): Promise<void> =>
    new Promise((resolve) => {
      let sent = 0;
      let finished = false;
      const open = (): void => {
        let inFlight = false;
        const next = (): void => {
          const now = performance.now();
          if (now >= end) {
            finished = true;
            sock.destroy();
            return;
          }
          sent = now;
          inFlight = true;
          sock.write(requestText());
        };
        const reader = new AnswerReader((status, close) => {
          inFlight = false;
          answered++;
          const now = performance.now();
          if (now >= t0) {
            lat.push(now - sent);
            if (status >= 300 || status === 0) errors++;
          }
          if (close) sock.end();
          else next();
        });
        const sock: Socket = connect({ host: '127.0.0.1', port, noDelay: true }, next);
        sock.on('data', (c: Buffer) => reader.feed(c));
        sock.on('error', () => {});
        // Closed by us at the end, by the server after Connection: close, or broken: go on with a new connection.
        sock.on('close', () => {
          if (inFlight) errors++;
          if (finished || performance.now() >= end) resolve();
          else setImmediate(open);
        });
      };
      open();
    });
  const warmEnd = setTimeout(() => {
    cpu0 = process.cpuUsage();
  }, warmupMs);
  await Promise.all(Array.from({ length: conns }, run));
  clearTimeout(warmEnd);
  const cpu = process.cpuUsage(cpu0);
  const elapsed = Math.max(0.001, (performance.now() - t0) / 1000);
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? 0;
  return {
    rps: lat.length / elapsed,
    okRps: (lat.length - errors) / elapsed,
    p50: q(0.5),
    p99: q(0.99),
    max: lat[lat.length - 1] ?? 0,
    errors,
    clientCpuUs: lat.length ? (cpu.user + cpu.system) / lat.length : 0,
    answered,
  };
}

export function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
