// The builtin MacPool's status counts follow allocations made against a real
// macd process (kwok pods run no containers, so the test runs the allocator
// for the pool itself, with the config the operator renders).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { MacPool } from '../src/api/index.ts';
import { macdConfig } from '../src/render/macpool/builtin.ts';
import { tempDir } from '../test/macd/helpers.ts';
import { kill, spawnMacd, type MacdProcess } from '../test/macd/process.ts';
import { createNamespace, eventually, getJson, kubectl, kubectlOk } from './kubectl.ts';
import { startOperator, type OperatorProcess } from './operator.ts';

const root = join(import.meta.dirname, '..');
let ns = '';
let op: OperatorProcess | undefined;
let macd: MacdProcess | undefined;

interface PoolStatus {
  metadata: { uid: string };
  status?: { capacity?: number; allocated?: number; available?: number };
}

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', join(root, 'crds')]);
  await kubectlOk(['wait', '--for=condition=Established', 'crd/macpools.alcor.dev', '--timeout=60s']);
  ns = await createNamespace('e2e-macd-status');
  op = await startOperator({ name: 'macd-status' });
  await eventually('operator ready', () => op!.ready(), 30_000);
});

afterAll(async () => {
  if (macd) await kill(macd);
  await op?.stop();
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

async function post(url: string, path: string, body: unknown, method = 'POST'): Promise<{ status: number; body: string }> {
  const res = await fetch(url + path, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.text() };
}

describe('MacPool status from a real macd', () => {
  it('status.allocated and available follow allocations and releases within 10 s', async () => {
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], JSON.stringify({
      apiVersion: 'alcor.dev/v1alpha1',
      kind: 'MacPool',
      metadata: { name: 'tenant' },
      spec: {
        oui: 'aa:bb:cc',
        ranges: [{ name: 'range0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:ff:ff:ff' }],
        exclusions: ['aa:bb:cc:00:00:*'],
        allocator: { replicas: 1 },
      },
    }));
    const capacity = (await eventually('capacity in status', async () => {
      const p = await getJson<PoolStatus>(['-n', ns, 'get', 'macpool', 'tenant']);
      return p.status?.capacity;
    }))!;
    expect(capacity).toBe(16_777_216 - 256);
    const pool = await getJson<MacPool>(['-n', ns, 'get', 'macpool', 'tenant']);
    const dir = tempDir('macd-status-');
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify(macdConfig(pool)));
    macd = await spawnMacd(['--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data'), '--config', config, '--kubeconfig', inject('kubeconfig'), '--replica', 'tenant-macd-0']);

    const states = Array.from({ length: 5000 }, (_, i) => ({ project_id: 'p', port_id: `port-${i}` }));
    const got = await post(macd.url, '/macs/bulk', { mac_states: states });
    expect(got.status).toBe(201);
    const macs = (JSON.parse(got.body) as { mac_states: { mac_address: string }[] }).mac_states.map((s) => s.mac_address);
    // The excluded prefix is never handed out.
    expect(macs.some((m) => m.startsWith('aa:bb:cc:00:00:'))).toBe(false);
    await eventually('status.allocated = 5000', async () => {
      const p = await getJson<PoolStatus>(['-n', ns, 'get', 'macpool', 'tenant']);
      return p.status?.allocated === 5000 && p.status.available === capacity - 5000;
    }, 10_000);

    for (const mac of macs.slice(0, 100)) expect((await post(macd.url, `/macs/${mac}`, undefined, 'DELETE')).status).toBe(200);
    await eventually('status.allocated = 4900 after 100 releases', async () => {
      const p = await getJson<PoolStatus>(['-n', ns, 'get', 'macpool', 'tenant']);
      return p.status?.allocated === 4900 && p.status.available === capacity - 4900;
    }, 10_000);
  }, 120_000);
});
