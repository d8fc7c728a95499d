import type { DhcpOption, DhcpReservation, DhcpSubnet, DhcpSubnetSpec } from '../../api/index.ts';
import type { DhcpdConfigInput, DhcpOptionValue } from '../../api/config/dhcpd.ts';
import { parseDurationSeconds } from '../../api/duration.ts';
import { formatIPv4, parseIPv4Range } from '../../api/ipv4.ts';

// DhcpSubnet spec → the DhcpdConfig file the servers read (src/api/config/dhcpd.ts).

/** The CRD's text-valued option → the server's typed value. */
export function optionValue(o: DhcpOption): DhcpOptionValue {
  switch (o.type) {
    case 'ipv4':
      return { code: o.code, type: 'ipv4', value: o.value };
    case 'ipv4List':
      return { code: o.code, type: 'ipv4List', value: o.value.split(',').map((a) => a.trim()) };
    case 'string':
      return { code: o.code, type: 'string', value: o.value };
    case 'uint8':
    case 'uint16':
    case 'uint32':
      return { code: o.code, type: o.type, value: Number(o.value) };
    case 'boolean':
      return { code: o.code, type: 'boolean', value: o.value === 'true' };
    case 'hex':
      return { code: o.code, type: 'hex', value: o.value };
  }
}

function excludeRanges(spec: DhcpSubnetSpec): { start: string; end: string }[] {
  return (spec.excludes ?? []).map((e) => {
    const r = parseIPv4Range(e);
    if (!r) throw new Error(`malformed exclude "${e}"`);
    return { start: formatIPv4(r.start), end: formatIPv4(r.end) };
  });
}

/** A duration field in whole seconds, as the server takes it. */
function wholeSeconds(field: string, text: string): number {
  const seconds = parseDurationSeconds(text);
  if (seconds === undefined) throw new Error(`malformed ${field} "${text}"`);
  return Math.floor(seconds);
}

/** Lease time in whole seconds, as the server takes it. */
export function leaseSeconds(spec: DhcpSubnetSpec): number {
  return wholeSeconds('leaseTime', spec.leaseTime);
}

/** Relay mode splits the pools into one share per replica; a node-local server owns its node's whole pool. */
export function shares(spec: DhcpSubnetSpec): number {
  return spec.server.mode === 'relay' ? spec.server.replicas : 1;
}

/**
 * The servers' config. `reservations`: the DhcpReservations accepted for the
 * subnet (src/controllers/reservations.ts), merged after the inline ones and
 * named, so the servers report their state.
 */
export function dhcpdConfig(subnet: DhcpSubnet, reservations: readonly DhcpReservation[] = []): DhcpdConfigInput {
  const s = subnet.spec;
  return {
    ...(subnet.metadata.generation !== undefined ? { generation: subnet.metadata.generation } : {}),
    subnets: [
      {
        name: subnet.metadata.name,
        cidr: s.cidr,
        ...(s.gateway ? { gateway: s.gateway } : {}),
        pools: s.pools.map((p) => ({ start: p.start, end: p.end })),
        excludes: excludeRanges(s),
        reservations: [
          ...(s.reservations ?? []).map((r) => ({ mac: r.mac, ip: r.ip, ...(r.hostname ? { hostname: r.hostname } : {}) })),
          ...reservations.map((r) => ({
            name: r.metadata.name,
            ...(r.spec.mac !== undefined ? { mac: r.spec.mac } : { clientId: r.spec.clientId as string }),
            ip: r.spec.ip,
            ...(r.spec.hostname ? { hostname: r.spec.hostname } : {}),
            ...(r.spec.options?.length ? { options: r.spec.options.map(optionValue) } : {}),
          })),
        ],
        dnsServers: s.dnsServers ?? [],
        ...(s.domainName ? { domainName: s.domainName } : {}),
        domainSearch: s.domainSearch ?? [],
        leaseTime: leaseSeconds(s),
        ...(s.mtu !== undefined ? { mtu: s.mtu } : {}),
        ntpServers: s.ntpServers ?? [],
        staticRoutes: (s.staticRoutes ?? []).map((r) => ({ destination: r.destination, gateway: r.gateway })),
        options: (s.options ?? []).map(optionValue),
        ...(s.server.trustedRelays ? { trustedRelays: s.server.trustedRelays } : {}),
        relayInfoWithoutGiaddr: s.server.relayInfoWithoutGiaddr,
        conflictDetection: s.server.conflictDetection,
        quarantineTime: wholeSeconds('server.quarantineTime', s.server.quarantineTime),
        conflictWindow: wholeSeconds('server.conflictThreshold.window', s.server.conflictThreshold.window),
      },
    ],
    ha: { shares: shares(s) },
  };
}
