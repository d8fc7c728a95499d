// The graceful end of a listener of the limit layer (http-limits.ts), for a
// pod going down under traffic. node's server.close() destroys every idle
// keep-alive connection at once: a client that has just sent a request on one
// gets a reset, and since clients retry only idempotent requests, a POST
// fails. A drain instead stops listening (a new connection is refused, which
// is safe to retry), answers every further request with `Connection: close`,
// leaves idle connections open for a linger (a client busy on one gets its
// next answer with the close, rather than a reset), then closes the idle ones,
// and waits for the requests in flight to be answered. A connection whose
// request has been read is never cut before the timeout: that request's effect
// (an allocation) would stay and its answer be lost.

import { Server as NetServer, type Socket } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

export interface DrainOptions {
  /** The longest the drain takes, linger included; past it, the connections left are cut. */
  timeoutMs: number;
  /**
   * How long idle keep-alive connections stay open before they are closed
   * (default 0): meanwhile a client that sends on one is answered, with
   * `Connection: close`.
   */
  lingerMs?: number;
}

/** What a drain did. */
export interface Drained {
  /** From the start of the drain until the last connection closed. */
  ms: number;
  /** Requests answered during the drain (in flight at its start, or sent on an open connection since). */
  answered: number;
  /** Connections cut at the timeout, and how many of them owed an answer (a request read, its answer not out). */
  cut: number;
  cutOwing: number;
}

/** A response that ends its connection (ours, or a limit's). */
const closes = (res: ServerResponse): boolean => /close/i.test(String(res.getHeader('connection') ?? ''));

/** The connections of one server and the answers each one owes, in order; drains them. */
export class Connections {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly owing = new Map<Socket, ServerResponse[]>();
  private phase: 'serving' | 'lingering' | 'closing' = 'serving';
  private answered = 0;
  private empty: (() => void) | null = null;
  private drained: Promise<Drained> | null = null;

  constructor(server: Server) {
    this.server = server;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => {
        this.sockets.delete(socket);
        this.owing.delete(socket);
        if (this.sockets.size === 0) this.empty?.();
      });
    });
  }

  /**
   * A request whose headers are in. False: leave it unread and unanswered,
   * because an earlier answer on its connection has gone out saying
   * `Connection: close` (a pipelined request the connection ends before; the
   * client sees it unanswered and may send it again). While draining, the
   * connection's last answer says `Connection: close`.
   */
  admit(req: IncomingMessage, res: ServerResponse): boolean {
    const socket = req.socket as Socket;
    let list = this.owing.get(socket);
    const earlier = list?.at(-1);
    if (earlier && closes(earlier)) {
      if (earlier.headersSent) return false;
      // The close moves to the last answer: this request is answered first.
      earlier.removeHeader('connection');
      res.setHeader('connection', 'close');
    }
    if (!list) this.owing.set(socket, (list = []));
    list.push(res);
    if (this.phase !== 'serving') res.setHeader('connection', 'close');
    res.once('close', () => {
      const l = this.owing.get(socket);
      const i = l?.indexOf(res) ?? -1;
      if (i >= 0) l!.splice(i, 1);
      if (this.phase === 'serving') return;
      if (res.writableFinished) this.answered++;
      // A connection idle again once its answer is out (one that went out keep-alive before the drain).
      if (this.phase === 'closing') setImmediate(() => this.server.closeIdleConnections());
    });
    return true;
  }

  /** Drains the server (see the top of this file); a second call returns the first one's outcome. */
  drain(o: DrainOptions): Promise<Drained> {
    this.drained ??= this.run(o);
    return this.drained;
  }

  private async run(o: DrainOptions): Promise<Drained> {
    const t0 = performance.now();
    this.phase = 'lingering';
    // net.Server's close: stop listening, and nothing more. (http.Server's
    // would also destroy the idle keep-alive connections at once, and stop
    // the checks of the header and request timeouts, which keep a client that
    // sends slowly from holding the drain to its end.)
    if (this.server.listening) NetServer.prototype.close.call(this.server);
    for (const list of this.owing.values()) {
      const last = list.at(-1);
      if (last && !last.headersSent) last.setHeader('connection', 'close');
    }
    const allClosed = new Promise<void>((resolve) => {
      this.empty = resolve;
      if (this.sockets.size === 0) resolve();
    });
    const until = (ms: number): Promise<void> => {
      let timer: NodeJS.Timeout | undefined;
      const elapsed = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))));
      return Promise.race([allClosed, elapsed]).finally(() => clearTimeout(timer));
    };
    await until(Math.min(o.lingerMs ?? 0, o.timeoutMs));
    this.phase = 'closing';
    // node's idle connections leave out one whose request has begun to
    // arrive, or is read and not answered yet (and one that has sent nothing
    // since it was accepted: the headers timeout ends those).
    this.server.closeIdleConnections();
    await until(o.timeoutMs - (performance.now() - t0));
    let cut = 0;
    let cutOwing = 0;
    for (const socket of this.sockets) {
      cut++;
      if ((this.owing.get(socket)?.length ?? 0) > 0) cutOwing++;
      socket.destroy();
    }
    await allClosed;
    return { ms: Math.round(performance.now() - t0), answered: this.answered, cut, cutOwing };
  }
}

/** An in-process close (a test, a failed start): no linger, and the requests in flight get this long. */
export const QUICK_DRAIN: DrainOptions = { timeoutMs: 5000 };

/**
 * The linger of a server's drain on SIGTERM. A client busy on a connection
 * sends again within milliseconds, so one second is enough for its next
 * answer to carry `Connection: close`; the connections closed after it are
 * ones no client used for a second (test/process/http-drain.test.ts runs
 * busy clients with and without it).
 */
export const SHUTDOWN_LINGER_MS = 1000;
