// `npm run demo [-- --runtime auto|containerd|kwok]`: a local cluster with the
// operator and the sample resources. Starts the cluster (as `npm run
// cluster:up` does, in the background), installs the CRDs, runs the operator,
// applies examples/ and prints `kubectl get alcor` once they are Ready.
// `npm run demo:down` ends it all. With real pods (containerd: as root, with
// Debian's containerd, runc and CNI plugins) the macd and dhcpd pods really
// run; elsewhere kwok stands in for the kubelet.
import { spawn, execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultClusterDir } from '../e2e/cluster/state.ts';
import { ensureBinaries } from '../e2e/cluster/cluster.ts';
import { missingForNode } from '../e2e/cluster/node.ts';

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
// The DataPlaneManager example finds Ignite's Service in Alcor's namespace
// ignite-alcor: the operator puts the Role its pods need there.
kubectl(['create', 'namespace', 'ignite-alcor']);
// The DhcpReservation shows its state (Pending until its client comes) beside the others; nothing waits on it.
for (const f of ['macpool', 'dhcpsubnet', 'dataplanemanager', 'dhcpreservation']) kubectl(['-n', namespace, 'apply', '-f', join(root, 'examples', `${f}.yaml`)]);
log('waiting for the examples to be Ready');
if (runtime === 'containerd') {
  // Real pods pull nothing: Alcor's DPM image isn't on this machine, so that
  // one stays not Ready (its status says why); ours run from the local image.
  kubectl(['-n', namespace, 'wait', '--for=condition=Ready', 'macpools,dhcpsubnets', '--all', '--timeout=300s']);
  log("the DataPlaneManager runs Alcor's image data_plane_manager:v1.0, which this machine can't pull: it stays not Ready");
} else {
  kubectl(['-n', namespace, 'wait', '--for=condition=Ready', 'macpools,dhcpsubnets,dataplanemanagers', '--all', '--timeout=180s']);
}
process.stdout.write('\n' + kubectl(['-n', namespace, 'get', 'alcor']) + '\n');
log('the cluster stays up. To look around:');
process.stdout.write(`  export KUBECONFIG=${kubeconfig}\n  export PATH=${binDir}:$PATH\n  kubectl -n ${namespace} get alcor,statefulsets,deployments,services,pods\n  kubectl -n ${namespace} describe macpool tenant-macs\n`);
if (runtime === 'containerd') process.stdout.write(`  kubectl -n ${namespace} logs tenant-macs-macd-0        # a real macd pod's pino log\n`);
log('stop it all with `npm run demo:down`');
