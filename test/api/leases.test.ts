// The report Lease contract (src/api/leases.ts): what a server writes with
// reportText is what the operator reads back with readReport, under the one
// schema of each annotation; the text of an unchanged report is unchanged (no
// write); a malformed or foreign report reads as nothing.
import { describe, expect, it } from 'vitest';
import {
  ConflictReport,
  DHCP_CONFLICTS_ANNOTATION,
  DHCP_RESERVATIONS_ANNOTATION,
  DhcpdReport,
  MacdReport,
  readReport,
  reportText,
  ReservationReport,
  SERVED_ANNOTATION,
} from '../../src/api/leases.ts';

const macd: MacdReport = { generation: 3, refused: ['ranges[0] (r0): not served'], capacity: 256, allocated: 7 };
const dhcpd: DhcpdReport = { generation: 2, refused: [], share: 0, shares: 2, subnets: { net: { capacity: 45, leased: 3 } } };
const conflicts: ConflictReport = { net: { quarantined: 1, recent: 2, windowSeconds: 600, addresses: [{ ip: '10.0.0.9', reason: 'ping', until: '2026-11-30T17:00:00Z' }] } };
const reservations: ReservationReport = { net: { printer: { ip: '10.0.0.5', state: 'bound', expires: '2026-11-30T18:00:00Z' } } };

describe('report Lease contract', () => {
  it.each([
    ['macd served', MacdReport, SERVED_ANNOTATION, macd],
    ['dhcpd served', DhcpdReport, SERVED_ANNOTATION, dhcpd],
    ['dhcpd conflicts', ConflictReport, DHCP_CONFLICTS_ANNOTATION, conflicts],
    ['dhcpd reservations', ReservationReport, DHCP_RESERVATIONS_ANNOTATION, reservations],
  ] as const)('%s: read back as written', (_name, schema, key, report) => {
    expect(readReport(schema, { [key]: reportText(report) }, key)).toEqual(report);
  });

  it('reads the release, pod and what blocks a server when given, and a report of 0.2.0 without them', () => {
    const full: MacdReport = { ...macd, version: '0.3.0', pod: 'a1b2', blocked: 'Lease x: why', refused: ['blocked: Lease x: why'] };
    expect(readReport(MacdReport, { [SERVED_ANNOTATION]: reportText(full) })).toEqual(full);
    const old = '{"allocated":7,"capacity":256,"generation":3,"refused":[]}';
    expect(readReport(MacdReport, { [SERVED_ANNOTATION]: old })).toEqual({ generation: 3, refused: [], capacity: 256, allocated: 7 });
  });

  it('writes the same text for the same report, whatever the key order', () => {
    const shuffled = { subnets: { net: { leased: 3, capacity: 45 } }, shares: 2, share: 0, refused: [], generation: 2 };
    expect(reportText(shuffled)).toBe(reportText(dhcpd));
  });

  it.each([
    ['absent', {}],
    ['not JSON', { [SERVED_ANNOTATION]: '{"generation":' }],
    ['another kind of report', { [SERVED_ANNOTATION]: reportText(dhcpd) }],
    ['a negative count', { [SERVED_ANNOTATION]: JSON.stringify({ ...macd, allocated: -1 }) }],
  ])('reads nothing from %s', (_name, annotations) => {
    expect(readReport(MacdReport, annotations)).toBeUndefined();
  });
});
