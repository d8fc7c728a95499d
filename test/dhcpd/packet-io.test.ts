// The DHCP socket in this thread and in a socket thread of its own, over
// loopback: every datagram reaches the handler with its source, every reply
// leaves to its destination, and what was sent is counted.

import { createSocket, type Socket } from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { ipv4ToNumber } from '../../src/api/ipv4.ts';
import { forEachOutgoing, forEachReceived, OutgoingPacker, ReceivedPacker, type Received } from '../../src/dhcpd/io/batch.ts';
import { openPacketIo } from '../../src/dhcpd/io/packet-io.ts';
import { peekMessageType } from '../../src/dhcpd/io/peek.ts';
import { MessageType, Opt } from '../../src/dhcpd/codec/constants.ts';
import { serializeRequest } from '../../src/dhcpd/codec/packet.ts';

describe('batches between threads', () => {
  it('carry each packet and its numbers, in order', () => {
    const rin = new ReceivedPacker();
    const sent = [Uint8Array.of(1, 2, 3), new Uint8Array(0), Uint8Array.from({ length: 300 }, (_, i) => i & 255)];
    sent.forEach((bytes, i) => rin.add({ bytes, from: 0xffffffff - i, fromPort: 67 + i, stamp: 1000.25 + i }));
    const got: Received[] = [];
    forEachReceived(rin.take(), (r) => got.push({ ...r, bytes: r.bytes.slice() }));
    expect(got).toEqual(sent.map((bytes, i) => ({ bytes, from: 0xffffffff - i, fromPort: 67 + i, stamp: 1000.25 + i })));
    expect(rin.size).toBe(0);

    const out = new OutgoingPacker();
    out.add({ packet: Uint8Array.of(9, 9), to: 0x0a000001, port: 68, replyType: 2, requestType: 1, stamp: 5.5 });
    out.add({ packet: Uint8Array.of(7), to: 0x0a000002, port: 67, replyType: 5, requestType: 3, stamp: 6.5 });
    const back: unknown[] = [];
    forEachOutgoing(out.take(), (o) => back.push({ ...o, packet: [...o.packet] }));
    expect(back).toEqual([
      { packet: [9, 9], to: 0x0a000001, port: 68, replyType: 2, requestType: 1, stamp: 5.5 },
      { packet: [7], to: 0x0a000002, port: 67, replyType: 5, requestType: 3, stamp: 6.5 },
    ]);
  });
});

describe('peekMessageType', () => {
  it('reads option 53 as the parser does, 0 when absent or malformed', () => {
    const mac = Uint8Array.of(2, 0, 0, 0, 0, 1);
    for (const t of [MessageType.DISCOVER, MessageType.REQUEST, MessageType.RELEASE]) {
      expect(peekMessageType(serializeRequest({ messageType: t, chaddr: mac, xid: 1 }))).toBe(t);
      // After other options and pads.
      const b = serializeRequest({ messageType: t, chaddr: mac, xid: 1, options: [[Opt.RELAY_AGENT, Uint8Array.of(1, 2, 3, 4)]] });
      expect(peekMessageType(b)).toBe(t);
    }
    const d = serializeRequest({ messageType: MessageType.DISCOVER, chaddr: mac, xid: 1 });
    expect(peekMessageType(d.subarray(0, 239))).toBe(0);
    expect(peekMessageType(Buffer.concat([d.subarray(0, 240), Uint8Array.of(0, 0, 12, 200)]))).toBe(0);
    expect(peekMessageType(Buffer.concat([d.subarray(0, 240), Uint8Array.of(255, 53, 1, 1)]))).toBe(0);
    const noCookie = Buffer.from(d);
    noCookie[236] = 0;
    expect(peekMessageType(noCookie)).toBe(0);
  });
});

