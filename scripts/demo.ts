// `npm run demo`: a local cluster with the operator and the sample resources.
// Starts the cluster (as `npm run cluster:up` does, in the background),
// installs the CRDs, runs the operator, applies examples/ and prints
// `kubectl get alcor` once all are Ready. `npm run demo:down` ends it all.
import { spawn, execFileSync } from 'node:child_process';
import { existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultClusterDir } from '../e2e/cluster/state.ts';
import { ensureBinaries } from '../e2e/cluster/cluster.ts';

const root = join(import.meta.dirname, '..');
const dir = defaultClusterDir();
const namespace = 'demo';

const log = (s: string) => process.stdout.write(`[demo] ${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Build first, in the foreground, so its progress is visible.
const binDir = await ensureBinaries((l) => process.stdout.write(l + '\n'));
const kubectlBin = join(binDir, 'kubectl');

if (existsSync(join(dir, 'up.pid'))) {
  log(`a local cluster is already running; run \`npm run demo:down\` first`);
  process.exit(1);
}
const upLog = join(root, '.demo-cluster.log');
const up = spawn(process.execPath, [join(root, 'e2e/cluster/up.ts')], { detached: true, stdio: ['ignore', openSync(upLog, 'w'), openSync(upLog, 'a')] });
up.unref();
log(`starting the local cluster (log: ${upLog})`);
const deadline = Date.now() + 120_000;
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
for (const f of ['macpool', 'dhcpsubnet', 'dataplanemanager']) kubectl(['-n', namespace, 'apply', '-f', join(root, 'examples', `${f}.yaml`)]);
log('waiting for the examples to be Ready');
kubectl(['-n', namespace, 'wait', '--for=condition=Ready', 'macpools,dhcpsubnets,dataplanemanagers', '--all', '--timeout=180s']);
process.stdout.write('\n' + kubectl(['-n', namespace, 'get', 'alcor']) + '\n');
log('the cluster stays up. To look around:');
process.stdout.write(`  export KUBECONFIG=${kubeconfig}\n  export PATH=${binDir}:$PATH\n  kubectl -n ${namespace} get alcor,statefulsets,deployments,services,pods\n  kubectl -n ${namespace} describe macpool tenant-macs\n`);
log('stop it all with `npm run demo:down`');
