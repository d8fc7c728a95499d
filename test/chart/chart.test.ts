// The Helm chart: lint, the install bundle and CRDs in step with their
// sources, values.schema.json refusing bad values, and the operator's
// ClusterRole granting exactly what the code calls.
import { beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { chartDir, installFile, renderInstall } from '../../scripts/render-install.ts';
import { childTypes, LeaseType } from '../../src/controllers/resources.ts';

const root = join(import.meta.dirname, '../..');
let helm = 'helm';

// helm comes from the local cluster's build (cached; the first build on a
// fresh machine takes minutes), or $HELM.
beforeAll(async () => {
  if (process.env['HELM']) {
    helm = process.env['HELM'];
    return;
  }
  const dir = await new Promise<string>((resolve, reject) =>
    execFile('bash', [join(root, 'e2e/cluster/build.sh')], { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => (err ? reject(new Error(`e2e/cluster/build.sh: ${stderr}`)) : resolve(stdout.trim().split('\n').at(-1) ?? ''))),
  );
  helm = join(dir, 'helm');
}, 900_000);

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [k: string]: unknown;
}
interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs: string[];
}

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(helm, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr });
    });
  });
}
const template = (...args: string[]) => run(['template', 'rel', chartDir, '--namespace', 'ns1', '--kube-version', '1.34.0', ...args]);
const objects = (text: string): Obj[] =>
  parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
async function rendered(...args: string[]): Promise<Obj[]> {
  const res = await template(...args);
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
  return objects(res.stdout);
}
/** The ClusterRoles for people (fixed names, see templates/user-clusterroles.yaml). */
const USER_ROLES = ['alcor-viewer', 'alcor-operator-admin', 'alcor-dhcpreservation-editor', 'alcor-aggregate-to-view', 'alcor-aggregate-to-edit', 'alcor-aggregate-to-admin'];
/** The first object of a kind; for ClusterRoles, the operator's own. */
const find = (objs: Obj[], kind: string) => {
  const o = objs.find((x) => x.kind === kind && !(kind === 'ClusterRole' && USER_ROLES.includes(x.metadata.name)));
  if (!o) throw new Error(`no ${kind} among ${objs.map((x) => x.kind).join(', ')}`);
  return o;
};
/** Rules flattened to "group/resource verb" strings. */
const grants = (rules: Rule[]) => new Set(rules.flatMap((r) => (r.apiGroups ?? ['']).flatMap((g) => (r.resources ?? []).flatMap((res) => r.verbs.map((v) => `${g}/${res} ${v}`)))));

