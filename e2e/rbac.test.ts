// Least privilege against the real API server (RBAC enforced): the operator,
// running as a local process under the chart's ServiceAccount token, passes
// the operator scenario (examples Ready, a deleted child restored, leader
// election), and requests outside its ClusterRole are refused with 403.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricSum } from './prometheus.ts';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { stringify } from 'yaml';
import { freePort } from './cluster/net.ts';
import { createNamespace, ensureNamespace, EXAMPLE_IGNITE_NAMESPACE, eventually, getJson, kubectl, kubectlOk, waitEstablished } from './kubectl.ts';

const root = join(import.meta.dirname, '..');
const chartDir = join(root, 'charts/alcor-operator');
const example = (name: string) => readFileSync(join(root, 'examples', `${name}.yaml`), 'utf8');

function helm(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(join(inject('binDir'), 'helm'), [...args, '--kubeconfig', inject('kubeconfig')], { maxBuffer: 16 * 1024 * 1024, timeout: 170_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`helm ${args.join(' ')}: ${stderr || String(err)}`));
      else resolve(stdout);
    });
  });
}

/** kubectl as the operator's ServiceAccount. */
const asOperator = (args: string[]) => kubectl(['--kubeconfig', tokenKubeconfig, ...args]);

/** `alcor-operator run` as a process, with the given kubeconfig (e2e/operator.ts always uses the admin one). */
async function startOperatorAs(kubeconfig: string, leaseNamespace: string, leaseId: string) {
  const probePort = await freePort();
  const metricsPort = await freePort();
  const logFile = join(tmpdir(), `alcor-operator-rbac-${process.pid}-${Date.now()}.log`);
  const child: ChildProcess = spawn(
    process.execPath,
    [
      join(root, 'src/cli/main.ts'),
      'run',
      '--kubeconfig',
      kubeconfig,
      '--metrics-bind-address',
      `127.0.0.1:${metricsPort}`,
      '--health-probe-bind-address',
      `127.0.0.1:${probePort}`,
      '--leader-elect',
      '--leader-election-namespace',
      leaseNamespace,
      '--leader-election-id',
      leaseId,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } },
  );
  const out = createWriteStream(logFile);
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    logFile,
    ready: async () => {
      try {
        return (await fetch(`http://127.0.0.1:${probePort}/readyz`)).status === 200;
      } catch {
        return false;
      }
    },
    metrics: async () => (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text(),
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

interface Resource {
  metadata: { name: string; generation: number };
  status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] };
}

const release = `rbac-${Date.now().toString(36)}`;
const sa = `${release}-alcor-operator`;
let opNs = '';
let ns = '';
let tokenKubeconfig = '';
let op: Awaited<ReturnType<typeof startOperatorAs>> | undefined;

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', join(root, 'crds')]);
  // Retried: `kubectl wait` fails outright while a new CRD has no conditions yet.
  await waitEstablished(['macpools.alcor.dev', 'dhcpsubnets.alcor.dev', 'dataplanemanagers.alcor.dev', 'dhcpreservations.alcor.dev']);
  opNs = await createNamespace('e2e-rbac-op');
  ns = await createNamespace('e2e-rbac');
  await ensureNamespace(EXAMPLE_IGNITE_NAMESPACE);
  // The CRDs are applied above (other test files share them): not the release's.
  await helm(['install', release, chartDir, '-n', opNs, '--set', 'crds.install=false']);

  // A kubeconfig holding the chart ServiceAccount's token: server and CA from the admin one.
  const token = (await kubectlOk(['-n', opNs, 'create', 'token', sa, '--duration=2h'])).trim();
  const admin = await getJson<{ clusters: { cluster: Record<string, string> }[] }>(['config', 'view', '--raw', '--minify']);
  const cluster = admin.clusters[0]!.cluster;
  const ca = cluster['certificate-authority-data'] ?? Buffer.from(readFileSync(cluster['certificate-authority']!)).toString('base64');
  tokenKubeconfig = join(tmpdir(), `alcor-operator-sa-${process.pid}-${Date.now()}.kubeconfig`);
  writeFileSync(
    tokenKubeconfig,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: cluster['server'], 'certificate-authority-data': ca } }],
      users: [{ name: 'operator', user: { token } }],
      contexts: [{ name: 'operator', context: { cluster: 'c', user: 'operator' } }],
      'current-context': 'operator',
    }),
    { mode: 0o600 },
  );
  expect((await asOperator(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}'])).stdout).toBe(`system:serviceaccount:${opNs}:${sa}`);

  op = await startOperatorAs(tokenKubeconfig, opNs, `${release}-leader`);
  await eventually('operator ready under the ServiceAccount', () => op!.ready(), 60_000);
});

