// DhcpSubnet status follows real leases: the operator renders a subnet, a real
// dhcpd runs with the subnet's rendered ConfigMap and publishes its lease count
// (kwok pods run no containers, so the test plays the pod), and a real DHCP
// client in a network namespace made by this test takes and releases a lease.
// dhcpd runs in the host namespace (it must reach the API server on loopback),
// on one end of a veth pair whose other end is the client's namespace.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labUnavailable, run } from '../test/dhcpd/lab/netns.ts';
import { freePort } from './cluster/net.ts';
import { createNamespace, eventually, getJson, kubectl, kubectlOk } from './kubectl.ts';
import { startOperator, type OperatorProcess } from './operator.ts';

const root = join(import.meta.dirname, '..');
const tag = `aoe${process.pid % 10000}`;
const clientNs = `${tag}c`;
const hostIf = `${tag}h`;
const clientIf = `${tag}c`;
const unavailable = await labUnavailable(['dhclient']);

let ns = '';
let op: OperatorProcess | undefined;
let dhcpd: ChildProcess | undefined;
const dir = mkdtempSync(join(tmpdir(), 'dsnstatus-'));

interface SubnetStatus {
  status?: { capacity?: number; leased?: number; available?: number };
}

async function teardownNet(): Promise<void> {
  await run('ip', ['netns', 'del', clientNs]);
  await run('ip', ['link', 'del', hostIf]);
}

beforeAll(async () => {
  if (unavailable) return;
  await teardownNet();
  for (const args of [
    ['netns', 'add', clientNs],
    ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', clientIf],
    ['link', 'set', clientIf, 'netns', clientNs],
    ['addr', 'add', '10.93.0.1/24', 'dev', hostIf],
    ['link', 'set', hostIf, 'up'],
    ['-n', clientNs, 'link', 'set', clientIf, 'up'],
    ['-n', clientNs, 'link', 'set', 'lo', 'up'],
  ]) {
    const r = await run('ip', args);
    if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
  }
  await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', join(root, 'crds')]);
  ns = await createNamespace('e2e-dsnstatus');
  op = await startOperator({ name: 'dsnstatus' });
});

afterAll(async () => {
  dhcpd?.kill('SIGKILL');
  await run('sh', ['-c', `[ -f ${join(dir, 'dhclient.pid')} ] && kill -9 $(cat ${join(dir, 'dhclient.pid')}) 2>/dev/null; true`]);
  await op?.stop();
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
  if (!unavailable) await teardownNet();
  if (!process.env['KEEP']) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(unavailable !== undefined)(`DhcpSubnet status${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('follows a lease taken and released by a real client', async () => {
    const subnet = {
      apiVersion: 'alcor.dev/v1alpha1',
      kind: 'DhcpSubnet',
      metadata: { name: 'leased' },
      spec: { cidr: '10.93.0.0/24', gateway: '10.93.0.1', pools: [{ start: '10.93.0.100', end: '10.93.0.199' }], dnsServers: ['10.93.0.1'], server: { mode: 'relay', replicas: 1 } },
    };
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], JSON.stringify(subnet));
    const status = async () => (await getJson<SubnetStatus>(['-n', ns, 'get', 'dhcpsubnet', 'leased'])).status;
    await eventually('capacity in status', async () => (await status())?.capacity === 100);

    const cm = await getJson<{ data: Record<string, string> }>(['-n', ns, 'get', 'configmap', 'leased-dhcpd']);
    writeFileSync(join(dir, 'config.yaml'), cm.data['config.yaml']!);
    const metricsPort = await freePort();
    dhcpd = spawn(
      process.execPath,
      [join(root, 'src/cli/main.ts'), 'dhcpd', '--config', join(dir, 'config.yaml'), '--data-dir', join(dir, 'data'), '--metrics-listen', `127.0.0.1:${metricsPort}`,
        '--kubeconfig', inject('kubeconfig'), '--status-lease', 'leased-dhcpd-0', '--namespace', ns, '--server-name', 'leased', '--share', '0'],
      { stdio: ['ignore', openSync(join(dir, 'dhcpd.log'), 'w'), openSync(join(dir, 'dhcpd.log'), 'a')] },
    );
    await eventually('dhcpd ready', async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => undefined))?.status === 200, 20_000);

    // ISC dhclient, configuring what it gets so that its RELEASE reaches the server by unicast.
    const hook = join(dir, 'hook.sh');
    writeFileSync(
      hook,
      '#!/bin/sh\ncase "$reason" in BOUND|RENEW|REBIND|REBOOT) ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface" ;; RELEASE|EXPIRE|STOP) ip addr flush dev "$interface" ;; esac\nexit 0\n',
      { mode: 0o755 },
    );
    const files = ['-lf', join(dir, 'dhclient.leases'), '-pf', join(dir, 'dhclient.pid'), '-sf', hook];
    const lease = await run('ip', ['netns', 'exec', clientNs, 'dhclient', '-1', '-v', ...files, clientIf], 30_000);
    expect(lease.code, lease.stderr).toBe(0);
    expect(lease.stderr + lease.stdout).toMatch(/bound to 10\.93\.0\.1\d\d/);
    await eventually('status.leased = 1', async () => {
      const s = await status();
      return s?.leased === 1 && s.available === 99;
    }, 30_000);

    const released = await run('ip', ['netns', 'exec', clientNs, 'dhclient', '-r', '-v', ...files, clientIf], 30_000);
    expect(released.code, released.stderr).toBe(0);
    const metrics = async () => (await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text()).split('\n').filter((l) => /packets|leases|drop/i.test(l) && !l.startsWith('#')).join('\n');
    try {
      await eventually('status.leased back to 0', async () => (await status())?.leased === 0, 30_000);
    } catch (err) {
      throw new Error(`${String(err)}\nudhcpc: ${released.stderr}\ndhcpd metrics:\n${await metrics()}`);
    }
  });
});
