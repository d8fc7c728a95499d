// A node that runs real containers: containerd (Debian's, with its own root,
// state and socket under the cluster dir), the CNI bridge from Debian's
// containernetworking-plugins, a kubelet and kube-proxy (iptables mode) built
// from the same Go wrapper module as the control plane, and the project's
// images imported from OCI archives (scripts/image.ts): nothing is pulled.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { defaultClusterDir } from './state.ts';
import type { BuiltImages } from '../../scripts/image.ts';

const run = promisify(execFile);

/** Pods' network: one /24 behind a bridge whose address is also the API server's advertised address. */
export const POD_CIDR = '10.244.0.0/24';
export const GATEWAY = '10.244.0.1';
/** Pods get .2-.199; the rest of the /24 stays free (tests hand it out with DHCP). */
export const POD_RANGE_END = '10.244.0.199';
export const BRIDGE = 'alcor-e2e0';
export const SERVICE_CIDR = '10.96.0.0/16';
export const NODE_NAME = 'alcor-node';
const CNI_BIN = '/usr/lib/cni';

export interface NodeFiles {
  containerdDir: string;
  socket: string;
}

export function nodeFiles(dir: string): NodeFiles {
  const containerdDir = join(dir, 'containerd');
  return { containerdDir, socket: join(containerdDir, 'containerd.sock') };
}

/**
 * The containerd socket of the local real-pod cluster `npm run
 * cluster:up:pods` (or the demo) keeps running, or undefined when there is none.
 */
export function runningClusterSocket(dir = defaultClusterDir()): string | undefined {
  const pidFile = join(dir, 'up.pid');
  if (!existsSync(pidFile)) return undefined;
  try {
    process.kill(Number(readFileSync(pidFile, 'utf8')), 0);
  } catch {
    return undefined;
  }
  const { socket } = nodeFiles(dir);
  return existsSync(socket) ? socket : undefined;
}

/**
 * Why this machine can't run the node, or '' when it has what the node needs.
 * Without `binDir`, only what the machine must provide (root, Debian packages).
 */
export function missingForNode(binDir?: string): string {
  if (process.getuid?.() !== 0) return 'real pods need root (containerd, kubelet, iptables)';
  const need: [string, string][] = [
    ['/usr/bin/containerd', 'Debian package containerd'],
    ['/usr/bin/ctr', 'Debian package containerd'],
    ['/usr/sbin/runc', 'Debian package runc'],
    [join(CNI_BIN, 'bridge'), 'Debian package containernetworking-plugins'],
    ...(binDir
      ? ([
          [join(binDir, 'kubelet'), 'kubelet (BUILD_NODE=1 e2e/cluster/build.sh)'],
          [join(binDir, 'kube-proxy'), 'kube-proxy (BUILD_NODE=1 e2e/cluster/build.sh)'],
          [join(binDir, 'crictl'), 'crictl (BUILD_NODE=1 e2e/cluster/build.sh)'],
          [join(binDir, 'coredns'), 'coredns (BUILD_NODE=1 e2e/cluster/build.sh)'],
        ] as [string, string][])
      : []),
  ];
  const missing = need.filter(([p]) => !existsSync(p)).map(([, what]) => what);
  for (const cmd of ['iptables', 'iptables-save', 'iptables-restore', 'gcc', 'tar', 'ip']) {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    } catch {
      missing.push(cmd);
    }
  }
  if (!missing.includes('gcc') && !staticLibc()) missing.push('static libc for the pause image (Debian package libc6-dev)');
  if (!existsSync('/sys/fs/cgroup/memory') && !existsSync('/sys/fs/cgroup/cgroup.controllers')) missing.push('a writable cgroup file system');
  return missing.length ? `missing: ${[...new Set(missing)].join(', ')}` : '';
}

/** True when gcc can link a static binary (the pause image's). */
export function staticLibc(): boolean {
  try {
    return execFileSync('gcc', ['-print-file-name=libc.a'], { encoding: 'utf8' }).trim().startsWith('/');
  } catch {
    return false;
  }
}

/** The bridge, created before the API server starts so its address can be advertised. */
export function createBridge(): void {
  execFileSync('ip', ['link', 'add', BRIDGE, 'type', 'bridge']);
  execFileSync('ip', ['addr', 'add', `${GATEWAY}/24`, 'dev', BRIDGE]);
  execFileSync('ip', ['link', 'set', BRIDGE, 'up']);
  // Host → ClusterIP: a route, so connect() has a source address before kube-proxy's DNAT.
  execFileSync('ip', ['route', 'add', SERVICE_CIDR, 'dev', BRIDGE, 'src', GATEWAY]);
}

export function containerdConfig(dir: string, pauseRef: string): string {
  const f = nodeFiles(dir);
  return [
    'version = 2',
    `root = "${join(f.containerdDir, 'root')}"`,
    `state = "${join(f.containerdDir, 'state')}"`,
    // Must not be the machine's /run/containerd or another containerd's.
    `[grpc]`,
    `  address = "${f.socket}"`,
    `[ttrpc]`,
    `  address = "${f.socket}.ttrpc"`,
    '[debug]',
    '  level = "warn"',
    '[metrics]',
    '  address = ""',
    '[plugins."io.containerd.grpc.v1.cri"]',
    `  sandbox_image = "${pauseRef}"`,
    '  disable_apparmor = true',
    // Without CAP_SYS_RESOURCE the sandbox can't lower oom_score_adj below its own.
    '  restrict_oom_score_adj = true',
    // Network namespaces under the node's state dir, not the machine's /run/netns.
    '  netns_mounts_under_state_dir = true',
    '  enable_selinux = false',
    '  [plugins."io.containerd.grpc.v1.cri".containerd]',
    '    snapshotter = "overlayfs"',
    '    default_runtime_name = "runc"',
    '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
    '      runtime_type = "io.containerd.runc.v2"',
    '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
    '        SystemdCgroup = false',
    '  [plugins."io.containerd.grpc.v1.cri".cni]',
    `    bin_dir = "${CNI_BIN}"`,
    `    conf_dir = "${join(dir, 'cni', 'net.d')}"`,
    '',
  ].join('\n');
}

