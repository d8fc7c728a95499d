// The DHCP message type read straight from a datagram's options, without
// parsing it: the socket thread uses it to shed new exchanges (DISCOVERs)
// before exchanges under way (REQUESTs) when the server's thread falls behind.

import { HEADER_LENGTH, MAGIC_COOKIE, OPTIONS_OFFSET, Opt } from '../codec/constants.ts';

/** Option 53's value in the options field, or 0 when it is not there (or the packet is malformed: the parser decides). */
export function peekMessageType(b: Uint8Array): number {
  if (b.length < OPTIONS_OFFSET) return 0;
  const cookie = ((b[HEADER_LENGTH] as number) << 24) | ((b[HEADER_LENGTH + 1] as number) << 16) | ((b[HEADER_LENGTH + 2] as number) << 8) | (b[HEADER_LENGTH + 3] as number);
  if (cookie >>> 0 !== MAGIC_COOKIE) return 0;
  let i = OPTIONS_OFFSET;
  while (i < b.length) {
    const code = b[i] as number;
    if (code === 0) {
      i++;
      continue;
    }
    if (code === 255 || i + 1 >= b.length) return 0;
    const len = b[i + 1] as number;
    if (code === Opt.MESSAGE_TYPE) return len === 1 && i + 2 < b.length ? (b[i + 2] as number) : 0;
    i += 2 + len;
  }
  return 0;
}
