// DhcpSubnet status is what dhcpd serves: the operator renders a subnet, a
// real dhcpd runs with the subnet's rendered ConfigMap and publishes its report
// on its Lease (kwok pods run no containers, so the test plays the pod and its
// kubelet). A config written past admission shows as Degraded/ConfigRejected
// in dhcpd's words within 10 s and clears when put back; and a real DHCP
// client in a network namespace made by this test takes and releases a lease.
// dhcpd runs in the host namespace (it must reach the API server on loopback),
// on one end of a veth pair whose other end is the client's namespace.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
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
let refusing: ChildProcess | undefined;
const dir = mkdtempSync(join(tmpdir(), 'dsnstatus-'));

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface SubnetStatus {
  status?: { capacity?: number; leased?: number; available?: number; conditions?: Condition[] };
}
const condition = (s: SubnetStatus['status'], type: string) => s?.conditions?.find((c) => c.type === type);

async function teardownNet(): Promise<void> {
  await run('ip', ['netns', 'del', clientNs]);
  await run('ip', ['link', 'del', hostIf]);
}

beforeAll(async () => {
  await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', join(root, 'crds')]);
  ns = await createNamespace('e2e-dsnstatus');
  op = await startOperator({ name: 'dsnstatus' });
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
});

afterAll(async () => {
  dhcpd?.kill('SIGKILL');
  refusing?.kill('SIGKILL');
  await run('sh', ['-c', `[ -f ${join(dir, 'dhclient.pid')} ] && kill -9 $(cat ${join(dir, 'dhclient.pid')}) 2>/dev/null; true`]);
  await op?.stop();
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
  if (!unavailable) await teardownNet();
  if (!process.env['KEEP']) rmSync(dir, { recursive: true, force: true });
});

/** A real dhcpd playing replica 0 of `subnet`, on loopback (no root needed), publishing its report. */
async function spawnDhcpd(
  subnet: string,
  configFile: string,
  dataDir: string,
  listen: string[] = ['--listen-address', '127.0.0.1', '--listen-port', '0'],
  more: { kubeconfig?: string; args?: string[] } = {},
): Promise<{ child: ChildProcess; metricsPort: number }> {
  const metricsPort = await freePort();
  const log = openSync(join(dir, `${subnet}-dhcpd.log`), 'a');
  const child = spawn(
    process.execPath,
    [join(root, 'src/cli/main.ts'), 'dhcpd', '--config', configFile, '--data-dir', dataDir, '--metrics-listen', `127.0.0.1:${metricsPort}`, ...listen,
      '--kubeconfig', more.kubeconfig ?? inject('kubeconfig'), '--status-lease', `${subnet}-dhcpd-0`, '--namespace', ns, '--server-name', subnet, '--share', '0', ...(more.args ?? [])],
    { stdio: ['ignore', log, log] },
  );
  try {
    await eventually('dhcpd ready', async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => undefined))?.status === 200, 20_000);
  } catch (err) {
    // Not left running, and the server's own words (the test's directory goes at the end).
    child.kill('SIGKILL');
    throw new Error(`${String(err)}\n${readFileSync(join(dir, `${subnet}-dhcpd.log`), 'utf8').split('\n').slice(-5).join('\n')}`);
  }
  return { child, metricsPort };
}