afterAll(async () => {
  await op?.stop();
  await kubectl(['-n', ns, 'delete', 'macpools,dhcpsubnets,dataplanemanagers,dhcpreservations', '--all', '--wait=false']);
  await helm(['uninstall', release, '-n', opNs]).catch(() => undefined);
  await kubectl(['delete', 'namespace', ns, opNs, '--wait=false']);
});

describe('operator under the chart ServiceAccount', () => {
  it('reconciles every example to Ready and holds the leader Lease', async () => {
    for (const name of ['macpool', 'dhcpsubnet', 'dataplanemanager']) await kubectlOk(['-n', ns, 'apply', '-f', '-'], example(name));
    for (const [kind, name] of [
      ['macpool', 'tenant-macs'],
      ['dhcpsubnet', 'tenant-net'],
      ['dataplanemanager', 'dpm'],
    ] as const) {
      await eventually(
        `${kind}/${name} Ready`,
        async () => {
          const r = await getJson<Resource>(['-n', ns, 'get', kind, name]);
          return r.status?.observedGeneration === r.metadata.generation && r.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        },
        90_000,
      );
    }
    // A DhcpReservation's status (no dhcpd runs on kwok's pods: its servers have not loaded it).
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], example('dhcpreservation'));
    await eventually(
      'dhcpreservation/db-1 status',
      async () => (await getJson<{ status?: { state?: string; reason?: string } }>(['-n', ns, 'get', 'dhcpreservation', 'db-1'])).status?.reason === 'NotServedYet',
      30_000,
    );
    // The children, including the allocator's own Role (granting Leases, which the operator must hold to grant).
    for (const obj of ['statefulset/tenant-macs-macd', 'role/tenant-macs-macd', 'rolebinding/tenant-macs-macd', 'networkpolicy/tenant-macs-macd', 'deployment/dpm']) await kubectlOk(['-n', ns, 'get', obj]);
    const lease = await getJson<{ spec: { holderIdentity?: string } }>(['-n', opNs, 'get', 'lease', `${release}-leader`]);
    expect(lease.spec.holderIdentity).toBeTruthy();
  });

  it('puts back a deleted child', async () => {
    await kubectlOk(['-n', ns, 'delete', 'configmap', 'tenant-macs-macd']);
    await eventually('ConfigMap restored', async () => (await kubectl(['-n', ns, 'get', 'configmap', 'tenant-macs-macd'])).code === 0, 15_000);
  });

  it('puts back a hand-edited Service port (a DELETE and re-create) and follows a spec change', async () => {
    const port = (await getJson<{ spec: { ports: { port: number }[] } }>(['-n', ns, 'get', 'service', 'tenant-macs-macd'])).spec.ports[0]!.port;
    await kubectlOk(['-n', ns, 'patch', 'service', 'tenant-macs-macd', '--type=json', '-p', JSON.stringify([{ op: 'replace', path: '/spec/ports/0/port', value: 9999 }])]);
    await eventually(
      'Service port restored',
      async () => (await getJson<{ spec: { ports: { port: number }[] } }>(['-n', ns, 'get', 'service', 'tenant-macs-macd'])).spec.ports[0]!.port === port,
      15_000,
    );
    // The re-create was told in an Event (create on events: a new resource
    // that comes up Ready gets none, its status says it).
    await eventually(
      'the ChildRecreated Event',
      async () => (await getJson<{ items: unknown[] }>(['-n', ns, 'get', 'events', '--field-selector', 'involvedObject.kind=MacPool,reason=ChildRecreated'])).items.length > 0,
      30_000,
    );
    await kubectlOk(['-n', ns, 'patch', 'macpool', 'tenant-macs', '--type=merge', '-p', JSON.stringify({ spec: { allocator: { replicas: 1 } } })]);
    await eventually(
      'StatefulSet scaled to 1',
      async () => (await getJson<{ spec: { replicas: number } }>(['-n', ns, 'get', 'statefulset', 'tenant-macs-macd'])).spec.replicas === 1,
      15_000,
    );
  });

  it('met no 403 along the way', async () => {
    // Other test files delete their namespaces as this one runs: an Event for
    // a resource there is refused because the namespace is terminating. That
    // 403 is the namespace lifecycle's, not RBAC's; every other one counts.
    const lines = readFileSync(op!.logFile, 'utf8').split('\n');
    const terminating = lines.filter((l) => /because it is being terminated/.test(l));
    expect(lines.filter((l) => !/because it is being terminated/.test(l)).join('\n')).not.toMatch(/forbidden|"status":403|\b403\b/i);
    const refused = metricSum(await op!.metrics(), 'rest_client_requests_total', { code: '403' });
    expect(refused).toBe(terminating.length);
  });

  it('is refused what its ClusterRole does not grant', async () => {
    const secrets = await asOperator(['get', 'secrets', '-A']);
    expect(secrets.code).not.toBe(0);
    expect(secrets.stderr).toMatch(/Forbidden|forbidden/);
    expect(secrets.stderr).toContain(`system:serviceaccount:${opNs}:${sa}`);
    for (const [verb, resource] of [
      ['get', 'secrets'],
      ['delete', 'pods'],
      ['list', 'endpoints'],
      ['delete', 'macpools.alcor.dev'],
      ['create', 'clusterroles.rbac.authorization.k8s.io'],
      ['escalate', 'roles.rbac.authorization.k8s.io'],
    ] as const) {
      const res = await asOperator(['auth', 'can-i', verb, resource, '-n', ns]);
      expect(res.stdout.trim(), `${verb} ${resource}`).toBe('no');
    }
    // And what it must do is allowed (the check itself can say yes).
    expect((await asOperator(['auth', 'can-i', 'patch', 'statefulsets.apps', '-n', ns])).stdout.trim()).toBe('yes');
    const endpoints = await asOperator(['-n', ns, 'get', 'endpoints']);
    expect(endpoints.stderr).toMatch(/forbidden/i);
  });
});

