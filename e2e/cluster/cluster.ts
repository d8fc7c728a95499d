// A real Kubernetes control plane run as local processes: etcd, kube-apiserver
// (RBAC enforced), kube-controller-manager, kube-scheduler and kwok standing in
// for kubelets. Binaries come from build.sh (built from Go modules, cached).
// With `runtime: 'containerd'` the cluster gets one real node instead
// (node.ts: containerd, kubelet, kube-proxy, CNI bridge) that runs the images
// scripts/image.ts builds.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, httpsJson, waitFor, type TlsClient } from './net.ts';
import { kubeconfigYaml, makeCertificates, makeClientCert } from './certs.ts';
import { startLocalPathProvisioner } from './provisioner.ts';
import { acquireHost, cleanupHost, releaseHost, type HostRecord } from './host.ts';
import {
  BRIDGE, GATEWAY, NODE_NAME, POD_CIDR, containerdConfig, corefile, createBridge, importImages, kubeProxyConfig, kubeletConfig,
  missingForNode, nodeFiles, removeAllPods, writeCniConfig,
} from './node.ts';
import { buildImages, type BuiltImages } from '../../scripts/image.ts';

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
  stop(): Promise<void>;
  /** Restarts kube-apiserver (same port and flags); `compact` also compacts etcd first. */
  restartApiServer(opts?: { compact?: boolean }): Promise<void>;
}

