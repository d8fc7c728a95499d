// The allocation requests' fast path: `{"mac_state":{...}}` and
// `{"mac_states":[...]}` read straight from the body's bytes into MacStates
// (no JSON.parse, no object or string per id), and the answer written as
// bytes. It takes only bodies it can read without doubt: every id a string
// of the API's id characters (api/macd-limits.ts idPattern) within the length
// limit, state "Active" or "Inactive", mac_address null or six hex octets,
// no other key, no escape, no duplicate key. Anything else (an error to
// report, an unusual but valid body) returns null and goes the general way
// (JSON.parse and api-json.ts), which answers exactly as before.

import { idPattern } from '../api/macd-limits.ts';
import type { BodyLimits } from './api-json.ts';
import { Bytes, bytesEqual, ID_FIELDS, MacStates } from './states.ts';

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** Bytes of an id: those idPattern admits, read from it so the two cannot disagree. */
const ID_BYTE = new Uint8Array(256);
for (let b = 0; b < 128; b++) if (idPattern.test(String.fromCharCode(b))) ID_BYTE[b] = 1;
/** Hex digit values, -1 elsewhere. */
const HEX_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < 16; i++) {
  HEX_VALUE['0123456789abcdef'.charCodeAt(i)] = i;
  HEX_VALUE['0123456789ABCDEF'.charCodeAt(i)] = i;
}

/** The keys of a mac_state, by length and bytes. */
const KEYS = ['mac_address', 'project_id', 'vpc_id', 'port_id', 'state'].map((k) => Buffer.from(k));
const K_MAC = 0;
const K_PROJECT = 1;
const K_VPC = 2;
const K_PORT = 3;
const K_STATE = 4;
const ACTIVE = Buffer.from('Active');
const INACTIVE = Buffer.from('Inactive');

/** Thrown inside the reader when the body is not one it takes; never leaves this module. */
const NOT_SIMPLE = new Error('not a simple body');

class Reader {
  private readonly b: Buffer;
  pos = 0;
  /** [start, end) of each key's string value in the state being read (-1: absent or null). */
  private readonly span = new Int32Array(2 * KEYS.length);

  constructor(b: Buffer) {
    this.b = b;
  }

  ws(): void {
    const b = this.b;
    let p = this.pos;
    while (p < b.length) {
      const c = b[p]!;
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      p++;
    }
    this.pos = p;
  }

  /** The next byte after whitespace (-1 at the end). */
  peek(): number {
    this.ws();
    return this.pos < this.b.length ? this.b[this.pos]! : -1;
  }

  expect(c: number): void {
    if (this.peek() !== c) throw NOT_SIMPLE;
    this.pos++;
  }

  /** A string without escapes; returns its start (the end is `pos - 1`). */
  string(): number {
    this.expect(QUOTE);
    const b = this.b;
    const start = this.pos;
    let p = start;
    for (; p < b.length; p++) {
      const c = b[p]!;
      if (c === QUOTE) break;
      if (c === 0x5c || c < 0x20) throw NOT_SIMPLE;
    }
    if (p === b.length) throw NOT_SIMPLE;
    this.pos = p + 1;
    return start;
  }

  /** Consumes `null` if it comes next. */
  null(): boolean {
    if (this.peek() !== 0x6e) return false;
    const b = this.b;
    const p = this.pos;
    if (b[p + 1] !== 0x75 || b[p + 2] !== 0x6c || b[p + 3] !== 0x6c) throw NOT_SIMPLE;
    this.pos = p + 4;
    return true;
  }

  atEnd(): boolean {
    this.ws();
    return this.pos === this.b.length;
  }

  key(): number {
    const start = this.string();
    const len = this.pos - 1 - start;
    for (let k = 0; k < KEYS.length; k++) {
      if (bytesEqual(this.b, start, start + len, KEYS[k]!)) return k;
    }
    throw NOT_SIMPLE;
  }

