// Parsing and serialising BOOTP/DHCPv4 messages (RFC 2131 section 2, RFC 2132).
// parseRequest never throws: malformed input yields a typed reason that the
// server counts in its drop metrics.

import {
  BOOTREPLY,
  BOOTREQUEST,
  HEADER_LENGTH,
  MAGIC_COOKIE,
  MAX_PACKET_LENGTH,
  MIN_REPLY_LENGTH,
  OPTIONS_OFFSET,
  Opt,
} from './constants.ts';

/** The big-endian 32-bit number (an IPv4 address, a lease time) at `off`. */
export function readIp(b: Uint8Array, off: number): number {
  return ((b[off] ?? 0) * 0x1000000 + ((b[off + 1] ?? 0) << 16) + ((b[off + 2] ?? 0) << 8) + (b[off + 3] ?? 0)) >>> 0;
}

export function writeIp(b: Uint8Array, off: number, ip: number): void {
  b[off] = (ip >>> 24) & 255;
  b[off + 1] = (ip >>> 16) & 255;
  b[off + 2] = (ip >>> 8) & 255;
  b[off + 3] = ip & 255;
}

export interface DhcpPacket {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: number;
  yiaddr: number;
  siaddr: number;
  giaddr: number;
  /** 16 bytes as on the wire; the hardware address is the first hlen. */
  chaddr: Uint8Array;
  /** Option code to value; repeated codes are concatenated (RFC 3396). */
  options: Map<number, Uint8Array>;
}

export type ParseError =
  | 'too-short'
  | 'too-large'
  | 'not-bootrequest'
  | 'bad-hlen'
  | 'bad-cookie'
  | 'option-truncated'
  | 'bad-overload'
  | 'no-message-type'
  | 'unknown-message-type'
  | 'bad-option-length';

export const parseErrors: readonly ParseError[] = [
  'too-short',
  'too-large',
  'not-bootrequest',
  'bad-hlen',
  'bad-cookie',
  'option-truncated',
  'bad-overload',
  'no-message-type',
  'unknown-message-type',
  'bad-option-length',
];

export type ParseResult = { ok: true; packet: DhcpPacket; messageType: number } | { ok: false; reason: ParseError };

/** Parses a message a client (or relay) sent to the server. */
export function parseRequest(input: Uint8Array): ParseResult {
  // Plain Uint8Array views: a Buffer's subarray is a Buffer, several times
  // dearer to make, and the options are a subarray each.
  const buf = input instanceof Buffer ? new Uint8Array(input.buffer, input.byteOffset, input.length) : input;
  if (buf.length < OPTIONS_OFFSET) return { ok: false, reason: 'too-short' };
  if (buf.length > MAX_PACKET_LENGTH) return { ok: false, reason: 'too-large' };
  const op = buf[0] as number;
  if (op !== BOOTREQUEST) return { ok: false, reason: 'not-bootrequest' };
  const hlen = buf[2] as number;
  if (hlen > 16) return { ok: false, reason: 'bad-hlen' };
  if (readIp(buf, HEADER_LENGTH) !== MAGIC_COOKIE) return { ok: false, reason: 'bad-cookie' };

  const options = new Map<number, Uint8Array>();
  const main = readOptions(buf, OPTIONS_OFFSET, buf.length, options);
  if (main !== undefined) return { ok: false, reason: main };
  const overload = options.get(Opt.OVERLOAD);
  if (overload !== undefined) {
    // Option 52: the file (1), sname (2) or both (3) fields carry more options.
    const v = overload.length === 1 ? (overload[0] as number) : 0;
    if (v < 1 || v > 3) return { ok: false, reason: 'bad-overload' };
    if (v & 1) {
      const r = readOptions(buf, 108, 236, options);
      if (r !== undefined) return { ok: false, reason: r };
    }
    if (v & 2) {
      const r = readOptions(buf, 44, 108, options);
      if (r !== undefined) return { ok: false, reason: r };
    }
  }

  const mt = options.get(Opt.MESSAGE_TYPE);
  if (mt === undefined) return { ok: false, reason: 'no-message-type' };
  if (mt.length !== 1) return { ok: false, reason: 'bad-option-length' };
  const messageType = mt[0] as number;
  if (messageType < 1 || messageType > 8) return { ok: false, reason: 'unknown-message-type' };
  if (!fixedLengthsOk(options)) return { ok: false, reason: 'bad-option-length' };

  const packet: DhcpPacket = {
    op,
    htype: buf[1] as number,
    hlen,
    hops: buf[3] as number,
    xid: readIp(buf, 4),
    secs: ((buf[8] as number) << 8) | (buf[9] as number),
    flags: ((buf[10] as number) << 8) | (buf[11] as number),
    ciaddr: readIp(buf, 12),
    yiaddr: readIp(buf, 16),
    siaddr: readIp(buf, 20),
    giaddr: readIp(buf, 24),
    chaddr: buf.slice(28, 44),
    options,
  };
  return { ok: true, packet, messageType };
}

