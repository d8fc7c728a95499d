// Three real macd processes serve one pool on the real cluster, coordinating
// through block Leases: 300,000 MACs allocated concurrently from range0 and a
// tenant range inside it, zero duplicates; the block Leases follow the
// contract (holder, labels, annotations, owner reference), their
// alcor.dev/allocated sum is true, every replica answers the same pool-wide
// range counts, and the replicas' reports (alcor.dev/served), which the
// operator reads, add up too.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { tempDir } from '../test/macd/helpers.ts';
import { kill, spawnMacd, type MacdProcess } from '../test/macd/process.ts';
import { createNamespace, eventually, getJson, kubectl, kubectlOk, waitEstablished } from './kubectl.ts';

const root = join(import.meta.dirname, '..');
let ns = '';
let uid = '';
const procs: MacdProcess[] = [];

interface Lease {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string>; ownerReferences?: { kind: string; uid: string; name: string }[] };
  spec: { holderIdentity?: string };
}

function call(agent: Agent, base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? '' : JSON.stringify(body);
    const req = request(base + path, { method, agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', join(root, 'crds')]);
  await waitEstablished(['macpools.alcor.dev']);
  ns = await createNamespace('e2e-macd');
  // The pool object owns the Leases (nothing reconciles it in this file).
  await kubectlOk(['-n', ns, 'apply', '-f', '-'], JSON.stringify({
    apiVersion: 'alcor.dev/v1alpha1',
    kind: 'MacPool',
    metadata: { name: 'pool' },
    spec: { oui: 'aa:bb:cc', ranges: [{ name: 'range0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:ff:ff:ff' }, { name: 'tenant', from: 'aa:bb:cc:20:00:00', to: 'aa:bb:cc:20:ff:ff' }] },
  }));
  uid = (await getJson<{ metadata: { uid: string } }>(['-n', ns, 'get', 'macpool', 'pool'])).metadata.uid;
});

afterAll(async () => {
  for (const p of procs) await kill(p);
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('macd replicas on the cluster', () => {
  it('three replicas allocate 300,000 MACs concurrently from overlapping ranges with zero duplicates', async () => {
    const dir = tempDir('macd-e2e-');
    const config = join(dir, 'macd.json');
    writeFileSync(config, JSON.stringify({
      oui: 'aa:bb:cc',
      ranges: [
        { id: 'range0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:ff:ff:ff' },
        { id: 'tenant', from: 'aa:bb:cc:20:00:00', to: 'aa:bb:cc:20:ff:ff' },
      ],
      coordination: { mode: 'kubernetes', pool: { name: 'pool', namespace: ns, uid }, blockSize: 16_384 },
    }));
    for (let i = 0; i < 3; i++) {
      procs.push(await spawnMacd(['--listen', '127.0.0.1:0', '--data-dir', join(dir, `r${i}`), '--config', config, '--kubeconfig', inject('kubeconfig'), '--replica', `macd-${i}`]));
    }
    const agent = new Agent({ keepAlive: true, maxSockets: 64 });
    const target = 300_000;
    const bulk = 1000;
    let requested = 0;
    const macs: string[] = [];
    const owner = new Map<string, number>();
    const failures: string[] = [];
    const tenantMacs: string[] = [];
    /** The tenant range (65,536) gets 30,000 of them. */
    let tenantRequested = 0;
    const worker = async (r: number, tenant: boolean): Promise<void> => {
      while (requested < target && (!tenant || tenantRequested < 30_000)) {
        requested += bulk;
        if (tenant) tenantRequested += bulk;
        const states = Array.from({ length: bulk }, (_, i) => ({ project_id: 'p', vpc_id: 'v', port_id: `r${r}-${requested}-${i}` }));
        const res = await call(agent, procs[r]!.url, 'POST', tenant ? '/v4/macs/range/tenant/bulk' : '/v4/macs/bulk', { mac_states: states });
        if (res.status !== 201) {
          failures.push(`${res.status} ${res.body.slice(0, 200)}`);
          return;
        }
        for (const s of (JSON.parse(res.body) as { mac_states: { mac_address: string }[] }).mac_states) {
          macs.push(s.mac_address);
          if (tenant) tenantMacs.push(s.mac_address);
          owner.set(s.mac_address, r);
        }
      }
    };
    // Four concurrent bulk streams per replica: three from range0, one from the tenant range inside it.
    await Promise.all([0, 1, 2].flatMap((r) => [false, false, false, true].map((tenant) => worker(r, tenant))));
    expect(failures).toEqual([]);
    expect(macs).toHaveLength(target);
    expect(new Set(macs).size).toBe(target);
    expect(tenantMacs).toHaveLength(30_000);
    expect(tenantMacs.every((m) => m.startsWith('aa:bb:cc:20:'))).toBe(true);
    // range0's own requests kept off the tenant's addresses while range0 had room elsewhere.
    expect(macs.filter((m) => m.startsWith('aa:bb:cc:20:')).length).toBe(tenantMacs.length);
    // The same pool-wide counts from every replica, at once.
    for (const p of procs) {
      const ranges = (JSON.parse((await call(agent, p.url, 'GET', '/macs/ranges')).body) as { mac_ranges: { range_id: string; used: number; available: number }[] }).mac_ranges;
      expect(Object.fromEntries(ranges.map((r) => [r.range_id, [r.used, r.available]]))).toEqual({ range0: [target, 2 ** 24 - target], tenant: [tenantMacs.length, 65_536 - tenantMacs.length] });
    }

    // The block Leases: one holder each, the contract's labels and annotations, owned by the MacPool.
    const leases = (await getJson<{ items: Lease[] }>(['-n', ns, 'get', 'leases', '-l', 'alcor.dev/mac-pool=pool'])).items.filter((l) => l.metadata.name.startsWith('pool-block-'));
    expect(leases.length).toBeGreaterThanOrEqual(Math.ceil(target / 16_384));
    for (const l of leases) {
      // Blocks of the address space (ranges overlap): named by their first MAC.
      const start = l.metadata.annotations?.['alcor.dev/block-start'] ?? '';
      expect(start).toMatch(/^aa:bb:cc:[0-9a-f]{2}:[0-9a-f]{2}:00$/);
      expect(l.metadata.name).toBe(`pool-block-${start.replaceAll(':', '')}`);
      expect(['macd-0', 'macd-1', 'macd-2']).toContain(l.spec.holderIdentity);
      expect(l.metadata.annotations?.['alcor.dev/block-size']).toBe('16384');
      expect(l.metadata.annotations?.['alcor.dev/endpoint']).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(l.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'MacPool', name: 'pool', uid });
    }
    expect(new Set(leases.map((l) => l.spec.holderIdentity)).size).toBe(3);
    // Replicas read each other's block counts (spillover, range counts); the
    // operator reads each replica's report (alcor.dev/served on the Lease named
    // after it). Both must be true within 10 s.
    await eventually('block counts and replica reports sum to 300,000', async () => {
      const ls = (await getJson<{ items: Lease[] }>(['-n', ns, 'get', 'leases', '-l', 'alcor.dev/mac-pool=pool'])).items;
      const blocks = ls.filter((l) => l.metadata.name.startsWith('pool-block-'));
      const reports = ls.filter((l) => !l.metadata.name.startsWith('pool-block-'));
      const byRange = blocks.map((l) => JSON.parse(l.metadata.annotations?.['alcor.dev/allocated-by-range'] ?? '{}') as Record<string, number>);
      const served = reports.map((l) => JSON.parse(l.metadata.annotations?.['alcor.dev/served'] ?? '{}') as { allocated?: number; capacity?: number });
      return (
        blocks.reduce((n, l) => n + Number(l.metadata.annotations?.['alcor.dev/allocated'] ?? 0), 0) === target &&
        byRange.reduce((n, b) => n + (b['tenant'] ?? 0), 0) === tenantMacs.length &&
        reports.map((l) => l.metadata.name).sort().join() === 'macd-0,macd-1,macd-2' &&
        served.reduce((n, r) => n + (r.allocated ?? 0), 0) === target &&
        // range0 and the tenant range inside it: one OUI's worth.
        served.every((r) => r.capacity === 16_777_216)
      );
    }, 10_000);

    // A MAC is readable and releasable through any replica (forwarded to its holder).
    const mac = macs[12_345]!;
    const other = ((owner.get(mac) ?? 0) + 1) % 3;
    const got = await call(agent, procs[other]!.url, 'GET', `/macs/${mac}`);
    expect(got.status).toBe(200);
    expect(JSON.parse(got.body)).toMatchObject({ mac_state: { mac_address: mac, project_id: 'p' } });
    expect((await call(agent, procs[other]!.url, 'DELETE', `/macs/${mac}`)).status).toBe(200);
    expect(JSON.parse((await call(agent, procs[owner.get(mac)!]!.url, 'GET', `/macs/${mac}`)).body)).toEqual({ mac_state: null });
    agent.destroy();
  }, 240_000);
});
