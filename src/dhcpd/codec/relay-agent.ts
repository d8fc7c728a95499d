// Option 82, relay agent information (RFC 3046): sub-options a relay adds to
// a client's message. The server echoes the whole option in its replies and
// uses two sub-options, only from relays it trusts: link selection (RFC 3527,
// the subnet to allocate from when giaddr is not on the client's link) and
// server identifier override (RFC 5107, the address the client must see as
// the server, so that its renewals go through the relay).

import { readIp } from './packet.ts';

export const RelaySub = {
  CIRCUIT_ID: 1,
  REMOTE_ID: 2,
  LINK_SELECTION: 5,
  SERVER_ID_OVERRIDE: 11,
} as const;

export interface RelayAgentInfo {
  /** RFC 3527 sub-option 5: the client's subnet, when the relay says so. */
  linkSelection?: number;
  /** RFC 5107 sub-option 11: the server identifier to put in replies. */
  serverIdOverride?: number;
}

/** Reads the sub-options; undefined when the option is malformed (a length past the end, a 5 or 11 not 4 bytes). */
export function parseRelayAgentInfo(v: Uint8Array): RelayAgentInfo | undefined {
  const info: RelayAgentInfo = {};
  let i = 0;
  while (i < v.length) {
    if (i + 1 >= v.length) return undefined;
    const code = v[i] as number;
    const len = v[i + 1] as number;
    if (i + 2 + len > v.length) return undefined;
    if (code === RelaySub.LINK_SELECTION || code === RelaySub.SERVER_ID_OVERRIDE) {
      if (len !== 4) return undefined;
      const ip = readIp(v, i + 2);
      if (code === RelaySub.LINK_SELECTION) info.linkSelection = ip;
      else info.serverIdOverride = ip;
    }
    i += 2 + len;
  }
  return info;
}
