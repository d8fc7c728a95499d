import { describe, expect, it } from 'vitest';
import { MacdError } from '../../src/macd/errors.ts';
import { findRoute } from '../../src/macd/routes.ts';

// Which route serves a method and path, and the refusal when none does.

const table: [string, string, string][] = [
  // method, path (after /v4), route name or "status reason"
  ['POST', '/macs', 'allocate'],
  ['POST', '/macs/bulk', 'allocate_bulk'],
  ['GET', '/macs/bulk', '405 method_not_allowed'],
  ['GET', '/macs/ranges', 'ranges_list'],
  ['POST', '/macs/ranges', 'range_create'],
  ['GET', '/macs/ranges/range0', 'range_get'],
  ['PUT', '/macs/ranges/range0', 'range_update'],
  ['DELETE', '/macs/ranges/range0', 'range_delete'],
  ['POST', '/macs/ranges/range0', '405 method_not_allowed'],
  ['POST', '/macs/range/range0', 'allocate_in_range'],
  ['POST', '/macs/range/range0/bulk', 'allocate_in_range_bulk'],
  ['GET', '/macs/range/range0', '405 method_not_allowed'],
  ['GET', '/macs/aa:bb:cc:00:00:01', 'get'],
  ['PUT', '/macs/aa:bb:cc:00:00:01', 'update'],
  ['DELETE', '/macs/aa:bb:cc:00:00:01', 'release'],
  ['PATCH', '/macs/aa:bb:cc:00:00:01', '405 method_not_allowed'],
  ['GET', '/macs/ranges/range0/extra', '404 not_found'],
  ['GET', '/', '404 not_found'],
  ['GET', '/other', '404 not_found'],
];

describe('findRoute', () => {
  for (const [method, path, want] of table) {
    it(`${method} ${path} → ${want}`, () => {
      const r = findRoute(method, path.split('/').filter((s) => s !== ''));
      expect(r instanceof MacdError ? `${r.status} ${r.reason}` : r.name).toBe(want);
    });
  }

  it('routes that name a MAC say which, so replica mode can forward them', () => {
    const req = (parts: string[], body: unknown = {}) => ({ method: 'GET', parts, body: () => body, raw: Buffer.from(JSON.stringify(body)), forwarded: false });
    const limits = { maxBulk: 10, maxIdLength: 64 };
    const get = findRoute('GET', ['macs', 'aa:bb:cc:00:00:01']) as Exclude<ReturnType<typeof findRoute>, MacdError>;
    expect(get.mac?.(req(['macs', 'aa:bb:cc:00:00:01']), limits)).toBe(0xaabbcc000001);
    expect(get.mac?.(req(['macs', 'not-a-mac']), limits)).toBeNull();
    const alloc = findRoute('POST', ['macs']) as Exclude<ReturnType<typeof findRoute>, MacdError>;
    expect(alloc.mac?.(req(['macs'], { mac_state: { mac_address: 'AA:BB:CC:00:00:02' } }), limits)).toBe(0xaabbcc000002);
    expect(alloc.mac?.(req(['macs'], { mac_state: {} }), limits)).toBeNull();
    const bulk = findRoute('POST', ['macs', 'range', 'r1', 'bulk']) as Exclude<ReturnType<typeof findRoute>, MacdError>;
    expect(bulk.spillover?.(req(['macs', 'range', 'r1', 'bulk'], { mac_states: [{}, {}, {}] }))).toEqual({ needed: 3, rangeId: 'r1' });
  });
});
