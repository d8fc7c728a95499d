// The Helm chart and the install bundle on the local cluster: install, an
// upgrade that rolls only what changed, uninstall that keeps the CRDs, and
// the same install through `kubectl apply --server-side -f manifests/install.yaml`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { inject } from 'vitest';
import { createNamespace, eventually, getJson, kubectl, kubectlOk } from './kubectl.ts';

const root = join(import.meta.dirname, '..');
const chartDir = join(root, 'charts/alcor-operator');
const crds = ['crd/macpools.alcor.dev', 'crd/dhcpsubnets.alcor.dev', 'crd/dataplanemanagers.alcor.dev'];

function helm(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(join(inject('binDir'), 'helm'), [...args, '--kubeconfig', inject('kubeconfig')], { maxBuffer: 16 * 1024 * 1024, timeout: 170_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`helm ${args.join(' ')}: ${stderr || String(err)}`));
      else resolve(stdout);
    });
  });
}

interface Meta {
  metadata: { name: string; resourceVersion: string; generation?: number };
}
interface Deployment extends Meta {
  spec: { replicas: number; template: unknown };
  status?: { readyReplicas?: number; conditions?: { type: string; status: string }[] };
}
const available = (d: Deployment) => d.status?.conditions?.some((c) => c.type === 'Available' && c.status === 'True') ?? false;

let ns = '';
const release = `chart-${Date.now().toString(36)}`;
const name = `${release}-alcor-operator`;
let installed = false;
let bundleApplied = false;

beforeAll(async () => {
  ns = await createNamespace('e2e-chart');
});

afterAll(async () => {
  if (installed) await helm(['uninstall', release, '-n', ns]).catch(() => undefined);
  if (bundleApplied) {
    // Everything of the bundle but the CRDs, which other test files use: the
    // operator's ClusterRole and binding and the users' ClusterRoles, whose
    // fixed names a later helm install would otherwise refuse to adopt.
    await kubectl(['delete', 'clusterrolebinding,clusterrole', '-l', 'app.kubernetes.io/instance=alcor-operator', '--ignore-not-found']);
    await kubectl(['delete', 'namespace', 'alcor-system', '--wait=false']);
  }
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
});

describe('helm chart', () => {
  it('helm install: the operator Deployment becomes Available with 2 replicas, the CRDs are installed', async () => {
    // Other files of the suite may have created the CRDs with kubectl: the
    // chart adopts them, as its README tells users who did the same.
    const out = await helm(['install', release, chartDir, '-n', ns, '--take-ownership', '--wait', '--timeout', '120s']);
    installed = true;
    expect(out).toMatch(/STATUS: deployed/);
    expect(out).toContain(`rollout status deployment/${name}`); // NOTES.txt
    const dep = await eventually('Deployment Available', async () => {
      const d = await getJson<Deployment>(['-n', ns, 'get', 'deployment', name]);
      return available(d) && d.status?.readyReplicas === 2 ? d : undefined;
    });
    expect(dep.spec.replicas).toBe(2);
    await kubectlOk(['get', ...crds]);
    for (const kind of ['serviceaccount', 'service', 'poddisruptionbudget']) await kubectlOk(['-n', ns, 'get', kind, kind === 'service' ? `${name}-metrics` : name]);
    await kubectlOk(['get', 'clusterrole', name]);
    await kubectlOk(['get', 'clusterrolebinding', name]);
  });

  it('helm upgrade --set replicaCount=3 changes only the replica count', async () => {
    const others = [
      ['-n', ns, 'serviceaccount', name],
      ['-n', ns, 'service', `${name}-metrics`],
      ['-n', ns, 'poddisruptionbudget', name],
      ['clusterrole', name],
      ['clusterrolebinding', name],
    ];
    // resourceVersion, or the generation where a controller writes status (the PDB's counts follow the pods).
    const versions = async () =>
      Promise.all(
        others.map(async (o) => {
          const m = (await getJson<Meta>(['get', ...o])).metadata;
          return m.generation !== undefined ? `generation ${m.generation}` : m.resourceVersion;
        }),
      );
    const before = await versions();
    const dep = await getJson<Deployment>(['-n', ns, 'get', 'deployment', name]);

    await helm(['upgrade', release, chartDir, '-n', ns, '--set', 'replicaCount=3', '--wait', '--timeout', '120s']);
    const after = await eventually('3 replicas ready', async () => {
      const d = await getJson<Deployment>(['-n', ns, 'get', 'deployment', name]);
      return d.status?.readyReplicas === 3 ? d : undefined;
    });
    expect(after.spec.replicas).toBe(3);
    expect(after.metadata.generation).toBe((dep.metadata.generation ?? 0) + 1);
    expect(after.spec.template).toEqual(dep.spec.template); // no pod rolled
    expect(await versions()).toEqual(before);
    // Scaling keeps the existing ReplicaSet: still one.
    const rs = await getJson<{ items: unknown[] }>(['-n', ns, 'get', 'replicasets', '-l', `app.kubernetes.io/instance=${release}`]);
    expect(rs.items).toHaveLength(1);
  });

  it('helm uninstall removes the operator and its RBAC but leaves the CRDs (crds.keep)', async () => {
    await helm(['uninstall', release, '-n', ns, '--wait', '--timeout', '120s']);
    installed = false;
    await eventually('Deployment gone', async () => (await kubectl(['-n', ns, 'get', 'deployment', name])).code !== 0, 60_000);
    expect((await kubectl(['get', 'clusterrole', name])).stderr).toMatch(/NotFound/);
    expect((await kubectl(['get', 'clusterrolebinding', name])).stderr).toMatch(/NotFound/);
    expect((await kubectl(['-n', ns, 'get', 'serviceaccount', name])).stderr).toMatch(/NotFound/);
    await kubectlOk(['get', ...crds]);
  });
});

describe('install bundle', () => {
  it('kubectl apply --server-side -f manifests/install.yaml: the operator becomes Available in the restricted alcor-system namespace', async () => {
    // A cluster reused between runs may still be deleting the last run's namespace.
    await eventually('no alcor-system namespace before the test', async () => (await kubectl(['get', 'namespace', 'alcor-system'])).code !== 0, 60_000);
    bundleApplied = true;
    await kubectlOk(['apply', '--server-side', '-f', join(root, 'manifests/install.yaml')]);
    const nsObj = await getJson<{ metadata: { labels: Record<string, string> } }>(['get', 'namespace', 'alcor-system']);
    expect(nsObj.metadata.labels['pod-security.kubernetes.io/enforce']).toBe('restricted');
    const dep = await eventually(
      'bundle Deployment Available',
      async () => {
        const d = await getJson<Deployment>(['-n', 'alcor-system', 'get', 'deployment', 'alcor-operator']);
        return available(d) && d.status?.readyReplicas === 2 ? d : undefined;
      },
      120_000,
    );
    expect(dep.spec.replicas).toBe(2);
    await kubectlOk(['get', ...crds]);
    await kubectlOk(['get', 'clusterrole', 'alcor-operator']);
    // Applying it again changes nothing.
    const out = await kubectlOk(['apply', '--server-side', '-f', join(root, 'manifests/install.yaml')]);
    expect(out).toMatch(/serverside-applied/);
    const again = await getJson<Deployment>(['-n', 'alcor-system', 'get', 'deployment', 'alcor-operator']);
    expect(again.metadata.generation).toBe(dep.metadata.generation);
  });
});
