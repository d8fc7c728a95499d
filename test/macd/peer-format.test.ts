// The peer protocol's version (x-macd-format, src/api/formats.ts): requests
// between replicas carry it, every answer carries it, a request in a newer
// protocol is refused, and an answer in one counts as no answer (range
// counts then come from the Leases, as for a replica that does not answer).
// 0.2.0 sends no header: format 1.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { MacdConfig } from '../../src/api/config/macd.ts';
import { PEER_FORMAT_HEADER } from '../../src/api/formats.ts';
import { formatMac, parseMac } from '../../src/api/mac.ts';
import { blockLeaseName } from '../../src/macd/leases.ts';
import { BlockCoordinator } from '../../src/macd/replicas.ts';
import { startMacd, type Macd } from '../../src/macd/server.ts';
import { MacStore } from '../../src/macd/store.ts';
import { FakeLeases } from './fake-leases.ts';
import { quietLog, startTestMacd, tempDir } from './helpers.ts';

const BASE = parseMac('aa:bb:cc:00:00:00')!;
const coordination = { mode: 'kubernetes', pool: { name: 'pool', namespace: 'ns', uid: 'u' }, blockSize: 256 } as const;
const config = MacdConfig.parse({ ranges: [{ id: 'range0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:00:0f:ff' }], coordination });

/** A peer that records what it was sent and answers in the protocol `format` (undefined: no header, as 0.2.0). */
async function fakePeer(format: string | undefined, body: unknown): Promise<{ url: string; seen: { url: string; headers: IncomingHttpHeaders }[]; server: Server }> {
  const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json', ...(format ? { [PEER_FORMAT_HEADER]: format } : {}) }).end(JSON.stringify(body)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  closers.push(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, server };
}

const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of closers) await c();
});

/** A Lease of another replica `z` at `endpoint`, whose block published 5 allocated MACs. */
function otherReplica(api: FakeLeases, endpoint: string, from = BASE + 0x800): void {
  api.items.set(blockLeaseName('pool', from), { name: blockLeaseName('pool', from), from, to: from + 255, holder: 'z', endpoint, allocated: 5, byRange: { range0: 5 } });
}

describe('macd peer protocol version', () => {
  it('answers with its version, reads requests of 0.2.0 (none) and of format 1, and refuses a newer one', async () => {
    const m = await startTestMacd();
    closers.push(() => m.close());
    for (const headers of [{}, { [PEER_FORMAT_HEADER]: '1' }]) {
      const res = await fetch(`${m.url}/macs/ranges`, { headers });
      expect(res.status).toBe(200);
      expect(res.headers.get(PEER_FORMAT_HEADER)).toBe('1');
    }
    const res = await fetch(`${m.url}/macs`, { method: 'POST', headers: { 'content-type': 'application/json', [PEER_FORMAT_HEADER]: '2' }, body: JSON.stringify({ mac_state: { project_id: 'p', vpc_id: 'v', port_id: 'x' } }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ reason: 'unsupported_format', message: expect.stringMatching(/^macd peer protocol format 2 is newer than this release/) });
    // Refused, so nothing was allocated.
    expect(m.store.allocator.space.allocated).toBe(0);
  });

  it('asks for range counts in format 1, takes an answer of 0.2.0 or format 1, and counts a newer answer from the Leases', async () => {
    const answer = { mac_ranges: [{ range_id: 'range0', capacity: 4096, used: 40, available: 4056 }] };
    for (const [format, used] of [[undefined, 40], ['1', 40], ['2', 5]] as const) {
      const peer = await fakePeer(format, answer);
      const api = new FakeLeases();
      otherReplica(api, peer.url);
      const store = await MacStore.open({ dataDir: tempDir(), log: quietLog, blockSize: 256, coordinated: true, onFatal: (e) => { throw e; } });
      await store.applyConfig(config);
      const c = new BlockCoordinator({ store, api, pool: 'pool', replica: 'a', endpoint: 'http://a', log: quietLog, publishMs: 60_000 });
      await c.start();
      expect(await c.othersRanges()).toEqual(new Map([['range0', { used, usedAllowed: used }]]));
      expect(peer.seen.map((s) => [s.url, s.headers[PEER_FORMAT_HEADER], s.headers['x-macd-forwarded']])).toEqual([['/macs/ranges', '1', '1']]);
      await c.close();
      await store.close();
    }
  });

  it('forwards to the holder and asks the admin API’s peers in format 1, and refuses a peer’s answer in a newer one', async () => {
    const mac = formatMac(BASE + 0x800);
    const holder = await fakePeer('1', { mac_state: { mac_address: mac, project_id: 'p', vpc_id: 'v', port_id: 'at-z', state: 'Active' } });
    const newer = await fakePeer('2', { items: [], more: false });
    const api = new FakeLeases();
    otherReplica(api, holder.url);
    let c: BlockCoordinator | undefined;
    const dir = tempDir();
    writeFileSync(join(dir, 'macd.json'), JSON.stringify(config));
    const m: Macd = await startMacd({
      host: '127.0.0.1',
      port: 0,
      dataDir: join(dir, 'data'),
      configFile: join(dir, 'macd.json'),
      log: quietLog,
      coordinate: async (store) => {
        c = new BlockCoordinator({ store, api, pool: 'pool', replica: 'a', endpoint: 'http://a', log: quietLog, publishMs: 60_000 });
        await c.start();
        return { ownerOf: (x) => c!.ownerOf(x), peers: async () => [newer.url], close: () => c!.close() };
      },
    });
    closers.push(() => m.close());
    const url = `http://127.0.0.1:${m.port}`;
    const got = await fetch(`${url}/macs/${mac}`);
    expect(await got.json()).toMatchObject({ mac_state: { port_id: 'at-z' } });
    expect(holder.seen.map((s) => [s.url, s.headers[PEER_FORMAT_HEADER], s.headers['x-macd-forwarded']])).toEqual([[`/macs/${mac}`, '1', '1']]);

    const list = (await (await fetch(`${url}/v1/macs`)).json()) as { warnings?: string[] };
    expect(newer.seen.map((s) => [s.url.split('?')[0], s.headers[PEER_FORMAT_HEADER]])).toEqual([['/v1/macs', '1']]);
    expect(list.warnings).toEqual([expect.stringMatching(new RegExp(`^${newer.url}: macd peer protocol format 2 is newer than this release`))]);
    const exported = await fetch(`${url}/v1/export`);
    expect(exported.status).toBe(502);
    expect(await exported.json()).toMatchObject({ reason: 'peer_failed', message: expect.stringContaining('macd peer protocol format 2') });
  });
});
