// The operator under faults: an API server restart, an expired watch (410),
// someone else's writes, SIGKILL in the middle of a burst, and a resource that
// can never become Ready.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { createNamespace, ensureNamespace, EXAMPLE_IGNITE_NAMESPACE, eventually, getJson, kubectl, kubectlOk } from './kubectl.ts';
import { startOperator, type OperatorProcess } from './operator.ts';

const root = join(import.meta.dirname, '..');
const example = (name: string) => parse(readFileSync(join(root, 'examples', `${name}.yaml`), 'utf8')) as { metadata: Record<string, unknown>; spec: Record<string, unknown> } & Record<string, unknown>;
const local = inject('localCluster');

interface Resource {
  metadata: { name: string; uid: string; generation: number };
  status?: { observedGeneration?: number; conditions?: { type: string; status: string; reason: string; message: string }[] };
}
interface Owned {
  kind: string;
  metadata: { name: string; ownerReferences?: { uid: string; controller?: boolean }[] };
}

let ns = '';
const operators: OperatorProcess[] = [];
const start = async (args: string[] = []) => {
  const op = await startOperator({ name: `faults-${operators.length}`, args });
  operators.push(op);
  await eventually('operator ready', () => op.ready(), 30_000);
  return op;
};
const dpm = (name: string) => ({ ...example('dataplanemanager'), metadata: { name } });
const ready = (r: Resource) => r.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' && r.status.observedGeneration === r.metadata.generation;

async function allReady(kind: string, prefix: string, count: number, timeoutMs: number): Promise<Resource[]> {
  return eventually(
    `${count} ${kind} ${prefix}* Ready`,
    async () => {
      const items = (await getJson<{ items: Resource[] }>(['-n', ns, 'get', kind])).items.filter((r) => r.metadata.name.startsWith(prefix));
      return items.length === count && items.every(ready) ? items : undefined;
    },
    timeoutMs,
    1_000,
  );
}

