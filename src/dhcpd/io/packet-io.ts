// Where the DHCP socket runs. Inline: in the server's own thread, as one
// process on one core. Threaded: in a socket thread (socket-thread.ts) that
// receives and sends, while the server's thread parses, runs the core and
// writes the lease log: the system calls and the kernel's work of delivering
// each reply (about half of a packet's CPU time) move to the other core, and
// the lease state keeps a single owner, so no address can be given twice.
//
// Why not SO_REUSEPORT sockets each owning a share of the pools: the kernel
// hashes a datagram's 4-tuple to pick the socket, so a relay (one address and
// port) lands on one socket whatever its clients, and every broadcast reaches
// every socket (measured: docs/dhcpd.md, "Using two cores").
//
// Overload: the socket thread reads as fast as datagrams come, so the queue
// that builds when the server's thread falls behind is the batches between
// the threads, not the kernel's receive buffer. Past MAX_BACKLOG datagrams
// handed over and not yet handled, the socket thread drops new ones
// ("overloaded"), as a full receive buffer would, and DISCOVERs already past
// a quarter of that (the exchanges under way finish before new ones start): a
// queue of seconds would answer only clients that have given up (and perfdhcp
// counts a reply after 1 s as lost), so throughput would collapse instead of
// levelling off. When
// the server's thread is slower than usual (other work on its core), 4,096
// datagrams are seconds of its work; so it also drops unread what waited more
// than MAX_WAIT_MS between the threads, counted the same: its reply would come
// late, and parsing and answering it would cost as much as a fresh one.

import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { forEachReceived, OutgoingPacker, type Outgoing, type PacketBatch, type Received } from './batch.ts';
import { bindDhcpSocket, emptyStats, now, Sender, type SendStats, type SocketOptions } from './socket.ts';

/** Datagrams handed to the server's thread and not yet handled, at most (about 0.1 s of its work). */
export const MAX_BACKLOG = 4096;
/** Datagrams that waited longer than this for the server's thread are dropped unread (milliseconds). */
export const MAX_WAIT_MS = 500;

/** What the socket thread is started with: its socket, and the counter of datagrams the server's thread has handled (Int32, shared). */
export interface SocketThreadData extends SocketOptions {
  handled: SharedArrayBuffer;
  maxBacklog: number;
}

export type ToSocketThread = { t: 'out'; batch: PacketBatch } | { t: 'stats'; id: number } | { t: 'close' };
export type FromSocketThread =
  | { t: 'ready'; port: number }
  | { t: 'bind-error'; error: string }
  | { t: 'in'; batch: PacketBatch }
  | { t: 'stats'; id: number; stats: SendStats }
  | { t: 'socket-error'; error: string }
  | { t: 'closed' };

export interface PacketIoOptions extends SocketOptions {
  /** Run the socket in a thread of its own. */
  thread: boolean;
  /** Socket thread: datagrams waiting for the server's thread, at most (default MAX_BACKLOG). */
  maxBacklog?: number;
  /** Socket thread: longest wait for the server's thread before a datagram is dropped unread (default MAX_WAIT_MS). */
  maxWaitMs?: number;
  /** Each received datagram, in the server's thread. */
  onPacket: (r: Received) => void;
  /** The socket reported an error (serving goes on). */
  onSocketError: (message: string) => void;
  /** The socket thread died: nothing is received or sent any more. */
  onFatal: (err: Error) => void;
}

export interface PacketIo {
  /** The bound UDP port. */
  readonly port: number;
  readonly threaded: boolean;
  send(o: Outgoing): void;
  /** What was sent since the last drain (counts, latencies, failures). */
  drainStats(): Promise<SendStats>;
  close(): Promise<void>;
}

export function openPacketIo(o: PacketIoOptions): Promise<PacketIo> {
  return o.thread ? threadIo(o) : inlineIo(o);
}

