// The operator against a real API server: examples reconcile to Ready with
// their children, children are put back, spec changes are followed, deletion
// garbage-collects, a restart makes no writes, and only the leader reconciles.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { createNamespace, ensureNamespace, EXAMPLE_IGNITE_NAMESPACE, eventually, getJson, kubectl, kubectlOk, waitEstablished } from './kubectl.ts';
import { startOperator, writeCount, type OperatorProcess } from './operator.ts';

const root = join(import.meta.dirname, '..');
const example = (name: string) => readFileSync(join(root, 'examples', `${name}.yaml`), 'utf8');

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}
interface Resource {
  metadata: { name: string; uid: string; generation: number; ownerReferences?: { uid: string; controller?: boolean }[] };
  spec: Record<string, unknown>;
  status?: { observedGeneration?: number; conditions?: Condition[]; capacity?: number; allocated?: number; available?: number; leased?: number; endpoint?: string; replicas?: number; readyReplicas?: number };
}
interface List<T = Resource> {
  items: T[];
}

let ns = '';
let op: OperatorProcess | undefined;

const condition = (r: Resource, type: string) => r.status?.conditions?.find((c) => c.type === type);
const get = (kind: string, name: string) => getJson<Resource>(['-n', ns, 'get', kind, name]);
async function waitReady(kind: string, name: string, timeoutMs = 90_000): Promise<Resource> {
  return eventually(
    `${kind}/${name} Ready=True`,
    async () => {
      const r = await get(kind, name);
      const ready = condition(r, 'Ready');
      return ready?.status === 'True' && r.status?.observedGeneration === r.metadata.generation ? r : undefined;
    },
    timeoutMs,
  );
}
async function childrenOf(uid: string): Promise<Map<string, Resource>> {
  const all = await getJson<List<Resource & { kind: string }>>(['-n', ns, 'get', 'configmaps,services,serviceaccounts,statefulsets,deployments,daemonsets,poddisruptionbudgets,networkpolicies,roles,rolebindings', '-l', 'app.kubernetes.io/managed-by=alcor-operator']);
  const owned = all.items.filter((o) => o.metadata.ownerReferences?.some((r) => r.uid === uid && r.controller));
  return new Map(owned.map((o) => [`${o.kind}/${o.metadata.name}`, o]));
}

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', join(root, 'crds')]);
  await waitEstablished(['macpools.alcor.dev', 'dhcpsubnets.alcor.dev', 'dataplanemanagers.alcor.dev', 'dhcpreservations.alcor.dev']);
  ns = await createNamespace('e2e-operator');
  await ensureNamespace(EXAMPLE_IGNITE_NAMESPACE);
  op = await startOperator({ name: 'main' });
  await eventually('operator ready', () => op!.ready(), 30_000);
});

