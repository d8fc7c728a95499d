// MacPool status follows real allocations: the operator renders a pool, a real
// macd process runs with the pool's rendered ConfigMap (kwok pods run no
// containers, so the test plays the pod), allocations and releases through
// Alcor's API show up in status.allocated/available within 10 s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { tempDir } from '../test/macd/helpers.ts';
import { kill, spawnMacd, type MacdProcess } from '../test/macd/process.ts';
import { createNamespace, eventually, getJson, kubectl, kubectlOk } from './kubectl.ts';
import { startOperator, type OperatorProcess } from './operator.ts';

const root = join(import.meta.dirname, '..');
let ns = '';
let op: OperatorProcess | undefined;
let macd: MacdProcess | undefined;

interface PoolStatus {
  status?: { capacity?: number; allocated?: number; available?: number };
}

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', join(root, 'crds')]);
  ns = await createNamespace('e2e-mpstatus');
  op = await startOperator({ name: 'mpstatus' });
});
afterAll(async () => {
  if (macd) await kill(macd);
  await op?.stop();
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${macd!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('MacPool status', () => {
  it('follows allocations and releases made against the pool allocator', async () => {
    const pool = {
      apiVersion: 'alcor.dev/v1alpha1',
      kind: 'MacPool',
      metadata: { name: 'counted' },
      spec: { oui: '02:aa:bb', ranges: [{ name: 'r0', from: '02:aa:bb:00:00:00', to: '02:aa:bb:00:ff:ff' }], exclusions: ['02:aa:bb:00:00:*'], allocator: { replicas: 1 } },
    };
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], JSON.stringify(pool));
    const ready = await eventually('pool Ready with capacity', async () => {
      const p = await getJson<PoolStatus>(['-n', ns, 'get', 'macpool', 'counted']);
      return p.status?.capacity !== undefined ? p : undefined;
    });
    const capacity = 65_536 - 256;
    expect(ready.status?.capacity).toBe(capacity);

    // Play the allocator pod: the config the operator rendered, this pool's Leases.
    const cm = await getJson<{ data: Record<string, string> }>(['-n', ns, 'get', 'configmap', 'counted-macd']);
    const dir = tempDir('mpstatus-');
    writeFileSync(join(dir, 'config.yaml'), cm.data['config.yaml']!);
    macd = await spawnMacd(['--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data'), '--config', join(dir, 'config.yaml'), '--kubeconfig', inject('kubeconfig'), '--replica', 'counted-macd-0']);

    const macs: string[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await post('/macs', { mac_state: { project_id: 'p', vpc_id: 'v', port_id: `port-${i}` } });
      expect(res.status).toBe(201);
      macs.push((res.json['mac_state'] as { mac_address: string }).mac_address);
    }
    const bulk = await post('/macs/bulk', { mac_states: Array.from({ length: 100 }, (_, i) => ({ port_id: `bulk-${i}` })) });
    expect(bulk.status).toBe(201);
    const started = Date.now();
    await eventually('status.allocated = 107', async () => {
      const p = await getJson<PoolStatus>(['-n', ns, 'get', 'macpool', 'counted']);
      return p.status?.allocated === 107 && p.status.available === capacity - 107;
    }, 10_000);
    expect(Date.now() - started).toBeLessThan(10_000);

    for (const mac of macs.slice(0, 2)) expect((await fetch(`${macd.url}/macs/${mac}`, { method: 'DELETE' })).status).toBe(200);
    await eventually('status.allocated = 105 after releases', async () => (await getJson<PoolStatus>(['-n', ns, 'get', 'macpool', 'counted'])).status?.allocated === 105, 10_000);
  });
});