describe('DhcpSubnet status from what dhcpd serves', () => {
  it('capacity as served; a config dhcpd refuses is Degraded/ConfigRejected in its words within 10 s; put back, it clears', async () => {
    const subnet = {
      apiVersion: 'alcor.dev/v1alpha1',
      kind: 'DhcpSubnet',
      metadata: { name: 'refused' },
      spec: { cidr: '10.95.0.0/24', pools: [{ start: '10.95.0.100', end: '10.95.0.199' }], excludes: ['10.95.0.150-10.95.0.159'], server: { mode: 'relay', replicas: 1 } },
    };
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], JSON.stringify(subnet));
    const status = async () => (await getJson<SubnetStatus>(['-n', ns, 'get', 'dhcpsubnet', 'refused'])).status;
    // No server yet: no capacity claimed.
    await eventually('Progressing, waiting for the server', async () => condition(await status(), 'Progressing')?.reason === 'ApplyingConfig');
    expect((await status())?.capacity).toBeUndefined();

    const cm = await getJson<{ data: Record<string, string> }>(['-n', ns, 'get', 'configmap', 'refused-dhcpd']);
    const rendered = cm.data['config.yaml']!;
    const configFile = join(dir, 'refused.yaml');
    writeFileSync(configFile, rendered);
    refusing = (await spawnDhcpd('refused', configFile, join(dir, 'refused-data'))).child;
    await eventually('capacity as dhcpd serves it, config applied', async () => {
      const s = await status();
      return s?.capacity === 90 && s.leased === 0 && condition(s, 'Progressing')?.status === 'False' && condition(s, 'Degraded')?.status === 'False';
    }, 10_000);

    // Past admission: the ConfigMap edited to overlapping pools (the CRD refuses them), handed to the pod.
    const edited = parse(rendered) as { subnets: { pools: { start: string; end: string }[] }[] };
    edited.subnets[0]!.pools = [{ start: '10.95.0.100', end: '10.95.0.199' }, { start: '10.95.0.150', end: '10.95.0.249' }];
    const editedText = stringify(edited);
    await kubectlOk(['-n', ns, 'patch', 'configmap', 'refused-dhcpd', '--type=merge', '-p', JSON.stringify({ data: { 'config.yaml': editedText } })]);
    const started = Date.now();
    writeFileSync(configFile, editedText);
    const degraded = await eventually('Degraded/ConfigRejected', async () => {
      const c = condition(await status(), 'Degraded');
      return c?.reason === 'ConfigRejected' ? c : undefined;
    }, 10_000);
    const ms = Date.now() - started;
    expect(ms).toBeLessThan(10_000);
    expect(degraded.status).toBe('True');
    expect(degraded.message).toMatch(/^refused-dhcpd-0: .*subnet "refused": pools overlap$/);
    expect(condition(await status(), 'Ready')).toMatchObject({ status: 'False', reason: 'ConfigRejected' });
    // It kept serving the config it had.
    expect((await status())?.capacity).toBe(90);
    process.stdout.write(`ConfigRejected after ${ms} ms: ${degraded.message}\n`);

    await eventually('ConfigMap restored by the operator', async () => (await getJson<{ data: Record<string, string> }>(['-n', ns, 'get', 'configmap', 'refused-dhcpd'])).data['config.yaml'] === rendered, 15_000);
    writeFileSync(configFile, rendered);
    await eventually('Degraded clears', async () => {
      const s = await status();
      return condition(s, 'Degraded')?.status === 'False' && condition(s, 'Ready')?.status === 'True';
    }, 10_000);
  });
});

/** A kubeconfig holding a token of ServiceAccount `sa` of the test namespace: server and CA from the admin one. */
async function serviceAccountKubeconfig(sa: string): Promise<string> {
  const token = (await kubectlOk(['-n', ns, 'create', 'token', sa, '--duration=1h'])).trim();
  const admin = await getJson<{ clusters: { cluster: Record<string, string> }[] }>(['config', 'view', '--raw', '--minify']);
  const cluster = admin.clusters[0]!.cluster;
  const ca = cluster['certificate-authority-data'] ?? Buffer.from(readFileSync(cluster['certificate-authority']!)).toString('base64');
  const file = join(dir, `${sa}.kubeconfig`);
  writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: cluster['server'], 'certificate-authority-data': ca } }],
      users: [{ name: sa, user: { token } }],
      contexts: [{ name: sa, context: { cluster: 'c', user: sa } }],
      'current-context': sa,
    }),
    { mode: 0o600 },
  );
  return file;
}

interface LeaseObject {
  metadata: { uid: string; ownerReferences?: { kind: string; name: string; uid: string }[] };
}

