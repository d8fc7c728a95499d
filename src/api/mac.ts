// MAC addresses: the one parser and formatter for the schemas, the renderer,
// macd and dhcpd. A MAC is a plain number (48 bits fit a double exactly), so
// ranges, bitmaps and exclusions are integer arithmetic with no allocation.

/** A full MAC address, lower-case, colon-separated: aa:bb:cc:00:00:01 (what the resources accept). */
export const macAddressPattern = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
/** Three octets: aa:bb:cc. */
export const ouiPattern = /^[0-9a-f]{2}(:[0-9a-f]{2}){2}$/;
/** A full MAC, or a prefix of 1-5 octets, optionally ending in ":*" (fe:16:11:*). */
export const macPrefixPattern = /^[0-9a-f]{2}(:[0-9a-f]{2}){0,5}(:\*)?$/;

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const TWO32 = 0x1_0000_0000;

/** "aa:bb:cc:00:00:01" (either case, as Alcor's callers send it) → number; undefined when malformed. */
export function parseMac(text: string): number | undefined {
  if (text.length !== 17) return undefined;
  const lower = text.toLowerCase();
  if (!macAddressPattern.test(lower)) return undefined;
  const hi = parseInt(lower.slice(0, 2) + lower.slice(3, 5), 16);
  const lo = parseInt(lower.slice(6, 8) + lower.slice(9, 11) + lower.slice(12, 14) + lower.slice(15, 17), 16);
  return hi * TWO32 + lo;
}

/**
 * A MAC as Alcor's MAC manager accepts it in requests (its MacAddress.validateMac):
 * six hex octets separated by ":" or "-", either case. Undefined when malformed.
 */
export function parseMacNotation(text: string): number | undefined {
  return /^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$/.test(text) ? parseMac(text.replaceAll('-', ':')) : undefined;
}

/** A number → "aa:bb:cc:00:00:01". */
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
 * The inclusive interval of MACs an exclusion covers: a full MAC is itself; a
 * prefix of 1-5 octets ("fe:16:11" or "fe:16:11:*") covers every MAC starting
 * with those octets. Undefined when malformed.
 */
export function parseMacPrefix(pattern: string): { from: number; to: number } | undefined {
  const p = pattern.toLowerCase();
  if (!macPrefixPattern.test(p)) return undefined;
  const octets = p.replace(/:\*$/, '').split(':');
  let base = 0;
  for (const o of octets) base = base * 256 + parseInt(o, 16);
  const span = 256 ** (6 - octets.length);
  return { from: base * span, to: base * span + span - 1 };
}

/** True when a MAC, OUI or prefix starts with a unicast first octet (its least significant bit, the group bit, is 0). */
export function isUnicastMac(text: string): boolean {
  return (parseInt(text.slice(0, 2), 16) & 1) === 0;
}

/** A MAC as the hex digits of its six octets, lower-case ("aabbcc000001"): how a DHCP packet's chaddr is keyed. */
export function macHex(mac: number): string {
  return formatMac(mac).replaceAll(':', '');
}
