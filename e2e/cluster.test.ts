// Proves the local cluster is a real one: controllers run, garbage collection
// follows owner references, RBAC is enforced and CEL validation works.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { parse } from 'yaml';
import { createNamespace, eventually, getJson, kubectl, kubectlOk, waitEstablished } from './kubectl.ts';

let ns = '';
beforeAll(async () => {
  ns = await createNamespace('e2e-cluster');
});
afterAll(async () => {
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

interface Deployment {
  status?: { availableReplicas?: number };
}
interface List {
  items: { metadata: { name: string; ownerReferences?: { kind: string }[] } }[];
}

describe('local cluster', () => {
  it('runs a Deployment of 3 replicas to availableReplicas 3 and garbage-collects it', async () => {
    await kubectlOk(['-n', ns, 'create', 'deployment', 'web', '--image=registry.invalid/web:1', '--replicas=3']);
    await eventually('3 available replicas', async () => {
      const d = await getJson<Deployment>(['-n', ns, 'get', 'deployment', 'web']);
      return d.status?.availableReplicas === 3;
    });
    const pods = await getJson<List>(['-n', ns, 'get', 'pods', '-l', 'app=web']);
    expect(pods.items).toHaveLength(3);
    expect(pods.items.every((p) => p.metadata.ownerReferences?.[0]?.kind === 'ReplicaSet')).toBe(true);
    const rs = await getJson<List>(['-n', ns, 'get', 'replicasets', '-l', 'app=web']);
    expect(rs.items).toHaveLength(1);

    await kubectlOk(['-n', ns, 'delete', 'deployment', 'web', '--wait=false']);
    await eventually('ReplicaSet and Pods garbage-collected', async () => {
      const left = await getJson<List>(['-n', ns, 'get', 'replicasets,pods', '-l', 'app=web']);
      return left.items.length === 0;
    });
  });

  it('refuses a ServiceAccount without RBAC permission with 403', async () => {
    await kubectlOk(['-n', ns, 'create', 'serviceaccount', 'nobody']);
    const token = (await kubectlOk(['-n', ns, 'create', 'token', 'nobody'])).trim();
    const kubeconfig = parse(readFileSync(inject('kubeconfig'), 'utf8')) as {
      clusters: { cluster: { server: string; 'certificate-authority-data': string } }[];
    };
    const cluster = kubeconfig.clusters[0]!.cluster;
    const ca = Buffer.from(cluster['certificate-authority-data'], 'base64').toString();
    const get = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(`${cluster.server}${path}`, { ca, headers: { authorization: `Bearer ${token}` } }, (res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.on('error', reject);
        req.end();
      });
    const denied = await get(`/api/v1/namespaces/${ns}/secrets`);
    expect(denied.status).toBe(403);
    expect(denied.body).toContain(`system:serviceaccount:${ns}:nobody`);

    // The same token becomes allowed once a Role grants it: the 403 was RBAC, not a broken token.
    await kubectlOk(['-n', ns, 'create', 'role', 'read-secrets', '--verb=list', '--resource=secrets']);
    await kubectlOk(['-n', ns, 'create', 'rolebinding', 'read-secrets', '--role=read-secrets', `--serviceaccount=${ns}:nobody`]);
    await eventually('RBAC grant takes effect', async () => (await get(`/api/v1/namespaces/${ns}/secrets`)).status === 200);
  });

  it('rejects an object that breaks a CRD CEL rule with the rule message', async () => {
    const group = `e2e${process.pid}.example.com`;
    const crd = {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name: `widgets.${group}` },
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: {
                    type: 'object',
                    properties: { min: { type: 'integer' }, max: { type: 'integer' } },
                    'x-kubernetes-validations': [{ rule: 'self.min <= self.max', message: 'min must not exceed max' }],
                  },
                },
              },
            },
          },
        ],
      },
    };
    await kubectlOk(['apply', '-f', '-'], JSON.stringify(crd));
    try {
      await waitEstablished([`widgets.${group}`]);
      const widget = (min: number, max: number) =>
        JSON.stringify({ apiVersion: `${group}/v1`, kind: 'Widget', metadata: { name: `w${min}-${max}`, namespace: ns }, spec: { min, max } });
      const bad = await kubectl(['apply', '-f', '-'], widget(5, 1));
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('min must not exceed max');
      const good = await kubectl(['apply', '-f', '-'], widget(1, 5));
      expect(good.stderr).toBe('');
      expect(good.code).toBe(0);
    } finally {
      await kubectl(['delete', 'crd', `widgets.${group}`, '--wait=false']);
    }
  });
});