export function writeCniConfig(dir: string): void {
  const confDir = join(dir, 'cni', 'net.d');
  mkdirSync(confDir, { recursive: true });
  const conf = {
    cniVersion: '0.4.0',
    name: 'alcor-e2e',
    plugins: [
      {
        type: 'bridge',
        bridge: BRIDGE,
        isGateway: true,
        // No masquerading: pods talk to the host and to each other, never further.
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          dataDir: join(dir, 'cni', 'ipam'),
          ranges: [[{ subnet: POD_CIDR, gateway: GATEWAY, rangeEnd: POD_RANGE_END }]],
          routes: [{ dst: '0.0.0.0/0' }],
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
  writeFileSync(join(confDir, '10-alcor-e2e.conflist'), JSON.stringify(conf, null, 2));
}

export async function importImages(dir: string, images: BuiltImages): Promise<void> {
  const { socket } = nodeFiles(dir);
  for (const archive of [images.pause, images.operator]) {
    await run('ctr', ['--address', socket, '-n', 'k8s.io', 'images', 'import', '--no-unpack=false', archive], { maxBuffer: 16 << 20 });
  }
}

export interface KubeletPorts {
  port: number;
  healthzPort: number;
}

/**
 * Cluster DNS: CoreDNS as a process on the bridge address (port 53 there only),
 * answering cluster.local from the API (Services, headless Services' pods:
 * the names macd replicas reach each other by) and nothing else.
 */
export function corefile(kubeconfig: string): string {
  return [
    `cluster.local:53 {`,
    `  bind ${GATEWAY}`,
    `  errors`,
    `  kubernetes cluster.local {`,
    `    kubeconfig ${kubeconfig}`,
    `  }`,
    `}`,
    `.:53 {`,
    `  bind ${GATEWAY}`,
    // No upstream: the sandbox's pods have no business outside.
    `  template ANY ANY {`,
    `    rcode NXDOMAIN`,
    `  }`,
    `}`,
    '',
  ].join('\n');
}

export function kubeletConfig(dir: string, caFile: string, ports: KubeletPorts): string {
  const { socket } = nodeFiles(dir);
  // Pods with dnsPolicy Default (and the host-network ones) get this: nothing to resolve with.
  writeFileSync(join(dir, 'resolv.conf'), `nameserver ${GATEWAY}\noptions ndots:1\n`);
  return JSON.stringify({
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    cgroupDriver: 'cgroupfs',
    failSwapOn: false,
    // Kubernetes 1.35+ refuses cgroup v1 unless told; these machines have v1.
    failCgroupV1: false,
    containerRuntimeEndpoint: `unix://${socket}`,
    address: GATEWAY,
    port: ports.port,
    readOnlyPort: 0,
    healthzBindAddress: '127.0.0.1',
    healthzPort: ports.healthzPort,
    authentication: { x509: { clientCAFile: caFile }, webhook: { enabled: false }, anonymous: { enabled: false } },
    authorization: { mode: 'AlwaysAllow' },
    podCIDR: POD_CIDR,
    resolvConf: join(dir, 'resolv.conf'),
    // Under the cluster dir, not the machine's /var/log/pods (host.ts removes the /var/log/containers links).
    podLogsDir: join(dir, 'pod-logs'),
    clusterDomain: 'cluster.local',
    clusterDNS: [GATEWAY],
    // Images can't be pulled again here: never collect them.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { 'memory.available': '50Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
    localStorageCapacityIsolation: false,
    protectKernelDefaults: false,
    makeIPTablesUtilChains: false,
    serializeImagePulls: false,
    syncFrequency: '10s',
    fileCheckFrequency: '10s',
    nodeStatusUpdateFrequency: '5s',
    nodeStatusReportFrequency: '10s',
    shutdownGracePeriod: '0s',
    maxPods: 60,
  });
}

export function kubeProxyConfig(kubeconfig: string, metricsPort: number, healthzPort: number): string {
  return JSON.stringify({
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig },
    mode: 'iptables',
    clusterCIDR: POD_CIDR,
    hostnameOverride: NODE_NAME,
    bindAddress: '127.0.0.1',
    metricsBindAddress: `127.0.0.1:${metricsPort}`,
    healthzBindAddress: `127.0.0.1:${healthzPort}`,
    // Leave the machine's conntrack sysctls alone.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    iptables: { localhostNodePorts: false, syncPeriod: '10s', minSyncPeriod: '0s' },
  });
}

/** Force-removes every pod sandbox (CNI DEL: veths, IPs, hostport rules) through the CRI. */
export async function removeAllPods(dir: string, binDir: string): Promise<void> {
  const { socket } = nodeFiles(dir);
  const crictl = join(binDir, 'crictl');
  const endpoint = ['--runtime-endpoint', `unix://${socket}`, '--timeout', '20s'];
  try {
    await run(crictl, [...endpoint, 'stopp', ...(await listPods())], { timeout: 60_000 });
  } catch {
    // nothing to stop, or containerd is gone: cleanupHost takes over
  }
  try {
    await run(crictl, [...endpoint, 'rmp', '--all', '--force'], { timeout: 60_000 });
  } catch {
    // as above
  }
  async function listPods(): Promise<string[]> {
    const { stdout } = await run(crictl, [...endpoint, 'pods', '-q'], { timeout: 20_000 });
    return stdout.split('\n').filter(Boolean);
  }
}
