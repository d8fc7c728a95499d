// One starter per component of the local cluster. Each starts its
// process(es) through the cluster's Processes (which also registers how to
// stop them), takes what it needs of the components before it, and returns
// once the component is ready.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImages, type BuiltImages } from '../../scripts/image.ts';
import { kubeconfigYaml, makeClientCert, type Certificates } from './certs.ts';
import { acquireHost, cleanupHost, releaseHost } from './host.ts';
import { freePort, httpsJson, type TlsClient } from './net.ts';
import {
  BRIDGE, GATEWAY, NODE_NAME, POD_CIDR, containerdConfig, corefile, createBridge, importImages, kubeProxyConfig, kubeletConfig,
  nodeFiles, removeAllPods, writeCniConfig,
} from './node.ts';
import { tryKill, type Processes } from './processes.ts';

/** What the components after the API server's certificates share. */
export interface ControlPlane {
  procs: Processes;
  certs: Certificates;
  tls: TlsClient;
  /** https://127.0.0.1:<port> */
  server: string;
  /** The admin kubeconfig. */
  kubeconfig: string;
}

/** containerd runtime: the images built, this machine's bridge and rules taken (one real-pod cluster at a time). */
export async function prepareHost(procs: Processes, waitForHostMs: number): Promise<BuiltImages> {
  const { dir, log } = procs;
  const t = Date.now();
  const images = buildImages((l) => log(`[image] ${l}`));
  log(`[cluster] images ${images.cached ? 'cached' : 'built'} in ${((Date.now() - t) / 1000).toFixed(1)}s`);
  const host = await acquireHost({ dir, bridge: BRIDGE, containerdSocket: nodeFiles(dir).socket }, log, waitForHostMs);
  const undo = (): void => {
    cleanupHost(host, log);
    releaseHost(host);
  };
  procs.onStop('host', undo, undo);
  createBridge();
  return images;
}

export async function startEtcd(procs: Processes, ports: { client: number; peer: number }): Promise<string> {
  const url = `http://127.0.0.1:${ports.client}`;
  const peer = `http://127.0.0.1:${ports.peer}`;
  procs.start('etcd', [
    '--name=default',
    `--data-dir=${join(procs.dir, 'etcd')}`,
    `--listen-client-urls=${url}`,
    `--advertise-client-urls=${url}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=default=${peer}`,
    '--unsafe-no-fsync',
    '--log-level=warn',
  ], { quietExit: true });
  await procs.waitFor('etcd health', 30_000, async () => (await fetch(`${url}/health`)).ok, { watch: 'etcd' });
  return url;
}

export interface ApiServer {
  /** Fault tests: SIGKILL (every watch breaks), optionally compact etcd (old resource versions answer 410), start again. */
  restart(opts?: { compact?: boolean }): Promise<void>;
}