describe('chart', () => {
  it('passes helm lint --strict', async () => {
    const res = await run(['lint', chartDir, '--strict']);
    expect(res.code, res.stdout + res.stderr).toBe(0);
    expect(res.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
  });

  it('renders the CRDs of crds/ as templates, kept on uninstall; crds.install=false leaves them out', async () => {
    const ours = readdirSync(join(root, 'crds'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => parseAllDocuments(readFileSync(join(root, 'crds', f), 'utf8'))[0]!.toJS() as Obj);
    const crdsOf = (objs: Obj[]) => objs.filter((o) => o.kind === 'CustomResourceDefinition');
    const chart = crdsOf(await rendered());
    expect(chart.map((c) => c.metadata.name).sort()).toEqual(ours.map((c) => c.metadata.name).sort());
    for (const crd of chart) {
      const plain = ours.find((c) => c.metadata.name === crd.metadata.name)!;
      // Everything but the metadata is the generated CRD, byte for byte in meaning.
      expect({ ...crd, metadata: undefined }, crd.metadata.name).toEqual({ ...plain, metadata: undefined });
      expect((crd.metadata as { annotations?: Record<string, string> }).annotations).toEqual({ 'helm.sh/resource-policy': 'keep' });
      // Nothing of the release: the same labels whichever release (or kubectl) applied them last.
      expect(crd.metadata.labels).toEqual({ 'app.kubernetes.io/part-of': 'alcor', 'app.kubernetes.io/managed-by': 'Helm' });
      expect(crd.metadata.namespace).toBeUndefined();
    }
    const notKept = crdsOf(await rendered('--set', 'crds.keep=false'));
    expect(notKept).toHaveLength(4);
    for (const crd of notKept) expect((crd.metadata as { annotations?: unknown }).annotations).toBeUndefined();
    const without = await rendered('--set', 'crds.install=false');
    expect(crdsOf(without)).toHaveLength(0);
    expect(without.map((o) => o.kind)).toContain('Deployment');
    // No crds/ directory: Helm would install those once and never upgrade them.
    expect(existsSync(join(chartDir, 'crds'))).toBe(false);
  });

  it('manifests/install.yaml is the chart rendered with default values (npm run render:install)', () => {
    expect(readFileSync(installFile, 'utf8'), 'manifests/install.yaml drifted from the chart: run `npm run render:install`').toBe(renderInstall(helm));
    const objs = objects(readFileSync(installFile, 'utf8'));
    expect(objs.map((o) => o.kind)).toEqual(
      expect.arrayContaining(['Namespace', 'CustomResourceDefinition', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Deployment', 'PodDisruptionBudget', 'Service']),
    );
    expect(objs.filter((o) => o.kind === 'CustomResourceDefinition')).toHaveLength(4);
    for (const o of objs) if (!['Namespace', 'CustomResourceDefinition', 'ClusterRole', 'ClusterRoleBinding'].includes(o.kind)) expect(o.metadata.namespace, `${o.kind} ${o.metadata.name}`).toBe('alcor-system');
  });

  it('renders a restricted, leader-elected Deployment of 2 replicas with probes and requests', async () => {
    const dep = find(await rendered(), 'Deployment') as Obj & { spec: { replicas: number; template: { spec: Record<string, unknown> & { containers: Record<string, unknown>[] } } } };
    expect(dep.spec.replicas).toBe(2);
    const pod = dep.spec.template.spec;
    const c = pod.containers[0] as {
      image: string;
      args: string[];
      env: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
      livenessProbe: { httpGet: { path: string; port: string } };
      readinessProbe: { httpGet: { path: string; port: string } };
      ports: { name: string; containerPort: number }[];
      resources: { requests: Record<string, string> };
      securityContext: Record<string, unknown>;
    };
    expect(c.image).toBe('alcor-operator:0.3.0');
    expect(c.args[0]).toBe('run');
    expect(c.args).toEqual(expect.arrayContaining(['--leader-elect', '--metrics-bind-address=:8080', '--health-probe-bind-address=:8081']));
    const env = Object.fromEntries(c.env.map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]));
    expect(env).toMatchObject({ POD_NAMESPACE: 'metadata.namespace', POD_NAME: 'metadata.name', ALCOR_OPERATOR_IMAGE: 'alcor-operator:0.3.0' });
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(Object.fromEntries(c.ports.map((p) => [p.name, p.containerPort]))).toEqual({ metrics: 8080, health: 8081 });
    expect(Object.keys(c.resources.requests).sort()).toEqual(['cpu', 'memory']);
    // The restricted Pod Security Standard.
    expect(pod['securityContext']).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(c.securityContext).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    expect(pod['hostNetwork']).toBeUndefined();
    // The PodDisruptionBudget and metrics Service select the same pods.
    const objs = await rendered();
    const labels = (dep.spec.template as unknown as { metadata: { labels: Record<string, string> } }).metadata.labels;
    const pdb = find(objs, 'PodDisruptionBudget') as Obj & { spec: { selector: { matchLabels: Record<string, string> } } };
    const svc = find(objs, 'Service') as Obj & { spec: { selector: Record<string, string> } };
    expect(labels).toMatchObject(pdb.spec.selector.matchLabels);
    expect(labels).toMatchObject(svc.spec.selector);
    expect(objs.some((o) => o.kind === 'ServiceMonitor')).toBe(false);
  });

  it('names cluster-scoped objects after the release, so two releases never share one', async () => {
    const a = await rendered();
    const b = objects((await run(['template', 'other', chartDir, '--namespace', 'ns2', '--kube-version', '1.34.0'])).stdout);
    expect(find(a, 'ClusterRole').metadata.name).not.toBe(find(b, 'ClusterRole').metadata.name);
    expect(find(a, 'ClusterRoleBinding').metadata.name).not.toBe(find(b, 'ClusterRoleBinding').metadata.name);
  });

  it('a changed replicaCount changes only the Deployment replicas', async () => {
    const before = await rendered();
    const after = await rendered('--set', 'replicaCount=3');
    expect(after.length).toBe(before.length);
    for (const [i, o] of after.entries()) {
      if (o.kind !== 'Deployment') {
        expect(o).toEqual(before[i]);
        continue;
      }
      const d = o as Obj & { spec: { replicas: number } };
      expect(d.spec.replicas).toBe(3);
      expect({ ...d, spec: { ...d.spec, replicas: 2 } }).toEqual(before[i]);
    }
  });

  it('optional pieces: ServiceMonitor, DHCP namespaces with their Pod Security level', async () => {
    const objs = await rendered('--set', 'metrics.serviceMonitor.enabled=true', '--set', 'dhcpNamespaces[0].name=dhcp-relay', '--set', 'dhcpNamespaces[0].podSecurity=baseline');
    expect(find(objs, 'ServiceMonitor').metadata.namespace).toBe('ns1');
    const ns = find(objs, 'Namespace') as Obj & { metadata: { annotations: Record<string, string> } };
    expect(ns.metadata.name).toBe('dhcp-relay');
    expect(ns.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('baseline');
    expect(ns.metadata.annotations['helm.sh/resource-policy']).toBe('keep');
  });
});

describe('values.schema.json', () => {
  const bad: [string[], RegExp][] = [
    [['--set', 'replicaCount=0'], /\/replicaCount.*minimum/],
    [['--set', 'replicaCount=two'], /\/replicaCount/],
    [['--set', 'image.pullPolicy=Sometimes'], /\/image\/pullPolicy.*Always, IfNotPresent, Never|\/image\/pullPolicy.*one of/],
    [['--set', 'logLevel=loud'], /\/logLevel/],
    [['--set', 'resyncPeriod=often'], /\/resyncPeriod/],
    [['--set', 'metrics.port=70000'], /\/metrics\/port.*maximum/],
    [['--set', 'resources.requests.cpu=lots'], /\/resources\/requests\/cpu/],
    [['--set', 'replicas=3'], /additional propert(y|ies) 'replicas'/],
    [['--set', 'dhcpNamespaces[0].name=dhcp', '--set', 'dhcpNamespaces[0].podSecurity=restricted'], /\/dhcpNamespaces\/0\/podSecurity/],
    [['--set', 'dhcpNamespaces[0].name=Bad_Name', '--set', 'dhcpNamespaces[0].podSecurity=baseline'], /\/dhcpNamespaces\/0\/name/],
  ];
  it.each(bad)('refuses %j with a message naming the value', async (args, message) => {
    const res = await template(...args);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/values don't meet the specifications of the schema/);
    expect(res.stderr).toMatch(message);
  });

  it('accepts the defaults and sensible overrides', async () => {
    await rendered('--set', 'replicaCount=3', '--set', 'image.tag=1.2.3', '--set', 'resources.requests.cpu=250m', '--set', 'podDisruptionBudget.maxUnavailable=50%');
  });
});

describe('operator RBAC (least privilege)', () => {
  const expected = new Set<string>();
  const add = (group: string, resources: string[], verbs: string[]) => resources.forEach((r) => verbs.forEach((v) => expected.add(`${group}/${r} ${v}`)));
  add('alcor.dev', ['macpools', 'dhcpsubnets', 'dataplanemanagers', 'dhcpreservations'], ['get', 'list', 'watch']);
  add('alcor.dev', ['macpools/status', 'dhcpsubnets/status', 'dataplanemanagers/status', 'dhcpreservations/status'], ['get', 'patch', 'update']);
  add('alcor.dev', ['macpools/finalizers', 'dhcpsubnets/finalizers', 'dataplanemanagers/finalizers'], ['update']);
  add('', ['configmaps', 'services', 'serviceaccounts'], ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete']);
  add('apps', ['statefulsets', 'deployments', 'daemonsets'], ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete']);
  add('policy', ['poddisruptionbudgets'], ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete']);
  add('networking.k8s.io', ['networkpolicies'], ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete']);
  add('rbac.authorization.k8s.io', ['roles', 'rolebindings'], ['get', 'list', 'watch', 'create', 'patch', 'update', 'delete']);
  add('coordination.k8s.io', ['leases'], ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']);
  add('discovery.k8s.io', ['endpointslices'], ['get', 'list']);
  add('', ['events'], ['create', 'patch']);
  add('', ['pods'], ['list', 'watch']);
  add('', ['endpoints'], ['get']);

  const clusterRole = async () => find(await rendered(), 'ClusterRole') as Obj & { rules: Rule[] };

  it('grants exactly the expected verbs and resources, no wildcard, no secrets', async () => {
    const role = await clusterRole();
    expect([...grants(role.rules)].sort()).toEqual([...expected].sort());
    for (const r of role.rules) for (const x of [...(r.apiGroups ?? []), ...(r.resources ?? []), ...r.verbs]) expect(x).not.toContain('*');
    const resources = role.rules.flatMap((r) => r.resources ?? []);
    const verbs = role.rules.flatMap((r) => r.verbs);
    for (const forbidden of ['secrets', 'nodes', 'clusterroles', 'clusterrolebindings']) expect(resources).not.toContain(forbidden);
    // Pods and Endpoints: read only, and only the verbs used.
    for (const r of role.rules.filter((x) => (x.resources ?? []).some((res) => res === 'pods' || res === 'endpoints'))) expect(r.verbs.every((v) => ['get', 'list', 'watch'].includes(v))).toBe(true);
    for (const forbidden of ['escalate', 'bind', 'impersonate', 'deletecollection']) expect(verbs).not.toContain(forbidden);
  });

  it("aggregates into view, edit and admin: edit writes DhcpReservations and only reads the rest", async () => {
    const byName = new Map((await rendered()).filter((o) => o.kind === 'ClusterRole').map((r) => [r.metadata.name, r as Obj & { rules: Rule[] }]));
    const aggregatesTo = (name: string) =>
      Object.entries(byName.get(name)?.metadata.labels ?? {})
        .filter(([k, v]) => k.startsWith('rbac.authorization.k8s.io/aggregate-to-') && v === 'true')
        .map(([k]) => k.split('aggregate-to-')[1])
        .sort();
    expect(aggregatesTo('alcor-aggregate-to-view')).toEqual(['admin', 'edit', 'view']);
    expect(aggregatesTo('alcor-aggregate-to-edit')).toEqual(['admin', 'edit']);
    expect(aggregatesTo('alcor-aggregate-to-admin')).toEqual(['admin']);
    // Nothing else of ours aggregates (services/proxy, say, must not reach every viewer).
    expect([...byName.keys()].filter((n) => aggregatesTo(n).length > 0).sort()).toEqual(['alcor-aggregate-to-admin', 'alcor-aggregate-to-edit', 'alcor-aggregate-to-view']);
    const into = (role: string) => new Set([...byName.keys()].filter((n) => aggregatesTo(n).includes(role)).flatMap((n) => [...grants(byName.get(n)!.rules)]));
    const edit = into('edit');
    for (const kind of ['macpools', 'dhcpsubnets', 'dataplanemanagers', 'dhcpreservations']) expect(edit.has(`alcor.dev/${kind} list`)).toBe(true);
    expect([...edit].filter((g) => / (create|update|patch|delete)/.test(g)).map((g) => g.split(' ')[0])).toEqual(expect.arrayContaining(['alcor.dev/dhcpreservations']));
    expect([...edit].filter((g) => / (create|update|patch|delete)/.test(g)).every((g) => g.startsWith('alcor.dev/dhcpreservations '))).toBe(true);
    expect(into('view').has('alcor.dev/dhcpreservations create')).toBe(false);
    expect(into('admin').has('alcor.dev/dhcpsubnets patch')).toBe(true);
    const without = (await rendered('--set', 'userRoles.aggregate=false')).filter((o) => o.kind === 'ClusterRole').map((o) => o.metadata.name);
    expect(without.filter((n) => n.startsWith('alcor-aggregate'))).toEqual([]);
  });

  it('covers every child kind and the Lease type the controllers use', async () => {
    const g = grants((await clusterRole()).rules);
    for (const t of [...Object.values(childTypes), LeaseType]) {
      for (const v of ['get', 'list', 'watch', 'create', 'patch', 'update']) expect(g.has(`${t.group}/${t.plural} ${v}`), `${t.group}/${t.plural} ${v}`).toBe(true);
    }
    for (const t of Object.values(childTypes)) expect(g.has(`${t.group}/${t.plural} delete`), `${t.group}/${t.plural} delete`).toBe(true);
  });

  it("holds every permission of the Roles the operator renders for macd, dhcpd and Alcor's services (RBAC refuses granting more)", async () => {
    const g = grants((await clusterRole()).rules);
    const node = process.execPath;
    let roles = 0;
    for (const example of ['macpool', 'macpool-alcor', 'dhcpsubnet', 'dataplanemanager']) {
      const out = execFileSync(node, [join(root, 'src/cli/main.ts'), 'render', '-f', join(root, 'examples', `${example}.yaml`)], { encoding: 'utf8' });
      for (const o of objects(out)) {
        if (o.kind !== 'Role') continue;
        roles++;
        for (const grant of grants((o as Obj & { rules: Rule[] }).rules)) expect(g.has(grant), `${example} Role ${o.metadata.name}: ${grant}`).toBe(true);
      }
    }
    expect(roles).toBeGreaterThan(0);
  });
});

describe('ClusterRoles for people (kubectl alcor)', () => {
  const role = async (name: string, ...args: string[]) => (await rendered(...args)).find((o) => o.kind === 'ClusterRole' && o.metadata.name === name) as (Obj & { rules: Rule[] }) | undefined;

  it('alcor-viewer reads the resources and, through the service proxy, the servers (GET only)', async () => {
    const g = grants((await role('alcor-viewer'))!.rules);
    expect([...g].filter((x) => x.startsWith('/services/proxy'))).toEqual(['/services/proxy get']);
    for (const r of ['macpools', 'dhcpsubnets', 'dataplanemanagers']) expect(g.has(`alcor.dev/${r} list`)).toBe(true);
    expect([...g].some((x) => / (create|update|patch|delete)$/.test(x))).toBe(false);
  });

  it('alcor-operator-admin also releases, restores and imports (services/proxy writes) and manages the resources', async () => {
    const g = grants((await role('alcor-operator-admin'))!.rules);
    for (const v of ['get', 'create', 'delete']) expect(g.has(`/services/proxy ${v}`)).toBe(true);
    for (const v of ['create', 'patch', 'delete']) expect(g.has(`alcor.dev/macpools ${v}`)).toBe(true);
    for (const forbidden of ['secrets', 'pods', 'pods/proxy', 'nodes/proxy']) expect([...g].some((x) => x.includes(`/${forbidden} `))).toBe(false);
  });

  it('alcor-dhcpreservation-editor writes DhcpReservations and only reads DhcpSubnets', async () => {
    const g = grants((await role('alcor-dhcpreservation-editor'))!.rules);
    expect([...g].sort()).toEqual(
      [...['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'].map((v) => `alcor.dev/dhcpreservations ${v}`), ...['get', 'list', 'watch'].map((v) => `alcor.dev/dhcpsubnets ${v}`)].sort(),
    );
  });

  it('userRoles.create=false leaves them out (a second release)', async () => {
    expect(await role('alcor-viewer', '--set', 'userRoles.create=false')).toBeUndefined();
  });

  it('apiServerCIDRs reach the operator as --api-server-cidrs; a malformed one is refused', async () => {
    const dep = find(await rendered('--set', 'apiServerCIDRs={10.0.0.0/28,172.18.0.2}'), 'Deployment') as Obj & { spec: { template: { spec: { containers: { args: string[] }[] } } } };
    expect(dep.spec.template.spec.containers[0]!.args).toContain('--api-server-cidrs=10.0.0.0/28,172.18.0.2');
    const bad = await template('--set', 'apiServerCIDRs={10.0.0.0/33}');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('apiServerCIDRs');
  });
});
