// MacPool status is what the allocator really serves: the operator renders a
// pool, a real macd process runs with the pool's rendered ConfigMap (kwok pods
// run no containers, so the test plays the pod, and the kubelet that copies a
// ConfigMap into its file), and status follows macd's report on its Lease:
// capacity as served, allocations and releases within 10 s; a config written
// past admission (the 2^40 range of issue 14, in an edited ConfigMap) shows as
// Degraded/ConfigRejected in macd's words within 10 s, with capacity 0 and
// /readyz failing, and clears when the config is put back. A config macd
// cannot parse at all when it starts is no crash loop: it is the same
// Degraded/ConfigRejected, and the rendered config starts macd.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { parse, stringify } from 'yaml';
import { tempDir } from '../test/macd/helpers.ts';
import { kill, spawnMacd, type MacdProcess } from '../test/macd/process.ts';
import { freePort } from './cluster/net.ts';
import { createNamespace, eventually, getJson, kubectl, kubectlOk } from './kubectl.ts';
import { startOperator, type OperatorProcess } from './operator.ts';

const root = join(import.meta.dirname, '..');
let ns = '';
let op: OperatorProcess | undefined;
let macd: MacdProcess | undefined;
let refusing: MacdProcess | undefined;

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface Pool {
  metadata: { generation: number };
  status?: { observedGeneration?: number; capacity?: number; allocated?: number; available?: number; conditions?: Condition[] };
}

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', join(root, 'crds')]);
  ns = await createNamespace('e2e-mpstatus');
  op = await startOperator({ name: 'mpstatus' });
});
afterAll(async () => {
  if (macd) await kill(macd);
  if (refusing) await kill(refusing);
  await op?.stop();
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

const getPool = () => getJson<Pool>(['-n', ns, 'get', 'macpool', 'counted']);
const condition = (p: Pool, type: string) => p.status?.conditions?.find((c) => c.type === type);

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${macd!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Waits at most `ms` for `what`, and says how long it took. */
async function within<T>(name: string, ms: number, what: () => Promise<T | undefined | false>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await eventually(name, what, ms);
  return { value, ms: Date.now() - started };
}

describe('MacPool status', () => {
  it('is what macd serves: capacity, allocations, a refused config and its repair', async () => {
    const pool = {
      apiVersion: 'alcor.dev/v1alpha1',
      kind: 'MacPool',
      metadata: { name: 'counted' },
      spec: { oui: '02:aa:bb', ranges: [{ name: 'r0', from: '02:aa:bb:00:00:00', to: '02:aa:bb:00:ff:ff' }], exclusions: ['02:aa:bb:00:00:*'], allocator: { replicas: 1 } },
    };
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], JSON.stringify(pool));
    // Nothing serves the pool yet (kwok runs no macd): no capacity claimed, Progressing names the replica.
    const waiting = await eventually('status without a server', async () => {
      const p = await getPool();
      return p.status?.observedGeneration === p.metadata.generation && condition(p, 'Progressing')?.reason === 'ApplyingConfig' ? p : undefined;
    });
    expect(waiting.status?.capacity).toBeUndefined();
    expect(condition(waiting, 'Progressing')?.message).toContain('counted-macd-0');

    // Play the allocator pod: the config the operator rendered, this pool's Leases.
    const cm = await getJson<{ data: Record<string, string> }>(['-n', ns, 'get', 'configmap', 'counted-macd']);
    const rendered = cm.data['config.yaml']!;
    const dir = tempDir('mpstatus-');
    const configFile = join(dir, 'config.yaml');
    writeFileSync(configFile, rendered);
    macd = await spawnMacd(['--listen', '127.0.0.1:0', '--data-dir', join(dir, 'data'), '--config', configFile, '--kubeconfig', inject('kubeconfig'), '--replica', 'counted-macd-0']);

    const capacity = 65_536 - 256;
    const served = await within('capacity as macd serves it, config applied', 10_000, async () => {
      const p = await getPool();
      return p.status?.capacity === capacity && condition(p, 'Progressing')?.status === 'False' ? p : undefined;
    });
    expect(served.value.status).toMatchObject({ capacity, allocated: 0, available: capacity });
    expect(condition(served.value, 'Degraded')?.status).toBe('False');

    const macs: string[] = [];
    for (let i = 0; i < 7; i++) {
      const res = await post('/macs', { mac_state: { project_id: 'p', vpc_id: 'v', port_id: `port-${i}` } });
      expect(res.status).toBe(201);
      macs.push((res.json['mac_state'] as { mac_address: string }).mac_address);
    }
    const bulk = await post('/macs/bulk', { mac_states: Array.from({ length: 100 }, (_, i) => ({ project_id: 'p', vpc_id: 'v', port_id: `bulk-${i}` })) });
    expect(bulk.status).toBe(201);
    const counted = await within('status.allocated = 107', 10_000, async () => {
      const p = await getPool();
      return p.status?.allocated === 107 && p.status.available === capacity - 107;
    });
    expect(counted.ms).toBeLessThan(10_000);

    for (const mac of macs.slice(0, 2)) expect((await fetch(`${macd.url}/macs/${mac}`, { method: 'DELETE' })).status).toBe(200);
    await eventually('status.allocated = 105 after releases', async () => (await getPool()).status?.allocated === 105, 10_000);

    // Past admission: someone edits the ConfigMap to the 2^40 range the CRD
    // refuses, and the kubelet hands it to the pod. (The operator puts the
    // ConfigMap back; the file keeps what was handed over.)
    const edited = parse(rendered) as { ranges: { id: string; from: string; to: string }[] };
    edited.ranges = [{ id: 'huge', from: '02:00:00:00:00:00', to: '02:ff:ff:ff:ff:ff' }];
    const editedText = stringify(edited);
    await kubectlOk(['-n', ns, 'patch', 'configmap', 'counted-macd', '--type=merge', '-p', JSON.stringify({ data: { 'config.yaml': editedText } })]);
    writeFileSync(configFile, editedText);
    const rejected = await within('Degraded/ConfigRejected in macd’s words', 10_000, async () => {
      const p = await getPool();
      return condition(p, 'Degraded')?.reason === 'ConfigRejected' ? p : undefined;
    });
    expect(rejected.ms).toBeLessThan(10_000);
    const degraded = condition(rejected.value, 'Degraded')!;
    expect(degraded.status).toBe('True');
    expect(degraded.message).toMatch(/^counted-macd-0: ranges\[0\] \(huge\): not served: .*it holds 1099511627776 addresses; at most 16777216 per range/);
    expect(condition(rejected.value, 'Ready')).toMatchObject({ status: 'False', reason: 'ConfigRejected' });
    // Nothing it was asked for is served: capacity 0, and the pod would leave its Service.
    await eventually('capacity 0', async () => (await getPool()).status?.capacity === 0, 10_000);
    expect((await fetch(`${macd.url}/readyz`)).status).toBe(503);
    process.stdout.write(`ConfigRejected after ${rejected.ms} ms: ${degraded.message}\n`);

    // The operator put its ConfigMap back; the kubelet brings it to the pod.
    await eventually('ConfigMap restored by the operator', async () => (await getJson<{ data: Record<string, string> }>(['-n', ns, 'get', 'configmap', 'counted-macd'])).data['config.yaml'] === rendered, 15_000);
    writeFileSync(configFile, rendered);
    const repaired = await within('Ready again, capacity as served', 10_000, async () => {
      const p = await getPool();
      return condition(p, 'Degraded')?.status === 'False' && condition(p, 'Ready')?.status === 'True' && p.status?.capacity === capacity ? p : undefined;
    });
    expect(repaired.value.status?.allocated).toBe(105);
    expect((await fetch(`${macd.url}/readyz`)).status).toBe(200);
  });

  it('a config macd cannot parse at startup: no crash loop, Degraded/ConfigRejected in its words; the rendered config starts it', async () => {
    const name = 'unparsed';
    const pool = {
      apiVersion: 'alcor.dev/v1alpha1',
      kind: 'MacPool',
      metadata: { name },
      spec: { oui: '02:aa:cc', ranges: [{ name: 'r0', from: '02:aa:cc:00:00:00', to: '02:aa:cc:00:ff:ff' }], allocator: { replicas: 1 } },
    };
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], JSON.stringify(pool));
    const get = () => getJson<Pool>(['-n', ns, 'get', 'macpool', name]);
    const cm = await eventually('the rendered ConfigMap', async () => getJson<{ data: Record<string, string> }>(['-n', ns, 'get', 'configmap', `${name}-macd`]).catch(() => undefined));
    const rendered = cm.data['config.yaml']!;
    // A file this macd refuses whole (as from a newer operator's rule): an exclusion that is no MAC.
    const edited = parse(rendered) as { exclusions?: string[] };
    edited.exclusions = ['02:aa:cc:zz'];
    const dir = tempDir('mpstatus-');
    const configFile = join(dir, 'config.yaml');
    writeFileSync(configFile, stringify(edited));
    const port = await freePort();
    const args = ['--listen', `127.0.0.1:${port}`, '--data-dir', join(dir, 'data'), '--config', configFile, '--kubeconfig', inject('kubeconfig'), '--replica', `${name}-macd-0`];
    refusing = await spawnMacd(args, {}, 'config refused at startup');

    const rejected = await within('Degraded/ConfigRejected in macd’s words', 10_000, async () => {
      const p = await get();
      return condition(p, 'Degraded')?.reason === 'ConfigRejected' ? p : undefined;
    });
    expect(condition(rejected.value, 'Degraded')?.message).toMatch(/^unparsed-macd-0: config: invalid macd config: exclusions\.0: /);
    expect(condition(rejected.value, 'Ready')).toMatchObject({ status: 'False', reason: 'ConfigRejected' });
    expect(rejected.value.status?.capacity).toBe(0);
    // Alive (no restart), not ready (no traffic), and still running.
    expect((await fetch(`${refusing.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${refusing.url}/readyz`)).status).toBe(503);
    expect(refusing.child.exitCode).toBeNull();
    process.stdout.write(`startup ConfigRejected after ${rejected.ms} ms: ${condition(rejected.value, 'Degraded')?.message}\n`);

    // The kubelet brings the operator's config: macd starts with it, on the same port.
    writeFileSync(configFile, rendered);
    const served = await within('Ready, capacity as served', 10_000, async () => {
      const p = await get();
      return condition(p, 'Degraded')?.status === 'False' && condition(p, 'Ready')?.status === 'True' && p.status?.capacity === 65_536 ? p : undefined;
    });
    expect(served.value.status?.allocated).toBe(0);
    expect((await fetch(`${refusing.url}/readyz`)).status).toBe(200);
  });
});
