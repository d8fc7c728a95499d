// MAC addresses as plain numbers (48 bits fit exactly in a double), so that
// ranges, bitmaps and exclusions are integer arithmetic with no allocation.

import { macAddressPattern, macPrefixPattern } from '../api/config/macd.ts';

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const TWO32 = 0x1_0000_0000;

/** Parses "aa:bb:cc:00:00:01" (upper case accepted) to a number, or returns -1. */
export function parseMac(text: string): number {
  if (text.length !== 17) return -1;
  const lower = text.toLowerCase();
  if (!macAddressPattern.test(lower)) return -1;
  const hi = parseInt(lower.slice(0, 2) + lower.slice(3, 5), 16);
  const lo = parseInt(lower.slice(6, 8) + lower.slice(9, 11) + lower.slice(12, 14) + lower.slice(15, 17), 16);
  return hi * TWO32 + lo;
}

/** Formats a number as "aa:bb:cc:00:00:01". */
export function formatMac(mac: number): string {
  const hi = Math.floor(mac / TWO32);
  const lo = mac >>> 0;
  return (
    HEX[(hi >>> 8) & 0xff]! + ':' + HEX[hi & 0xff]! + ':' +
    HEX[lo >>> 24]! + ':' + HEX[(lo >>> 16) & 0xff]! + ':' +
    HEX[(lo >>> 8) & 0xff]! + ':' + HEX[lo & 0xff]!
  );
}

/**
 * Turns an exclusion pattern into the inclusive interval of MACs it covers:
 * a full MAC is itself; a prefix of 1-5 octets ("fe:16:11" or "fe:16:11:*")
 * covers every MAC starting with those octets. Returns null when malformed.
 */
export function parseMacPrefix(pattern: string): { lo: number; hi: number } | null {
  const p = pattern.toLowerCase();
  if (!macPrefixPattern.test(p)) return null;
  const octets = p.replace(/:\*$/, '').split(':');
  let base = 0;
  for (const o of octets) base = base * 256 + parseInt(o, 16);
  const rest = 6 - octets.length;
  const span = 256 ** rest;
  return { lo: base * span, hi: base * span + span - 1 };
}
