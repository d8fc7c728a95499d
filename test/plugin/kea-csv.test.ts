import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../src/api/cidr.ts';
import { KeaCsvError, keaEntries, keaHeader, keaLine, parseKeaLeases4 } from '../../src/plugin/kea-csv.ts';

// A file as Kea 2.2 writes it (columns and escapes from a real run of kea-dhcp4).
const HEADER = 'address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context';
const now = Date.parse('2026-06-01T00:00:00Z');
const at = (s: number): number => Math.floor(now / 1000) + s;
const cidr = parseCidr('10.95.0.0/24')!;

describe("Kea's leases4.csv", () => {
  it('keeps the last line of each address, live leases of the subnet only, with client id, hostname and expiry', () => {
    const text = [
      HEADER,
      `10.95.0.100,ce:4d:60:93:e1:28,01:52:54:00:12:34:56,120,${at(-500)},7,0,0,old,0,`,
      `10.95.0.101,52:54:00:00:00:01,,3600,${at(3000)},7,0,0,a&#x2cb,0,`,
      `10.95.0.100,ce:4d:60:93:e1:28,01:52:54:00:12:34:56,120,${at(100)},7,0,0,myhost,0,`,
      `10.95.0.102,52:54:00:00:00:02,,3600,${at(3000)},7,0,0,,1,`, // declined
      `10.95.0.103,52:54:00:00:00:03,,0,${at(3000)},7,0,0,,0,`, // deleted (lifetime 0)
      `10.95.0.104,52:54:00:00:00:04,,3600,${at(-1)},7,0,0,,0,`, // expired
      `10.96.0.5,52:54:00:00:00:05,,3600,${at(3000)},8,0,0,,0,`, // another subnet
      '',
    ].join('\n');
    const picked = keaEntries(parseKeaLeases4([{ name: 'leases4.csv', text }]), cidr, now);
    expect(picked.entries).toEqual([
      { ip: '10.95.0.101', mac: '52:54:00:00:00:01', client: 'hw:1:525400000001', hostname: 'a,b', expires: new Date(at(3000) * 1000).toISOString(), state: 'bound' },
      { ip: '10.95.0.100', mac: 'ce:4d:60:93:e1:28', client: 'id:01525400123456', hostname: 'myhost', expires: new Date(at(100) * 1000).toISOString(), state: 'bound' },
    ]);
    expect(picked).toMatchObject({ ended: 3, elsewhere: 1 });
    expect(keaEntries(parseKeaLeases4([{ name: 'x', text }]), cidr, now, 9).entries).toEqual([]);
  });

  it('reads an older file first, a later column (pool_id) and short octets', () => {
    const old = `${HEADER}\n10.95.0.7,52:54:00:00:00:07,,3600,${at(10)},7,0,0,,0,\n`;
    const newer = `${HEADER},pool_id\n10.95.0.7,52:54:0:0:0:7,1:2:3,3600,${at(20)},7,0,0,,0,,0\n`;
    const [l] = parseKeaLeases4([{ name: 'leases4.csv.2', text: old }, { name: 'leases4.csv', text: newer }]);
    expect(l).toMatchObject({ hwaddr: '52:54:00:00:00:07', clientId: '01:02:03', expire: at(20) });
  });

  it.each([
    ['not a lease file', 'a,b,c\n', 'leases4.csv line 1: not a Kea DHCPv4 lease file (no "address" column'],
    ['a bad address', `${HEADER}\n10.95.0.300,52:54:00:00:00:01,,3600,1,7,0,0,,0,\n`, 'leases4.csv line 2: address "10.95.0.300" is not an IPv4 address'],
    ['a bad expire', `${HEADER}\n10.95.0.3,52:54:00:00:00:01,,3600,soon,7,0,0,,0,\n`, 'leases4.csv line 2: expire "soon" is not a whole number'],
    ['missing fields', `${HEADER}\n10.95.0.3,52:54:00:00:00:01\n`, 'leases4.csv line 2: 2 fields, the header has 11'],
  ])('refuses %s, naming the line', (_n, text, message) => {
    expect(() => parseKeaLeases4([{ name: 'leases4.csv', text }])).toThrow(KeaCsvError);
    expect(() => parseKeaLeases4([{ name: 'leases4.csv', text }])).toThrow(message);
  });

  it('writes lines Kea reads, and reads them back to the same entries', () => {
    const e = { ip: '10.95.0.9', mac: '52:54:00:00:00:09', client: 'id:01525400000009', hostname: 'x,y', expires: new Date(at(600) * 1000).toISOString(), state: 'bound' as const };
    const text = keaHeader() + keaLine(e, 3600, 7) + keaLine({ ...e, ip: '10.95.0.10', mac: '52:54:00:00:00:0a', client: 'hw:1:52540000000a' }, 3600, 7);
    expect(text.split('\n')[1]).toBe(`10.95.0.9,52:54:00:00:00:09,01:52:54:00:00:00:09,3600,${at(600)},7,0,0,x&#x2cy,0,`);
    const back = keaEntries(parseKeaLeases4([{ name: 'out', text }]), cidr, now).entries;
    expect(back).toEqual([e, { ...e, ip: '10.95.0.10', mac: '52:54:00:00:00:0a', client: 'hw:1:52540000000a' }]);
  });
});
