// A batch of mac_states as the allocation path carries them: columnar, the
// ids kept as byte ranges of one buffer (the request body itself when it was
// parsed by fast-json.ts), so a request's ids go to the log record, the
// metadata slots and the answer as bytes, with no string or object per MAC.
// `Bytes` writes such output (JSON text, ASCII) into one growing buffer.

import { NEEDS_ESCAPE } from './api-json.ts';
import type { MacMeta } from './meta.ts';
import type { MacStateInput } from './store.ts';

/** Numbers per state in `cols`. */
const STRIDE = 8;
/** Offsets in a state's columns: the MAC, then [start, end) of each id (start -1: null), then the state. */
const MAC = 0;
const PORT = 1;
const PROJECT = 3;
const VPC = 5;
const INACTIVE = 7;

export type IdField = typeof PORT | typeof PROJECT | typeof VPC;
export const ID_FIELDS = { port: PORT, project: PROJECT, vpc: VPC } as const;

export class MacStates {
  readonly bytes: Buffer;
  /** STRIDE numbers per state (see the offsets above); grows as states are added. */
  private cols: Float64Array;
  /** States added so far (a parser fills the batch one by one). */
  private count = 0;

  /** An empty batch whose ids are byte ranges of `bytes`, with room for `capacity` states (it grows beyond). */
  constructor(bytes: Buffer, capacity: number) {
    this.bytes = bytes;
    this.cols = new Float64Array(Math.max(1, capacity) * STRIDE);
  }

  /** Appends a state: its ids as byte ranges of `bytes` (start -1: null), the MAC asked for (-1: none). */
  add(mac: number, port: number, portEnd: number, project: number, projectEnd: number, vpc: number, vpcEnd: number, inactive: boolean): void {
    if ((this.count + 1) * STRIDE > this.cols.length) {
      const grown = new Float64Array(this.cols.length * 2);
      grown.set(this.cols);
      this.cols = grown;
    }
    const c = this.cols;
    const o = this.count++ * STRIDE;
    c[o + MAC] = mac;
    c[o + PORT] = port;
    c[o + PORT + 1] = portEnd;
    c[o + PROJECT] = project;
    c[o + PROJECT + 1] = projectEnd;
    c[o + VPC] = vpc;
    c[o + VPC + 1] = vpcEnd;
    c[o + INACTIVE] = inactive ? 1 : 0;
  }

  /** The states of inputs (ids as UTF-8 in a buffer of their own). Only the states "Active" and "Inactive" exist. */
  static from(inputs: readonly MacStateInput[]): MacStates {
    let size = 0;
    for (const { meta } of inputs) size += Buffer.byteLength(meta.portId) + Buffer.byteLength(meta.projectId ?? '') + Buffer.byteLength(meta.vpcId ?? '');
    const bytes = Buffer.allocUnsafe(size);
    const s = new MacStates(bytes, inputs.length);
    let pos = 0;
    const put = (v: string | null): [number, number] => {
      if (v === null) return [-1, -1];
      // Written into log records and answers as they are: the API's id rules keep out what JSON escapes.
      if (NEEDS_ESCAPE.test(v)) throw new Error(`id ${JSON.stringify(v)} holds characters JSON escapes`);
      const start = pos;
      pos += bytes.write(v, pos, 'utf8');
      return [start, pos];
    };
    for (const { mac, meta } of inputs) {
      if (meta.state !== 'Active' && meta.state !== 'Inactive') throw new Error(`state "${meta.state}" is neither Active nor Inactive`);
      s.add(mac ?? -1, ...put(meta.portId), ...put(meta.projectId), ...put(meta.vpcId), meta.state === 'Inactive');
    }
    return s;
  }

  get length(): number {
    return this.count;
  }

  /** The MAC asked for (-1: none), or after allocation the MAC allocated. */
  mac(i: number): number {
    return this.cols[i * STRIDE + MAC]!;
  }

  setMac(i: number, mac: number): void {
    this.cols[i * STRIDE + MAC] = mac;
  }

  inactive(i: number): boolean {
    return this.cols[i * STRIDE + INACTIVE] === 1;
  }

  /** Start of an id's bytes, -1 when null. */
  start(i: number, field: IdField): number {
    return this.cols[i * STRIDE + field]!;
  }

  end(i: number, field: IdField): number {
    return this.cols[i * STRIDE + field + 1]!;
  }

