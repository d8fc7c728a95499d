// Real pods: a cluster of its own with a containerd node (e2e/cluster, runtime
// containerd), the operator installed by its Helm chart and running as a pod
// from the image `npm run image` builds, a MacPool whose macd pods serve
// Alcor's MAC API through the pool's ClusterIP Service, and an allocator pod
// deleted and replaced with its state intact. Skips with the reason where
// the machine can't run containers (not root, Debian packages missing) or
// when the suite runs on an external cluster.
import { Resolver } from 'node:dns/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startCluster, type Cluster } from './cluster/cluster.ts';
import { BRIDGE, GATEWAY, POD_CIDR, missingForNode, nodeFiles } from './cluster/node.ts';
import { dhcpClientOnBridge, whichSync } from './realpods/dhcp-client.ts';
import { hostLeftovers, iptablesChains, readSysctls } from './cluster/host.ts';
import { pinoLines, podReady, tools, until, type PodLike, type Tools } from './realpods/kube.ts';

const skipReason = process.env['E2E_KUBECONFIG']
  ? 'real pods run on the local cluster only (E2E_KUBECONFIG is set)'
  : process.env['E2E_REAL_PODS'] === '0'
    ? 'E2E_REAL_PODS=0'
    : missingForNode();
if (skipReason) process.stderr.write(`[realpods] skipped: ${skipReason}\n`);

const NS = 'alcor-system';
const POOL_NS = 'pools';
// Two allocators: each claims its own blocks; a request for a MAC the other
// holds is forwarded to it by its headless-Service DNS name (cluster DNS).
const REPLICAS = 2;

interface MacState {
  mac_state: { mac_address: string; port_id: string; state: string };
}

