// dhcpd's lease API on two real replicas (shares 0 and 1 of one subnet, each
// naming the other with --peer): whichever replica is asked answers for the
// subnet; imports are all-or-nothing across both; refusals change nothing;
// what was acknowledged survives kill -9.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../e2e/cluster/net.ts';
import { backupLines, type DhcpSubnetBackupHeader, type LeaseEntry } from '../../src/api/backup.ts';
import { spawnDhcpd, stop, type DhcpdProcess } from './api-process.ts';

const dir = mkdtempSync(join(tmpdir(), 'lease-api-'));
const config = join(dir, 'config.yaml');
let ports: number[] = [];
const replicas: DhcpdProcess[] = [];

const header = (count: number): DhcpSubnetBackupHeader => ({
  kind: 'DhcpSubnetBackup',
  version: 1,
  subnet: { namespace: 'ns', name: 'net', uid: 'u1', cidr: '10.70.0.0/24' },
  ranges: [{ start: '10.70.0.10', end: '10.70.0.200' }],
  created: new Date().toISOString(),
  count,
});
const inAnHour = (): string => new Date(Date.now() + 3_600_000).toISOString();
const lease = (n: number, extra: Partial<LeaseEntry> = {}): LeaseEntry => ({
  ip: `10.70.0.${n}`,
  mac: `52:54:00:00:00:${n.toString(16).padStart(2, '0')}`,
  client: `hw:1:5254000000${n.toString(16).padStart(2, '0')}`,
  hostname: `vm${n}`,
  expires: inAnHour(),
  state: 'bound',
  ...extra,
});

async function call(base: string, method: string, path: string, body?: string): Promise<{ status: number; json: Record<string, unknown>; text: string }> {
  const res = await fetch(base + path, { method, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // JSON lines (export)
  }
  return { status: res.status, json, text };
}

async function start(i: number): Promise<DhcpdProcess> {
  const other = ports[1 - i]!;
  return spawnDhcpd(['--config', config, '--data-dir', join(dir, `r${i}`), '--share', String(i), '--replica', `net-dhcpd-${i}`, '--peer', `http://127.0.0.1:${other}`], ports[i]!);
}

async function allLeases(base: string, limit: number): Promise<{ ips: string[]; pages: number }> {
  const ips: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const r = await call(base, 'GET', `/v1/leases?limit=${limit}${token ? `&continue=${token}` : ''}`);
    expect(r.status, r.text).toBe(200);
    pages++;
    for (const item of r.json['items'] as { ip: string; server: string }[]) ips.push(item.ip);
    token = r.json['continue'] as string | undefined;
  } while (token);
  return { ips, pages };
}

beforeAll(async () => {
  writeFileSync(
    config,
    JSON.stringify({ subnets: [{ name: 'net', cidr: '10.70.0.0/24', pools: [{ start: '10.70.0.10', end: '10.70.0.200' }], excludes: [{ start: '10.70.0.50', end: '10.70.0.50' }], reservations: [{ mac: '52:54:00:aa:aa:aa', ip: '10.70.0.5' }], leaseTime: 3600 }], ha: { shares: 2 } }),
  );
  ports = [await freePort(), await freePort()];
  replicas.push(await start(0), await start(1));
});

afterAll(async () => {
  for (const r of replicas) await stop(r);
  rmSync(dir, { recursive: true, force: true });
});

