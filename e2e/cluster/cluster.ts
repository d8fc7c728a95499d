// A real Kubernetes control plane run as local processes: etcd, kube-apiserver
// (RBAC enforced), kube-controller-manager, kube-scheduler and kwok standing in
// for kubelets. Binaries come from build.sh (built from Go modules, cached).
// With `runtime: 'containerd'` the cluster gets one real node instead
// (node.ts: containerd, kubelet, kube-proxy, CNI bridge) that runs the images
// scripts/image.ts builds. One starter per component (components.ts), each
// registering its teardown (processes.ts); startCluster puts them in order.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuiltImages } from '../../scripts/image.ts';
import { kubeconfigYaml, makeCertificates } from './certs.ts';
import { prepareHost, startApiServer, startControllerManager, startEtcd, startKwok, startNode, startScheduler, type ControlPlane } from './components.ts';
import { freePort, httpsJson, type TlsClient } from './net.ts';
import { missingForNode, NODE_NAME } from './node.ts';
import { Processes } from './processes.ts';
import { startLocalPathProvisioner } from './provisioner.ts';

const here = dirname(fileURLToPath(import.meta.url));

export type Runtime = 'kwok' | 'containerd';

export interface ClusterOptions {
  /** Number of kwok nodes (default 2 with kwok, 0 with containerd). */
  nodes?: number;
  /**
   * kwok (default): fake nodes, no container runs. containerd: also one real
   * node that runs the project's images (root, Debian's containerd, runc and
   * CNI plugins; see missingForNode).
   */
  runtime?: Runtime;
  /** containerd: how long to wait for another real-pod cluster on this machine to stop (default 0: fail at once). */
  waitForHostMs?: number;
  /** Directory for state, logs and kubeconfig; default a new temp dir, removed on stop. */
  dir?: string;
  /** Progress lines (build steps, start-up). */
  log?: (line: string) => void;
}

export interface Cluster {
  readonly dir: string;
  readonly kubeconfig: string;
  readonly binDir: string;
  readonly server: string;
  readonly version: string;
  readonly runtime: Runtime;
  /** containerd runtime: the images imported on the node (pods use `operatorImage`). */
  readonly images?: BuiltImages;
  /** Seconds the start-up took, binaries excluded. */
  readonly startSeconds: number;
  /** Admin TLS client for direct API calls. */
  readonly tls: TlsClient;
  /** etcd's client URL (plain HTTP on loopback; /metrics for benchmarks). */
  readonly etcdUrl: string;
  /** Process ids of the cluster's components by name (kube-apiserver, etcd, ...), for CPU figures. */
  pids(): Record<string, number>;
  stop(): Promise<void>;
  /** Restarts kube-apiserver (same port and flags); `compact` also compacts etcd first. */
  restartApiServer(opts?: { compact?: boolean }): Promise<void>;
}

/** Builds (or finds cached) binaries and returns their directory. */
export async function ensureBinaries(log: (line: string) => void = (l) => process.stderr.write(l + '\n'), opts: { node?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const env = opts.node ? { ...process.env, BUILD_NODE: '1' } : process.env;
    const child = spawn('bash', [join(here, 'build.sh')], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    let buffered = '';
    child.stderr.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) log(line);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (buffered) log(buffered);
      if (code === 0) resolve(out.trim().split('\n').pop() ?? '');
      else reject(new Error(`e2e/cluster/build.sh exited with ${code}`));
    });
  });
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const runtime: Runtime = opts.runtime ?? 'kwok';
  const binDir = await ensureBinaries(log, { node: runtime === 'containerd' });
  if (runtime === 'containerd') {
    const missing = missingForNode(binDir);
    if (missing) throw new Error(`runtime containerd: ${missing}`);
  }
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'alcor-cluster-')));
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const started = Date.now();
  const procs = new Processes(dir, binDir, log);
  if (opts.dir === undefined) procs.onStop('directory', () => rmSync(dir, { recursive: true, force: true }));
  try {
    const images = runtime === 'containerd' ? await prepareHost(procs, opts.waitForHostMs ?? 0) : undefined;
    const certs = await makeCertificates(join(dir, 'pki'));
    const [etcdPort, etcdPeerPort, apiPort, kcmPort, schedPort, kwokPort] = (await Promise.all(Array.from({ length: 6 }, () => freePort()))) as [number, number, number, number, number, number];
    const server = `https://127.0.0.1:${apiPort}`;
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(server, 'admin', { pem: certs.caCert }, { pem: certs.adminCert }, { pem: certs.adminKey }), { mode: 0o600 });
    const cp: ControlPlane = { procs, certs, server, kubeconfig, tls: { ca: certs.caCert, cert: certs.adminCert, key: certs.adminKey } };

    const etcdUrl = await startEtcd(procs, { client: etcdPort, peer: etcdPeerPort });
    const api = await startApiServer(cp, { etcdUrl, port: apiPort, realNode: images !== undefined });
    startControllerManager(cp, kcmPort);
    startScheduler(cp, schedPort);
    if (images) await startNode(cp, images);
    const nodes = opts.nodes ?? (runtime === 'containerd' ? 0 : 2);
    if (nodes > 0) await startKwok(cp, { nodes, port: kwokPort });
    await procs.waitFor('default ServiceAccount', 60_000, async () => (await httpsJson(cp.tls, 'GET', `${server}/api/v1/namespaces/default/serviceaccounts/default`)).status === 200, { log: 'kube-controller-manager' });
    procs.onStop('local-path provisioner', await startLocalPathProvisioner(server, cp.tls, join(dir, 'volumes')));

    const version = String(((await httpsJson(cp.tls, 'GET', `${server}/version`)).json as { gitVersion?: string }).gitVersion);
    const startSeconds = (Date.now() - started) / 1000;
    const what = images ? `containerd node ${NODE_NAME}${nodes ? ` and ${nodes} kwok nodes` : ''}` : `${nodes} kwok nodes`;
    log(`[cluster] ${version} ready in ${startSeconds.toFixed(1)}s (${what}) — kubeconfig ${kubeconfig}`);
    return {
      dir, kubeconfig, binDir, server, version, runtime, ...(images ? { images } : {}), startSeconds, tls: cp.tls, etcdUrl,
      pids: () => procs.pids(),
      stop: () => procs.stop(),
      restartApiServer: (o) => api.restart(o),
    };
  } catch (err) {
    await procs.stop();
    throw err;
  }
}
