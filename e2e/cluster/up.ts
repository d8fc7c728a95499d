// `npm run cluster:up`: starts the local cluster and keeps it running until
// Ctrl-C, SIGTERM or `npm run cluster:down`.
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startCluster, type Runtime } from './cluster.ts';
import { defaultClusterDir } from './state.ts';

const { values } = parseArgs({
  options: {
    runtime: { type: 'string', default: 'kwok' },
    nodes: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(
    [
      'Usage: npm run cluster:up -- [--runtime kwok|containerd] [--nodes N]',
      '  --runtime kwok        fake nodes (kwok): objects only, no container runs (default)',
      '  --runtime containerd  one real node (containerd, kubelet, kube-proxy) running the',
      '                        images of `npm run image`; needs root, containerd, runc and',
      '                        containernetworking-plugins',
      '  --nodes N             kwok nodes (default 2 with kwok, 0 with containerd)',
      '',
    ].join('\n'),
  );
  process.exit(0);
}
if (values.runtime !== 'kwok' && values.runtime !== 'containerd') {
  process.stderr.write(`--runtime must be kwok or containerd, not ${values.runtime}\n`);
  process.exit(2);
}
const runtime: Runtime = values.runtime;
const dir = defaultClusterDir();
const pidFile = join(dir, 'up.pid');
if (existsSync(pidFile)) {
  const pid = Number(readFileSync(pidFile, 'utf8'));
  if (isAlive(pid)) {
    process.stderr.write(`a local cluster is already running (pid ${pid}); run \`npm run cluster:down\` first\n`);
    process.exit(1);
  }
}
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

const cluster = await startCluster({ dir, runtime, ...(values.nodes ? { nodes: Number(values.nodes) } : {}) });
writeFileSync(pidFile, String(process.pid));
writeFileSync(join(dir, 'env'), `export KUBECONFIG=${cluster.kubeconfig}\nexport PATH=${cluster.binDir}:$PATH\n`);
process.stdout.write(
  [
    `Local cluster ${cluster.version} is up (runtime ${cluster.runtime}, started in ${cluster.startSeconds.toFixed(1)}s).`,
    ...(cluster.images ? [`  pods run image ${cluster.images.operatorImage} (imported from ${cluster.images.operator})`] : []),
    `  export KUBECONFIG=${cluster.kubeconfig}`,
    `  export PATH=${cluster.binDir}:$PATH   # kubectl and helm of the same release`,
    `Or: source ${join(dir, 'env')}`,
    'Stop it with Ctrl-C or `npm run cluster:down`.',
    '',
  ].join('\n'),
);

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`[cluster] ${signal}: stopping\n`);
  await cluster.stop();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
// Keep the event loop alive while the cluster runs.
setInterval(() => {}, 1 << 30);

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