interface Proc {
  name: string;
  child: ChildProcess;
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

const live = new Set<ChildProcess>();
const liveHosts = new Set<HostRecord>();
// Last resort: never leave control-plane processes (or a node's containers,
// mounts, links and rules: cleanupHost is synchronous) behind when the parent exits.
process.on('exit', () => {
  for (const child of live) if (child.pid) tryKill(-child.pid, 'SIGKILL');
  for (const host of liveHosts) {
    cleanupHost(host, () => {});
    releaseHost(host);
  }
});

function tryKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const runtime: Runtime = opts.runtime ?? 'kwok';
  const binDir = await ensureBinaries(log, { node: runtime === 'containerd' });
  if (runtime === 'containerd') {
    const missing = missingForNode(binDir);
    if (missing) throw new Error(`runtime containerd: ${missing}`);
  }
  const ownsDir = opts.dir === undefined;
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'alcor-cluster-')));
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const started = Date.now();
  const procs: Proc[] = [];

  const startProcess = (name: string, args: string[], bin = join(binDir, name)): Proc => {
    const logFile = createWriteStream(join(dir, 'logs', `${name}.log`));
    // Own process group, so stop() can signal the process and anything it spawned.
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    child.stdout?.pipe(logFile);
    child.stderr?.pipe(logFile);
    live.add(child);
    child.on('exit', () => live.delete(child));
    const proc = { name, child };
    procs.push(proc);
    return proc;
  };

  const logTail = (name: string): string => {
    try {
      return readFileSync(join(dir, 'logs', `${name}.log`), 'utf8').split('\n').slice(-20).join('\n');
    } catch {
      return '';
    }
  };

  let restartApiServer: Cluster['restartApiServer'] = async () => {};
  let stopped = false;
  let stopProvisioner = () => {};
  let host: HostRecord | undefined;
  const stopProc = async ({ child }: Proc) => {
    if (child.exitCode !== null || child.signalCode !== null || !child.pid) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    tryKill(-child.pid, 'SIGTERM');
    const timer = setTimeout(() => child.pid && tryKill(-child.pid, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    stopProvisioner();
    for (const proc of [...procs].reverse()) {
      // The pods go before containerd does: CNI DEL removes their veths and rules.
      if (proc.name === 'containerd' && host) await removeAllPods(dir, binDir);
      await stopProc(proc);
    }
    if (host) {
      cleanupHost(host, log);
      releaseHost(host);
      liveHosts.delete(host);
    }
    if (ownsDir) rmSync(dir, { recursive: true, force: true });
  };

  try {
    const certs = await makeCertificates(join(dir, 'pki'));
    const [etcdPort, etcdPeerPort, apiPort, kcmPort, schedPort, kwokPort] = await Promise.all(
      Array.from({ length: 6 }, () => freePort()),
    );
    const server = `https://127.0.0.1:${apiPort}`;
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, kubeconfigYaml(server, 'admin', { pem: certs.caCert }, { pem: certs.adminCert }, { pem: certs.adminKey }), { mode: 0o600 });
    const tls: TlsClient = { ca: certs.caCert, cert: certs.adminCert, key: certs.adminKey };

    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcd = startProcess('etcd', [
      '--name=default',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeerPort}`,
      `--initial-cluster=default=http://127.0.0.1:${etcdPeerPort}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ]);
    await waitFor(`etcd health`, 30_000, etcd.child, () => logTail('etcd'), async () => {
      const res = await fetch(`${etcdUrl}/health`);
      return res.ok;
    });

    let images: BuiltImages | undefined;
    if (runtime === 'containerd') {
      const t = Date.now();
      images = buildImages((l) => log(`[image] ${l}`));
      log(`[cluster] images ${images.cached ? 'cached' : 'built'} in ${((Date.now() - t) / 1000).toFixed(1)}s`);
      host = await acquireHost({ dir, bridge: BRIDGE, containerdSocket: nodeFiles(dir).socket }, log, opts.waitForHostMs ?? 0);
      liveHosts.add(host);
      createBridge();
    }
    // Real pods reach the API server through the kubernetes Service: it
    // advertises the bridge's address and listens beyond loopback.
    const nodeApiArgs = runtime === 'containerd'
      ? [
          '--bind-address=0.0.0.0',
          `--advertise-address=${GATEWAY}`,
          '--endpoint-reconciler-type=lease',
          '--authorization-mode=Node,RBAC',
          `--kubelet-client-certificate=${certs.files.adminCert}`,
          `--kubelet-client-key=${certs.files.adminKey}`,
          // The node's name isn't in DNS: logs and exec go to its InternalIP.
          '--kubelet-preferred-address-types=InternalIP',
        ]
      : ['--bind-address=127.0.0.1', '--endpoint-reconciler-type=none', '--authorization-mode=RBAC'];
    const apiArgs = [
      `--etcd-servers=${etcdUrl}`,
      ...nodeApiArgs,
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, 'apiserver-certs')}`,
      `--tls-cert-file=${certs.files.servingCert}`,
      `--tls-private-key-file=${certs.files.servingKey}`,
      `--client-ca-file=${certs.files.caCert}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${certs.files.saPublicKey}`,
      `--service-account-signing-key-file=${certs.files.saPrivateKey}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      '--allow-privileged=true',
      '--enable-priority-and-fairness=false',
      '--profiling=false',
      '--v=1',
    ];
    const waitApiReady = (proc: Proc) =>
      waitFor('kube-apiserver /readyz', 60_000, proc.child, () => logTail('kube-apiserver'), async () => {
        const res = await httpsJson(tls, 'GET', `${server}/readyz`);
        return res.status === 200;
      });
    let api = startProcess('kube-apiserver', apiArgs);
    await waitApiReady(api);
    // Fault tests: stop the API server (every watch breaks), optionally compact
    // etcd so that old resource versions are gone (410 on resume), start again.
    restartApiServer = async (opts: { compact?: boolean } = {}) => {
      const old = api.child;
      const exited = new Promise<void>((r) => old.once('exit', () => r()));
      // SIGKILL: a crash, and no graceful drain of long watches to wait for.
      if (old.pid) tryKill(-old.pid, 'SIGKILL');
      await exited;
      procs.splice(procs.indexOf(api), 1);
      if (opts.compact) {
        const status = (await (await fetch(`${etcdUrl}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('/').toString('base64') }) })).json()) as { header: { revision: string } };
        await fetch(`${etcdUrl}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: status.header.revision, physical: true }) });
      }
      api = startProcess('kube-apiserver', apiArgs);
      // Keep the stop order: the API server before etcd, after the rest.
      procs.splice(procs.indexOf(api), 1);
      procs.splice(1, 0, api);
      await waitApiReady(api);
    };

    startProcess('kube-controller-manager', [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${kcmPort}`,
      `--service-account-private-key-file=${certs.files.saPrivateKey}`,
      `--root-ca-file=${certs.files.caCert}`,
      '--use-service-account-credentials=true',
      '--service-cluster-ip-range=10.96.0.0/16',
      '--leader-elect=false',
      // kwok heartbeats stop while fault tests restart the API server; don't
      // let a short outage mark the fake nodes NotReady (kwok never revives pods).
      '--node-monitor-grace-period=5m',
      '--controllers=*,-nodeipam,-cloud-node-lifecycle,-service-lb-controller,-route',
      '--concurrent-deployment-syncs=10',
      '--concurrent-replicaset-syncs=10',
      '--concurrent-statefulset-syncs=10',
      '--concurrent-gc-syncs=20',
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      '--v=1',
    ]);
    startProcess('kube-scheduler', [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${schedPort}`,
      '--leader-elect=false',
      '--v=1',
    ]);
    const nodes = opts.nodes ?? (runtime === 'containerd' ? 0 : 2);
    if (runtime === 'containerd' && images) {
      await startNode(images);
    }
    if (nodes > 0) startProcess('kwok', [
      `--kubeconfig=${kubeconfig}`,
      `--config=${join(binDir, 'kwok-stages.yaml')}`,
      '--manage-all-nodes=false',
      '--manage-nodes-with-label-selector=type=kwok',
      `--server-address=127.0.0.1:${kwokPort}`,
      '--node-lease-duration-seconds=0',
      '--v=WARN',
    ]);

    for (let i = 0; i < nodes; i++) {
      const res = await httpsJson(tls, 'POST', `${server}/api/v1/nodes`, kwokNode(`kwok-node-${i}`));
      if (res.status !== 201) throw new Error(`creating node kwok-node-${i}: ${res.status} ${res.text}`);
    }
    const daemons = procs.filter((p) => p.name !== 'etcd' && p.name !== 'kube-apiserver');
    for (const d of daemons) {
      d.child.once('exit', (code, sig) => {
        if (!stopped) log(`[cluster] ${d.name} exited (${code ?? sig}):\n${logTail(d.name)}`);
      });
    }
    if (nodes > 0) {
      await waitFor('kwok nodes Ready', 60_000, undefined, () => logTail('kwok'), async () => {
        const res = await httpsJson(tls, 'GET', `${server}/api/v1/nodes?labelSelector=type%3Dkwok`);
        const items = (res.json as { items?: NodeLike[] }).items ?? [];
        return items.length === nodes && items.every(isNodeReady);
      });
    }
    if (runtime === 'containerd') {
      const kubelet = procs.find((p) => p.name === 'kubelet');
      await waitFor(`node ${NODE_NAME} Ready`, 90_000, kubelet?.child, () => logTail('kubelet'), async () => {
        const res = await httpsJson(tls, 'GET', `${server}/api/v1/nodes/${NODE_NAME}`);
        return res.status === 200 && isNodeReady(res.json as NodeLike);
      });
    }
    await waitFor('default ServiceAccount', 60_000, undefined, () => logTail('kube-controller-manager'), async () => {
      const res = await httpsJson(tls, 'GET', `${server}/api/v1/namespaces/default/serviceaccounts/default`);
      return res.status === 200;
    });
    stopProvisioner = await startLocalPathProvisioner(server, tls, join(dir, 'volumes'));
    const versionRes = await httpsJson(tls, 'GET', `${server}/version`);
    const version = String((versionRes.json as { gitVersion?: string }).gitVersion);
    const startSeconds = (Date.now() - started) / 1000;
    const what = runtime === 'containerd' ? `containerd node ${NODE_NAME}${nodes ? ` and ${nodes} kwok nodes` : ''}` : `${nodes} kwok nodes`;
    log(`[cluster] ${version} ready in ${startSeconds.toFixed(1)}s (${what}) — kubeconfig ${kubeconfig}`);
    return {
      dir, kubeconfig, binDir, server, version, runtime, ...(images ? { images } : {}), startSeconds, tls, stop,
      restartApiServer: (o) => restartApiServer(o),
    };

    async function startNode(imgs: BuiltImages): Promise<void> {
      const t = Date.now();
      const files = nodeFiles(dir);
      mkdirSync(files.containerdDir, { recursive: true });
      writeFileSync(join(dir, 'containerd.toml'), containerdConfig(dir, imgs.pauseRef));
      writeCniConfig(dir);
      const containerd = startProcess('containerd', ['--config', join(dir, 'containerd.toml')], '/usr/bin/containerd');
      await waitFor('containerd socket', 30_000, containerd.child, () => logTail('containerd'), async () => {
        const res = await new Promise<number | null>((r) => spawn('ctr', ['--address', files.socket, 'version'], { stdio: 'ignore' }).on('exit', r));
        return res === 0;
      });
      await importImages(dir, imgs);
      log(`[cluster] containerd up, images imported in ${((Date.now() - t) / 1000).toFixed(1)}s`);
      const pki = join(dir, 'pki');
      const nodeCert = await makeClientCert(pki, 'kubelet', `/O=system:nodes/CN=system:node:${NODE_NAME}`);
      const kubeletKubeconfig = join(dir, 'kubelet.kubeconfig');
      writeFileSync(kubeletKubeconfig, kubeconfigYaml(server, `system:node:${NODE_NAME}`, { file: certs.files.caCert }, { file: nodeCert.cert }, { file: nodeCert.key }), { mode: 0o600 });
      const [kubeletPort, kubeletHealthz, proxyMetrics, proxyHealthz] = (await Promise.all(Array.from({ length: 4 }, () => freePort()))) as [number, number, number, number];
      writeFileSync(join(dir, 'kubelet.yaml'), kubeletConfig(dir, certs.files.caCert, { port: kubeletPort, healthzPort: kubeletHealthz }));
      startProcess('kubelet', [
        `--config=${join(dir, 'kubelet.yaml')}`,
        `--kubeconfig=${kubeletKubeconfig}`,
        `--root-dir=${join(dir, 'kubelet')}`,
        `--hostname-override=${NODE_NAME}`,
        `--node-ip=${GATEWAY}`,
        `--node-labels=alcor.dev/e2e-node=containerd`,
        '--v=1',
      ]);
      writeFileSync(join(dir, 'Corefile'), corefile(kubeconfig));
      startProcess('coredns', ['-conf', join(dir, 'Corefile')]);
      writeFileSync(join(dir, 'kube-proxy.yaml'), kubeProxyConfig(kubeconfig, proxyMetrics, proxyHealthz));
      startProcess('kube-proxy', [`--config=${join(dir, 'kube-proxy.yaml')}`, '--v=1']);
      log(`[cluster] node ${NODE_NAME}: pods on ${POD_CIDR} behind ${BRIDGE}`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
}

interface NodeLike {
  status?: { conditions?: { type: string; status: string }[] };
}

function isNodeReady(node: NodeLike): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function kwokNode(name: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'kwok.x-k8s.io/node': 'fake' },
      labels: {
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/os': 'linux',
        'kubernetes.io/hostname': name,
        'node-role.kubernetes.io/agent': '',
        type: 'kwok',
      },
    },
    status: {
      allocatable: { cpu: '1000', memory: '4Ti', pods: '5000' },
      capacity: { cpu: '1000', memory: '4Ti', pods: '5000' },
      nodeInfo: {
        architecture: 'amd64',
        operatingSystem: 'linux',
        kubeletVersion: 'fake',
        kubeProxyVersion: 'fake',
        containerRuntimeVersion: 'kwok',
      },
      phase: 'Running',
    },
  };
}
