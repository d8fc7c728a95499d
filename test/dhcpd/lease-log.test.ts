import { mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatIPv4 } from '../../src/api/ipv4.ts';
import type { LeaseRecord } from '../../src/dhcpd/core.ts';
import { decodeRecord, encodeRecord, LeaseLog } from '../../src/dhcpd/lease-log.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aodh-log-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const rec = (ip: number, op: LeaseRecord['op'] = 'bind'): LeaseRecord => ({ op, ip, subnet: 's', client: `c${ip}`, mac: 'aabbcc', expires: 2e12 });

describe('encodeRecord', () => {
  it('writes the text JSON.stringify writes for the record, and decodes back to it', () => {
    const record = fc.record(
      {
        op: fc.constantFrom('bind' as const, 'release' as const, 'quarantine' as const),
        ip: fc.integer({ min: 0, max: 0xffffffff }),
        subnet: fc.string(),
        client: fc.string(),
        mac: fc.string(),
        expires: fc.integer({ min: 0, max: 2 ** 52 }),
        hostname: fc.string({ unit: 'binary' }),
        reason: fc.constantFrom('decline' as const, 'ping' as const),
      },
      { requiredKeys: ['op', 'ip', 'subnet', 'client', 'mac', 'expires'] },
    );
    fc.assert(
      fc.property(record, (r: LeaseRecord) => {
        const o: Record<string, string | number> = { o: { bind: 'b', release: 'r', quarantine: 'd' }[r.op], ip: formatIPv4(r.ip), s: r.subnet, c: r.client, m: r.mac, e: r.expires };
        if (r.hostname !== undefined) o['h'] = r.hostname;
        if (r.op === 'quarantine' && r.reason === 'ping') o['q'] = 'ping';
        const line = encodeRecord(r);
        expect(line).toBe(JSON.stringify(o));
        const back = decodeRecord(line);
        expect(back).toMatchObject({ op: r.op, ip: r.ip, subnet: r.subnet, client: r.client, mac: r.mac, expires: r.expires });
      }),
      { numRuns: 2000 },
    );
  });
});

describe('LeaseLog', () => {
  it('replays what was appended, groups concurrent appends into few syncs', async () => {
    const { log } = await LeaseLog.open({ dir, snapshot: () => [] });
    await Promise.all(Array.from({ length: 500 }, (_, i) => log.append([rec(i + 1)])));
    expect(log.syncs).toBeLessThan(20);
    await log.append([rec(1, 'release')]);
    await log.close();
    const again = await LeaseLog.open({ dir, snapshot: () => [] });
    expect(again.records).toHaveLength(501);
    expect(again.records[500]).toMatchObject({ op: 'release', ip: 1 });
    await again.log.close();
  });

  it('skips a torn last line and keeps appending on a fresh line', async () => {
    await writeFile(join(dir, 'leases.log'), '');
    const { log } = await LeaseLog.open({ dir, snapshot: () => [] });
    await log.append([rec(7)]);
    await log.close();
    await appendFile(join(dir, 'leases.log'), '{"o":"b","ip":"10.0');
    const second = await LeaseLog.open({ dir, snapshot: () => [] });
    expect(second.skipped).toBe(1);
    await second.log.append([rec(8)]);
    await second.log.close();
    const third = await LeaseLog.open({ dir, snapshot: () => [] });
    expect(third.records.map((r) => r.ip)).toEqual([7, 8]);
    await third.log.close();
  });

  it('compacts to the live snapshot once the log grows past the slack', async () => {
    const live = [rec(1), rec(2)];
    const { log } = await LeaseLog.open({ dir, snapshot: () => live, compactSlack: 100 });
    for (let i = 0; i < 30; i++) await log.append(Array.from({ length: 10 }, () => rec(1)));
    expect(log.compactions).toBeGreaterThan(0);
    await log.close();
    const text = await readFile(join(dir, 'leases.log'), 'utf8');
    expect(text.split('\n').filter(Boolean).length).toBeLessThan(120);
    const again = await LeaseLog.open({ dir, snapshot: () => [] });
    expect(new Set(again.records.map((r) => r.ip))).toEqual(new Set([1, 2]));
    await again.log.close();
  });

  it('compacts a chunk at a time while leases change, and replay gives the state at the end', async () => {
    // The state a server would hold: address -> record; each change appended like an ACK.
    const state = new Map<number, LeaseRecord>();
    const { log } = await LeaseLog.open({ dir, snapshot: () => state.values(), compactSlack: 5000 });
    let yielded = 0;
    const changes: Promise<void>[] = [];
    for (let i = 0; i < 40_000; i++) {
      const ip = 1 + ((i * 7919) % 12_000);
      const r: LeaseRecord = i % 5 === 4 ? { ...rec(ip, 'release'), client: `c${i}` } : { ...rec(ip), client: `c${i}` };
      if (r.op === 'release') state.delete(ip);
      else state.set(ip, r);
      changes.push(log.append([r]));
      // Let the log's flushes and a compaction's chunks run between changes now and then.
      if (i % 500 === 0) {
        await new Promise((res) => setImmediate(res));
        yielded++;
      }
    }
    await Promise.all(changes);
    expect(log.compactions).toBeGreaterThan(0);
    expect(yielded).toBeGreaterThan(0);
    await log.close();
    const again = await LeaseLog.open({ dir, snapshot: () => [] });
    const replayed = new Map<number, string>();
    for (const r of again.records) {
      if (r.op === 'release') replayed.delete(r.ip);
      else replayed.set(r.ip, r.client);
    }
    expect(replayed).toEqual(new Map([...state].map(([ip, r]) => [ip, r.client])));
    await again.log.close();
  });
});
