import { mkdtemp, readFile, rm, writeFile, appendFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LeaseRecord } from '../../src/dhcpd/core.ts';
import { LeaseLog } from '../../src/dhcpd/lease-log.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aodh-log-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const rec = (ip: number, op: LeaseRecord['op'] = 'bind'): LeaseRecord => ({ op, ip, subnet: 's', client: `c${ip}`, mac: 'aabbcc', expires: 2e12 });

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
});