async function inlineIo(o: PacketIoOptions): Promise<PacketIo> {
  const socket = await bindDhcpSocket(o, o.onPacket);
  const sender = new Sender(socket, o, o.onSocketError);
  return {
    port: socket.address().port,
    threaded: false,
    send: (out) => sender.send(out),
    drainStats: () => Promise.resolve(sender.drain()),
    async close() {
      await sender.close();
      await new Promise<void>((r) => socket.close(() => r()));
    },
  };
}

/** The socket thread's module, compiled (.js) or run from source (.ts) like this one. */
function socketThreadUrl(): URL {
  return new URL(`./socket-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url);
}

async function threadIo(o: PacketIoOptions): Promise<PacketIo> {
  const handled = new Int32Array(new SharedArrayBuffer(4));
  const data: SocketThreadData = { address: o.address, port: o.port, replyRate: o.replyRate, replyBurst: o.replyBurst, handled: handled.buffer as SharedArrayBuffer, maxBacklog: o.maxBacklog ?? MAX_BACKLOG };
  const worker = new Worker(socketThreadUrl(), { workerData: data, name: 'dhcp-socket' });
  const waiting = new Map<number, (s: SendStats) => void>();
  let nextId = 0;
  /** Dropped unread here for waiting too long; added to the socket thread's overloaded count at each drain. */
  let stale = 0;
  const maxWaitMs = o.maxWaitMs ?? MAX_WAIT_MS;
  const onPacket = (r: Received): void => {
    if (now() - r.stamp > maxWaitMs) stale++;
    else o.onPacket(r);
  };
  let started = false;
  let closing = false;
  let closed: (() => void) | undefined;

  const port = await new Promise<number>((resolve, reject) => {
    worker.on('message', (m: FromSocketThread) => {
      switch (m.t) {
        case 'in':
          Atomics.add(handled, 0, forEachReceived(m.batch, onPacket));
          break;
        case 'stats':
          m.stats.overloaded += stale;
          stale = 0;
          waiting.get(m.id)?.(m.stats);
          waiting.delete(m.id);
          break;
        case 'ready':
          started = true;
          resolve(m.port);
          break;
        case 'bind-error':
          reject(new Error(m.error));
          break;
        case 'socket-error':
          o.onSocketError(m.error);
          break;
        case 'closed':
          closed?.();
          break;
      }
    });
    worker.on('error', (err) => (started ? !closing && o.onFatal(err) : reject(err)));
    worker.on('exit', (code) => {
      for (const done of waiting.values()) done(emptyStats());
      waiting.clear();
      closed?.();
      if (!started) reject(new Error(`socket thread exited (code ${code}) before binding`));
      else if (!closing) o.onFatal(new Error(`socket thread exited (code ${code})`));
    });
  });

  const packer = new OutgoingPacker();
  let flushing = false;
  // Replies made in one turn of the event loop (a batch's OFFERs, a group
  // commit's ACKs) cross to the socket thread as one message.
  const flush = (): void => {
    flushing = false;
    if (packer.size === 0 || closing) return;
    const b = packer.take();
    const m: ToSocketThread = { t: 'out', batch: b };
    worker.postMessage(m, [b.data.buffer as ArrayBuffer, b.meta.buffer as ArrayBuffer]);
  };

  return {
    port,
    threaded: true,
    send(out) {
      packer.add(out);
      if (!flushing) {
        flushing = true;
        setImmediate(flush);
      }
    },
    drainStats() {
      if (closing) return Promise.resolve(emptyStats());
      const id = nextId++;
      return new Promise<SendStats>((resolve) => {
        waiting.set(id, resolve);
        const m: ToSocketThread = { t: 'stats', id };
        worker.postMessage(m);
      });
    },
    async close() {
      flush();
      closing = true;
      const done = new Promise<void>((r) => (closed = r));
      const m: ToSocketThread = { t: 'close' };
      worker.postMessage(m);
      const timer = setTimeout(() => void worker.terminate(), 2000);
      await done;
      clearTimeout(timer);
    },
  };
}

