// IPv4 addresses: the one parser and formatter for the schemas, the renderer
// and dhcpd. An address is an unsigned 32-bit number: cheap to compare, hash
// and store.

const octet = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])';
/** An IPv4 address without anchors, to compose other patterns (no leading zeros). */
export const ipv4Source = `${octet}(\\.${octet}){3}`;
export const ipv4Pattern = new RegExp(`^${ipv4Source}$`);
/** An address (10.0.0.7) or an inclusive range of them (10.0.0.10-10.0.0.19). */
export const ipv4RangePattern = new RegExp(`^${ipv4Source}(-${ipv4Source})?$`);

export function isIPv4(text: string): boolean {
  return ipv4Pattern.test(text);
}

/** "10.0.0.1" → number; undefined when malformed. */
export function parseIPv4(text: string): number | undefined {
  if (!ipv4Pattern.test(text)) return undefined;
  let n = 0;
  for (const part of text.split('.')) n = n * 256 + Number(part);
  return n;
}

/** "10.0.0.1" → number; throws naming the text when malformed (for input already validated, or where a bad one is a bug). */
export function ipv4ToNumber(text: string): number {
  const n = parseIPv4(text);
  if (n === undefined) throw new Error(`malformed IPv4 address "${text}"`);
  return n;
}

/** A number (0 to 2^32 - 1) → "10.0.0.1". */
export function formatIPv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** "10.0.0.5" or "10.0.0.5-10.0.0.9" → an inclusive interval (start may be after end: callers check); undefined when malformed. */
export function parseIPv4Range(text: string): { start: number; end: number } | undefined {
  if (!ipv4RangePattern.test(text)) return undefined;
  const [start, end = start] = text.split('-').map(ipv4ToNumber) as [number, number?];
  return { start, end };
}
