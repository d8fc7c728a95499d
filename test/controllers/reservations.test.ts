// Which DhcpReservations a subnet serves, and the status of one from what
// the servers report: pure tables.

import { describe, expect, it } from 'vitest';
import { DhcpReservation, DhcpSubnet } from '../../src/api/index.ts';
import { DHCP_RESERVATIONS_ANNOTATION, DHCP_SERVER_LABEL } from '../../src/api/leases.ts';
import { judgeReservations, reportsFor, reservationOutcome, reservationsOf, type ReservationInputs } from '../../src/controllers/reservations.ts';
import type { KubeObject } from '../../src/runtime/client.ts';

const subnet = DhcpSubnet.parse({
  apiVersion: 'alcor.dev/v1alpha1',
  kind: 'DhcpSubnet',
  metadata: { name: 'net', namespace: 'ns' },
  spec: { cidr: '10.1.0.0/24', gateway: '10.1.0.1', pools: [{ start: '10.1.0.100', end: '10.1.0.199' }], reservations: [{ mac: '02:00:00:00:00:aa', ip: '10.1.0.10' }] },
});

let clock = 0;
function res(name: string, spec: Record<string, unknown>, created?: string): KubeObject {
  return {
    apiVersion: 'alcor.dev/v1alpha1',
    kind: 'DhcpReservation',
    metadata: { name, namespace: 'ns', creationTimestamp: created ?? `2026-01-01T00:00:${String(clock++).padStart(2, '0')}Z` },
    spec: { subnetRef: { name: 'net' }, ...spec },
  };
}

describe('judgeReservations', () => {
  it('accepts the ones that fit, rejects the rest with a reason naming the other side; older wins', () => {
    clock = 0;
    const objs = [
      res('ok', { mac: '02:00:00:00:00:01', ip: '10.1.0.20' }),
      res('by-client-id', { clientId: 'ff00112233', ip: '10.1.0.21' }),
      res('outside', { mac: '02:00:00:00:00:02', ip: '10.9.0.20' }),
      res('gateway', { mac: '02:00:00:00:00:03', ip: '10.1.0.1' }),
      res('broadcast', { mac: '02:00:00:00:00:04', ip: '10.1.0.255' }),
      res('inline-ip', { mac: '02:00:00:00:00:05', ip: '10.1.0.10' }),
      res('inline-mac', { mac: '02:00:00:00:00:aa', ip: '10.1.0.22' }),
      res('same-ip-newer', { mac: '02:00:00:00:00:06', ip: '10.1.0.20' }),
      res('same-mac-newer', { mac: '02:00:00:00:00:01', ip: '10.1.0.23' }),
      res('invalid', { mac: '02:00:00:00:00:07', clientId: 'ff00', ip: '10.1.0.24' }),
    ];
    const j = judgeReservations(subnet, objs);
    expect(j.accepted.map((r) => r.metadata.name)).toEqual(['by-client-id', 'ok']);
    const reasons = Object.fromEntries([...j.rejected].map(([k, v]) => [k, v.reason]));
    expect(reasons).toEqual({
      outside: 'OutsideSubnet',
      gateway: 'UnusableAddress',
      broadcast: 'UnusableAddress',
      'inline-ip': 'Overlap',
      'inline-mac': 'Overlap',
      'same-ip-newer': 'Overlap',
      'same-mac-newer': 'Overlap',
      invalid: 'InvalidSpec',
    });
    expect(j.rejected.get('same-ip-newer')?.message).toBe('ip 10.1.0.20 is already reserved by DhcpReservation ok, which was there first');
    expect(j.rejected.get('inline-ip')?.message).toMatch(/already reserved in DhcpSubnet net spec.reservations \(mac 02:00:00:00:00:aa\)/);
  });

  it('decides the same whatever order the cache lists them in', () => {
    const a = res('a', { mac: '02:00:00:00:00:01', ip: '10.1.0.20' }, '2026-01-01T00:00:00Z');
    const b = res('b', { mac: '02:00:00:00:00:02', ip: '10.1.0.20' }, '2026-01-01T00:00:00Z');
    expect(judgeReservations(subnet, [b, a]).accepted.map((r) => r.metadata.name)).toEqual(['a']);
    expect(judgeReservations(subnet, [a, b]).accepted.map((r) => r.metadata.name)).toEqual(['a']);
  });

  it('takes only the subnet\'s own, not being deleted', () => {
    const other = { ...res('x', { mac: '02:00:00:00:00:01', ip: '10.1.0.20' }), spec: { subnetRef: { name: 'other' }, ip: '10.1.0.20' } };
    const elsewhere = { ...res('y', { mac: '02:00:00:00:00:01', ip: '10.1.0.20' }), metadata: { name: 'y', namespace: 'ns2' } };
    const going = { ...res('z', { mac: '02:00:00:00:00:01', ip: '10.1.0.20' }), metadata: { name: 'z', namespace: 'ns', deletionTimestamp: '2026-01-01T00:00:00Z' } };
    const mine = res('m', { mac: '02:00:00:00:00:01', ip: '10.1.0.20' });
    expect(reservationsOf([other, elsewhere, going, mine], 'ns', 'net').map((o) => o.metadata.name)).toEqual(['m']);
  });
});

