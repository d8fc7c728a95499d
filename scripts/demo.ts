// `npm run demo [-- --runtime auto|containerd|kwok]`: a local cluster with the
// operator and the sample resources. Starts the cluster (as `npm run
// cluster:up` does, in the background), installs the CRDs, runs the operator,
// applies examples/ and prints `kubectl get alcor` once they are Ready.
// `npm run demo:down` ends it all. With real pods (containerd: as root, with
// Debian's containerd, runc and CNI plugins) the macd and dhcpd pods really
// run, and so do Alcor's DPM, MAC manager and Ignite where Alcor's prebuilt
// jars are (images from `npm run image:alcor`); elsewhere kwok stands in for
// the kubelet.
import { spawn, execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import { join } from 'node:path';
import { defaultClusterDir } from '../e2e/cluster/state.ts';
import { ensureBinaries } from '../e2e/cluster/cluster.ts';
import { missingForNode, nodeFiles } from '../e2e/cluster/node.ts';
import { buildAlcorImages, imageMissingReason, importAlcorImages, type AlcorImages } from './image-alcor.ts';

const root = join(import.meta.dirname, '..');
const dir = defaultClusterDir();
const namespace = 'demo';

const log = (s: string) => process.stdout.write(`[demo] ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const { values } = parseArgs({ options: { runtime: { type: 'string', default: 'auto' } } });
if (!['auto', 'kwok', 'containerd'].includes(values.runtime)) throw new Error(`--runtime must be auto, kwok or containerd, not ${values.runtime}`);
const cannot = missingForNode();
const runtime = values.runtime === 'auto' ? (cannot ? 'kwok' : 'containerd') : values.runtime;
log(runtime === 'containerd' ? 'runtime: containerd (real pods)' : `runtime: kwok (fake nodes, no container runs${cannot ? `; real pods: ${cannot}` : ''})`);

// Build first, in the foreground, so its progress is visible.
if (runtime === 'containerd') process.env['BUILD_NODE'] = '1';
const binDir = await ensureBinaries((l) => process.stdout.write(l + '\n'));
// Alcor's own services run for real only on real pods, from images of Alcor's prebuilt jars.
const alcorMissing = runtime === 'containerd' ? imageMissingReason() : 'kwok runs no container';
let alcorImages: AlcorImages | undefined;
if (!alcorMissing) {
  alcorImages = buildAlcorImages((l) => log(`[image:alcor] ${l}`));
  log(`Alcor's images ${alcorImages.cached ? 'found in the cache' : 'built'} in ${alcorImages.seconds.toFixed(0)}s`);
}
const kubectlBin = join(binDir, 'kubectl');

if (existsSync(join(dir, 'up.pid'))) {
  log(`a local cluster is already running; run \`npm run demo:down\` first`);
  process.exit(1);
}
const upLog = join(root, '.demo-cluster.log');
const up = spawn(process.execPath, [join(root, 'e2e/cluster/up.ts'), '--runtime', runtime], { detached: true, stdio: ['ignore', openSync(upLog, 'w'), openSync(upLog, 'a')] });
up.unref();
log(`starting the local cluster (log: ${upLog})`);
const deadline = Date.now() + 600_000;
while (!existsSync(join(dir, 'up.pid'))) {
  if (Date.now() > deadline || up.exitCode !== null) {
    process.stderr.write(readFileSync(upLog, 'utf8'));
    throw new Error('the local cluster did not start');
  }
  await sleep(200);
}
const kubeconfig = join(dir, 'kubeconfig');
const kubectl = (args: string[], input?: string) =>
  execFileSync(kubectlBin, ['--kubeconfig', kubeconfig, ...args], { encoding: 'utf8', ...(input ? { input } : {}) });

log('installing the CRDs');
kubectl(['apply', '--server-side', '-f', join(root, 'crds')]);
// A CRD without conditions yet makes `kubectl wait` fail at once: retry.
for (let i = 0; ; i++) {
  try {
    kubectl(['wait', '--for=condition=Established', 'crd', '-l', 'app.kubernetes.io/part-of=alcor', '--timeout=10s']);
    break;
  } catch (err) {
    if (i >= 10) throw err;
    await sleep(500);
  }
}

const opLog = join(dir, 'operator.log');
const operator = spawn(
  process.execPath,
  [join(root, 'src/cli/main.ts'), 'run', '--kubeconfig', kubeconfig, '--metrics-bind-address', '127.0.0.1:0', '--health-probe-bind-address', '127.0.0.1:0'],
  { detached: true, stdio: ['ignore', openSync(opLog, 'w'), openSync(opLog, 'a')] },
);
operator.unref();
writeFileSync(join(dir, 'operator.pid'), String(operator.pid));
log(`operator running (pid ${operator.pid}, log: ${opLog})`);

kubectl(['create', 'namespace', namespace]);
const applyExample = (f: string, change?: (o: { spec: Record<string, unknown> }) => void) => {
  const o = parse(readFileSync(join(root, 'examples', `${f}.yaml`), 'utf8')) as { spec: Record<string, unknown> };
  change?.(o);
  kubectl(['-n', namespace, 'apply', '-f', '-'], JSON.stringify(o));
};
// Ignite, in Alcor's shape, in the namespace the DataPlaneManager and the
// engine-alcor MacPool look for it (the operator puts the Role their pods need there).
if (runtime === 'kwok' || alcorImages) kubectl(['apply', '-f', join(root, 'examples', 'ignite.yaml')]);
else kubectl(['create', 'namespace', 'ignite-alcor']);
if (alcorImages) {
  importAlcorImages(nodeFiles(dir).socket, alcorImages);
  log("waiting for Ignite's pod (examples/ignite.yaml)");
  kubectl(['-n', 'ignite-alcor', 'rollout', 'status', 'statefulset/ignite-alcor', '--timeout=300s']);
}
// The DhcpReservation shows its state (Pending until its client comes) beside the others; nothing waits on it.
for (const f of ['macpool', 'dhcpsubnet', 'dhcpreservation']) applyExample(f);
// On real pods, one replica of each Java service: the node is this machine.
const oneReplica = runtime === 'containerd';
applyExample('dataplanemanager', (o) => oneReplica && (o.spec['replicas'] = 1));
if (runtime === 'kwok' || alcorImages) applyExample('macpool-alcor', (o) => oneReplica && ((o.spec['allocator'] as Record<string, unknown>)['replicas'] = 1));
log('waiting for the examples to be Ready');
if (runtime === 'containerd' && !alcorImages) {
  // Real pods pull nothing: Alcor's DPM image isn't on this machine, so that
  // one stays not Ready (its status says why); ours run from the local image.
  kubectl(['-n', namespace, 'wait', '--for=condition=Ready', 'macpools,dhcpsubnets', '--all', '--timeout=300s']);
  log(`Alcor's DPM and MAC manager don't run here: ${alcorMissing} (the DataPlaneManager stays not Ready; its status says why)`);
} else {
  // Alcor's JVMs start in 20-60 s each on a busy machine.
  kubectl(['-n', namespace, 'wait', '--for=condition=Ready', 'macpools,dhcpsubnets,dataplanemanagers', '--all', `--timeout=${alcorImages ? 900 : 180}s`]);
  if (!alcorImages) log("Alcor's DPM, MAC manager and Ignite are kwok's fake pods here: they run for real with --runtime containerd (root) and Alcor's jars (docs/alcor.md)");
}
process.stdout.write('\n' + kubectl(['-n', namespace, 'get', 'alcor']) + '\n');
if (alcorImages) {
  // Alcor's MAC manager answers through its Service's ClusterIP, which kube-proxy's rules route from this host too.
  const svc = JSON.parse(kubectl(['-n', namespace, 'get', 'service', 'alcor-macs-macmanager', '-o', 'json'])) as { spec: { clusterIP: string; ports: { port: number }[] } };
  const url = `http://${svc.spec.clusterIP}:${svc.spec.ports[0]!.port}/macs`;
  const body = JSON.stringify({ mac_state: { project_id: 'demo', vpc_id: 'vpc-1', port_id: 'port-1' } });
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  log(`Alcor's MAC manager (MacPool alcor-macs, engine alcor) allocated: ${res.status} ${await res.text()}`);
  process.stdout.write(`  allocate another:  curl -s -X POST ${url} -H 'content-type: application/json' -d '${body.replace('port-1', 'port-2')}'\n`);
}
log('the cluster stays up. To look around:');
process.stdout.write(`  export KUBECONFIG=${kubeconfig}\n  export PATH=${binDir}:$PATH\n  kubectl -n ${namespace} get alcor,statefulsets,deployments,services,pods\n  kubectl -n ${namespace} describe macpool tenant-macs\n`);
if (runtime === 'containerd') process.stdout.write(`  kubectl -n ${namespace} logs tenant-macs-macd-0        # a real macd pod's pino log\n`);
if (alcorImages) process.stdout.write(`  kubectl -n ${namespace} logs deploy/dpm               # Alcor's DPM, a real JVM in a pod\n`);
log('stop it all with `npm run demo:down`');
