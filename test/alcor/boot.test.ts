// `npm run test:alcor`: Alcor's real MAC manager and DPM (prebuilt jars, see
// test/alcor/jars.ts) boot from exactly the application.properties the
// operator renders, on Apache Ignite 2.10, and work. Skips with one line when
// the jars or a JDK are missing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataPlaneManager, type MacPool } from '../../src/api/index.ts';
import { renderDataPlaneManager, renderMacPool, defaultRenderSettings, type KubeObject } from '../../src/render/index.ts';
import { alcorEngineExample, dpmExample, NAMESPACE, UID } from '../render/fixtures.ts';
import { MiB, missingReason, startAlcorStack, type AlcorStack, type SpringService } from './harness.ts';

const skip = missingReason();
if (skip) console.log(`[test:alcor] skipped: ${skip}`);

function configMapProperties(objects: KubeObject[]): string {
  const cm = objects.find((o) => o.kind === 'ConfigMap') as (KubeObject & { data: Record<string, string> }) | undefined;
  if (!cm) throw new Error('no ConfigMap rendered');
  return cm.data['application.properties']!;
}

/** A DataPlaneManager with nothing but what the schema requires, and the older goal-state version. */
const minimalDpm = DataPlaneManager.parse({
  apiVersion: 'alcor.dev/v1alpha1',
  kind: 'DataPlaneManager',
  metadata: { name: 'dpm-minimal', namespace: NAMESPACE, uid: UID, generation: 1 },
  spec: { goalStateVersion: 101 },
});

const figures: string[] = [];

describe.skipIf(skip !== undefined)("Alcor's services boot from the rendered properties", () => {
  let stack: AlcorStack;
  let macManager: SpringService;
  const pool: MacPool = alcorEngineExample();

  beforeAll(async () => {
    stack = await startAlcorStack({ log: (l) => console.log(l) });
    figures.push(`Ignite ${(stack.ignite.bootMs / 1000).toFixed(1)}s to its thin-client port, RSS ${(stack.ignite.jvm.rssBytes() / MiB).toFixed(0)} MiB`);
  }, 300_000);

  afterAll(async () => {
    await stack?.stop();
    if (figures.length) console.log(`[test:alcor]\n  ${figures.join('\n  ')}`);
  }, 60_000);

  const record = (what: string, s: SpringService) =>
    figures.push(`${what}: UP in ${(s.bootMs / 1000).toFixed(1)}s, RSS ${(s.jvm.rssBytes() / MiB).toFixed(0)} MiB; overrides ${JSON.stringify(s.overrides)}`);

  it('MAC manager (examples/macpool-alcor.yaml) is UP and allocates a MAC with the pool OUI', async () => {
    macManager = await stack.boot('macmanager', configMapProperties(renderMacPool(pool, defaultRenderSettings)));
    record('MAC manager', macManager);
    const res = await fetch(`${macManager.url}/macs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mac_state: { project_id: 'p1', vpc_id: 'v1', port_id: 'port-1' } }),
    });
    const body = (await res.json()) as { mac_state?: { mac_address?: string; state?: string } };
    expect(res.status, JSON.stringify(body)).toBe(201);
    const mac = body.mac_state?.mac_address ?? '';
    expect(mac.toLowerCase().startsWith(`${pool.spec.oui}:`), mac).toBe(true);
    // Held in Ignite: the MAC manager finds it again.
    const got = (await (await fetch(`${macManager.url}/macs/${mac}`)).json()) as { mac_state?: { mac_address?: string; state?: string } };
    expect(got.mac_state?.mac_address?.toLowerCase()).toBe(mac.toLowerCase());
    expect(got.mac_state?.state).toBe('Active');
  });

  for (const [what, dpm] of [
    ['DPM (examples/dataplanemanager.yaml)', dpmExample()],
    ['DPM (a minimal spec, goal-state version 101)', minimalDpm],
  ] as const) {
    it(`${what} is UP and stores and deletes a node through its REST port`, async () => {
      const s = await stack.boot('dpm', configMapProperties(renderDataPlaneManager(dpm, defaultRenderSettings)), dpm.metadata.name);
      record(what, s);
      const node = { host_info: { node_id: `node-${dpm.metadata.name}`, node_name: 'host-1', local_ip: '10.10.10.11', mac_address: 'aa:bb:cc:00:00:10', veth: 'eth0', server_port: 50001 } };
      const post = await fetch(`${s.url}/nodes`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(node) });
      // 201 once Ignite took the put (a failed cache write is a 500).
      expect(post.status, await post.text()).toBe(201);
      const del = await fetch(`${s.url}/nodes`, { method: 'DELETE', headers: { 'content-type': 'application/json' }, body: JSON.stringify(node) });
      expect(del.status, await del.text()).toBe(200);
      await s.stop();
    });
  }
});
