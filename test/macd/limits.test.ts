import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { macStateBytes, macdLimitValues } from '../../src/api/macd-limits.ts';
import { startTestMacd, tempDir } from './helpers.ts';
import { kill, spawnMacd, type MacdProcess } from './process.ts';

// Issue 19's reproductions against a real `alcor-operator macd` process: 201
// only within the limits, 413 or 400 with the reason outside them, and a
// refused request changes nothing.

const uuid = '3dda2801-d675-4688-a63f-dcda8d327f50';

async function post(base: string, path: string, body: string | Buffer): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function used(base: string): Promise<number> {
  const r = (await (await fetch(`${base}/macs/ranges`)).json()) as { mac_ranges: { used: number }[] };
  return r.mac_ranges.reduce((n, x) => n + x.used, 0);
}

const rssMiB = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;

describe('macd with the default limits', () => {
  let p: MacdProcess;
  beforeAll(async () => {
    p = await spawnMacd(['--listen', '127.0.0.1:0', '--data-dir', tempDir()]);
  });
  afterAll(async () => {
    await kill(p);
  });

  it('a 30 MB project_id is 413 body_too_large (not stored: RSS stays), a 100 KB one 400 naming the field, a UUID 201', async () => {
    const rss0 = rssMiB(p.child.pid!);
    const huge = await post(p.url, '/macs', JSON.stringify({ mac_state: { project_id: 'x'.repeat(30_000_000), vpc_id: 'v', port_id: 'p' } }));
    expect(huge.status).toBe(413);
    expect(huge.body).toMatchObject({ status: 413, error: 'Payload Too Large', reason: 'body_too_large', path: '/macs' });
    expect(rssMiB(p.child.pid!) - rss0).toBeLessThan(20);
    const long = await post(p.url, '/macs', JSON.stringify({ mac_state: { project_id: 'x'.repeat(100_000), vpc_id: 'v', port_id: 'p' } }));
    expect(long.status).toBe(400);
    expect(long.body).toMatchObject({ reason: 'invalid_request', message: 'mac_state.project_id is 100000 characters long; the most is 64' });
    expect(await used(p.url)).toBe(0);
    const ok = await post(p.url, '/macs', JSON.stringify({ mac_state: { project_id: 'x'.repeat(64), vpc_id: uuid, port_id: uuid } }));
    expect(ok.status).toBe(201);
    expect(await used(p.url)).toBe(1);
  });

  it('a 300,000-entry bulk is 413 up front; 10,001 small entries 413 bulk_too_large; nothing allocated; 10,000 with UUID ids 201', async () => {
    const before = await used(p.url);
    const states = Array.from({ length: 300_000 }, (_, i) => ({ project_id: 'p', vpc_id: 'v', port_id: `port-${i}` }));
    const big = await post(p.url, '/macs/bulk', JSON.stringify({ mac_states: states }));
    expect(big.status).toBe(413);
    expect(big.body['reason']).toBe('body_too_large');
    const over = await post(p.url, '/v4/macs/bulk', JSON.stringify({ mac_states: states.slice(0, 10_001) }));
    expect(over.status).toBe(413);
    expect(over.body).toMatchObject({ reason: 'bulk_too_large', message: 'mac_states holds 10001 entries; the most in one request is 10000' });
    const inRange = await post(p.url, '/macs/range/range0/bulk', JSON.stringify({ mac_states: states.slice(0, 10_001) }));
    expect(inRange.body['reason']).toBe('bulk_too_large');
    expect(await used(p.url)).toBe(before);
    // The most a bulk may hold, each id a UUID: more than 1 MiB, and served (the bulk paths' body limit fits it).
    const full = JSON.stringify({ mac_states: Array.from({ length: 10_000 }, (_, i) => ({ project_id: uuid, vpc_id: uuid, port_id: `${uuid.slice(0, 30)}${String(i).padStart(6, '0')}`, state: 'Active' })) });
    expect(full.length).toBeGreaterThan(1_048_576);
    const served = await post(p.url, '/macs/bulk', full);
    expect(served.status).toBe(201);
    expect(await used(p.url)).toBe(before + 10_000);
  });

  it('a body in 1-byte chunks is refused 400 body_fragmented at once; in 200-byte chunks it is read, and costs about its size', async () => {
    const body = JSON.stringify({ mac_state: { port_id: 'p', project_id: 'x'.repeat(600_000) } });
    const chunked = (size: number): Buffer => {
      const parts: string[] = [];
      for (let i = 0; i < body.length; i += size) parts.push(`${Math.min(size, body.length - i).toString(16)}\r\n${body.slice(i, i + size)}\r\n`);
      return Buffer.from(`POST /macs HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${parts.join('')}0\r\n\r\n`);
    };
    const send = (wire: Buffer): Promise<string> =>
      new Promise((resolve) => {
        let answer = '';
        const c = connect(p.port, '127.0.0.1');
        c.on('data', (d: Buffer) => (answer += d.toString()));
        c.on('close', () => resolve(answer));
        c.on('error', () => {});
        c.write(wire);
      });
    const t0 = performance.now();
    expect(await send(chunked(1))).toContain('"reason":"body_fragmented"');
    expect(performance.now() - t0).toBeLessThan(2000);
    const rss0 = rssMiB(p.child.pid!);
    for (let i = 0; i < 3; i++) expect(await send(chunked(200))).toContain('mac_state.project_id is 600000 characters long');
    expect(rssMiB(p.child.pid!) - rss0).toBeLessThan(40);
  });

  it('deep nesting and invalid UTF-8 are 400, a 100,000-character path 431; the process stays ready', async () => {
    const deep = await post(p.url, '/macs', '['.repeat(100_000) + ']'.repeat(100_000));
    expect(deep.status).toBe(400);
    expect(deep.body).toMatchObject({ reason: 'malformed_json', message: 'the body nests deeper than 32 levels' });
    const utf8 = await post(p.url, '/macs', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
    expect(utf8.status).toBe(400);
    expect(utf8.body['reason']).toBe('malformed_json');
    expect((await fetch(`${p.url}/macs/${'a'.repeat(100_000)}`)).status).toBe(431);
    expect((await fetch(`${p.url}/readyz`)).status).toBe(200);
  });
});

describe('macd with limits set by flags', () => {
  let p: MacdProcess;
  beforeAll(async () => {
    p = await spawnMacd(['--listen', '127.0.0.1:0', '--data-dir', tempDir(), '--max-bulk', '5', '--max-id-length', '40', '--max-request-bytes', '2048', '--headers-timeout', '1s', '--request-timeout', '2s']);
  });
  afterAll(async () => {
    await kill(p);
  });

  it('applies them', async () => {
    const six = await post(p.url, '/macs/bulk', JSON.stringify({ mac_states: Array.from({ length: 6 }, (_, i) => ({ project_id: 'p', vpc_id: 'v', port_id: `p${i}` })) }));
    expect(six.body['reason']).toBe('bulk_too_large');
    expect((await post(p.url, '/macs/bulk', JSON.stringify({ mac_states: Array.from({ length: 5 }, (_, i) => ({ project_id: 'p', vpc_id: 'v', port_id: `p${i}` })) }))).status).toBe(201);
    expect((await post(p.url, '/macs', JSON.stringify({ mac_state: { project_id: 'p', vpc_id: 'v', port_id: 'x'.repeat(41) } }))).body['message']).toBe('mac_state.port_id is 41 characters long; the most is 40');
    expect((await post(p.url, '/macs', JSON.stringify({ mac_state: { project_id: 'p', port_id: 'p', vpc_id: 'y'.repeat(3000) } }))).body['reason']).toBe('body_too_large');
    // A client that sends nothing is disconnected after --headers-timeout.
    const t0 = Date.now();
    let answer = '';
    await new Promise<void>((resolve) => {
      const c = connect(p.port, '127.0.0.1');
      c.on('data', (d: Buffer) => (answer += d.toString()));
      c.on('close', () => resolve());
      c.on('error', () => {});
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(Date.now() - t0).toBeLessThan(4000);
  });

  it('refuses an invalid flag, naming it', async () => {
    await expect(spawnMacd(['--listen', '127.0.0.1:0', '--data-dir', tempDir(), '--max-bulk', '0'])).rejects.toThrow(/--max-bulk: Too small/);
    await expect(spawnMacd(['--listen', '127.0.0.1:0', '--data-dir', tempDir(), '--headers-timeout', '40s'])).rejects.toThrow(/--headers-timeout: headersTimeout must not be longer than requestTimeout/);
  });
});

describe('bulk size', () => {
  it('the bulk paths fit maxBulk mac_states whose ids have maxIdLength characters', () => {
    const l = macdLimitValues();
    const id = 'x'.repeat(l.maxIdLength);
    const body = JSON.stringify({ mac_states: Array.from({ length: l.maxBulk }, () => ({ mac_address: 'aa:bb:cc:00:00:00', project_id: id, vpc_id: id, port_id: id, state: 'Inactive' })) }, null, 1);
    expect(body.length).toBeLessThanOrEqual(l.maxBulkRequestBytes);
    expect(l.maxRequestBytes).toBe(1_048_576);
    expect(macStateBytes(36)).toBeLessThan(macStateBytes(64));
  });

  it('the store allocates 300,000 MACs in one all-or-nothing call (no "Maximum call stack size exceeded")', async () => {
    const m = await startTestMacd();
    try {
      const out = await m.store.allocate(Array.from({ length: 300_000 }, (_, i) => ({ mac: null, meta: { portId: `p${i}`, projectId: null, vpcId: null, state: 'Active' } })));
      expect(out).toHaveLength(300_000);
      expect(new Set(out.map((s) => s.mac)).size).toBe(300_000);
    } finally {
      await m.close();
    }
  });
});