afterAll(async () => {
  await op?.stop();
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('operator', () => {
  it('reconciles each example to Ready with its children, claiming no counts nobody serves', async () => {
    for (const name of ['macpool', 'dhcpsubnet', 'dataplanemanager']) await kubectlOk(['-n', ns, 'apply', '-f', '-'], example(name));

    const pool = await waitReady('macpool', 'tenant-macs');
    // kwok's pods run no macd: nothing reports serving the pool, so status
    // claims no capacity and says whose report it waits for
    // (e2e/macpool-status.test.ts runs a real macd).
    expect(pool.status?.capacity).toBeUndefined();
    expect(pool.status?.allocated).toBeUndefined();
    expect(pool.status?.endpoint).toBe(`http://tenant-macs-macd.${ns}.svc:9005`);
    expect(pool.status?.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual(
      expect.arrayContaining([
        ['Ready', 'True', 'ReplicasReady'],
        ['Progressing', 'True', 'ApplyingConfig'],
        ['Degraded', 'False', 'AsExpected'],
      ]),
    );
    expect(condition(pool, 'Progressing')?.message).toBe(`waiting for tenant-macs-macd-0, tenant-macs-macd-1 to report serving generation ${pool.metadata.generation}`);
    const poolChildren = await childrenOf(pool.metadata.uid);
    for (const k of ['StatefulSet/tenant-macs-macd', 'Service/tenant-macs-macd', 'ConfigMap/tenant-macs-macd', 'ServiceAccount/tenant-macs-macd', 'PodDisruptionBudget/tenant-macs-macd']) {
      expect(poolChildren.has(k), `${k} among ${[...poolChildren.keys()].join(', ')}`).toBe(true);
    }

    const subnet = await waitReady('dhcpsubnet', 'tenant-net');
    expect(subnet.status?.capacity).toBeUndefined();
    expect(condition(subnet, 'Progressing')?.reason).toBe('ApplyingConfig');

    const dpm = await waitReady('dataplanemanager', 'dpm');
    expect(dpm.status?.readyReplicas).toBe((dpm.spec['replicas'] as number | undefined) ?? dpm.status?.replicas);
    const dpmChildren = await childrenOf(dpm.metadata.uid);
    expect([...dpmChildren.keys()]).toEqual(expect.arrayContaining(['Deployment/dpm', 'Service/dpm', 'ConfigMap/dpm']));

    const listed = await kubectlOk(['-n', ns, 'get', 'alcor']);
    expect(listed).toMatch(/tenant-macs/);
    expect(listed).toMatch(/tenant-net/);
    expect(listed).toMatch(/dpm/);
  });

  it('puts back a deleted child and a hand-edited field', async () => {
    const svc = await getJson<Resource & { spec: { ports: { port: number }[] } }>(['-n', ns, 'get', 'service', 'tenant-macs-macd']);
    await kubectlOk(['-n', ns, 'delete', 'configmap', 'tenant-macs-macd']);
    await eventually('ConfigMap restored', async () => (await kubectl(['-n', ns, 'get', 'configmap', 'tenant-macs-macd'])).code === 0, 15_000);

    const port = svc.spec.ports[0]!.port;
    await kubectlOk(['-n', ns, 'patch', 'service', 'tenant-macs-macd', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/spec/ports/0/port', value: 9999 }])]);
    await eventually(
      'Service port restored',
      async () => (await getJson<{ spec: { ports: { port: number }[] } }>(['-n', ns, 'get', 'service', 'tenant-macs-macd'])).spec.ports[0]!.port === port,
      15_000,
    );
  });

  it('follows a spec change: observedGeneration and the workload', async () => {
    const before = await get('macpool', 'tenant-macs');
    await kubectlOk(['-n', ns, 'patch', 'macpool', 'tenant-macs', '--type=merge', '-p', JSON.stringify({ spec: { allocator: { replicas: 3 } } })]);
    const after = await waitReady('macpool', 'tenant-macs');
    expect(after.metadata.generation).toBe(before.metadata.generation + 1);
    expect(after.status?.conditions?.every((c) => c.observedGeneration === after.metadata.generation)).toBe(true);
    const sts = await getJson<{ spec: { replicas: number }; status: { readyReplicas?: number } }>(['-n', ns, 'get', 'statefulset', 'tenant-macs-macd']);
    expect(sts.spec.replicas).toBe(3);
    expect(sts.status.readyReplicas).toBe(3);
  });

  it('refuses an overlapping DhcpSubnet with a condition and keeps the first working', async () => {
    const first = parse(example('dhcpsubnet')) as { spec: Record<string, unknown> };
    const overlapping = { ...first, metadata: { name: 'tenant-net-overlap' } };
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], JSON.stringify(overlapping));
    const refused = await eventually('overlap condition', async () => {
      const r = await get('dhcpsubnet', 'tenant-net-overlap');
      return condition(r, 'Ready')?.reason === 'OverlappingSubnet' ? r : undefined;
    });
    expect(condition(refused, 'Ready')?.message).toContain('tenant-net');
    expect(condition(refused, 'Degraded')?.status).toBe('True');
    expect((await childrenOf(refused.metadata.uid)).size).toBe(0);
    expect(condition(await get('dhcpsubnet', 'tenant-net'), 'Ready')?.status).toBe('True');
    // Once the older one is gone, the newer one is served.
    await kubectlOk(['-n', ns, 'delete', 'dhcpsubnet', 'tenant-net-overlap']);
  });

  it('makes no write after a restart when nothing changed', async () => {
    // "Nothing changed" starts when the cluster is still: no namespace of an
    // earlier test file is being deleted (the operator watches every
    // namespace, and would put back the children a terminating namespace
    // loses, refused with 403), and the first operator is done: its queue is
    // empty and it has made no write for 2 s (on a loaded machine the earlier
    // tests' changes may still be converging).
    await eventually('no namespace terminating', async () => {
      const list = await getJson<{ items: { status?: { phase?: string } }[] }>(['get', 'namespaces']);
      return list.items.every((n) => n.status?.phase !== 'Terminating');
    }, 150_000, 1_000);
    let writes = -1;
    await eventually('first operator quiet', async () => {
      const now = await writeCount(op!);
      const quiet = now === writes && (await op!.counter('workqueue_depth')) === 0;
      writes = now;
      return quiet;
    }, 60_000, 2_000);
    await op!.stop();
    op = await startOperator({ name: 'restarted' });
    await eventually('restarted operator ready', () => op!.ready(), 30_000);
    const resources = (await getJson<List>(['-n', ns, 'get', 'macpools,dhcpsubnets,dataplanemanagers'])).items.length;
    // Every resource is reconciled once on start; wait until all passes are done.
    await eventually('initial passes done', async () => (await op!.counter('controller_runtime_reconcile_total')) >= resources && (await op!.counter('workqueue_depth')) === 0, 30_000);
    await new Promise((r) => setTimeout(r, 2_000));
    // Each write the operator makes is logged with its reason: name them.
    const writesLogged = readFileSync(op!.logFile, 'utf8').split('\n').filter((l) => /"msg":"(status updated|applying child|deleting child)/.test(l));
    expect({ writes: await writeCount(op!), writesLogged }).toEqual({ writes: 0, writesLogged: [] });
  });

  it('deletes the children with the resource', async () => {
    const pool = await get('macpool', 'tenant-macs');
    expect((await childrenOf(pool.metadata.uid)).size).toBeGreaterThan(0);
    await kubectlOk(['-n', ns, 'delete', 'macpool', 'tenant-macs']);
    await eventually('children garbage-collected', async () => (await childrenOf(pool.metadata.uid)).size === 0, 60_000);
  });
});

describe("Alcor's services: Ignite discovery and why pods are not ready", () => {
  const dpm = (name: string, spec: Record<string, unknown>) => JSON.stringify({ apiVersion: 'alcor.dev/v1alpha1', kind: 'DataPlaneManager', metadata: { name }, spec: { replicas: 1, ...spec } });
  const roles = async (namespace: string, name: string) => {
    const r = await kubectl(['-n', namespace, 'get', 'role', name, '-o', 'json']);
    return r.code === 0 ? (JSON.parse(r.stdout) as { metadata: { labels: Record<string, string> }; rules: unknown[] }) : undefined;
  };

  it("grants the pods get on Ignite's Endpoints in Ignite's namespace, follows a move, and cleans up after deletion", async () => {
    const [igA, igB] = [await createNamespace('e2e-ignite-a'), await createNamespace('e2e-ignite-b')];
    try {
      await kubectlOk(['-n', ns, 'apply', '-f', '-'], dpm('dpm-ig', { ignite: { serviceName: 'ignite-x', namespace: igA } }));
      const r = await waitReady('dataplanemanager', 'dpm-ig');
      const name = `${ns}.dpm-ig.ignite-discovery`;
      const role = await roles(igA, name);
      expect(role?.rules).toEqual([{ apiGroups: [''], resources: ['endpoints'], resourceNames: ['ignite-x'], verbs: ['get'] }]);
      expect(role?.metadata.labels['alcor.dev/owner-uid']).toBe(r.metadata.uid);
      // What the pods' ServiceAccount may do there, asked of the API server's authorizer.
      const as = `system:serviceaccount:${ns}:dpm-ig`;
      expect((await kubectl(['auth', 'can-i', 'get', 'endpoints/ignite-x', '-n', igA, '--as', as])).stdout.trim()).toBe('yes');
      expect((await kubectl(['auth', 'can-i', 'get', 'endpoints/other', '-n', igA, '--as', as])).stdout.trim()).toBe('no');
      expect((await kubectl(['auth', 'can-i', 'list', 'pods', '-n', igA, '--as', as])).stdout.trim()).toBe('no');

      // Ignite moves: the grant follows, the old one is pruned (no owner reference can do it across namespaces).
      await kubectlOk(['-n', ns, 'patch', 'dataplanemanager', 'dpm-ig', '--type=merge', '-p', JSON.stringify({ spec: { ignite: { namespace: igB } } })]);
      await eventually('Role moved to the new namespace', async () => (await roles(igB, name)) !== undefined && (await roles(igA, name)) === undefined, 30_000);
      expect((await kubectl(['-n', igB, 'get', 'rolebinding', name])).code).toBe(0);
      expect((await kubectl(['-n', igA, 'get', 'rolebinding', name])).code).not.toBe(0);

      await kubectlOk(['-n', ns, 'delete', 'dataplanemanager', 'dpm-ig']);
      await eventually('Role and RoleBinding deleted with the resource', async () => (await roles(igB, name)) === undefined && (await kubectl(['-n', igB, 'get', 'rolebinding', name])).code !== 0, 30_000);
    } finally {
      await kubectl(['delete', 'namespace', igA, igB, '--wait=false']);
    }
  });

  it('says why its pods are not ready, from the pods themselves', async () => {
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], dpm('dpm-huge', { ignite: { serviceName: 'ignite' }, resources: { requests: { memory: '100Ti' } } }));
    const r = await eventually('Ready=False with the scheduler\'s reason', async () => {
      const got = await get('dataplanemanager', 'dpm-huge');
      return condition(got, 'Ready')?.reason === 'PodUnschedulable' ? got : undefined;
    }, 60_000);
    expect(condition(r, 'Ready')?.status).toBe('False');
    expect(condition(r, 'Ready')?.message).toMatch(/^Deployment dpm-huge: pods not ready: pod cannot be scheduled: 0\/\d+ nodes are available: .*Insufficient memory/);
    await kubectlOk(['-n', ns, 'delete', 'dataplanemanager', 'dpm-huge']);
  });
});

describe('leader election', () => {
  it('lets exactly one of two operators reconcile, and the other take over when it dies', async () => {
    await op?.stop();
    op = undefined;
    const leNs = await createNamespace('e2e-leader');
    const a = await startOperator({ name: 'a', leaderElect: true, namespace: leNs });
    const b = await startOperator({ name: 'b', leaderElect: true, namespace: leNs });
    try {
      await eventually('one leader', async () => (await a.counter('leader_election_master_status')) + (await b.counter('leader_election_master_status')) === 1, 30_000);
      const dpm = parse(example('dataplanemanager')) as Record<string, unknown>;
      await kubectlOk(['-n', leNs, 'apply', '-f', '-'], JSON.stringify({ ...dpm, metadata: { name: 'le-one' } }));
      await eventually('le-one Ready', async () => condition(await getJson<Resource>(['-n', leNs, 'get', 'dpm', 'le-one']), 'Ready')?.status === 'True');
      const [leader, standby] = (await a.counter('leader_election_master_status')) === 1 ? [a, b] : [b, a];
      expect(await leader.counter('controller_runtime_reconcile_total')).toBeGreaterThan(0);
      expect(await standby.counter('controller_runtime_reconcile_total')).toBe(0);
      // Children and status are written with PATCH (server-side apply) and pruned with
      // DELETE; a standby may only have tried to create the leader Lease (POST).
      expect(await standby.counter('rest_client_requests_total', { method: 'PATCH' })).toBe(0);
      expect(await standby.counter('rest_client_requests_total', { method: 'DELETE' })).toBe(0);

      // The leader dies without a goodbye: the standby takes over once the lease expires.
      leader.child.kill('SIGKILL');
      const killedAt = Date.now();
      await kubectlOk(['-n', leNs, 'apply', '-f', '-'], JSON.stringify({ ...dpm, metadata: { name: 'le-two' } }));
      await eventually('le-two Ready through the new leader', async () => condition(await getJson<Resource>(['-n', leNs, 'get', 'dpm', 'le-two']), 'Ready')?.status === 'True', 40_000);
      expect(Date.now() - killedAt).toBeLessThan(30_000);
      expect(await standby.counter('leader_election_master_status')).toBe(1);
    } finally {
      await a.stop();
      await b.stop();
      await kubectl(['delete', 'namespace', leNs, '--wait=false']);
    }
  });
});
