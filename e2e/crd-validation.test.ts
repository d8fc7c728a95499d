// The CRDs in crds/ on a real API server: they install and become Established,
// the examples are accepted, and every invalid case is refused by admission
// itself (OpenAPI + CEL, no webhook) with a message naming the field, and so is
// every hidden case: what macd or dhcpd would refuse.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { brokenObject, hiddenCases, invalidCases, loadExample, root } from '../test/api/invalid-cases.ts';
import { createNamespace, eventually, getJson, kubectl, kubectlOk } from './kubectl.ts';

const crdNames = ['macpools.alcor.dev', 'dhcpsubnets.alcor.dev', 'dataplanemanagers.alcor.dev'];

interface Crd {
  status?: { conditions?: { type: string; status: string }[] };
}

let ns = '';
beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', join(root, 'crds')]);
  for (const name of crdNames) {
    await eventually(`${name} Established`, async () => {
      const crd = await getJson<Crd>(['get', 'crd', name]);
      return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
    });
  }
  ns = await createNamespace('e2e-crd');
});
afterAll(async () => {
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('CRD admission', () => {
  it('accepts each example and lists them under the alcor category', async () => {
    for (const file of ['macpool.yaml', 'dhcpsubnet.yaml', 'dataplanemanager.yaml', 'dhcpreservation.yaml'] as const) {
      await kubectlOk(['-n', ns, 'apply', '--server-side', '-f', '-'], stringify(loadExample(file)));
    }
    const list = await getJson<{ items: { kind: string; metadata: { name: string } }[] }>(['-n', ns, 'get', 'alcor']);
    expect(list.items.map((i) => `${i.kind}/${i.metadata.name}`).sort()).toEqual(['DataPlaneManager/dpm', 'DhcpReservation/db-1', 'DhcpSubnet/tenant-net', 'MacPool/tenant-macs']);
    // The server applied the schema defaults.
    const pool = await getJson<{ spec: { engine: string; allocator: { servicePort: number } } }>(['-n', ns, 'get', 'mp', 'tenant-macs']);
    expect(pool.spec.engine).toBe('builtin');
    expect(pool.spec.allocator.servicePort).toBe(9005);
  });

  it('refuses a change of the allocator storage once created', async () => {
    const pool = loadExample('macpool.yaml');
    pool.spec.allocator.storage.size = '2Gi';
    const res = await kubectl(['-n', ns, 'apply', '--server-side', '-f', '-'], stringify(pool));
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('spec.allocator.storage');
    expect(res.stderr).toContain('allocator.storage cannot change after creation');
  });

  it('explains fields from the schema descriptions', async () => {
    // The published OpenAPI follows the CRD a moment after it is Established.
    const out = await eventually('explain macpools.spec.oui', async () => {
      const res = await kubectl(['explain', 'macpools.spec.oui']);
      return res.code === 0 && res.stdout.includes('Must be unicast') ? res.stdout : undefined;
    });
    expect(out).toContain('oui');
  });

  it.each([...invalidCases, ...hiddenCases].map((c, i) => [c.name, c, i] as const))('refuses %s', async (_name, c, i) => {
    const res = await kubectl(['-n', ns, 'apply', '--server-side', '-f', '-'], stringify(brokenObject(c, `invalid-${i}`)));
    expect(res.code, res.stdout).not.toBe(0);
    expect(res.stderr).toContain(c.field);
    expect(res.stderr).toContain(c.api ?? c.zod);
  });
});
