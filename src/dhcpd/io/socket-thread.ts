// The socket thread (a worker thread; see packet-io.ts): receives datagrams
// and hands them to the server's thread in batches, sends the replies that
// come back. It holds no lease state, so leases have one owner and one log
// writer whatever this thread does.

import { parentPort, workerData } from 'node:worker_threads';
import { forEachOutgoing, ReceivedPacker, type PacketBatch } from './batch.ts';
import { MessageType } from '../codec/constants.ts';
import { peekMessageType } from './peek.ts';
import { bindDhcpSocket, Sender } from './socket.ts';
import type { FromSocketThread, SocketThreadData, ToSocketThread } from './packet-io.ts';

const port = parentPort;
if (!port) throw new Error('socket-thread.ts runs as a worker thread');
const post = (m: FromSocketThread, transfer: ArrayBuffer[] = []): void => port.postMessage(m, transfer);

const opts = workerData as SocketThreadData;
const handled = new Int32Array(opts.handled);
/** Datagrams handed over (wrapping like the shared Int32 counter). */
let forwarded = 0;
const packer = new ReceivedPacker();
let flushing = false;
// One batch per turn of the event loop: what arrived during this poll phase
// (libuv reads up to 32 datagrams per wakeup) goes as one message.
const flush = (): void => {
  flushing = false;
  if (packer.size === 0) return;
  const b = packer.take();
  post({ t: 'in', batch: b }, [b.data.buffer as ArrayBuffer, b.meta.buffer as ArrayBuffer]);
};

try {
  let sender: Sender | undefined;
  const socket = await bindDhcpSocket(opts, (r) => {
    const waiting = (forwarded - Atomics.load(handled, 0)) | 0;
    // Past a quarter of the backlog, new exchanges go first: a DISCOVER
    // answered means a REQUEST to answer next, a REQUEST answered is a lease.
    if (waiting >= opts.maxBacklog || (waiting >= opts.maxBacklog >> 2 && peekMessageType(r.bytes) === MessageType.DISCOVER)) {
      sender?.overloaded();
      return;
    }
    forwarded = (forwarded + 1) | 0;
    packer.add(r);
    if (!flushing) {
      flushing = true;
      setImmediate(flush);
    }
  });
  const s = (sender = new Sender(socket, opts, (error) => post({ t: 'socket-error', error })));
  port.on('message', (m: ToSocketThread) => {
    if (m.t === 'out') forEachOutgoing(m.batch as PacketBatch, (o) => s.send(o));
    else if (m.t === 'stats') post({ t: 'stats', id: m.id, stats: s.drain() });
    else if (m.t === 'close') {
      // The replies posted before the close (the batches before this message) leave first.
      void s.close().then(() =>
        socket.close(() => {
          post({ t: 'closed' });
          port.close();
        }),
      );
    }
  });
  post({ t: 'ready', port: socket.address().port });
} catch (err) {
  post({ t: 'bind-error', error: err instanceof Error ? err.message : String(err) });
  port.close();
}
