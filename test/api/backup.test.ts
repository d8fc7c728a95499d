import { describe, expect, it } from 'vitest';
import { backupLines, checkImport, parseBackup, streamLines, type DhcpSubnetBackupHeader, type MacPoolBackupHeader } from '../../src/api/backup.ts';

const macHeader = (count: number): MacPoolBackupHeader => ({
  kind: 'MacPoolBackup',
  version: 1,
  pool: { namespace: 'ns', name: 'pool', uid: 'u' },
  ranges: [{ id: 'range0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:ff:ff:ff' }],
  created: '2026-01-01T00:00:00.000Z',
  count,
});
const leaseHeader = (count: number): DhcpSubnetBackupHeader => ({
  kind: 'DhcpSubnetBackup',
  version: 1,
  subnet: { namespace: 'ns', name: 'net', uid: 'u', cidr: '10.0.0.0/24' },
  ranges: [{ start: '10.0.0.10', end: '10.0.0.20' }],
  created: '2026-01-01T00:00:00.000Z',
  count,
});
const mac = (n: number) => ({ mac_address: `aa:bb:cc:00:00:0${n}`, project_id: 'p', vpc_id: null, port_id: `port-${n}`, state: 'Active' as const });
const lease = (n: number) => ({ ip: `10.0.0.1${n}`, mac: `52:54:00:00:00:0${n}`, client: `hw:1:52540000000${n}`, expires: '2027-01-01T00:00:00.000Z', state: 'bound' as const });

describe('backup files', () => {
  it('reads back what it writes, for both kinds', () => {
    const macs = backupLines(macHeader(2), [mac(1), mac(2)]);
    expect(parseBackup(macs)).toEqual({ ok: true, value: { header: macHeader(2), entries: [mac(1), mac(2)] } });
    const leases = backupLines(leaseHeader(2), [lease(1), lease(2)]);
    expect(parseBackup(leases)).toEqual({ ok: true, value: { header: leaseHeader(2), entries: [lease(1), lease(2)] } });
  });

  const cases: Array<[string, string, string]> = [
    ['empty', '', 'line 1: empty; a backup starts with its header'],
    ['not JSON', 'hello\n', 'line 1: not JSON'],
    ['another kind', '{"kind":"Foo"}\n', "line 1: the header's kind must be MacPoolBackup or DhcpSubnetBackup"],
    ['a newer version', JSON.stringify({ ...macHeader(0), version: 2 }) + '\n', 'line 1: backup version 2 is not supported (this version reads 1)'],
    ['a bad MAC', backupLines(macHeader(1), [{ ...mac(1), mac_address: 'aa:bb:cc:00:00' }]), 'line 2: mac_address "aa:bb:cc:00:00" is not a MAC address'],
    ['no port_id', backupLines(macHeader(1), [{ ...mac(1), port_id: '' }]), 'line 2: aa:bb:cc:00:00:01: port_id is required'],
    ['a MAC twice', backupLines(macHeader(2), [mac(1), mac(1)]), 'line 3: aa:bb:cc:00:00:01 listed twice (line 2 too)'],
    ['a bad IP', backupLines(leaseHeader(1), [{ ...lease(1), ip: '10.0.0.256' }]), 'line 2: ip "10.0.0.256" is not an IPv4 address'],
    ['a bad client', backupLines(leaseHeader(1), [{ ...lease(1), client: 'x' }]), 'line 2: 10.0.0.11: client "x" must be'],
    ['a bad expiry', backupLines(leaseHeader(1), [{ ...lease(1), expires: 'soon' }]), 'line 2: 10.0.0.11: expires must be an RFC 3339 time'],
    ['an IP twice', backupLines(leaseHeader(2), [lease(1), { ...lease(2), ip: '10.0.0.11' }]), 'line 3: 10.0.0.11 listed twice (line 2 too)'],
    ['a client twice', backupLines(leaseHeader(2), [lease(1), { ...lease(2), client: lease(1).client }]), 'line 3: client hw:1:525400000001 listed twice (line 2 too)'],
    ['a blank line', backupLines(leaseHeader(2), [lease(1)]) + '\n' + JSON.stringify(lease(2)) + '\n', 'line 3: empty'],
    ['fewer lines than the count', backupLines(leaseHeader(3), [lease(1), lease(2)]), 'the header says 3 entries but 2 follow (a truncated or edited file)'],
  ];
  it.each(cases)('refuses %s, naming the line', (_name, text, message) => {
    const r = parseBackup(text);
    expect(r.ok).toBe(false);
    expect(r.ok ? '' : r.error).toContain(message);
  });
});

describe('an import as its server reads it', () => {
  it('takes a backup of its kind, import or restore', () => {
    const text = backupLines(macHeader(1), [mac(1)]);
    expect(checkImport(null, text, 'MacPoolBackup', 'a MAC pool')).toEqual({ ok: true, value: { header: macHeader(1), entries: [mac(1)], mode: 'import' } });
    expect(checkImport('restore', text, 'MacPoolBackup', 'a MAC pool')).toMatchObject({ ok: true, value: { mode: 'restore' } });
  });

  it.each([
    ['an unknown mode', 'replace', backupLines(macHeader(0), []), { reason: 'invalid_request', error: 'mode must be import or restore, got "replace"' }],
    ['the other kind', null, backupLines(leaseHeader(0), []), { reason: 'malformed_file', error: 'a DhcpSubnetBackup cannot be imported into a MAC pool' }],
    ['a truncated file', null, backupLines(macHeader(2), [mac(1)]), { reason: 'malformed_file', error: expect.stringMatching(/^the header says 2 entries but 1 follow/) }],
  ])('refuses %s with the reason the API answers', (_name, mode, text, refusal) => {
    expect(checkImport(mode, text, 'MacPoolBackup', 'a MAC pool')).toEqual({ ok: false, ...refusal });
  });
});

describe('streamLines', () => {
  it('splits a stream into its lines whatever the chunks, a character split between two kept whole', async () => {
    const bytes = new TextEncoder().encode('{"a":"é"}\n\n{"b":2}\n{"c":"ü"}');
    const at = bytes.indexOf(0xc3) + 1; // inside the two bytes of é
    async function* chunks() {
      yield bytes.subarray(0, at);
      yield bytes.subarray(at, at + 5);
      yield bytes.subarray(at + 5);
    }
    const out: string[] = [];
    for await (const line of streamLines(chunks())) out.push(line);
    expect(out).toEqual(['{"a":"é"}', '{"b":2}', '{"c":"ü"}']);
  });
});