async function restartApiServer(compact: boolean): Promise<void> {
  const res = await fetch(`${inject('clusterControl')}/restart-apiserver${compact ? '?compact=1' : ''}`, { method: 'POST' });
  expect(res.status, await res.text()).toBe(200);
}

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', join(root, 'crds')]);
  ns = await createNamespace('e2e-faults');
  await ensureNamespace(EXAMPLE_IGNITE_NAMESPACE);
});
afterAll(async () => {
  await Promise.all(operators.map((o) => o.stop()));
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe.skipIf(!local)('faults', () => {
  it('keeps running through an API server restart and converges without duplicates', async () => {
    const op = await start();
    const docs = Array.from({ length: 20 }, (_, i) => stringify(dpm(`restart-${i}`))).join('---\n');
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], docs);
    await restartApiServer(false);
    expect(op.child.exitCode).toBeNull();
    await allReady('dataplanemanagers', 'restart-', 20, 120_000);
    const deployments = (await getJson<{ items: Owned[] }>(['-n', ns, 'get', 'deployments'])).items;
    expect(deployments.filter((d) => d.metadata.name.startsWith('restart-'))).toHaveLength(20);
    await kubectlOk(['-n', ns, 'delete', 'dataplanemanagers', '--all']);
    await op.stop();
  });

  it('re-lists after its watch expired (410) and misses nothing created meanwhile', async () => {
    const op = await start();
    // Freeze the operator, create resources, restart the API server over a
    // compacted etcd: the frozen watches resume from a version that is gone.
    op.child.kill('SIGSTOP');
    try {
      const docs = Array.from({ length: 5 }, (_, i) => stringify(dpm(`expired-${i}`))).join('---\n');
      await kubectlOk(['-n', ns, 'apply', '-f', '-'], docs);
      await restartApiServer(true);
    } finally {
      op.child.kill('SIGCONT');
    }
    await allReady('dataplanemanagers', 'expired-', 5, 120_000);
    const log = readFileSync(op.logFile, 'utf8');
    expect(log).toMatch(/watch resource version expired; re-listing/);
    await kubectlOk(['-n', ns, 'delete', 'dataplanemanagers', '--all']);
    await op.stop();
  });

  it('takes back a child field that another manager changed', async () => {
    const op = await start();
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], stringify(dpm('conflict')));
    await allReady('dataplanemanagers', 'conflict', 1, 60_000);
    const svc = await getJson<{ spec: { ports: { name: string; port: number; protocol: string; targetPort: unknown }[] } }>(['-n', ns, 'get', 'service', 'conflict']);
    // Another field manager takes the target ports over (a conflict that --force-conflicts wins).
    const intruder = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'conflict', namespace: ns }, spec: { ports: svc.spec.ports.map((p) => ({ port: p.port, protocol: p.protocol, targetPort: 9999 })) } };
    await kubectlOk(['apply', '--server-side', '--force-conflicts', '--field-manager=intruder', '-f', '-'], JSON.stringify(intruder));
    await eventually(
      'Service ports restored',
      async () => {
        const now = await getJson<{ spec: { ports: unknown[] } }>(['-n', ns, 'get', 'service', 'conflict']);
        return JSON.stringify(now.spec.ports) === JSON.stringify(svc.spec.ports);
      },
      20_000,
    );
    // A status written by someone else is rewritten from the truth.
    await kubectlOk(['-n', ns, 'patch', 'dpm', 'conflict', '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { readyReplicas: 42 } })]);
    await eventually('status corrected', async () => {
      const r = await getJson<{ spec: { replicas?: number }; status: { readyReplicas?: number } }>(['-n', ns, 'get', 'dpm', 'conflict']);
      return r.status.readyReplicas !== 42 && r.status.readyReplicas === (r.spec.replicas ?? r.status.readyReplicas);
    }, 30_000);
    await kubectlOk(['-n', ns, 'delete', 'dataplanemanagers', '--all']);
    await op.stop();
  });

  it('ends with every resource Ready and exactly one set of children after SIGKILL mid-burst', async () => {
    const first = await start();
    const docs = Array.from({ length: 200 }, (_, i) => stringify(dpm(`burst-${i}`))).join('---\n');
    const applying = kubectlOk(['-n', ns, 'apply', '-f', '-'], docs);
    await eventually('some children created', async () => (await getJson<{ items: unknown[] }>(['-n', ns, 'get', 'deployments'])).items.length >= 10, 60_000, 100);
    first.child.kill('SIGKILL');
    await applying;
    await start();
    const items = await allReady('dataplanemanagers', 'burst-', 200, 300_000);
    const owned = (await getJson<{ items: Owned[] }>(['-n', ns, 'get', 'deployments,services,configmaps'])).items;
    for (const r of items) {
      const mine = owned.filter((o) => o.metadata.ownerReferences?.some((ref) => ref.uid === r.metadata.uid && ref.controller));
      expect(mine.map((o) => o.kind).sort(), r.metadata.name).toEqual(['ConfigMap', 'Deployment', 'Service']);
    }
    await kubectlOk(['-n', ns, 'delete', 'dataplanemanagers', '--all', '--wait=false']);
  });

  it('shows Degraded with a reason for a resource that can never be Ready, without spinning', async () => {
    const op = await start(['--progress-deadline', '5s']);
    const subnet = example('dhcpsubnet');
    const server = { ...(subnet.spec['server'] as Record<string, unknown>), nodeSelector: { 'alcor.dev/no-such-node': 'true' } };
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], stringify({ ...subnet, metadata: { name: 'never-ready' }, spec: { ...subnet.spec, server } }));
    const degraded = await eventually(
      'Degraded=True',
      async () => {
        const r = await getJson<Resource>(['-n', ns, 'get', 'dhcpsubnet', 'never-ready']);
        const d = r.status?.conditions?.find((c) => c.type === 'Degraded');
        return d?.status === 'True' ? d : undefined;
      },
      90_000,
    );
    expect(degraded.reason).toBe('ProgressDeadlineExceeded');
    expect(degraded.message).toMatch(/0\/\d+ ready/);
    const before = await op.counter('controller_runtime_reconcile_total', { controller: 'dhcpsubnet' });
    await new Promise((r) => setTimeout(r, 35_000));
    const after = await op.counter('controller_runtime_reconcile_total', { controller: 'dhcpsubnet' });
    // One look every 30 s, not a hot loop.
    expect(after - before).toBeLessThanOrEqual(3);
    await kubectlOk(['-n', ns, 'delete', 'dhcpsubnet', 'never-ready']);
  });
});