describe('reservationOutcome', () => {
  const r = DhcpReservation.parse(res('db', { mac: '02:00:00:00:00:01', ip: '10.1.0.20' }));
  const base: ReservationInputs = { reservation: r, subnet, reports: [] };
  const table: [string, Partial<ReservationInputs>, string, string, boolean][] = [
    ['no such subnet', { subnet: undefined }, 'Pending', 'SubnetNotFound', false],
    ['subnet not served', { subnetProblem: 'overlaps x' }, 'Pending', 'SubnetNotServed', false],
    ['rejected', { rejection: { reason: 'Overlap', message: 'm' } }, 'Rejected', 'Overlap', false],
    ['no server reports it yet', {}, 'Pending', 'NotServedYet', false],
    ['served, not taken', { reports: [{ ip: '10.1.0.20', state: 'pending' }] }, 'Pending', 'NotLeased', true],
    ['bound', { reports: [{ ip: '10.1.0.20', state: 'pending' }, { ip: '10.1.0.20', state: 'bound', expires: '2026-01-01T01:00:00Z' }] }, 'Bound', 'Bound', true],
    ['held by another client', { reports: [{ ip: '10.1.0.20', state: 'conflict', expires: '2026-01-01T01:00:00Z', holder: '02:00:00:00:00:99' }] }, 'Conflict', 'LeasedToAnotherClient', false],
    ['quarantined', { reports: [{ ip: '10.1.0.20', state: 'conflict', expires: '2026-01-01T01:00:00Z', quarantined: 'ping' }] }, 'Conflict', 'AddressQuarantined', false],
  ];
  it.each(table)('%s', (_name, input, state, reason, ready) => {
    const o = reservationOutcome({ ...base, ...input });
    expect([o.state, o.reason, o.ready]).toEqual([state, reason, ready]);
  });

  it('a conflict says who holds the address until when, that nobody is kicked off, and what to do', () => {
    const o = reservationOutcome({ ...base, reports: [{ ip: '10.1.0.20', state: 'conflict', expires: '2026-01-01T01:00:00Z', holder: '02:00:00:00:00:99' }] });
    expect(o).toMatchObject({ holder: '02:00:00:00:00:99', expires: '2026-01-01T01:00:00Z' });
    expect(o.message).toMatch(/^10\.1\.0\.20 is leased to another client \(mac 02:00:00:00:00:99\) until 2026-01-01T01:00:00Z\. Nobody is kicked off/);
    expect(o.message).toMatch(/release it on that client/);
  });

  it('reads only its own entries for its current address from the servers\' Leases', () => {
    const lease = (name: string, report: unknown): KubeObject => ({
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace: 'ns', labels: { [DHCP_SERVER_LABEL]: 'net' }, annotations: { [DHCP_RESERVATIONS_ANNOTATION]: JSON.stringify(report) } },
    });
    const leases = [
      lease('net-0', { net: { db: { ip: '10.1.0.20', state: 'bound', expires: '2026-01-01T01:00:00Z' }, other: { ip: '10.1.0.30', state: 'pending' } } }),
      // A replica still on the config from before the address changed.
      lease('net-1', { net: { db: { ip: '10.1.0.19', state: 'conflict', holder: '02:00:00:00:00:99' } } }),
      lease('net-2', 'garbage'),
    ];
    expect(reportsFor(leases, 'net', 'db', '10.1.0.20')).toEqual([{ ip: '10.1.0.20', state: 'bound', expires: '2026-01-01T01:00:00Z' }]);
  });
});
