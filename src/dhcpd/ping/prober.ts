// Conflict detection by ICMP echo (ISC dhcpd's and Kea's ping check): before
// a new address is offered, it is pinged; a reply means someone already uses
// it. Node has no ICMP sockets, so the echoes go through one long-lived
// helper process (icmp-probe.c) that runs every probe concurrently; this side
// only writes a line and waits for one, so the event loop never blocks on a
// probe. Probes of one address share one echo. If the helper is missing or
// cannot open an ICMP socket, probes answer 'unavailable' and the server
// offers without them (counted), rather than stop serving.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { Logger } from '../../process/log.ts';
import { formatIPv4 } from '../../api/ipv4.ts';

export type ProbeResult = 'free' | 'in-use' | 'unavailable';

export interface Prober {
  probe(ip: number): Promise<ProbeResult>;
  /** Starts the helper ahead of the first probe, so a failure shows before any client comes. */
  warmUp(): void;
  /** Why probing cannot work here, once the helper said so; undefined while it can (or was never needed). */
  unavailable(): string | undefined;
  close(): void;
}

/** Where the image puts the helper: <package root>/libexec (src/dhcpd/ping and dist/dhcpd/ping are three levels down). */
export const defaultIcmpHelper = fileURLToPath(new URL('../../../libexec/alcor-icmp-probe', import.meta.url));

export interface IcmpProberOptions {
  helper: string;
  timeoutMs: number;
  logger: Logger;
  /** Probes in flight at most; more get 'unavailable' (offered unprobed) rather than queue. */
  maxInFlight?: number;
}

export class IcmpProber implements Prober {
  private child: ChildProcessWithoutNullStreams | undefined;
  private ready: Promise<boolean> | undefined;
  private failure: string | undefined;
  private readonly waiting = new Map<string, (r: ProbeResult) => void>();
  private readonly byIp = new Map<number, Promise<ProbeResult>>();
  private nextTag = 1;
  private restartAt = 0;
  private closed = false;
  private readonly o: IcmpProberOptions;

  constructor(o: IcmpProberOptions) {
    this.o = o;
  }

  unavailable(): string | undefined {
    return this.failure;
  }

  warmUp(): void {
    void this.start();
  }

  probe(ip: number): Promise<ProbeResult> {
    const shared = this.byIp.get(ip);
    if (shared) return shared;
    if (this.waiting.size >= (this.o.maxInFlight ?? 1024)) return Promise.resolve('unavailable');
    const p = this.send(ip).finally(() => this.byIp.delete(ip));
    this.byIp.set(ip, p);
    return p;
  }

  private async send(ip: number): Promise<ProbeResult> {
    if (!(await this.start())) return 'unavailable';
    const child = this.child;
    if (!child) return 'unavailable';
    const tag = String(this.nextTag++);
    return new Promise<ProbeResult>((resolve) => {
      this.waiting.set(tag, resolve);
      child.stdin.write(`${tag} ${formatIPv4(ip)} ${this.o.timeoutMs}\n`);
    });
  }

  /** Starts the helper once (again after a crash, at most every 5 s); resolves whether it is usable. */
  private start(): Promise<boolean> {
    if (this.ready && (this.child || Date.now() < this.restartAt)) return this.ready;
    if (this.closed) return Promise.resolve(false);
    this.restartAt = Date.now() + 5000;
    const helper = this.o.helper;
    if (!existsSync(helper)) {
      this.fail(`ICMP helper ${helper} not found (in a checkout: npm run build:icmp-helper; or pass --icmp-helper)`);
      return (this.ready = Promise.resolve(false));
    }
    const child = spawn(helper, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.stderr.resume();
    child.stdin.on('error', () => undefined);
    const lines = createInterface({ input: child.stdout });
    this.ready = new Promise<boolean>((resolve) => {
      lines.once('line', (first) => {
        if (first.startsWith('ready ')) {
          this.failure = undefined;
          this.o.logger.info({ helper, socket: first.slice(6) }, 'ICMP conflict detection ready');
          resolve(true);
        } else {
          this.fail(first.replace(/^fail /, ''));
          resolve(false);
        }
        lines.on('line', (line) => this.onLine(line));
      });
      child.once('error', (err) => {
        this.fail(`ICMP helper ${helper} did not start: ${err.message}`);
        resolve(false);
      });
    });
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      if (!this.closed && code !== 2) this.o.logger.warn({ code, signal }, 'ICMP helper exited; restarting it on the next probe');
      // Whatever was in flight gets no answer from it: offer unprobed rather than hang.
      for (const [tag, resolve] of this.waiting) {
        this.waiting.delete(tag);
        resolve('unavailable');
      }
    });
    return this.ready;
  }

  private fail(reason: string): void {
    if (this.failure !== reason) this.o.logger.error({ reason }, 'ICMP conflict detection unavailable: new addresses are offered without a ping check');
    this.failure = reason;
  }

  private onLine(line: string): void {
    const [tag, result] = line.split(' ', 2);
    const resolve = tag === undefined ? undefined : this.waiting.get(tag);
    if (!resolve || tag === undefined) return;
    this.waiting.delete(tag);
    // "error unreachable": no route, so nobody there can be using the address.
    resolve(result === 'reply' ? 'in-use' : result === 'timeout' || line.endsWith(' error unreachable') ? 'free' : 'unavailable');
  }

  close(): void {
    this.closed = true;
    this.child?.stdin.end();
    this.child?.kill();
  }
}
