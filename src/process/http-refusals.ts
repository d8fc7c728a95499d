// What a server says to what it never hands to a handler: a request node's
// HTTP parser refuses, and CONNECT. Node's own answers come too early (ahead
// of the answers owed on the same connection) or not at all; these come in
// order, and leave the client time to read them.

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** After a refusal, at most this much of what follows is read (and thrown away) so the client gets to read the answer... */
export const LINGER_BYTES = 64 * 1024 * 1024;
/** ...during at most this long; then the connection is cut. */
export const LINGER_MS = 5000;

/** The answers to what node's parser refuses (node's own choice of status). */
const CLIENT_ERRORS: Record<string, [number, string]> = {
  HPE_HEADER_OVERFLOW: [431, 'Request Header Fields Too Large'],
  HPE_CHUNK_EXTENSIONS_OVERFLOW: [413, 'Payload Too Large'],
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'Request Timeout'],
};

/** Requests of each connection whose answer is not out yet, and what waits for them. */
export class OwedAnswers {
  private readonly open = new WeakMap<Duplex, Set<IncomingMessage>>();
  private readonly waiting = new WeakMap<Duplex, () => void>();

  track(req: IncomingMessage, res: ServerResponse): void {
    const socket = req.socket;
    let open = this.open.get(socket);
    if (!open) this.open.set(socket, (open = new Set()));
    open.add(req);
    res.once('close', () => {
      open.delete(req);
      if (this.count(socket) === 0) this.waiting.get(socket)?.();
    });
  }

  /** Answers owed on a connection: to its requests received whole (the parser marks them complete at once). */
  count(socket: Duplex): number {
    let n = 0;
    for (const r of this.open.get(socket) ?? []) if (r.complete) n++;
    return n;
  }

  /** Runs `then` once the connection owes no answer. */
  whenPaid(socket: Duplex, then: () => void): void {
    this.waiting.set(socket, then);
  }
}

/** Connections whose request got an early answer (413, 417) while its body is dropped: nothing more to say on them. */
export const refusing = new WeakSet<Duplex>();

/** Installs the answers to parser refusals and CONNECT on a server whose requests `owed` tracks. */
export function answerParserRefusals(server: Server, owed: OwedAnswers, requestTimeoutMs: number): void {
  // A request node's parser refuses (a malformed request line or header, a
  // header block over 16 KiB, a timeout). Node would write its answer at once,
  // ahead of the answers still owed to the requests before it on the same
  // connection (pipelined: the client reads the refusal as the answer to a
  // request that was in fact served), and destroy the socket, which resets a
  // connection whose client is still sending, so it may never read the
  // answer. Here the refusal waits for the answers owed, then goes out, and
  // what follows is dropped for a bounded while, as after a 413.
  const answered = new WeakSet<Duplex>();
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // What follows the refused request fails to parse again: it is being dropped.
    if (answered.has(socket)) return;
    answered.add(socket);
    // An early answer (413, 417) is out for the request being read: it ends the connection itself.
    if (refusing.has(socket)) return;
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    socket.on('error', () => {});
    const [status, text] = CLIENT_ERRORS[err.code ?? ''] ?? [400, 'Bad Request'];
    const refuse = (): void => {
      if (!socket.writable) return;
      socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      if (status === 408) return void socket.destroy();
      let discarded = 0;
      socket.on('data', (chunk: Buffer) => {
        discarded += chunk.length;
        if (discarded > LINGER_BYTES) socket.destroy();
      });
      socket.resume();
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
    };
    // A timeout is about the request being read: answered at once, as node does.
    if (status === 408 || owed.count(socket) === 0) return refuse();
    owed.whenPaid(socket, refuse);
    // The answers owed are bounded by the request timeout; so is the wait.
    setTimeout(() => socket.destroy(), requestTimeoutMs + LINGER_MS).unref();
  });
  // CONNECT (a proxy tunnel): none of our listeners is a proxy. Node hands
  // such a connection over, out of the HTTP timeouts (and would drop it
  // without an answer): answer 405, drop what follows, close within a second.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => {});
    socket.end('HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    socket.resume();
    setTimeout(() => socket.destroy(), 1000).unref();
  });
}
