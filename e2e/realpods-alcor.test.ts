// Alcor's own services as real pods under the operator: a real-pod cluster of
// its own (containerd node), the images `npm run image:alcor` builds from
// Alcor's prebuilt jars imported into its containerd, Ignite in Alcor's shape
// (examples/ignite.yaml), the operator installed by its chart, and then a
// DataPlaneManager and an engine-alcor MacPool (the examples) that become
// Ready only because their /actuator/health probes pass. A MAC is allocated
// through the pool's Service from a pod of an allowed namespace and outlives
// its MAC manager pod (Ignite holds it); a DPM spec change rolls the pods.
// Skips with the reason where containers can't run or the jars are absent.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse, stringify } from 'yaml';
import { buildAlcorImages, imageMissingReason, importAlcorImages, type AlcorImages } from '../scripts/image-alcor.ts';
import { startCluster, type Cluster } from './cluster/cluster.ts';
import { hostLeftovers, iptablesChains, readSysctls } from './cluster/host.ts';
import { BRIDGE, missingForNode, nodeFiles } from './cluster/node.ts';
import { podReady, tools, until, type Tools } from './realpods/kube.ts';

const root = join(import.meta.dirname, '..');
const skipReason = process.env['E2E_KUBECONFIG']
  ? 'real pods run on the local cluster only (E2E_KUBECONFIG is set)'
  : process.env['E2E_REAL_PODS'] === '0'
    ? 'E2E_REAL_PODS=0'
    : missingForNode() || (imageMissingReason() ?? '');
if (skipReason) process.stderr.write(`[realpods-alcor] skipped: ${skipReason}\n`);

const OP_NS = 'alcor-system';
const NS = 'tenant-a';
const IGNITE_NS = 'ignite-alcor';
const example = (name: string) => parse(readFileSync(join(root, 'examples', `${name}.yaml`), 'utf8')) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };

interface Pod {
  metadata: { name: string; uid: string; creationTimestamp: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { containers: { name: string; readinessProbe?: { httpGet?: { path: string } } }[] };
  status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string; lastTransitionTime?: string }[]; containerStatuses?: { containerID?: string; restartCount: number; ready: boolean }[] };
}
interface Resource {
  metadata: { generation: number };
  status?: { observedGeneration?: number; conditions?: { type: string; status: string; reason: string; message: string }[] };
}

const figures: string[] = [];