  /** One mac_state object into `out`. */
  state(out: MacStates, maxIdLength: number): void {
    const b = this.b;
    this.expect(OPEN_BRACE);
    const span = this.span.fill(-1);
    let seen = 0;
    let mac = -1;
    for (;;) {
      const k = this.key();
      if (seen & (1 << k)) throw NOT_SIMPLE;
      seen |= 1 << k;
      this.expect(COLON);
      if (!this.null()) {
        const start = this.string();
        const end = this.pos - 1;
        span[2 * k] = start;
        span[2 * k + 1] = end;
        if (k === K_MAC) mac = macAt(b, start, end);
        else if (k !== K_STATE) {
          if (end === start || end - start > maxIdLength) throw NOT_SIMPLE;
          for (let p = start; p < end; p++) if (ID_BYTE[b[p]!] === 0) throw NOT_SIMPLE;
        }
      }
      const c = this.peek();
      this.pos++;
      if (c === CLOSE_BRACE) break;
      if (c !== COMMA) throw NOT_SIMPLE;
    }
    // project_id, vpc_id and port_id are required; a missing one is the general path's 400.
    if (span[2 * K_PROJECT]! < 0 || span[2 * K_VPC]! < 0 || span[2 * K_PORT]! < 0) throw NOT_SIMPLE;
    let inactive = false;
    const st = span[2 * K_STATE]!;
    if (st >= 0) {
      const len = span[2 * K_STATE + 1]! - st;
      if (bytesEqual(b, st, st + len, INACTIVE)) inactive = true;
      else if (!bytesEqual(b, st, st + len, ACTIVE)) throw NOT_SIMPLE;
    }
    out.add(mac, span[2 * K_PORT]!, span[2 * K_PORT + 1]!, span[2 * K_PROJECT]!, span[2 * K_PROJECT + 1]!, span[2 * K_VPC]!, span[2 * K_VPC + 1]!, inactive);
  }
}

/** Six hex octets separated by ":" or "-" (either case, as Alcor accepts); otherwise not simple. */
function macAt(b: Buffer, start: number, end: number): number {
  if (end - start !== 17) throw NOT_SIMPLE;
  let mac = 0;
  for (let k = 0; k < 6; k++) {
    const p = start + 3 * k;
    const hi = HEX_VALUE[b[p]!]!;
    const lo = HEX_VALUE[b[p + 1]!]!;
    if (hi < 0 || lo < 0 || (k < 5 && b[p + 2] !== COLON && b[p + 2] !== 0x2d)) throw NOT_SIMPLE;
    mac = mac * 256 + hi * 16 + lo;
  }
  return mac;
}

const MAC_STATE = Buffer.from('mac_state');
const MAC_STATES = Buffer.from('mac_states');

/** `{"<key>":` at the start of the body. */
function opening(r: Reader, b: Buffer, key: Buffer): void {
  r.expect(OPEN_BRACE);
  const start = r.string();
  const len = r.pos - 1 - start;
  if (!bytesEqual(b, start, start + len, key)) throw NOT_SIMPLE;
  r.expect(COLON);
}

/** `{"mac_state":{...}}` as one state, or null when the body is not one this path takes. */
export function readMacState(body: Buffer, limits: BodyLimits): MacStates | null {
  const r = new Reader(body);
  try {
    opening(r, body, MAC_STATE);
    const out = new MacStates(body, 1);
    r.state(out, limits.maxIdLength);
    r.expect(CLOSE_BRACE);
    return r.atEnd() ? out : null;
  } catch (e) {
    if (e === NOT_SIMPLE) return null;
    throw e;
  }
}

/** `{"mac_states":[...]}`, or null when the body is not one this path takes (more than maxBulk included: the general path refuses it). */
export function readMacStates(body: Buffer, limits: BodyLimits): MacStates | null {
  const r = new Reader(body);
  try {
    opening(r, body, MAC_STATES);
    r.expect(OPEN_BRACKET);
    // Room for the states the body can hold at most (the shortest takes 44 bytes); the batch grows beyond if needed.
    const out = new MacStates(body, Math.min(limits.maxBulk, Math.ceil(body.length / 44)));
    if (r.peek() === CLOSE_BRACKET) r.pos++;
    else {
      for (;;) {
        if (out.length === limits.maxBulk) return null;
        r.state(out, limits.maxIdLength);
        const c = r.peek();
        r.pos++;
        if (c === CLOSE_BRACKET) break;
        if (c !== COMMA) return null;
      }
    }
    r.expect(CLOSE_BRACE);
    return r.atEnd() ? out : null;
  } catch (e) {
    if (e === NOT_SIMPLE) return null;
    throw e;
  }
}

/** The answer to an allocation: `{"mac_state":{...}}` (single) or `{"mac_states":[...]}`, as Alcor writes a mac_state (api-json.ts macStateJson). */
export function statesAnswer(s: MacStates, single: boolean): Buffer {
  const w = new Bytes(32 + s.length * 120 + s.bytes.length);
  w.ascii(single ? '{"mac_state":' : '{"mac_states":[');
  for (let i = 0; i < s.length; i++) {
    w.ascii(i === 0 ? '{"mac_address":"' : ',{"mac_address":"');
    w.mac(s.mac(i));
    w.ascii('","project_id":');
    w.id(s, i, ID_FIELDS.project);
    w.ascii(',"vpc_id":');
    w.id(s, i, ID_FIELDS.vpc);
    w.ascii(',"port_id":');
    w.id(s, i, ID_FIELDS.port);
    w.ascii(s.inactive(i) ? ',"state":"Inactive"}' : ',"state":"Active"}');
  }
  w.ascii(single ? '}' : ']}');
  return w.done();
}
