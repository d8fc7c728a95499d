// macd's admin API (/v1): the allocated MACs a page at a time with filters,
// an export that stays the state at its start while allocations go on, and a
// restore that goes into an empty pool whole or not at all, on one replica
// and across two (in process, fake Lease API, real HTTP between them).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { backupLines, type MacEntry, type MacPoolBackupHeader } from '../../src/api/backup.ts';
import { BlockCoordinator } from '../../src/macd/replicas.ts';
import { startMacd, type Macd } from '../../src/macd/server.ts';
import { FakeLeases } from './fake-leases.ts';
import { call, quietLog, startTestMacd, tempDir } from './helpers.ts';

const started: Macd[] = [];
afterAll(async () => {
  for (const m of started) await m.close();
});

const dir = tempDir('macd-admin-');
const config = join(dir, 'macd.json');
writeFileSync(config, JSON.stringify({ oui: 'aa:bb:cc', ranges: [{ id: 'r0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:00:ff:ff' }], exclusions: ['aa:bb:cc:00:ff:*'] }));

async function single(): Promise<string> {
  const m = await startTestMacd({ configFile: config });
  started.push(m);
  return m.url;
}

async function allMacs(base: string, query = '', limit = 100): Promise<MacEntry[]> {
  const out: MacEntry[] = [];
  let token: string | undefined;
  do {
    const r = await call(base, 'GET', `/v1/macs?limit=${limit}${query}${token ? `&continue=${token}` : ''}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    out.push(...(r.body['items'] as MacEntry[]));
    token = r.body['continue'] as string | undefined;
  } while (token);
  return out;
}

async function text(base: string, path: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const res = await fetch(base + path, init);
  return { status: res.status, text: await res.text() };
}

const header = (count: number): MacPoolBackupHeader => ({ kind: 'MacPoolBackup', version: 1, pool: { namespace: 'ns', name: 'pool', uid: 'u' }, ranges: [], created: new Date().toISOString(), count });

describe('macd admin API, one replica', () => {
  let base = '';
  it('lists allocated MACs in address order, page by page, with project, VPC and port filters', async () => {
    base = await single();
    const states = Array.from({ length: 1000 }, (_, i) => ({ port_id: `port-${i}`, project_id: `p${i % 3}`, vpc_id: i % 2 === 0 ? 'even' : 'odd' }));
    expect((await call(base, 'POST', '/macs/bulk', { mac_states: states })).status).toBe(201);
    const all = await allMacs(base);
    expect(all).toHaveLength(1000);
    expect(all.map((m) => m.mac_address)).toEqual([...all.map((m) => m.mac_address)].sort());
    expect(all[7]).toEqual({ mac_address: 'aa:bb:cc:00:00:07', project_id: 'p1', vpc_id: 'odd', port_id: 'port-7', state: 'Active' });
    expect((await allMacs(base, '&project_id=p0&vpc_id=even', 50)).map((m) => m.port_id)).toEqual(states.filter((s, i) => i % 6 === 0).map((s) => s.port_id));
    expect(await allMacs(base, '&port_id=port-500')).toEqual([all[500]]);
    expect(await allMacs(base, '&project_id=nobody')).toEqual([]);
    expect((await call(base, 'GET', '/v1/macs?continue=garbage')).body).toMatchObject({ status: 400, reason: 'invalid_request' });
  });

  it('exports the state at its start: changes made while it streams do not show', async () => {
    // Enough lines that the stream is still running when the changes come.
    for (let k = 0; k < 3; k++) {
      expect((await call(base, 'POST', '/macs/bulk', { mac_states: Array.from({ length: 10_000 }, (_, i) => ({ project_id: 'p', vpc_id: 'v', port_id: `bulk-${k * 10_000 + i}` })) })).status).toBe(201);
    }
    const res = await fetch(`${base}/v1/export`);
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let got = decoder.decode((await reader.read()).value, { stream: true });
    const head = JSON.parse(got.slice(0, got.indexOf('\n'))) as MacPoolBackupHeader;
    expect(head).toMatchObject({ kind: 'MacPoolBackup', version: 1, count: 31_000, ranges: [{ id: 'r0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:00:ff:ff' }] });
    const last = 'aa:bb:cc:00:79:17'; // the 31,000th MAC
    expect((await call(base, 'DELETE', `/macs/${last}`)).status).toBe(200);
    expect((await call(base, 'PUT', '/macs/aa:bb:cc:00:79:16', { mac_state: { project_id: 'p', vpc_id: 'v', port_id: 'changed' } })).status).toBe(200);
    expect((await call(base, 'POST', '/macs', { mac_state: { project_id: 'p', vpc_id: 'v', port_id: 'new-one' } })).status).toBe(201);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      got += decoder.decode(value, { stream: true });
    }
    const lines = got.trim().split('\n').slice(1).map((l) => JSON.parse(l) as MacEntry);
    expect(lines).toHaveLength(31_000);
    expect(lines.at(-1)).toMatchObject({ mac_address: last, port_id: 'bulk-29999' });
    expect(lines.at(-2)).toMatchObject({ mac_address: 'aa:bb:cc:00:79:16', port_id: 'bulk-29998' });
    expect(lines.some((l) => l.port_id === 'new-one')).toBe(false);
  });

  it('restores into an empty pool whole; refuses a pool that is not empty, conflicts (listing each) and a malformed file, changing nothing', async () => {
    const backup = await text(base, '/v1/export');
    const fresh = await single();
    const restored = await call(fresh, 'POST', '/v1/import?mode=restore', backup.text);
    expect(restored).toEqual({ status: 200, body: { imported: 31_000 } });
    expect((await allMacs(fresh, '', 5000)).length).toBe(31_000);
    expect((await text(fresh, '/v1/export')).text.split('\n').slice(1)).toEqual(backup.text.split('\n').slice(1));

    const again = await call(fresh, 'POST', '/v1/import?mode=restore', backup.text);
    expect(again.status).toBe(409);
    expect(again.body['details']).toEqual(['the pool holds 31000 MACs on replica macd: restore goes into an empty pool']);

    const other = await single();
    const entries: MacEntry[] = [
      { mac_address: 'aa:bb:cc:01:00:00', project_id: null, vpc_id: null, port_id: 'outside', state: 'Active' },
      { mac_address: 'aa:bb:cc:00:ff:01', project_id: null, vpc_id: null, port_id: 'excluded', state: 'Active' },
      { mac_address: 'aa:bb:cc:00:00:01', project_id: null, vpc_id: null, port_id: 'fine', state: 'Active' },
    ];
    const refused = await call(other, 'POST', '/v1/import', backupLines(header(3), entries));
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ reason: 'conflict', message: '2 conflict(s): nothing was imported' });
    expect(refused.body['details']).toEqual(['aa:bb:cc:00:ff:01: excluded (aa:bb:cc:00:ff:*)', 'aa:bb:cc:01:00:00: outside every range']);
    expect(await allMacs(other)).toEqual([]);
    const malformed = await call(other, 'POST', '/v1/import', backupLines(header(1), entries.slice(2)).replace('"port_id":"fine"', '"port_id":""'));
    expect(malformed.body).toMatchObject({ status: 400, reason: 'malformed_file', message: 'line 2: aa:bb:cc:00:00:01: port_id is required' });
    const bad = await call(other, 'POST', '/v1/import', backupLines(header(1), [{ ...entries[2]!, project_id: 'a b' }]));
    expect(bad.body).toMatchObject({ status: 400, reason: 'malformed_file', message: expect.stringContaining('line 2.project_id "a b" may hold only') });
    const dry = await call(other, 'POST', '/v1/import?checkOnly=true', backupLines(header(1), entries.slice(2)));
    expect(dry.body).toEqual({ checkOnly: true, imported: 1 });
    expect(await allMacs(other)).toEqual([]);
  });
});

describe('macd admin API, two replicas', () => {
  async function replica(name: string, cfg: string, leases: FakeLeases): Promise<string> {
    const m = await startMacd({
      host: '127.0.0.1',
      port: 0,
      dataDir: tempDir(),
      configFile: cfg,
      log: quietLog,
      replica: name,
      coordinate: async (store, _c, port) => {
        const c = new BlockCoordinator({ store, api: leases, pool: 'pool', replica: name, endpoint: `http://127.0.0.1:${port.port}`, log: quietLog, publishMs: 100 });
        await c.start();
        return { ownerOf: (mac) => c.ownerOf(mac), peers: () => c.peers(), close: () => c.close() };
      },
    });
    started.push(m);
    return `http://127.0.0.1:${m.port}`;
  }

  it('any replica lists and exports the whole pool; a restore into a fresh pair lands every MAC, which either lists', async () => {
    const cfg = join(tempDir('macd-admin-r-'), 'macd.json');
    writeFileSync(cfg, JSON.stringify({ ranges: [{ id: 'r', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:00:0f:ff' }], coordination: { mode: 'kubernetes', pool: { name: 'pool', namespace: 'ns', uid: 'u' }, blockSize: 256 } }));
    const leases = new FakeLeases();
    const a = await replica('a', cfg, leases);
    const b = await replica('b', cfg, leases);
    for (const [base, tag] of [[a, 'a'], [b, 'b'], [a, 'a2']] as const) {
      expect((await call(base, 'POST', '/macs/bulk', { mac_states: Array.from({ length: 300 }, (_, i) => ({ port_id: `${tag}-${i}`, project_id: tag, vpc_id: 'v' })) })).status).toBe(201);
    }
    const fromA = await allMacs(a, '', 128);
    expect(fromA).toHaveLength(900);
    expect(await allMacs(b, '', 7)).toEqual(fromA);
    expect((await allMacs(b, '&project_id=b', 50)).map((m) => m.port_id)).toEqual(Array.from({ length: 300 }, (_, i) => `b-${i}`).sort((x, y) => fromA.findIndex((m) => m.port_id === x) - fromA.findIndex((m) => m.port_id === y)));

    const backup = await text(b, '/v1/export');
    const lines = backup.text.trim().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ count: 900 });
    expect(lines.slice(1).map((l) => (JSON.parse(l) as MacEntry).mac_address)).toEqual(fromA.map((m) => m.mac_address));

    const leases2 = new FakeLeases();
    const c = await replica('c', cfg, leases2);
    const d = await replica('d', cfg, leases2);
    // d holds a block already (an allocation released again): the restore must go there for its MACs.
    const tmp = await call(d, 'POST', '/macs', { mac_state: { mac_address: fromA[0]!.mac_address, project_id: 'p', vpc_id: 'v', port_id: 'tmp' } });
    expect(tmp.status).toBe(201);
    expect((await call(d, 'DELETE', `/macs/${fromA[0]!.mac_address}`)).status).toBe(200);
    const restored = await call(c, 'POST', '/v1/import?mode=restore', backup.text);
    expect(restored, JSON.stringify(restored.body)).toEqual({ status: 200, body: { imported: 900 } });
    expect(await allMacs(d, '', 500)).toEqual(fromA);
    expect((await call(c, 'GET', `/macs/${fromA[0]!.mac_address}`)).body['mac_state']).toEqual(fromA[0]);
  });
});
