// Pod Security: the operator (chart) and the pods it renders for macd, dhcpd
// in relay mode and the Data Plane Manager are admitted in a namespace that
// enforces `restricted`; dhcpd in nodeLocal mode (host networking) is refused
// there and admitted in a `privileged` namespace the chart creates for it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { createNamespace, ensureNamespace, EXAMPLE_IGNITE_NAMESPACE, eventually, getJson, kubectl, kubectlOk } from './kubectl.ts';

const root = join(import.meta.dirname, '..');
const chartDir = join(root, 'charts/alcor-operator');

function helm(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(join(inject('binDir'), 'helm'), [...args, '--kubeconfig', inject('kubeconfig')], { maxBuffer: 16 * 1024 * 1024, timeout: 170_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`helm ${args.join(' ')}: ${stderr || String(err)}`));
      else resolve(stdout);
    });
  });
}

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
}
interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec: Record<string, unknown>;
}

/** `alcor-operator render` of a resource (no uid: no ownerReferences), for namespace `namespace`. */
function render(yamlText: string, namespace: string): Obj[] {
  const out = execFileSync(process.execPath, [join(root, 'src/cli/main.ts'), 'render', '-f', '-', '-n', namespace], { input: yamlText, encoding: 'utf8' });
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

/** A Pod made of a workload's pod template, to ask admission about it directly. */
function podOf(workload: Obj, namespace: string, name: string): string {
  const template = (workload.spec as { template: PodTemplate }).template;
  return stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: template.metadata?.labels ?? {} }, spec: template.spec });
}

const release = `psa-${Date.now().toString(36)}`;
const dhcpNs = `${release}-dhcp`;
let ns = '';
let installed = false;

const macpool = readExample('macpool');
const dhcpsubnet = readExample('dhcpsubnet');
const dataplanemanager = readExample('dataplanemanager');
const macpoolAlcor = readExample('macpool-alcor');
function readExample(name: string): string {
  return readFileSync(join(root, 'examples', `${name}.yaml`), 'utf8');
}

beforeAll(async () => {
  ns = await createNamespace('e2e-psa');
  await ensureNamespace(EXAMPLE_IGNITE_NAMESPACE);
  for (const mode of ['enforce', 'warn', 'audit']) await kubectlOk(['label', 'namespace', ns, `pod-security.kubernetes.io/${mode}=restricted`, `pod-security.kubernetes.io/${mode}-version=latest`]);
});

afterAll(async () => {
  if (installed) await helm(['uninstall', release, '-n', ns]).catch(() => undefined);
  await kubectl(['delete', 'namespace', ns, dhcpNs, '--wait=false', '--ignore-not-found']);
});

describe('restricted Pod Security Standard', () => {
  it('the namespace really enforces restricted: a pod without a securityContext is refused', async () => {
    const res = await kubectl(['-n', ns, 'run', 'plain', '--image=busybox', '--restart=Never', '--dry-run=server']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/violates PodSecurity "restricted:latest"/);
  });

  it('helm install into it: the operator pods are admitted and the Deployment becomes Available', async () => {
    // The CRDs are the suite's (other files apply crds/): the release leaves them alone.
    await helm(['install', release, chartDir, '-n', ns, '--set', 'crds.install=false', '--set', `dhcpNamespaces[0].name=${dhcpNs}`, '--set', 'dhcpNamespaces[0].podSecurity=privileged', '--wait', '--timeout', '120s']);
    installed = true;
    const dep = await eventually('operator Available', async () => {
      const d = await getJson<{ status?: { readyReplicas?: number; conditions?: { type: string; status: string }[] } }>(['-n', ns, 'get', 'deployment', `${release}-alcor-operator`]);
      return d.status?.readyReplicas === 2 && d.status.conditions?.some((c) => c.type === 'Available' && c.status === 'True') ? d : undefined;
    });
    expect(dep.status?.readyReplicas).toBe(2);
    const pods = await getJson<{ items: unknown[] }>(['-n', ns, 'get', 'pods', '-l', `app.kubernetes.io/instance=${release}`]);
    expect(pods.items).toHaveLength(2);
    const failed = await getJson<{ items: unknown[] }>(['-n', ns, 'get', 'events', '--field-selector', 'reason=FailedCreate']);
    expect(failed.items).toHaveLength(0);
  });

  it("a MacPool's macd StatefulSet, relay-mode dhcpd, the Data Plane Manager and Alcor's MAC manager get their pods there", async () => {
    const objs = [...render(macpool, ns), ...render(dhcpsubnet, ns), ...render(dataplanemanager, ns), ...render(macpoolAlcor, ns)];
    const workloads = objs.filter((o) => ['StatefulSet', 'Deployment', 'DaemonSet'].includes(o.kind));
    expect(workloads.map((w) => `${w.kind}/${w.metadata.name}`).sort()).toEqual(['Deployment/alcor-macs-macmanager', 'Deployment/dpm', 'StatefulSet/tenant-macs-macd', 'StatefulSet/tenant-net-dhcpd']);
    // Objects carry their namespace (the Role Ignite's discovery needs lives in Ignite's).
    await kubectlOk(['apply', '--server-side', '-f', '-'], objs.map((o) => `---\n${stringify(o)}`).join(''));
    for (const w of workloads) {
      const replicas = (w.spec as { replicas?: number }).replicas ?? 1;
      const selector = Object.entries((w.spec as { selector: { matchLabels: Record<string, string> } }).selector.matchLabels)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      await eventually(
        `${w.kind}/${w.metadata.name}: ${replicas} pods admitted`,
        async () => (await getJson<{ items: unknown[] }>(['-n', ns, 'get', 'pods', '-l', selector])).items.length === replicas,
        60_000,
      );
    }
    const failed = await getJson<{ items: { message: string }[] }>(['-n', ns, 'get', 'events', '--field-selector', 'reason=FailedCreate']);
    expect(failed.items.map((e) => e.message)).toEqual([]);
  });

  it('nodeLocal dhcpd (host networking) is refused there and admitted in the privileged namespace the chart made for it', async () => {
    const labels = (await getJson<{ metadata: { labels: Record<string, string> } }>(['get', 'namespace', dhcpNs])).metadata.labels;
    expect(labels['pod-security.kubernetes.io/enforce']).toBe('privileged');
    const nodeLocal = dhcpsubnet.replace(/mode: relay/, 'mode: nodeLocal');
    expect(nodeLocal).not.toBe(dhcpsubnet);
    const ds = render(nodeLocal, ns).find((o) => o.kind === 'DaemonSet');
    expect(ds, 'nodeLocal renders a DaemonSet').toBeDefined();
    const refused = await kubectl(['create', '--dry-run=server', '-f', '-'], podOf(ds!, ns, 'dhcpd-probe'));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/violates PodSecurity "restricted:latest".*host namespaces/);
    // Its ServiceAccount and the rest, so that only Pod Security can refuse the pod.
    const objs = render(nodeLocal, dhcpNs);
    await kubectlOk(['-n', dhcpNs, 'apply', '--server-side', '-f', '-'], objs.map((o) => `---\n${stringify(o)}`).join(''));
    const admitted = await kubectl(['create', '--dry-run=server', '-f', '-'], podOf(objs.find((o) => o.kind === 'DaemonSet')!, dhcpNs, 'dhcpd-probe'));
    expect(admitted.stderr).toBe('');
    expect(admitted.code).toBe(0);
  });
});