/** Reads options from [start, end) into `into`; returns an error reason or undefined. */
function readOptions(buf: Uint8Array, start: number, end: number, into: Map<number, Uint8Array>): ParseError | undefined {
  let i = start;
  while (i < end) {
    const code = buf[i] as number;
    if (code === Opt.END) return undefined;
    if (code === Opt.PAD) {
      i++;
      continue;
    }
    if (i + 1 >= end) return 'option-truncated';
    const len = buf[i + 1] as number;
    const vStart = i + 2;
    if (vStart + len > end) return 'option-truncated';
    const value = buf.subarray(vStart, vStart + len);
    const prev = into.get(code);
    if (prev === undefined) {
      into.set(code, value);
    } else {
      const joined = new Uint8Array(prev.length + value.length);
      joined.set(prev, 0);
      joined.set(value, prev.length);
      into.set(code, joined);
    }
    i = vStart + len;
  }
  // No END option: tolerated when the options fill the field exactly.
  return undefined;
}

const fixedLengths: ReadonlyArray<readonly [number, number]> = [
  [Opt.REQUESTED_IP, 4],
  [Opt.SERVER_ID, 4],
  [Opt.LEASE_TIME, 4],
  [Opt.MAX_MESSAGE_SIZE, 2],
];

function fixedLengthsOk(options: Map<number, Uint8Array>): boolean {
  for (const [code, len] of fixedLengths) {
    const v = options.get(code);
    if (v !== undefined && v.length !== len) return false;
  }
  const cid = options.get(Opt.CLIENT_ID);
  if (cid !== undefined && cid.length < 2) return false;
  return true;
}

export function optionIp(p: DhcpPacket, code: number): number | undefined {
  const v = p.options.get(code);
  return v !== undefined && v.length === 4 ? readIp(v, 0) : undefined;
}

export function optionUint16(p: DhcpPacket, code: number): number | undefined {
  const v = p.options.get(code);
  return v !== undefined && v.length === 2 ? ((v[0] as number) << 8) | (v[1] as number) : undefined;
}

export interface ReplyHeader {
  xid: number;
  secs?: number;
  flags: number;
  ciaddr: number;
  yiaddr: number;
  siaddr: number;
  giaddr: number;
  htype: number;
  hlen: number;
  chaddr: Uint8Array;
}

/**
 * Writes a BOOTREPLY. `options` are complete TLV bytes (without END), already
 * in the order they should appear; the message is padded to 300 bytes.
 */
export function serializeReply(h: ReplyHeader, options: readonly Uint8Array[]): Buffer {
  let optLen = 0;
  for (const o of options) optLen += o.length;
  const length = Math.max(MIN_REPLY_LENGTH, OPTIONS_OFFSET + optLen + 1);
  // From Node's shared pool: a reply of its own backing store (malloc, zeroing,
  // GC tracking) cost about a fifth of the codec and core's time.
  const b = Buffer.allocUnsafe(length).fill(0);
  b[0] = BOOTREPLY;
  b[1] = h.htype;
  b[2] = h.hlen;
  b[3] = 0;
  b.writeUInt32BE(h.xid >>> 0, 4);
  b.writeUInt16BE(h.secs ?? 0, 8);
  b.writeUInt16BE(h.flags & 0xffff, 10);
  writeIp(b, 12, h.ciaddr);
  writeIp(b, 16, h.yiaddr);
  writeIp(b, 20, h.siaddr);
  writeIp(b, 24, h.giaddr);
  b.set(h.chaddr.subarray(0, 16), 28);
  b.writeUInt32BE(MAGIC_COOKIE, HEADER_LENGTH);
  let off = OPTIONS_OFFSET;
  for (const o of options) {
    b.set(o, off);
    off += o.length;
  }
  b[off] = Opt.END;
  return b;
}

export interface RequestSpec {
  messageType: number;
  xid?: number;
  secs?: number;
  flags?: number;
  ciaddr?: number;
  giaddr?: number;
  hops?: number;
  htype?: number;
  chaddr: Uint8Array;
  /** Extra options as [code, value] pairs, written in order. */
  options?: ReadonlyArray<readonly [number, Uint8Array]>;
}

/** Builds a client message (tests, benchmarks, the fuzzing corpus). */
export function serializeRequest(s: RequestSpec): Buffer {
  const opts: Uint8Array[] = [Uint8Array.of(Opt.MESSAGE_TYPE, 1, s.messageType)];
  for (const [code, value] of s.options ?? []) opts.push(tlv(code, value));
  const b = serializeReply(
    {
      xid: s.xid ?? 1,
      secs: s.secs ?? 0,
      flags: s.flags ?? 0,
      ciaddr: s.ciaddr ?? 0,
      yiaddr: 0,
      siaddr: 0,
      giaddr: s.giaddr ?? 0,
      htype: s.htype ?? 1,
      hlen: s.chaddr.length,
      chaddr: s.chaddr,
    },
    opts,
  );
  b[0] = BOOTREQUEST;
  b[3] = s.hops ?? 0;
  return b;
}

/** One option as TLV bytes; values longer than 255 are split (RFC 3396). */
export function tlv(code: number, value: Uint8Array): Uint8Array {
  if (value.length <= 255) {
    const out = new Uint8Array(2 + value.length);
    out[0] = code;
    out[1] = value.length;
    out.set(value, 2);
    return out;
  }
  const parts: number[] = [];
  for (let i = 0; i < value.length; i += 255) {
    const chunk = value.subarray(i, Math.min(i + 255, value.length));
    parts.push(code, chunk.length, ...chunk);
  }
  return Uint8Array.from(parts);
}