  id(i: number, field: IdField): string | null {
    const start = this.start(i, field);
    return start < 0 ? null : this.bytes.toString('utf8', start, this.end(i, field));
  }

  meta(i: number): MacMeta {
    return { portId: this.id(i, PORT) ?? '', projectId: this.id(i, PROJECT), vpcId: this.id(i, VPC), state: this.inactive(i) ? 'Inactive' : 'Active' };
  }

  /** Index of `mac` among the allocated MACs, or -1 (newest first: a MAC may appear twice only after a release). */
  indexOf(mac: number): number {
    for (let i = this.length - 1; i >= 0; i--) if (this.cols[i * STRIDE + MAC] === mac) return i;
    return -1;
  }
}

const HEX_DIGITS = Buffer.from('0123456789abcdef');

/**
 * Copies src[start, end) to dst at `at`; returns the bytes copied. Ids are a
 * few dozen bytes: a JavaScript loop costs less there than Buffer#copy's call
 * into C++ (a third of a bulk's time went to such calls).
 */
export function copyBytes(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): number {
  const n = end - start;
  if (n > 64) return (src as Buffer).copy(dst, at, start, end);
  for (let k = 0; k < n; k++) dst[at + k] = src[start + k]!;
  return n;
}

/** True when b[start, start + want.length) holds `want`'s bytes (a JavaScript loop, as copyBytes). */
export function bytesEqual(b: Uint8Array, start: number, end: number, want: Uint8Array): boolean {
  if (end - start !== want.length) return false;
  for (let k = 0; k < want.length; k++) if (b[start + k] !== want[k]) return false;
  return true;
}

/** Output built as bytes in one buffer that grows as needed. */
export class Bytes {
  buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, size));
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** Text of ASCII characters (JSON punctuation and names). */
  ascii(text: string): void {
    this.room(text.length);
    const b = this.buf;
    let p = this.pos;
    for (let k = 0; k < text.length; k++) b[p++] = text.charCodeAt(k);
    this.pos = p;
  }

  utf8(text: string): void {
    this.room(text.length * 3);
    this.pos += this.buf.write(text, this.pos, 'utf8');
  }

  copy(src: Buffer, start: number, end: number): void {
    this.room(end - start);
    this.pos += copyBytes(src, start, end, this.buf, this.pos);
  }

  /** A JSON string of an id's bytes (ids hold no character JSON escapes: api-json.ts checks them), or null. */
  id(s: MacStates, i: number, field: IdField): void {
    const start = s.start(i, field);
    if (start < 0) return this.ascii('null');
    this.room(2 + s.end(i, field) - start);
    this.buf[this.pos++] = 0x22;
    this.pos += copyBytes(s.bytes, start, s.end(i, field), this.buf, this.pos);
    this.buf[this.pos++] = 0x22;
  }

  /** A non-negative integer (below 2^53) in decimal. */
  int(n: number): void {
    this.room(16);
    // In two parts below 1e8 each (a MAC has 15 digits), so the digits come from 32-bit integer arithmetic.
    const hi = Math.floor(n / 1e8);
    if (hi > 0) {
      this.small(hi, 0);
      this.small(n - hi * 1e8, 8);
    } else this.small(n, 0);
  }

  /** `v` (0 <= v < 1e8) in decimal, left-padded with zeros to `width` digits. */
  private small(v: number, width: number): void {
    let digits = 1;
    for (let x = v; x >= 10; x = (x / 10) | 0) digits++;
    if (digits < width) digits = width;
    let p = this.pos + digits;
    this.pos = p;
    for (let k = 0; k < digits; k++) {
      const q = (v / 10) | 0;
      this.buf[--p] = 0x30 + v - q * 10;
      v = q;
    }
  }

  /** A MAC as aa:bb:cc:00:00:01. */
  mac(mac: number): void {
    this.room(17);
    const b = this.buf;
    let p = this.pos + 16;
    let lo = mac % 0x1_0000_0000;
    let hi = Math.floor(mac / 0x1_0000_0000);
    for (let k = 0; k < 6; k++) {
      const octet = k < 4 ? lo & 0xff : hi & 0xff;
      b[p] = HEX_DIGITS[octet & 0xf]!;
      b[p - 1] = HEX_DIGITS[octet >> 4]!;
      if (k < 5) b[p - 2] = 0x3a;
      p -= 3;
      if (k < 4) lo >>>= 8;
      else hi >>>= 8;
    }
    this.pos += 17;
  }

  /** The bytes written, as a view of the buffer. */
  done(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