describe("users' roles from the chart", () => {
  /** kubectl as a user (impersonated, as the admin may) in the test namespace. */
  const as = (user: string, args: string[], input?: string) => kubectl(['--as', user, '-n', ns, ...args], input);
  const can = async (user: string, verb: string, resource: string) => (await as(user, ['auth', 'can-i', verb, resource])).stdout.trim();

  beforeAll(async () => {
    // A team bound to the narrow reservation role alone; others to Kubernetes' own view, edit, admin.
    await kubectlOk(['-n', ns, 'create', 'rolebinding', 'team-reservations', '--clusterrole', 'alcor-dhcpreservation-editor', '--user', 'team-a']);
    for (const role of ['view', 'edit', 'admin']) await kubectlOk(['-n', ns, 'create', 'rolebinding', `user-${role}`, '--clusterrole', role, '--user', `${role}-user`]);
  });

  it('a team owns its DhcpReservations without being able to edit the DhcpSubnet', async () => {
    expect(await can('team-a', 'create', 'dhcpreservations.alcor.dev')).toBe('yes');
    expect(await can('team-a', 'get', 'dhcpsubnets.alcor.dev')).toBe('yes');
    for (const [verb, resource] of [['patch', 'dhcpsubnets.alcor.dev'], ['delete', 'dhcpsubnets.alcor.dev'], ['create', 'macpools.alcor.dev'], ['get', 'configmaps']] as const) {
      expect(await can('team-a', verb, resource), `${verb} ${resource}`).toBe('no');
    }
    // For real, through admission: its own reservation yes, the subnet no.
    const mine = example('dhcpreservation').replace('name: db-1', 'name: team-a-host').replace('aa:bb:cc:00:10:02', 'aa:bb:cc:00:10:03').replace('10.20.0.11', '10.20.0.12');
    const created = await as('team-a', ['apply', '-f', '-'], mine);
    expect(created.code, created.stderr).toBe(0);
    const patched = await as('team-a', ['patch', 'dhcpsubnet', 'tenant-net', '--type=merge', '-p', '{"spec":{"leaseTime":"1h"}}']);
    expect(patched.code).not.toBe(0);
    expect(patched.stderr).toMatch(/forbidden/i);
  });

  it('aggregates into view, edit and admin: edit writes DhcpReservations only, admin every kind', async () => {
    // Aggregation is the controller manager's, a moment after install.
    await eventually('edit can create DhcpReservations', async () => (await can('edit-user', 'create', 'dhcpreservations.alcor.dev')) === 'yes', 30_000);
    expect(await can('edit-user', 'patch', 'dhcpsubnets.alcor.dev')).toBe('no');
    expect(await can('edit-user', 'list', 'macpools.alcor.dev')).toBe('yes');
    await eventually('view can list DhcpSubnets', async () => (await can('view-user', 'list', 'dhcpsubnets.alcor.dev')) === 'yes', 30_000);
    expect(await can('view-user', 'create', 'dhcpreservations.alcor.dev')).toBe('no');
    await eventually('admin can patch DhcpSubnets', async () => (await can('admin-user', 'patch', 'dhcpsubnets.alcor.dev')) === 'yes', 30_000);
    expect(await can('admin-user', 'delete', 'macpools.alcor.dev')).toBe('yes');
  });
});