describe.each([false, true])('packet I/O (socket thread: %s)', (thread) => {
  it('hands over every datagram with its source and sends every reply, counted', async () => {
    const received: Received[] = [];
    const io = await openPacketIo({
      thread,
      // However slow this machine is, nothing is too old here.
      maxWaitMs: 60_000,
      address: '127.0.0.1',
      port: 0,
      replyRate: 40_000,
      replyBurst: 64,
      onPacket: (r) => received.push({ ...r, bytes: r.bytes.slice() }),
      onSocketError: (m) => {
        throw new Error(m);
      },
      onFatal: (err) => {
        throw err;
      },
    });
    const client: Socket = createSocket('udp4');
    const replies: number[] = [];
    client.on('message', (m) => replies.push(m[0] as number));
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
    // 300 replies may arrive while this (shared, busy) thread is elsewhere: room for all of them.
    client.setRecvBufferSize(4 * 1024 * 1024);
    const clientPort = client.address().port;
    try {
      const n = 300;
      for (let i = 0; i < n; i++) client.send(Uint8Array.of(i & 255, i >> 8), io.port, '127.0.0.1');
      const deadline = Date.now() + 10_000;
      while (received.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(received).toHaveLength(n);
      expect(received.map((r) => r.bytes[0] as number)).toEqual(Array.from({ length: n }, (_, i) => i & 255));
      expect(new Set(received.map((r) => `${r.from}:${r.fromPort}`))).toEqual(new Set([`${ipv4ToNumber('127.0.0.1')}:${clientPort}`]));

      for (const r of received) io.send({ packet: Uint8Array.of(r.bytes[0] as number), to: r.from, port: r.fromPort, replyType: 2, requestType: 1, stamp: r.stamp });
      while (replies.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(replies).toEqual(Array.from({ length: n }, (_, i) => i & 255));

      const stats = await io.drainStats();
      expect(stats.sent[2]).toBe(n);
      expect(stats.failed).toBe(0);
      expect(stats.latencies).toHaveLength(2 * n);
      for (let i = 0; i < stats.latencies.length; i += 2) {
        expect(stats.latencies[i]).toBe(1);
        expect(stats.latencies[i + 1]).toBeGreaterThanOrEqual(0);
        expect(stats.latencies[i + 1]).toBeLessThan(10);
      }
      expect((await io.drainStats()).sent).toEqual([]);
    } finally {
      client.close();
      await io.close();
    }
  });

  it.skipIf(!thread)('drops what arrives past the backlog while the server is busy, and counts it', async () => {
    let received = 0;
    const io = await openPacketIo({ thread, maxBacklog: 50, maxWaitMs: 60_000, address: '127.0.0.1', port: 0, replyRate: 1000, replyBurst: 8, onPacket: () => received++, onSocketError: () => {}, onFatal: () => {} });
    const client = createSocket('udp4');
    try {
      // All 400 sent, then this thread busy: nothing handed over is handled while the socket thread reads them.
      await new Promise<void>((resolve) => {
        for (let i = 0; i < 400; i++) client.send(Uint8Array.of(i & 255), io.port, '127.0.0.1', i === 399 ? () => resolve() : undefined);
      });
      const until = Date.now() + 1000;
      while (Date.now() < until) {
        // busy
      }
      let stats = await io.drainStats();
      const deadline = Date.now() + 5000;
      let overloaded = stats.overloaded;
      while (received + overloaded < 400 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        stats = await io.drainStats();
        overloaded += stats.overloaded;
      }
      // 50 handed over while this thread was busy, the rest dropped (a datagram the socket
      // thread only got to after the busy second may have found room again).
      expect(received + overloaded).toBe(400);
      expect(overloaded).toBeGreaterThanOrEqual(300);
    } finally {
      client.close();
      await io.close();
    }
  });

  it.skipIf(!thread)('past a quarter of the backlog drops DISCOVERs and keeps handing over REQUESTs', async () => {
    const types: number[] = [];
    const io = await openPacketIo({ thread, maxBacklog: 40, maxWaitMs: 60_000, address: '127.0.0.1', port: 0, replyRate: 1000, replyBurst: 8, onPacket: (r) => types.push(peekMessageType(r.bytes)), onSocketError: () => {}, onFatal: () => {} });
    const client = createSocket('udp4');
    const mac = Uint8Array.of(2, 0, 0, 0, 0, 1);
    try {
      // 20 DISCOVERs, then 20 REQUESTs, while this thread is busy: 10 DISCOVERs fit (a quarter of 40), every REQUEST does.
      await new Promise<void>((resolve) => {
        for (let i = 0; i < 40; i++) {
          const t = i < 20 ? MessageType.DISCOVER : MessageType.REQUEST;
          client.send(serializeRequest({ messageType: t, chaddr: mac, xid: i }), io.port, '127.0.0.1', i === 39 ? () => resolve() : undefined);
        }
      });
      const until = Date.now() + 500;
      while (Date.now() < until) {
        // busy
      }
      let overloaded = 0;
      const deadline = Date.now() + 5000;
      while (types.length + overloaded < 40 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        overloaded += (await io.drainStats()).overloaded;
      }
      expect(types.filter((t) => t === MessageType.REQUEST)).toHaveLength(20);
      expect(types.filter((t) => t === MessageType.DISCOVER)).toHaveLength(10);
      expect(overloaded).toBe(10);
    } finally {
      client.close();
      await io.close();
    }
  });

  it.skipIf(!thread)('drops unread what waited too long for the server, and counts it', async () => {
    let received = 0;
    const io = await openPacketIo({ thread, maxWaitMs: 100, address: '127.0.0.1', port: 0, replyRate: 1000, replyBurst: 8, onPacket: () => received++, onSocketError: () => {}, onFatal: () => {} });
    const client = createSocket('udp4');
    try {
      await new Promise<void>((resolve) => {
        for (let i = 0; i < 200; i++) client.send(Uint8Array.of(i & 255), io.port, '127.0.0.1', i === 199 ? () => resolve() : undefined);
      });
      // Busy for longer than maxWaitMs: everything handed over meanwhile is too old when this thread gets to it.
      const until = Date.now() + 500;
      while (Date.now() < until) {
        // busy
      }
      let overloaded = 0;
      const deadline = Date.now() + 5000;
      while (received + overloaded < 200 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        overloaded += (await io.drainStats()).overloaded;
      }
      expect(overloaded).toBe(200);
      expect(received).toBe(0);
      // Fresh ones are handled again.
      client.send(Uint8Array.of(1), io.port, '127.0.0.1');
      while (received < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(received).toBe(1);
    } finally {
      client.close();
      await io.close();
    }
  });

  it('refuses a port already taken, naming the error', async () => {
    const taken = createSocket('udp4');
    await new Promise<void>((r) => taken.bind(0, '127.0.0.1', () => r()));
    try {
      const open = openPacketIo({ thread, address: '127.0.0.1', port: taken.address().port, replyRate: 1000, replyBurst: 8, onPacket: () => {}, onSocketError: () => {}, onFatal: () => {} });
      await expect(open).rejects.toThrow(/EADDRINUSE/);
    } finally {
      taken.close();
    }
  });
});
