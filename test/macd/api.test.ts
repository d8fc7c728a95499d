import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, startTestMacd } from './helpers.ts';

type Started = Awaited<ReturnType<typeof startTestMacd>>;
let m: Started;
const api = (method: string, path: string, body?: unknown) => call(m.url, method, path, body);
const state = (extra: Record<string, unknown> = {}) => ({ mac_state: { project_id: 'p1', vpc_id: 'v1', port_id: 'port-1', ...extra } });

beforeAll(async () => {
  m = await startTestMacd();
});
afterAll(async () => {
  await m.close();
});

async function rangeUsed(id: string): Promise<number> {
  const r = await api('GET', `/macs/ranges/${id}`);
  return (r.body['mac_range'] as { used: number }).used;
}

describe('MAC endpoints (Alcor request bodies)', () => {
  it('POST /macs allocates the next free MAC with the given state', async () => {
    const r = await api('POST', '/macs', state());
    expect(r.status).toBe(201);
    expect(r.body['mac_state']).toEqual({ mac_address: 'aa:bb:cc:00:00:00', project_id: 'p1', vpc_id: 'v1', port_id: 'port-1', state: 'Active' });
    const again = await api('GET', '/v4/macs/aa:bb:cc:00:00:00');
    expect(again.status).toBe(200);
    expect(again.body['mac_state']).toEqual(r.body['mac_state']);
  });

  it('POST /macs with mac_address allocates that MAC (also written with dashes); twice is 400, as in Alcor', async () => {
    const r = await api('POST', '/v4/macs', state({ mac_address: 'AA:BB:CC:12:34:56' }));
    expect(r.status).toBe(201);
    expect((r.body['mac_state'] as { mac_address: string }).mac_address).toBe('aa:bb:cc:12:34:56');
    const dup = await api('POST', '/macs', state({ mac_address: 'aa-bb-cc-12-34-56' }));
    expect(dup.status).toBe(400);
    expect(dup.body['reason']).toBe('already_allocated');
    expect(dup.body['message']).toContain('aa:bb:cc:12:34:56');
  });

  it('POST /macs/bulk allocates all or nothing', async () => {
    const before = await rangeUsed('range0');
    const ok = await api('POST', '/macs/bulk', { mac_states: [{ project_id: 'p', vpc_id: 'v', port_id: 'a' }, { project_id: 'p', vpc_id: 'v', port_id: 'b' }, { project_id: 'p', vpc_id: 'v', port_id: 'c', mac_address: 'aa:bb:cc:00:10:00' }] });
    expect(ok.status).toBe(201);
    const macs = (ok.body['mac_states'] as { mac_address: string; port_id: string }[]).map((s) => [s.mac_address, s.port_id]);
    expect(macs).toHaveLength(3);
    expect(macs[2]).toEqual(['aa:bb:cc:00:10:00', 'c']);
    expect(new Set(macs.map((x) => x[0])).size).toBe(3);
    expect(await rangeUsed('range0')).toBe(before + 3);
    // One bad element refuses the whole request.
    const refused = await api('POST', '/macs/bulk', { mac_states: [{ project_id: 'p', vpc_id: 'v', port_id: 'd' }, { project_id: 'p', vpc_id: 'v', port_id: 'e', mac_address: 'aa:bb:cc:00:10:00' }] });
    expect(refused.status).toBe(400);
    const missing = await api('POST', '/macs/bulk', { mac_states: [{ project_id: 'p', vpc_id: 'v', port_id: 'd' }, { vpc_id: 'x' }] });
    expect(missing.status).toBe(400);
    expect(missing.body['reason']).toBe('missing_field');
    // project_id and vpc_id are required too, and not blank, as Alcor requires them.
    for (const s of [{ vpc_id: 'v', port_id: 'x' }, { project_id: 'p', port_id: 'x' }, { project_id: 'p', vpc_id: ' ', port_id: 'x' }]) {
      expect((await api('POST', '/macs', { mac_state: s })).body['reason']).toBe('missing_field');
    }
    expect(await rangeUsed('range0')).toBe(before + 3);
  });

  it('PUT /macs/{mac} updates the state; unknown MAC is 404 (Alcor: 500)', async () => {
    await api('POST', '/macs', state({ mac_address: 'aa:bb:cc:00:20:00' }));
    const r = await api('PUT', '/macs/aa:bb:cc:00:20:00', { mac_state: { mac_address: 'aa:bb:cc:00:20:00', project_id: 'p2', vpc_id: 'v2', port_id: 'port-2', state: 'Inactive' } });
    expect(r.status).toBe(200);
    expect((await api('GET', '/macs/aa:bb:cc:00:20:00')).body['mac_state']).toEqual({ mac_address: 'aa:bb:cc:00:20:00', project_id: 'p2', vpc_id: 'v2', port_id: 'port-2', state: 'Inactive' });
    expect((await api('PUT', '/macs/aa:bb:cc:00:20:01', state())).status).toBe(404);
    expect((await api('PUT', '/macs/aa:bb:cc:00:20:00', state({ mac_address: 'aa:bb:cc:00:20:01' }))).status).toBe(400);
    expect((await api('PUT', '/macs/aa:bb:cc:00:20:00', { mac_state: { state: 'Active' } })).body['reason']).toBe('missing_field');
  });

  it('DELETE /macs/{mac} releases; GET then answers a null state (as Alcor); releasing again is 404; the MAC can be allocated again', async () => {
    await api('POST', '/macs', state({ mac_address: 'aa:bb:cc:00:30:00' }));
    const r = await api('DELETE', '/macs/aa:bb:cc:00:30:00');
    expect(r.status).toBe(200);
    expect((r.body['mac_state'] as { mac_address: string }).mac_address).toBe('aa:bb:cc:00:30:00');
    expect(await api('GET', '/macs/aa:bb:cc:00:30:00')).toEqual({ status: 200, body: { mac_state: null } });
    const again = await api('DELETE', '/macs/aa:bb:cc:00:30:00');
    expect(again.status).toBe(404);
    expect(again.body['reason']).toBe('not_allocated');
    expect((await api('POST', '/macs', state({ mac_address: 'aa:bb:cc:00:30:00' }))).status).toBe(201);
  });

  it('refuses ids with characters outside the id set, naming the field, and allocates nothing', async () => {
    const before = await rangeUsed('range0');
    for (const [field, value] of [['project_id', 'p "quoted"'], ['vpc_id', 'line\nbreak\\'], ['port_id', 'ü-port-\u0001']] as const) {
      const r = await api('POST', '/macs', state({ [field]: value }));
      expect(r.status).toBe(400);
      expect(r.body['reason']).toBe('invalid_request');
      expect(r.body['message']).toContain(`mac_state.${field}`);
    }
    expect(await rangeUsed('range0')).toBe(before);
  });

  it('answers every bad request with the right 4xx and a JSON error', async () => {
    const cases: [string, string, unknown, number, string][] = [
      ['GET', '/macs/aa:bb:cc:00:00', undefined, 400, 'malformed_mac'],
      ['POST', '/macs', state({ mac_address: 'aa.bb.cc.00.00.01' }), 400, 'malformed_mac'],
      ['POST', '/macs', state({ mac_address: '02:00:00:00:00:01' }), 400, 'outside_ranges'],
      ['POST', '/macs', { mac_state: { project_id: 'p' } }, 400, 'missing_field'],
      ['POST', '/macs', '{"mac_state": {', 400, 'malformed_json'],
      ['POST', '/macs', { something: 1 }, 400, 'invalid_request'],
      ['POST', '/macs/range/nope', state(), 400, 'unknown_range'],
      ['DELETE', '/macs/aa:bb:cc:ff:00:00', undefined, 404, 'not_allocated'],
      ['PATCH', '/macs/aa:bb:cc:ff:00:00', undefined, 405, 'method_not_allowed'],
      ['GET', '/nothing', undefined, 404, 'not_found'],
      ['GET', '/macs/ranges/%E0%A4%A', undefined, 400, 'invalid_request'],
    ];
    for (const [method, path, body, status, reason] of cases) {
      const r = await api(method, path, body);
      expect({ method, path, status: r.status, reason: r.body['reason'] }).toEqual({ method, path, status, reason });
      expect(typeof r.body['message']).toBe('string');
      expect(r.body['status']).toBe(status);
    }
  });
});