describe('dhcpd lease API across two replicas', () => {
  it('imports across both shares, lists them in order in pages from either replica, and finds each address from either', async () => {
    const entries = [11, 12, 13, 14, 15, 20, 21, 22, 23, 24].map((n) => lease(n));
    const body = backupLines(header(entries.length), entries);
    const imported = await call(replicas[0]!.url, 'POST', '/v1/import?mode=import', body);
    expect(imported.status, imported.text).toBe(200);
    expect(imported.json).toMatchObject({ imported: 10, expired: 0 });

    for (const r of replicas) {
      const { ips, pages } = await allLeases(r.url, 3);
      expect(ips).toEqual(entries.map((e) => e.ip));
      expect(pages).toBe(4);
    }
    // 10.70.0.11 is share 1's (11 mod 2), 10.70.0.12 share 0's: each replica finds both.
    for (const r of replicas) {
      for (const [ip, server] of [['10.70.0.11', 'net-dhcpd-1'], ['10.70.0.12', 'net-dhcpd-0']] as const) {
        const got = await call(r.url, 'GET', `/v1/leases/${ip}`);
        expect(got.status, got.text).toBe(200);
        expect(got.json['items']).toEqual([expect.objectContaining({ ip, server, state: 'bound', mac: lease(Number(ip.split('.')[3])).mac, hostname: `vm${ip.split('.')[3]}` })]);
      }
    }
  });

  it('refuses unknown, outside and malformed addresses in the shared error shape', async () => {
    const unknown = await call(replicas[1]!.url, 'GET', '/v1/leases/10.70.0.99');
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ status: 404, error: 'Not Found', reason: 'not_leased', message: '10.70.0.99 is not leased', path: '/v1/leases/10.70.0.99' });
    expect(typeof unknown.json['timestamp']).toBe('string');
    expect((await call(replicas[0]!.url, 'DELETE', '/v1/leases/10.71.0.1')).json).toMatchObject({ reason: 'outside_subnets' });
    expect((await call(replicas[0]!.url, 'GET', '/v1/leases/10.70.0.300')).json).toMatchObject({ status: 400, reason: 'malformed_ip' });
    expect((await call(replicas[0]!.url, 'GET', '/v1/leases?continue=bogus')).json).toMatchObject({ status: 400, reason: 'invalid_request' });
    expect((await call(replicas[0]!.url, 'PUT', '/v1/leases')).status).toBe(405);
  });

  it('refuses a whole import when one entry conflicts, listing each conflict, and changes nothing', async () => {
    const before = await allLeases(replicas[0]!.url, 100);
    const entries = [
      lease(30),
      lease(11, { client: 'hw:1:525400ffffff', mac: '52:54:00:ff:ff:ff' }), // leased to another client
      lease(31, { client: lease(12).client, mac: lease(12).mac }), // that client holds 10.70.0.12
      lease(50), // excluded
      lease(5), // reserved for another MAC
      lease(201), // outside the pools
      { ...lease(40), ip: '10.70.1.40' }, // outside the subnet
    ];
    const r = await call(replicas[1]!.url, 'POST', '/v1/import', backupLines(header(entries.length), entries));
    expect(r.status, r.text).toBe(409);
    expect(r.json['reason']).toBe('conflict');
    expect(r.json['details']).toEqual([
      '10.70.0.5: reserved for 52:54:00:aa:aa:aa',
      '10.70.0.11: leased to hw:1:52540000000b until ' + ((await call(replicas[0]!.url, 'GET', '/v1/leases/10.70.0.11')).json['items'] as { expires: string }[])[0]!.expires,
      `10.70.0.31: client ${lease(12).client} already holds 10.70.0.12`,
      '10.70.0.50: excluded from net',
      `10.70.0.201: not in a pool of net`,
      '10.70.1.40: outside 10.70.0.0/24',
    ]);
    expect(await allLeases(replicas[0]!.url, 100)).toEqual(before);
  });

  it('refuses a malformed file naming the line, and a restore into a subnet that is not empty', async () => {
    const good = backupLines(header(2), [lease(60), lease(61)]);
    const broken = good.replace('"ip":"10.70.0.61"', '"ip":"10.70.0.999"');
    const r = await call(replicas[0]!.url, 'POST', '/v1/import', broken);
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ reason: 'malformed_file', message: 'line 3: ip "10.70.0.999" is not an IPv4 address' });
    const truncated = await call(replicas[0]!.url, 'POST', '/v1/import', good.split('\n').slice(0, 2).join('\n'));
    expect(truncated.json).toMatchObject({ reason: 'malformed_file', message: expect.stringContaining('the header says 2 entries but 1 follow') });
    const restore = await call(replicas[0]!.url, 'POST', '/v1/import?mode=restore', good);
    expect(restore.status).toBe(409);
    expect(restore.json['details']).toEqual(['subnet net holds 5 leases on net-dhcpd-0: restore goes into an empty subnet', 'subnet net holds 5 leases on net-dhcpd-1: restore goes into an empty subnet']);
    expect((await call(replicas[0]!.url, 'GET', '/v1/leases/10.70.0.60')).status).toBe(404);
  });

  it('releases an address held by the other replica, and exports every bound lease as JSON lines', async () => {
    const released = await call(replicas[0]!.url, 'DELETE', '/v1/leases/10.70.0.11');
    expect(released.status, released.text).toBe(200);
    expect(released.json['items']).toEqual([expect.objectContaining({ ip: '10.70.0.11', server: 'net-dhcpd-1' })]);
    expect((await call(replicas[1]!.url, 'GET', '/v1/leases/10.70.0.11')).status).toBe(404);
    expect((await call(replicas[1]!.url, 'DELETE', '/v1/leases/10.70.0.11')).json).toMatchObject({ reason: 'not_leased' });

    const exported = await call(replicas[1]!.url, 'GET', '/v1/export');
    expect(exported.status).toBe(200);
    const lines = exported.text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines[0]).toMatchObject({ kind: 'DhcpSubnetBackup', version: 1, count: 9, subnet: { name: 'net', cidr: '10.70.0.0/24' }, ranges: [{ start: '10.70.0.10', end: '10.70.0.200' }] });
    expect(lines.slice(1).map((l) => l['ip']).sort()).toEqual([12, 13, 14, 15, 20, 21, 22, 23, 24].map((n) => `10.70.0.${n}`).sort());
    expect(lines[1]).toEqual({ ...lease(12), expires: expect.any(String) });
  });

  it('keeps acknowledged imports and releases through kill -9', async () => {
    await stop(replicas[0]!, 'SIGKILL');
    await stop(replicas[1]!, 'SIGKILL');
    replicas[0] = await start(0);
    replicas[1] = await start(1);
    expect((await allLeases(replicas[1]!.url, 500)).ips).toEqual([12, 13, 14, 15, 20, 21, 22, 23, 24].map((n) => `10.70.0.${n}`));
  });

  it('with a replica down: an import changes nothing and says which; a listing warns', async () => {
    await stop(replicas[1]!, 'SIGKILL');
    const r = await call(replicas[0]!.url, 'POST', '/v1/import', backupLines(header(2), [lease(70), lease(71)]));
    expect(r.status, r.text).toBe(503);
    expect(r.json).toMatchObject({ reason: 'replica_unavailable', message: '1 server(s) did not answer: nothing was imported' });
    expect(r.json['details']).toEqual([expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+ did not answer: /)]);
    expect((await call(replicas[0]!.url, 'GET', '/v1/leases/10.70.0.70')).status).not.toBe(200);
    const listed = await call(replicas[0]!.url, 'GET', '/v1/leases');
    expect(listed.status).toBe(200);
    expect((listed.json['items'] as unknown[]).length).toBe(5);
    expect(listed.json['warnings']).toEqual([expect.stringMatching(/did not answer/)]);
    replicas[1] = await start(1);
  });
});
