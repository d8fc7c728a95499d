// The DHCP socket and the sending side, wherever they run (the server's own
// thread or the socket thread): bound to port 67 with broadcast on, replies
// paced (pacer.ts) and tallied for the metrics, which the thread owning the
// registry drains.

import { createSocket, type Socket } from 'node:dgram';
import { formatIPv4, ipv4ToNumber } from '../../api/ipv4.ts';
import { Pacer } from '../pacer.ts';
import type { Outgoing, Received } from './batch.ts';

export interface SocketOptions {
  address: string;
  port: number;
  /** Sustained replies per second and burst size (see pacer.ts). */
  replyRate: number;
  replyBurst: number;
}

/** What was sent since the last drain. */
export interface SendStats {
  /** Replies sent, by DHCP message type (index). */
  sent: number[];
  /** Pairs of request type and seconds from receive to send. */
  latencies: number[];
  failed: number;
  /** Received, but dropped at the door: the server's thread had too many waiting (socket thread only). */
  overloaded: number;
  /** The first failure since the last drain. */
  failure?: { error: string; to: string };
}

/** At most this many latencies wait for a drain (about 4 s at the pacer's rate); older ones are dropped. */
const MAX_LATENCIES = 2 * 160_000;

/** Milliseconds since the epoch with sub-millisecond precision: the same clock in every thread (performance.now() alone starts at each thread's own origin). */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** Binds the server's socket; rejects with the bind error (EADDRINUSE, EACCES). */
export async function bindDhcpSocket(o: SocketOptions, onPacket: (r: Received) => void): Promise<Socket> {
  const socket = createSocket({ type: 'udp4', reuseAddr: false });
  const sources = new AddressCache();
  socket.on('message', (msg, rinfo) => onPacket({ bytes: msg, from: sources.number(rinfo.address), fromPort: rinfo.port, stamp: now() }));
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(o.port, o.address, () => {
      socket.off('error', reject);
      socket.setBroadcast(true);
      // Bursts (a rack booting) must queue in the kernel, not be dropped there.
      try {
        socket.setRecvBufferSize(8 * 1024 * 1024);
        socket.setSendBufferSize(4 * 1024 * 1024);
      } catch {
        // Best effort: the kernel may cap the sizes.
      }
      resolve();
    });
  });
  return socket;
}

/** Sends replies through the pacer and keeps the tallies; other socket errors go to `onSocketError`. */
export class Sender {
  private readonly socket: Socket;
  private readonly pacer: Pacer<Outgoing>;
  private readonly destinations = new AddressCache();
  private stats: SendStats = emptyStats();

  constructor(socket: Socket, o: SocketOptions, onSocketError: (message: string) => void) {
    this.socket = socket;
    this.pacer = new Pacer<Outgoing>(o.replyRate, o.replyBurst, (out) => this.sendNow(out));
    // Sent without a callback (one closure and call less per reply): a failed
    // send is an 'error' event with syscall "send".
    socket.on('error', (err: NodeJS.ErrnoException & { address?: string }) => {
      if (err.syscall !== 'send') return onSocketError(err.message);
      this.stats.failed++;
      this.stats.failure ??= { error: err.message, to: err.address ?? '' };
    });
  }

  send(o: Outgoing): void {
    this.pacer.submit(o);
  }

  private sendNow(o: Outgoing): void {
    this.socket.send(o.packet, o.port, this.destinations.text(o.to));
    const s = this.stats;
    s.sent[o.replyType] = (s.sent[o.replyType] ?? 0) + 1;
    if (s.latencies.length < MAX_LATENCIES) s.latencies.push(o.requestType, (now() - o.stamp) / 1000);
  }

  /** A datagram dropped unread by the server's thread (see packet-io.ts). */
  overloaded(): void {
    this.stats.overloaded++;
  }

  /** The tallies since the last drain. */
  drain(): SendStats {
    const s = this.stats;
    this.stats = emptyStats();
    return s;
  }

  /** Sends what the pacer holds, then stops it: a reply made before the close leaves. */
  async close(): Promise<void> {
    await this.pacer.empty();
    this.pacer.stop();
  }
}

/** Address text and number both ways, remembered: a relay's address comes back with every packet. */
class AddressCache {
  private toNumber = new Map<string, number>();
  private toText = new Map<number, string>();

  number(text: string): number {
    let n = this.toNumber.get(text);
    if (n === undefined) {
      if (this.toNumber.size >= 4096) this.toNumber = new Map();
      this.toNumber.set(text, (n = ipv4ToNumber(text)));
    }
    return n;
  }

  text(n: number): string {
    let t = this.toText.get(n);
    if (t === undefined) {
      if (this.toText.size >= 4096) this.toText = new Map();
      this.toText.set(n, (t = formatIPv4(n)));
    }
    return t;
  }
}

export function emptyStats(): SendStats {
  return { sent: [], latencies: [], failed: 0, overloaded: 0 };
}