describe('range endpoints', () => {
  it('lists, creates, reads, updates, allocates from, and deletes ranges', async () => {
    const list = await api('GET', '/macs/ranges');
    expect((list.body['mac_ranges'] as { range_id: string }[]).map((r) => r.range_id)).toEqual(['range0']);
    const body = { mac_range: { range_id: 'r1', from: 'aa:bb:cd:00:00:00', to: 'aa:bb:cd:00:00:03', state: 'Active' } };
    const created = await api('POST', '/v4/macs/ranges', body);
    expect(created.status).toBe(201);
    expect(created.body['mac_range']).toMatchObject({ range_id: 'r1', from: 'aa:bb:cd:00:00:00', to: 'aa:bb:cd:00:00:03', state: 'Active', capacity: 4 });
    // As in Alcor, POST of an existing range_id replaces it.
    expect((await api('POST', '/macs/ranges', body)).status).toBe(201);
    // Ranges may overlap (as in Alcor): a MAC is still handed out once.
    const inside = await api('POST', '/macs/ranges', { mac_range: { ...body.mac_range, range_id: 'r2', to: 'aa:bb:cd:00:00:01' } });
    expect(inside.status).toBe(201);
    expect((await api('DELETE', '/macs/ranges/r2')).status).toBe(200);
    expect((await api('POST', '/macs/ranges', { mac_range: { range_id: 'r3', from: 'zz', to: 'aa:bb:cd:00:00:03' } })).body['reason']).toBe('malformed_mac');

    const one = await api('POST', '/macs/range/r1', state());
    expect(one.status).toBe(201);
    expect((one.body['mac_state'] as { mac_address: string }).mac_address).toBe('aa:bb:cd:00:00:00');
    const bulk = await api('POST', '/v4/macs/range/r1/bulk', { mac_states: [{ project_id: 'p', vpc_id: 'v', port_id: 'x' }, { project_id: 'p', vpc_id: 'v', port_id: 'y' }, { project_id: 'p', vpc_id: 'v', port_id: 'z' }] });
    expect(bulk.status).toBe(201);
    const full = await api('POST', '/macs/range/r1', state());
    expect(full.status).toBe(403);
    expect(full.body['reason']).toBe('pool_full');

    // Bounds cannot change so that an allocated MAC falls outside every range; state can.
    expect((await api('PUT', '/macs/ranges/r1', { mac_range: { ...body.mac_range, to: 'aa:bb:cd:00:00:01' } })).body['reason']).toBe('range_in_use');
    const upd = await api('PUT', '/macs/ranges/r1', { mac_range: { ...body.mac_range, state: 'Inactive' } });
    expect(upd.status).toBe(200);
    expect((await api('POST', '/macs/range/r1', state())).body['reason']).toBe('range_inactive');
    expect((await api('DELETE', '/macs/ranges/r1')).body['reason']).toBe('range_in_use');
    for (const mac of ['aa:bb:cd:00:00:00', 'aa:bb:cd:00:00:01', 'aa:bb:cd:00:00:02', 'aa:bb:cd:00:00:03']) expect((await api('DELETE', `/macs/${mac}`)).status).toBe(200);
    expect((await api('DELETE', '/macs/ranges/r1')).status).toBe(200);
    expect(await api('GET', '/macs/ranges/r1')).toEqual({ status: 200, body: { mac_range: null } });
    expect(await api('DELETE', '/macs/ranges/r1')).toEqual({ status: 200, body: { id: 'r1' } });
    expect((await api('DELETE', '/macs/ranges/range0')).status).toBe(400);
    // PUT creates a range that does not exist (create-or-replace), taking its id from the path.
    const put = await api('PUT', '/macs/ranges/r9', { mac_range: { from: 'aa:bb:ce:00:00:00', to: 'aa:bb:ce:00:00:0f' } });
    expect(put.status).toBe(200);
    expect(put.body['mac_range']).toMatchObject({ range_id: 'r9', capacity: 16, state: 'Active' });
  });
});

describe('probes and metrics', () => {
  it('serves /healthz, /readyz and /metrics on the API port', async () => {
    expect((await fetch(`${m.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${m.url}/readyz`)).status).toBe(200);
    const text = await (await fetch(`${m.url}/metrics`)).text();
    expect(text).toMatch(/alcor_macd_allocations_total [1-9]/);
    expect(text).toMatch(/alcor_macd_errors_total\{reason="malformed_json"\} [1-9]/);
    expect(text).toMatch(/alcor_macd_range_capacity\{range="range0"\} 16777216/);
    expect(text).toContain('alcor_macd_request_duration_seconds_bucket');
    // Each acknowledged allocation waited for one group commit of the log.
    expect(text).toMatch(/alcor_macd_log_flush_seconds_count [1-9]/);
    // Node.js process metrics under their standard names (dashboards and alerts written for any Node.js service work).
    expect(text).toMatch(/^process_resident_memory_bytes \d/m);
    expect(text).not.toContain('alcor_macd_process_');
  });
});
