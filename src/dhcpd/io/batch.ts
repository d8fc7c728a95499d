// Datagrams between the socket thread and the thread that owns the leases, a
// batch at a time: the packets' bytes back to back in one buffer and a row of
// numbers per packet, both transferred (moved, not copied) with one
// postMessage. One message per batch instead of one per packet keeps the cost
// of crossing threads a small part of a packet's cost.

/** Numbers per received packet: length, source address, source port, receive time. */
const IN_FIELDS = 4;
/** Numbers per reply: length, destination address, port, reply type, request type, receive time. */
const OUT_FIELDS = 6;

export interface PacketBatch {
  data: Uint8Array;
  meta: Float64Array;
}

/** A received datagram: `stamp` is when it arrived (socket.ts now(): epoch ms, the same clock in every thread). */
export interface Received {
  bytes: Uint8Array;
  from: number;
  fromPort: number;
  stamp: number;
}

/** A reply to send; `stamp` is its request's receive time, handed back for the latency metric. */
export interface Outgoing {
  packet: Uint8Array;
  to: number;
  port: number;
  replyType: number;
  requestType: number;
  stamp: number;
}

/** Collects items and packs them into one batch. */
class Packer {
  protected parts: Uint8Array[] = [];
  protected bytes = 0;
  protected nums: number[] = [];
  private readonly fields: number;

  constructor(fields: number) {
    this.fields = fields;
  }

  get size(): number {
    return this.parts.length;
  }

  /** The batch so far, and a fresh start. */
  take(): PacketBatch {
    const data = new Uint8Array(this.bytes);
    let off = 0;
    for (const p of this.parts) {
      data.set(p, off);
      off += p.length;
    }
    const meta = Float64Array.from(this.nums);
    if (meta.length !== this.parts.length * this.fields) throw new Error('batch fields out of step');
    this.parts = [];
    this.bytes = 0;
    this.nums = [];
    return { data, meta };
  }
}

export class ReceivedPacker extends Packer {
  constructor() {
    super(IN_FIELDS);
  }

  add(r: Received): void {
    this.parts.push(r.bytes);
    this.bytes += r.bytes.length;
    this.nums.push(r.bytes.length, r.from, r.fromPort, r.stamp);
  }
}

export class OutgoingPacker extends Packer {
  constructor() {
    super(OUT_FIELDS);
  }

  add(o: Outgoing): void {
    this.parts.push(o.packet);
    this.bytes += o.packet.length;
    this.nums.push(o.packet.length, o.to, o.port, o.replyType, o.requestType, o.stamp);
  }
}

/** Calls `each` for every received packet of a batch (`bytes` are views into the batch); returns how many. */
export function forEachReceived(b: PacketBatch, each: (r: Received) => void): number {
  let off = 0;
  for (let i = 0; i + IN_FIELDS <= b.meta.length; i += IN_FIELDS) {
    const len = b.meta[i] as number;
    each({ bytes: b.data.subarray(off, off + len), from: b.meta[i + 1] as number, fromPort: b.meta[i + 2] as number, stamp: b.meta[i + 3] as number });
    off += len;
  }
  return b.meta.length / IN_FIELDS;
}

/** Calls `each` for every reply of a batch; `packet` is a view into the batch. */
export function forEachOutgoing(b: PacketBatch, each: (o: Outgoing) => void): void {
  let off = 0;
  for (let i = 0; i + OUT_FIELDS <= b.meta.length; i += OUT_FIELDS) {
    const len = b.meta[i] as number;
    each({
      packet: b.data.subarray(off, off + len),
      to: b.meta[i + 1] as number,
      port: b.meta[i + 2] as number,
      replyType: b.meta[i + 3] as number,
      requestType: b.meta[i + 4] as number,
      stamp: b.meta[i + 5] as number,
    });
    off += len;
  }
}