describe('the report Lease goes with its pod', () => {
  it('owned by the pod it reports for: deleted with it, taken over by the next one, gone with the subnet', async () => {
    const name = 'owned';
    const subnet = {
      apiVersion: 'alcor.dev/v1alpha1',
      kind: 'DhcpSubnet',
      metadata: { name },
      spec: { cidr: '10.97.10.0/24', pools: [{ start: '10.97.10.100', end: '10.97.10.149' }], server: { mode: 'relay', replicas: 1 } },
    };
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], JSON.stringify(subnet));
    const status = async () => (await getJson<SubnetStatus>(['-n', ns, 'get', 'dhcpsubnet', name])).status;
    const pod = `${name}-dhcpd-0`;
    const podUid = async () => (await getJson<{ metadata: { uid: string } }>(['-n', ns, 'get', 'pod', pod]).catch(() => undefined))?.metadata.uid;
    const lease = async () => getJson<LeaseObject>(['-n', ns, 'get', 'lease', pod]).catch(() => undefined);
    const cm = await eventually('the rendered ConfigMap', async () => getJson<{ data: Record<string, string> }>(['-n', ns, 'get', 'configmap', `${name}-dhcpd`]).catch(() => undefined));
    const configFile = join(dir, `${name}.yaml`);
    writeFileSync(configFile, cm.data['config.yaml']!);
    // As the pod would run it: with the ServiceAccount and Role the operator rendered, the flags it renders.
    const kubeconfig = await eventually('the dhcpd ServiceAccount', async () => (await kubectl(['-n', ns, 'get', 'serviceaccount', `${name}-dhcpd`])).code === 0 && serviceAccountKubeconfig(`${name}-dhcpd`));
    const play = async (uid: string) => (await spawnDhcpd(name, configFile, join(dir, `${name}-data`), undefined, { kubeconfig, args: ['--owner-pod', pod, '--owner-pod-uid', uid] })).child;

    // What a dhcpd before owners left: the same Lease, owned by nobody. The
    // server takes it over (an update that sets its owner: with
    // OwnerReferencesPermissionEnforcement, only who may delete it may).
    await kubectlOk(['-n', ns, 'create', '-f', '-'], JSON.stringify({ apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: pod, labels: { 'alcor.dev/dhcp-server': name } }, spec: { holderIdentity: name } }));
    const first = await eventually(`pod ${pod} created`, podUid);
    let server = await play(first);
    try {
      await eventually('capacity as served', async () => (await status())?.capacity === 50, 15_000);
      expect((await lease())?.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Pod', name: pod, uid: first }]);

      // The pod goes (its server with it): the garbage collector takes its report, and status no longer claims what it served.
      server.kill('SIGKILL');
      await kubectlOk(['-n', ns, 'delete', 'pod', pod, '--wait=false']);
      await eventually('the report Lease deleted with its pod', async () => (await lease()) === undefined, 60_000);
      await eventually('no capacity claimed, waiting for the server', async () => {
        const s = await status();
        return s?.capacity === undefined && condition(s, 'Progressing')?.reason === 'ApplyingConfig';
      }, 15_000);

      // The StatefulSet's next pod of that name: its server takes the place, and the Lease is its.
      const second = await eventually(`a new pod ${pod}`, async () => {
        const uid = await podUid();
        return uid !== first && uid;
      }, 60_000);
      server = await play(second);
      await eventually('capacity as served again', async () => (await status())?.capacity === 50, 15_000);
      expect((await lease())?.metadata.ownerReferences).toEqual([{ apiVersion: 'v1', kind: 'Pod', name: pod, uid: second }]);
    } finally {
      server.kill('SIGKILL');
    }
    // The subnet goes: its StatefulSet, its pod and the pod's Lease follow.
    await kubectlOk(['-n', ns, 'delete', 'dhcpsubnet', name, '--wait=false']);
    await eventually('the report Lease deleted with the subnet', async () => (await lease()) === undefined, 90_000);
  });
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

    const cm = await getJson<{ data: Record<string, string> }>(['-n', ns, 'get', 'configmap', 'leased-dhcpd']);
    writeFileSync(join(dir, 'config.yaml'), cm.data['config.yaml']!);
    // On every address, port 67: the client's broadcasts arrive on the veth end.
    const started = await spawnDhcpd('leased', join(dir, 'config.yaml'), join(dir, 'data'), []);
    dhcpd = started.child;
    const { metricsPort } = started;
    await eventually('capacity as dhcpd serves it', async () => (await status())?.capacity === 100, 10_000);

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
