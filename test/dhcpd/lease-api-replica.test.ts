// One replica's half of the lease API, in process: pages in address order
// across cursor positions, and an import whose write fails leaves nothing.
import { describe, expect, it } from 'vitest';
import { DhcpdConfig } from '../../src/api/config/dhcpd.ts';
import type { LeaseEntry } from '../../src/api/backup.ts';
import { DhcpCore, type LeaseRecord } from '../../src/dhcpd/core.ts';
import { Replica } from '../../src/dhcpd/api/replica.ts';

const now = Date.parse('2026-06-01T00:00:00Z');
const core = (): DhcpCore =>
  new DhcpCore(DhcpdConfig.parse({ subnets: [{ name: 'net', cidr: '10.0.0.0/16', pools: [{ start: '10.0.0.1', end: '10.0.255.254' }] }] }), { share: 0 });
const entry = (i: number): LeaseEntry => ({
  ip: `10.0.${i >> 8}.${i & 255}`,
  mac: `52:54:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
  client: `hw:1:52540000${((i >> 8) & 255).toString(16).padStart(2, '0')}${(i & 255).toString(16).padStart(2, '0')}`,
  expires: new Date(now + 3_600_000).toISOString(),
  state: 'bound',
});

describe('Replica', () => {
  it('pages through leases in address order, whatever order they came in', async () => {
    const c = core();
    const written: LeaseRecord[] = [];
    const r = new Replica({ core: c, persist: async (recs) => void written.push(...recs), identity: () => ({ name: 'r0', share: 0, shares: 1 }), now: () => now, indexMaxAgeMs: 0 });
    const ids = Array.from({ length: 1000 }, (_, i) => 1 + ((i * 7919) % 60000)).filter((v, i, a) => a.indexOf(v) === i);
    const result = await r.apply(c.subnets()[0]!, ids.map(entry), false);
    expect(result).toMatchObject({ imported: ids.length, conflicts: [] });
    expect(written).toHaveLength(ids.length);
    const seen: string[] = [];
    let after: { ip: number; server: string } | undefined;
    for (;;) {
      const page = r.page(after, 64);
      seen.push(...page.items.map((i) => i.ip));
      if (!page.more) break;
      const last = page.items.at(-1)!;
      after = { ip: Number(last.ip.split('.').reduce((n, o) => n * 256 + Number(o), 0)), server: last.server };
    }
    expect(seen).toEqual([...ids].sort((a, b) => a - b).map((i) => entry(i).ip));
    // A cursor from a server named before this one resumes at the same address; after it, past it.
    const at = { ip: (10 << 24) + ids[0]!, server: 'a' };
    expect(r.page(at, 1).items[0]?.ip).toBe(entry(ids[0]!).ip);
    expect(r.page({ ...at, server: 'z' }, 1).items[0]?.ip).not.toBe(entry(ids[0]!).ip);
  });

  it('takes an import back out when it cannot be made durable', async () => {
    const c = core();
    const r = new Replica({ core: c, persist: async () => Promise.reject(new Error('disk full')), identity: () => ({ name: 'r0', share: 0, shares: 1 }), now: () => now });
    await expect(r.apply(c.subnets()[0]!, [entry(5), entry(6)], false)).rejects.toThrow('disk full');
    expect(c.leases.byIp.size).toBe(0);
    expect(r.page(undefined, 10).items).toEqual([]);
  });
});