describe.skipIf(skipReason !== '')('real pods (containerd node)', () => {
  let cluster: Cluster;
  let k: Tools;
  let serviceUrl = '';
  const allocated = new Map<string, string>(); // mac → port_id
  let chainsBefore: Record<string, string[]> = {};
  let sysctlsBefore: Record<string, string> = {};

  beforeAll(async () => {
    chainsBefore = iptablesChains();
    sysctlsBefore = readSysctls();
    // Another test run on this machine may hold the node (kube-proxy's chains are machine-wide): wait for it.
    cluster = await startCluster({ runtime: 'containerd', waitForHostMs: 300_000, log: (l) => process.stderr.write(`[realpods] ${l}\n`) });
    k = tools(cluster.binDir, cluster.kubeconfig);
  }, 1_200_000); // a first run builds kubelet, kube-proxy, crictl and CoreDNS (minutes)

  afterAll(async () => {
    await cluster?.stop();
  }, 120_000);

  const macdPods = async () => (await k.json<{ items: PodLike[] }>(['-n', POOL_NS, 'get', 'pods', '-l', 'app.kubernetes.io/name=macd'])).items;

  test('the operator, installed by its Helm chart, runs as a pod and logs pino JSON', async () => {
    const [repository, tag] = (cluster.images?.operatorImage ?? '').split(':');
    await k.helm([
      'install', 'alcor', join(import.meta.dirname, '..', 'charts', 'alcor-operator'), '--namespace', NS, '--create-namespace',
      '--set', 'replicaCount=1', '--set', `image.repository=${repository}`, '--set', `image.tag=${tag}`,
      '--set', 'image.pullPolicy=Never', '--wait', '--timeout', '120s',
    ]);
    const pods = await k.json<{ items: PodLike[] }>(['-n', NS, 'get', 'pods', '-l', 'app.kubernetes.io/name=alcor-operator']);
    expect(pods.items).toHaveLength(1);
    expect(podReady(pods.items[0]!)).toBe(true);
    const lines = await until('operator pino lines', async () => {
      const l = pinoLines(await k.kubectl(['-n', NS, 'logs', pods.items[0]!.metadata.name]));
      return l.length > 0 && l;
    });
    expect(lines.some((l) => l.level === 30)).toBe(true);
  });

  test('a MacPool gets running, ready macd pods that serve MACs through the ClusterIP Service', async () => {
    await k.kubectl(['create', 'namespace', POOL_NS]);
    await k.kubectl(['-n', POOL_NS, 'apply', '-f', '-'], JSON.stringify({
      apiVersion: 'alcor.dev/v1alpha1',
      kind: 'MacPool',
      metadata: { name: 'pool' },
      spec: {
        oui: 'aa:bb:cc',
        ranges: [{ name: 'r0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:00:ff:ff' }],
        allocator: { replicas: REPLICAS, storage: { size: '64Mi' } },
      },
    }));
    await until('macd pod Ready', async () => {
      const pods = await macdPods();
      return pods.length === REPLICAS && pods.every(podReady);
    }, 120_000);
    // Cluster DNS answers the peer names the replicas advertise to each other.
    const resolver = new Resolver();
    resolver.setServers([GATEWAY]);
    const peerIps = await until('peer names in cluster DNS', async () => {
      const ips = await Promise.all([0, 1].map((r) => resolver.resolve4(`pool-macd-${r}.pool-macd-peers.${POOL_NS}.svc.cluster.local`)));
      return ips.every((a) => a.length === 1) && ips.flat();
    }, 30_000);
    const podIps = (await macdPods()).map((p) => (p.status as { podIP?: string } | undefined)?.podIP);
    expect(new Set(peerIps)).toEqual(new Set(podIps));
    const svc = await k.json<{ spec: { clusterIP: string; ports: { port: number }[] } }>(['-n', POOL_NS, 'get', 'service', 'pool-macd']);
    serviceUrl = `http://${svc.spec.clusterIP}:${svc.spec.ports[0]!.port}`;
    for (let i = 0; i < 10; i++) {
      // From the host, through kube-proxy's rules for the ClusterIP.
      const res = await until(`POST /macs p${i}`, async () => {
        const r = await fetch(`${serviceUrl}/macs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ mac_state: { project_id: 'p', vpc_id: 'v', port_id: `p${i}` } }),
          signal: AbortSignal.timeout(5000),
        });
        return r.status === 201 || r.status === 200 ? r : undefined;
      }, 30_000);
      const body = (await res.json()) as MacState;
      expect(body.mac_state.mac_address).toMatch(/^aa:bb:cc:00:[0-9a-f]{2}:[0-9a-f]{2}$/);
      expect(allocated.has(body.mac_state.mac_address)).toBe(false);
      allocated.set(body.mac_state.mac_address, `p${i}`);
    }
    await until('MacPool status.allocated = 10', async () => {
      const pool = await k.json<{ status?: { allocated?: number } }>(['-n', POOL_NS, 'get', 'macpool', 'pool']);
      return pool.status?.allocated === 10;
    }, 60_000);
    for (let r = 0; r < REPLICAS; r++) {
      const logs = await k.kubectl(['-n', POOL_NS, 'logs', `pool-macd-${r}`]);
      expect(pinoLines(logs).some((l) => l.msg.length > 0)).toBe(true);
    }
  });

  test('kubectl delete pod: the allocator comes back with every MAC still allocated, none given twice', async () => {
    expect(allocated.size).toBe(10);
    const before = (await macdPods()).find((p) => p.metadata.name === 'pool-macd-0');
    await k.kubectl(['-n', POOL_NS, 'delete', 'pod', 'pool-macd-0', '--wait=true', '--timeout=60s']);
    await until('a new pool-macd-0 Ready', async () => {
      const pods = await macdPods();
      const p0 = pods.find((p) => p.metadata.name === 'pool-macd-0');
      return pods.length === REPLICAS && p0 !== undefined && p0.metadata.uid !== before?.metadata.uid && pods.every(podReady);
    }, 120_000);
    for (const [mac, port] of allocated) {
      const res = await until(`GET /macs/${mac}`, async () => {
        const r = await fetch(`${serviceUrl}/macs/${mac}`, { signal: AbortSignal.timeout(5000) });
        return r.status === 200 ? r : undefined;
      }, 30_000);
      const body = (await res.json()) as MacState;
      expect(body.mac_state.port_id).toBe(port);
    }
    const res = await fetch(`${serviceUrl}/macs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mac_state: { project_id: 'p', vpc_id: 'v', port_id: 'after-restart' } }),
    });
    expect([200, 201]).toContain(res.status);
    const fresh = ((await res.json()) as MacState).mac_state.mac_address;
    expect(allocated.has(fresh)).toBe(false);
    await until('MacPool status.allocated = 11', async () => {
      const pool = await k.json<{ status?: { allocated?: number } }>(['-n', POOL_NS, 'get', 'macpool', 'pool']);
      return pool.status?.allocated === 11;
    }, 60_000);
  });

  test('a DhcpSubnet on the pod network: its dhcpd pod leases an address to dhclient in a network namespace on the bridge', async (ctx) => {
    const dhclient = whichSync('dhclient');
    if (!dhclient) ctx.skip('dhclient (Debian package isc-dhcp-client) is not installed');
    await k.kubectl(['-n', POOL_NS, 'apply', '-f', '-'], JSON.stringify({
      apiVersion: 'alcor.dev/v1alpha1',
      kind: 'DhcpSubnet',
      metadata: { name: 'podnet' },
      spec: {
        // The pods' own /24: dhcpd serves the subnet of the interface a broadcast arrives on.
        cidr: POD_CIDR,
        gateway: GATEWAY,
        pools: [{ start: '10.244.0.200', end: '10.244.0.220' }],
        leaseTime: '1h',
        server: { mode: 'relay', replicas: 1 },
      },
    }));
    await until('dhcpd pod Ready', async () => {
      const pods = (await k.json<{ items: PodLike[] }>(['-n', POOL_NS, 'get', 'pods', '-l', 'app.kubernetes.io/name=dhcpd'])).items;
      return pods.length === 1 && pods.every(podReady);
    }, 120_000);
    const client = await dhcpClientOnBridge(dhclient);
    try {
      const address = await client.lease();
      expect(address).toMatch(/^10\.244\.0\.(20\d|21\d|220)$/);
      await until('DhcpSubnet status.leased = 1', async () => {
        const subnet = await k.json<{ status?: { leased?: number } }>(['-n', POOL_NS, 'get', 'dhcpsubnet', 'podnet']);
        return subnet.status?.leased === 1;
      }, 60_000);
      const logs = await k.kubectl(['-n', POOL_NS, 'logs', 'podnet-dhcpd-0']);
      expect(pinoLines(logs).length).toBeGreaterThan(0);
    } finally {
      client.remove();
    }
  });

  test('stopping the cluster leaves no processes, mounts, links, iptables chains, cgroups or changed sysctls behind', async () => {
    const dir = cluster.dir;
    await cluster.stop();
    expect(hostLeftovers({ dir, bridge: BRIDGE, containerdSocket: nodeFiles(dir).socket, chainsBefore, sysctlsBefore })).toEqual([]);
  }, 120_000);
});
