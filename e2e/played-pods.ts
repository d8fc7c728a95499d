// Real server processes standing in for a local cluster's kwok pods, so the
// API server's service proxy reaches them: kwok gives each pod a made-up IP
// that nothing listens on. A "pod network" namespace made by the test holds
// one address per played pod, joined to the host (where the API server runs)
// by a veth pair; the pod's status is patched to that address, so the
// endpoint controllers write it into the Service's EndpointSlices and the
// proxy dials the real process. Processes in the namespace reach the API
// server through a forwarder on the host end of the veth.

import { createServer, connect, type Server } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { parse, stringify } from 'yaml';
import { run } from '../test/dhcpd/lab/netns.ts';
import { eventually, getJson, kubectlOk } from './kubectl.ts';

export interface PodNetwork {
  /** The namespace holding the pods' addresses. */
  netns: string;
  /** host side address of the veth (the forwarder listens here). */
  hostAddress: string;
  /** The n-th pod address (n ≥ 2). */
  address(n: number): string;
  /** A kubeconfig whose server is the forwarder (for processes in the namespace). */
  kubeconfig: string;
  close(): Promise<void>;
}

async function must(cmd: string, args: string[]): Promise<void> {
  const r = await run(cmd, args);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim()}`);
}

/**
 * Joins `netns` (made by the caller) to the host by a veth pair on a /24 of
 * its own (from the pid, so two runs don't collide), and starts the API
 * server forwarder.
 */
export async function podNetwork(netns: string, tag: string, dir: string): Promise<PodNetwork> {
  const octets = `10.${200 + (process.pid % 50)}.${(process.pid >> 6) % 250}`;
  const hostIf = `${tag}h`;
  const podIf = `${tag}p`;
  await run('ip', ['link', 'del', hostIf]);
  await must('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', podIf]);
  await must('ip', ['link', 'set', podIf, 'netns', netns]);
  await must('ip', ['addr', 'add', `${octets}.1/24`, 'dev', hostIf]);
  await must('ip', ['link', 'set', hostIf, 'up']);
  await must('ip', ['-n', netns, 'link', 'set', podIf, 'up']);
  for (let n = 2; n <= 9; n++) await must('ip', ['-n', netns, 'addr', 'add', `${octets}.${n}/24`, 'dev', podIf]);

  // The API server listens on loopback: forward the veth's host end to it.
  const admin = parse(readFileSync(inject('kubeconfig'), 'utf8')) as { clusters: { cluster: Record<string, unknown> }[] };
  const api = new URL(String(admin.clusters[0]!.cluster['server']));
  const forwarder: Server = createServer((socket) => {
    const up = connect(Number(api.port || 443), api.hostname);
    socket.pipe(up).pipe(socket);
    const end = (): void => {
      socket.destroy();
      up.destroy();
    };
    socket.on('error', end);
    up.on('error', end);
  });
  await new Promise<void>((resolve) => forwarder.listen(0, `${octets}.1`, resolve));
  const port = (forwarder.address() as { port: number }).port;
  const kc = parse(readFileSync(inject('kubeconfig'), 'utf8')) as { clusters: { cluster: Record<string, unknown> }[] };
  for (const c of kc.clusters) {
    c.cluster['server'] = `https://${octets}.1:${port}`;
    // The serving certificate names "kubernetes", not the forwarder's address.
    c.cluster['tls-server-name'] = 'kubernetes';
  }
  const kubeconfig = join(dir, 'pod.kubeconfig');
  writeFileSync(kubeconfig, stringify(kc), { mode: 0o600 });
  return {
    netns,
    hostAddress: `${octets}.1`,
    address: (n) => `${octets}.${n}`,
    kubeconfig,
    close: async () => {
      await new Promise<void>((resolve) => forwarder.close(() => resolve()));
      await run('ip', ['link', 'del', hostIf]);
    },
  };
}

interface Pod {
  status?: { phase?: string; podIP?: string };
}

/**
 * Plays pod `name`: once kwok has it Running, its IP becomes `ip` (where the
 * real process listens), and the Service's EndpointSlices follow.
 */
export async function playPod(namespace: string, name: string, ip: string, service: string): Promise<void> {
  await eventually(`pod ${name} Running`, async () => (await getJson<Pod>(['-n', namespace, 'get', 'pod', name]).catch(() => undefined))?.status?.phase === 'Running', 60_000);
  await kubectlOk(['-n', namespace, 'patch', 'pod', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { podIP: ip, podIPs: [{ ip }] } })]);
  await eventually(`${ip} in the EndpointSlices of ${service}`, async () => {
    const slices = await getJson<{ items: { endpoints?: { addresses: string[] }[] }[] }>(['-n', namespace, 'get', 'endpointslices', '-l', `kubernetes.io/service-name=${service}`]);
    return slices.items.some((s) => (s.endpoints ?? []).some((e) => e.addresses.includes(ip)));
  }, 60_000);
}