describe.skipIf(skipReason !== '')("Alcor's services as real pods (containerd node)", () => {
  let cluster: Cluster;
  let k: Tools;
  let images: AlcorImages;
  let mac = '';

  const pods = async (namespace: string, selector: string) => (await k.json<{ items: Pod[] }>(['-n', namespace, 'get', 'pods', '-l', selector])).items;
  const resource = (kind: string, name: string) => k.json<Resource>(['-n', NS, 'get', kind, name]);
  const ready = (r: Resource) => r.status?.conditions?.find((c) => c.type === 'Ready');
  /** Seconds from a pod's creation to its Ready condition. */
  const startSeconds = (p: Pod) => {
    const at = p.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True')?.lastTransitionTime;
    return at ? (Date.parse(at) - Date.parse(p.metadata.creationTimestamp)) / 1000 : NaN;
  };
  /** RSS of a pod's first container, read from /proc through its containerd task. */
  const rssMiB = (p: Pod) => {
    const id = (p.status?.containerStatuses?.[0]?.containerID ?? '').replace(/^containerd:\/\//, '');
    const crictl = join(cluster.binDir, 'crictl');
    const info = JSON.parse(execFileSync(crictl, ['--runtime-endpoint', `unix://${nodeFiles(cluster.dir).socket}`, 'inspect', id], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as { info?: { pid?: number } };
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${info.info?.pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  };
  /** Runs a Node script in a throw-away pod of the operator image in `namespace`; returns its output. */
  const inPod = async (namespace: string, name: string, script: string) => {
    await k.kubectl([
      '-n', namespace, 'run', name, '--restart=Never', `--image=${cluster.images!.operatorImage}`, '--image-pull-policy=Never',
      '--overrides', JSON.stringify({ spec: { securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } } } }),
      '--command', '--', 'node', '-e', script,
    ]);
    await until(`pod ${name} done`, async () => {
      const p = await k.json<Pod>(['-n', namespace, 'get', 'pod', name]);
      return p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed' ? p : undefined;
    }, 120_000);
    const out = await k.kubectl(['-n', namespace, 'logs', name]);
    await k.kubectl(['-n', namespace, 'delete', 'pod', name, '--wait=false']);
    return out;
  };
  const macManagerUrl = `http://alcor-macs-macmanager.${NS}.svc:9005`;

  let chainsBefore: Record<string, string[]> = {};
  let sysctlsBefore: Record<string, string> = {};

  beforeAll(async () => {
    chainsBefore = iptablesChains();
    sysctlsBefore = readSysctls();
    images = buildAlcorImages((l) => process.stderr.write(`[realpods-alcor] ${l}\n`));
    figures.push(`images ${images.cached ? 'found in the cache' : 'built'} in ${images.seconds.toFixed(1)}s (${[images.macManager, images.dpm, images.ignite].map((i) => `${i.image} ${(i.bytes / 1e6).toFixed(0)} MB`).join(', ')})`);
    cluster = await startCluster({ runtime: 'containerd', waitForHostMs: 900_000, log: (l) => process.stderr.write(`[realpods-alcor] ${l}\n`) });
    k = tools(cluster.binDir, cluster.kubeconfig);
    const t = Date.now();
    importAlcorImages(nodeFiles(cluster.dir).socket, images);
    figures.push(`imported into containerd in ${((Date.now() - t) / 1000).toFixed(1)}s`);
  }, 1_800_000);

  afterAll(async () => {
    await cluster?.stop();
    if (figures.length) process.stderr.write(`[realpods-alcor]\n  ${figures.join('\n  ')}\n`);
  }, 180_000);

  test('Ignite in Alcor\'s shape and the operator (Helm chart) run as pods', async () => {
    await k.kubectl(['apply', '-f', join(root, 'examples', 'ignite.yaml')]);
    const [repository, tag] = cluster.images!.operatorImage.split(':');
    await k.helm([
      'install', 'alcor', join(root, 'charts', 'alcor-operator'), '--namespace', OP_NS, '--create-namespace',
      '--set', 'replicaCount=1', '--set', `image.repository=${repository}`, '--set', `image.tag=${tag}`, '--set', 'image.pullPolicy=Never', '--wait', '--timeout', '180s',
    ]);
    const ignite = await until('Ignite pod Ready', async () => {
      const p = await pods(IGNITE_NS, 'app=ignite-alcor');
      return p.length === 1 && podReady(p[0]!) && p;
    }, 300_000);
    figures.push(`Ignite pod Ready ${startSeconds(ignite[0]!).toFixed(0)}s after creation, RSS ${rssMiB(ignite[0]!).toFixed(0)} MiB`);
  });

  test('a DataPlaneManager and an engine-alcor MacPool reach Ready because their /actuator/health probes pass', async () => {
    await k.kubectl(['create', 'namespace', NS]);
    // The examples as they are, one replica each on this small node.
    const pool = example('macpool-alcor');
    const dpm = example('dataplanemanager');
    (pool.spec['allocator'] as Record<string, unknown>)['replicas'] = 1;
    dpm.spec['replicas'] = 1;
    await k.kubectl(['-n', NS, 'apply', '-f', '-'], [pool, dpm].map((o) => `---\n${stringify(o)}`).join(''));
    for (const [kind, name] of [['macpool', 'alcor-macs'], ['dataplanemanager', 'dpm']] as const) {
      const r = await until(`${kind} ${name} Ready`, async () => {
        const got = await resource(kind, name);
        return ready(got)?.status === 'True' && got.status?.observedGeneration === got.metadata.generation && got;
      }, 600_000);
      expect(ready(r)?.reason).toBe('ReplicasReady');
    }
    for (const [what, selector] of [['MAC manager', 'app.kubernetes.io/name=macmanager'], ['DPM', 'app.kubernetes.io/name=dataplanemanager']] as const) {
      const [p] = await pods(NS, selector);
      // Ready from the kubelet's probe of Alcor's health endpoint: nothing else sets it.
      expect(p!.spec.containers[0]!.readinessProbe?.httpGet?.path).toBe('/actuator/health');
      expect(podReady(p!)).toBe(true);
      figures.push(`${what} pod Ready ${startSeconds(p!).toFixed(0)}s after creation, RSS ${rssMiB(p!).toFixed(0)} MiB`);
    }
  });

  test("a MAC allocated through the pool's Service, from a pod of an allowed namespace, carries the pool's OUI", async () => {
    const out = await inPod(
      OP_NS,
      'mac-client',
      `fetch('${macManagerUrl}/macs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mac_state: { project_id: 'p1', vpc_id: 'v1', port_id: 'port-1' } }) })` +
        `.then(async (r) => console.log(r.status, await r.text()))`,
    );
    const [status, ...body] = out.trim().split(' ');
    expect(status, out).toBe('201');
    mac = (JSON.parse(body.join(' ')) as { mac_state: { mac_address: string } }).mac_state.mac_address;
    expect(mac.startsWith('aa:bb:cd:'), mac).toBe(true);
  });

  test('kubectl delete pod: the Deployment replaces the MAC manager, and the MAC is still allocated (Ignite holds it)', async () => {
    expect(mac).not.toBe('');
    const [before] = await pods(NS, 'app.kubernetes.io/name=macmanager');
    await k.kubectl(['-n', NS, 'delete', 'pod', before!.metadata.name, '--wait=true', '--timeout=120s']);
    const [after] = await until('a new MAC manager pod Ready', async () => {
      const p = await pods(NS, 'app.kubernetes.io/name=macmanager');
      return p.length === 1 && p[0]!.metadata.uid !== before!.metadata.uid && podReady(p[0]!) && p;
    }, 600_000);
    figures.push(`replacement MAC manager pod Ready ${startSeconds(after!).toFixed(0)}s after creation`);
    const out = await inPod(OP_NS, 'mac-check', `fetch('${macManagerUrl}/macs/${mac}').then(async (r) => console.log(r.status, await r.text()))`);
    const [status, ...body] = out.trim().split(' ');
    expect(status, out).toBe('200');
    const state = (JSON.parse(body.join(' ')) as { mac_state: { mac_address: string; state: string; port_id: string } }).mac_state;
    expect(state).toMatchObject({ mac_address: mac, state: 'Active', port_id: 'port-1' });
  });

  test('a DPM spec change (goal-state version) rolls its pods through the config checksum with a new pod serving first: Upgrading, Ready all along', async () => {
    const [before] = await pods(NS, 'app.kubernetes.io/name=dataplanemanager');
    const checksum = before!.metadata.annotations?.['alcor.dev/config-checksum'];
    await k.kubectl(['-n', NS, 'patch', 'dataplanemanager', 'dpm', '--type=merge', '-p', JSON.stringify({ spec: { goalStateVersion: 101 } })]);
    // While it rolls (maxUnavailable 0): the resource's conditions and the Deployment's available replicas, every second.
    const seen = new Set<string>();
    let leastAvailable = Infinity;
    const r = await until('DataPlaneManager Ready at the new generation', async () => {
      const got = await resource('dataplanemanager', 'dpm');
      const deployment = await k.json<{ status?: { availableReplicas?: number } }>(['-n', NS, 'get', 'deployment', 'dpm']);
      leastAvailable = Math.min(leastAvailable, deployment.status?.availableReplicas ?? 0);
      const progressing = got.status?.conditions?.find((c) => c.type === 'Progressing');
      seen.add(`Ready=${ready(got)?.status} Progressing=${progressing?.reason ?? ''}`);
      const p = await pods(NS, 'app.kubernetes.io/name=dataplanemanager');
      return ready(got)?.status === 'True' && progressing?.reason === 'RolloutComplete' && got.status?.observedGeneration === got.metadata.generation && p.length === 1 && p[0]!.metadata.uid !== before!.metadata.uid && podReady(p[0]!) && got;
    }, 600_000);
    expect([...seen], 'Progressing/Upgrading while it rolled, Ready all along').toContain('Ready=True Progressing=Upgrading');
    expect([...seen].filter((x) => x.startsWith('Ready=False'))).toEqual([]);
    expect(leastAvailable, 'the old pod served until the new one did').toBeGreaterThanOrEqual(1);
    expect(r.metadata.generation).toBeGreaterThan(1);
    const [after] = await pods(NS, 'app.kubernetes.io/name=dataplanemanager');
    expect(after!.metadata.annotations?.['alcor.dev/config-checksum']).not.toBe(checksum);
    const cm = await k.json<{ data: Record<string, string> }>(['-n', NS, 'get', 'configmap', 'dpm']);
    expect(cm.data['application.properties']).toContain('protobuf.goal-state-message.version=101\n');
    figures.push(`DPM pod rolled to version 101, Ready ${startSeconds(after!).toFixed(0)}s after creation`);
  });

  test("status says why from the pods: a MAC manager with no Ignite to find exits, and Ready=False says it keeps exiting", async () => {
    await k.kubectl(['-n', NS, 'apply', '-f', '-'], JSON.stringify({
      apiVersion: 'alcor.dev/v1alpha1',
      kind: 'MacPool',
      metadata: { name: 'no-ignite' },
      spec: { oui: '02:00:01', engine: 'alcor', allocator: { replicas: 1 }, alcor: { ignite: { serviceName: 'no-such-ignite' } } },
    }));
    const r = await until('Ready=False with the pods\' reason', async () => {
      const got = await resource('macpool', 'no-ignite');
      return ready(got)?.reason === 'ContainerCrashing' && got;
    }, 600_000);
    expect(ready(r)?.status).toBe('False');
    expect(ready(r)?.message).toMatch(/^Deployment no-ignite-macmanager: pods not ready: container macmanager keeps exiting \(last exit code \d+/);
    // Alcor's own words for it, in the log of the container that ran (or runs) before the next restart.
    const [p] = await pods(NS, 'app.kubernetes.io/instance=no-ignite');
    await until('IgniteClient is null in the MAC manager log', async () => {
      for (const previous of [true, false]) {
        const logs = await k.kubectl(['-n', NS, 'logs', p!.metadata.name, ...(previous ? ['--previous'] : [])]).catch(() => '');
        if (logs.includes('IgniteClient is null')) return true;
      }
      return false;
    }, 180_000);
  });

  test('deleting the resources and Ignite leaves nothing behind', async () => {
    await k.kubectl(['-n', NS, 'delete', 'macpool,dataplanemanager', '--all', '--wait=true', '--timeout=120s']);
    await until('the MAC manager and DPM pods and the Ignite discovery RBAC gone', async () => {
      const left = await k.json<{ items: unknown[] }>(['-n', NS, 'get', 'pods,deployments,services,configmaps,serviceaccounts', '-l', 'app.kubernetes.io/managed-by=alcor-operator']);
      const rbac = await k.json<{ items: unknown[] }>(['-n', IGNITE_NS, 'get', 'roles,rolebindings', '-l', 'app.kubernetes.io/managed-by=alcor-operator']);
      return left.items.length === 0 && rbac.items.length === 0;
    }, 180_000);
    await k.kubectl(['delete', '-f', join(root, 'examples', 'ignite.yaml'), '--wait=true', '--timeout=180s']);
    await k.kubectl(['delete', 'namespace', NS, '--wait=true', '--timeout=180s']);
    const left = await k.json<{ items: { metadata: { namespace: string; name: string } }[] }>(['get', 'pods', '-A']);
    expect(left.items.filter((p) => [NS, IGNITE_NS].includes(p.metadata.namespace)).map((p) => p.metadata.name)).toEqual([]);
    // And on the machine: no process, mount, link, iptables chain, cgroup or sysctl of the node.
    const dir = cluster.dir;
    await cluster.stop();
    expect(hostLeftovers({ dir, bridge: BRIDGE, containerdSocket: nodeFiles(dir).socket, chainsBefore, sysctlsBefore })).toEqual([]);
  }, 300_000);
});