export async function startApiServer(cp: ControlPlane, o: { etcdUrl: string; port: number; realNode: boolean }): Promise<ApiServer> {
  const { procs, certs } = cp;
  // Real pods reach the API server through the kubernetes Service: it
  // advertises the bridge's address and listens beyond loopback.
  const nodeArgs = o.realNode
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
  const args = [
    `--etcd-servers=${o.etcdUrl}`,
    ...nodeArgs,
    `--secure-port=${o.port}`,
    `--cert-dir=${join(procs.dir, 'apiserver-certs')}`,
    `--tls-cert-file=${certs.files.servingCert}`,
    `--tls-private-key-file=${certs.files.servingKey}`,
    `--client-ca-file=${certs.files.caCert}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${certs.files.saPublicKey}`,
    `--service-account-signing-key-file=${certs.files.saPrivateKey}`,
    '--service-cluster-ip-range=10.96.0.0/16',
    '--allow-privileged=true',
    // As OpenShift does: setting an ownerReference needs delete on the object,
    // and blockOwnerDeletion update on the owner's finalizers (the RBAC the
    // chart and the servers' Roles grant for it is then checked for real).
    '--enable-admission-plugins=OwnerReferencesPermissionEnforcement',
    '--enable-priority-and-fairness=false',
    '--profiling=false',
    '--v=1',
  ];
  const start = async (): Promise<void> => {
    procs.start('kube-apiserver', args, { quietExit: true });
    await procs.waitFor('kube-apiserver /readyz', 60_000, async () => (await httpsJson(cp.tls, 'GET', `${cp.server}/readyz`)).status === 200, { watch: 'kube-apiserver' });
  };
  await start();
  return {
    async restart(opts = {}) {
      const old = procs.get('kube-apiserver')!.child;
      const exited = new Promise<void>((r) => old.once('exit', () => r()));
      // SIGKILL: a crash, and no graceful drain of long watches to wait for.
      if (old.pid) tryKill(-old.pid, 'SIGKILL');
      await exited;
      if (opts.compact) {
        const status = (await (await fetch(`${o.etcdUrl}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: Buffer.from('/').toString('base64') }) })).json()) as { header: { revision: string } };
        await fetch(`${o.etcdUrl}/v3/kv/compaction`, { method: 'POST', body: JSON.stringify({ revision: status.header.revision, physical: true }) });
      }
      await start();
    },
  };
}

export function startControllerManager(cp: ControlPlane, port: number): void {
  const { kubeconfig, certs } = cp;
  cp.procs.start('kube-controller-manager', [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
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
}

export function startScheduler(cp: ControlPlane, port: number): void {
  const { kubeconfig } = cp;
  cp.procs.start('kube-scheduler', [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    '--leader-elect=false',
    '--v=1',
  ]);
}

/** The real node: containerd with the images, the kubelet, CoreDNS and kube-proxy; returns once the node is Ready. */
export async function startNode(cp: ControlPlane, images: BuiltImages): Promise<void> {
  const { procs, certs, server, kubeconfig } = cp;
  const { dir, binDir, log } = procs;
  const t = Date.now();
  const files = nodeFiles(dir);
  mkdirSync(files.containerdDir, { recursive: true });
  writeFileSync(join(dir, 'containerd.toml'), containerdConfig(dir, images.pauseRef));
  writeCniConfig(dir);
  procs.start('containerd', ['--config', join(dir, 'containerd.toml')], { bin: '/usr/bin/containerd' });
  await procs.waitFor('containerd socket', 30_000, async () => (await new Promise<number | null>((r) => spawn('ctr', ['--address', files.socket, 'version'], { stdio: 'ignore' }).on('exit', r))) === 0, { watch: 'containerd' });
  // The pods go before containerd does: CNI DEL removes their veths and rules.
  procs.onStop('pods', () => removeAllPods(dir, binDir));
  await importImages(dir, images);
  log(`[cluster] containerd up, images imported in ${((Date.now() - t) / 1000).toFixed(1)}s`);
  const nodeCert = await makeClientCert(join(dir, 'pki'), 'kubelet', `/O=system:nodes/CN=system:node:${NODE_NAME}`);
  const kubeletKubeconfig = join(dir, 'kubelet.kubeconfig');
  writeFileSync(kubeletKubeconfig, kubeconfigYaml(server, `system:node:${NODE_NAME}`, { file: certs.files.caCert }, { file: nodeCert.cert }, { file: nodeCert.key }), { mode: 0o600 });
  const [kubeletPort, kubeletHealthz, proxyMetrics, proxyHealthz] = (await Promise.all(Array.from({ length: 4 }, () => freePort()))) as [number, number, number, number];
  writeFileSync(join(dir, 'kubelet.yaml'), kubeletConfig(dir, certs.files.caCert, { port: kubeletPort, healthzPort: kubeletHealthz }));
  procs.start('kubelet', [
    `--config=${join(dir, 'kubelet.yaml')}`,
    `--kubeconfig=${kubeletKubeconfig}`,
    `--root-dir=${join(dir, 'kubelet')}`,
    `--hostname-override=${NODE_NAME}`,
    `--node-ip=${GATEWAY}`,
    `--node-labels=alcor.dev/e2e-node=containerd`,
    '--v=1',
  ]);
  writeFileSync(join(dir, 'Corefile'), corefile(kubeconfig));
  procs.start('coredns', ['-conf', join(dir, 'Corefile')]);
  writeFileSync(join(dir, 'kube-proxy.yaml'), kubeProxyConfig(kubeconfig, proxyMetrics, proxyHealthz));
  procs.start('kube-proxy', [`--config=${join(dir, 'kube-proxy.yaml')}`, '--v=1']);
  log(`[cluster] node ${NODE_NAME}: pods on ${POD_CIDR} behind ${BRIDGE}`);
  await procs.waitFor(`node ${NODE_NAME} Ready`, 90_000, async () => {
    const res = await httpsJson(cp.tls, 'GET', `${server}/api/v1/nodes/${NODE_NAME}`);
    return res.status === 200 && isNodeReady(res.json as NodeLike);
  }, { watch: 'kubelet' });
}

/** kwok standing in for the kubelets of `nodes` fake nodes; returns once they are Ready. */
export async function startKwok(cp: ControlPlane, o: { nodes: number; port: number }): Promise<void> {
  const { procs, tls, server } = cp;
  procs.start('kwok', [
    `--kubeconfig=${cp.kubeconfig}`,
    `--config=${join(procs.binDir, 'kwok-stages.yaml')}`,
    '--manage-all-nodes=false',
    '--manage-nodes-with-label-selector=type=kwok',
    `--server-address=127.0.0.1:${o.port}`,
    '--node-lease-duration-seconds=0',
    '--v=WARN',
  ]);
  for (let i = 0; i < o.nodes; i++) {
    const res = await httpsJson(tls, 'POST', `${server}/api/v1/nodes`, kwokNode(`kwok-node-${i}`));
    if (res.status !== 201) throw new Error(`creating node kwok-node-${i}: ${res.status} ${res.text}`);
  }
  await procs.waitFor('kwok nodes Ready', 60_000, async () => {
    const res = await httpsJson(tls, 'GET', `${server}/api/v1/nodes?labelSelector=type%3Dkwok`);
    const items = (res.json as { items?: NodeLike[] }).items ?? [];
    return items.length === o.nodes && items.every(isNodeReady);
  }, { log: 'kwok' });
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
