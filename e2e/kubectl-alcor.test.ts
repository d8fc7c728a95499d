// kubectl alcor against real servers of a real cluster's resources: the
// operator renders a MacPool (two macd replicas) and a DhcpSubnet; real
// macd and dhcpd processes play their kwok pods (e2e/played-pods.ts), so
// every subcommand goes through the API server's service proxy to them, as
// in a cluster. A real dhclient takes leases in a network namespace, a real
// Kea writes the lease file that is migrated and reads back the one that is
// exported. The plugin runs with @kubernetes/client-node made unloadable.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { execFile, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { hookEvents, Lab, labUnavailable, run } from '../test/dhcpd/lab/netns.ts';
import { parseBackup, type LeaseEntry, type MacEntry } from '../src/api/backup.ts';
import { createNamespace, eventually, getJson, kubectl, kubectlOk, waitEstablished } from './kubectl.ts';
import { startOperator, type OperatorProcess } from './operator.ts';
import { playPod, podNetwork, type PodNetwork } from './played-pods.ts';

const root = join(import.meta.dirname, '..');
const tag = `ka${process.pid % 1000}`;
const unavailable = inject('localCluster') ? await labUnavailable(['dhclient', 'kea-dhcp4']) : 'plays kwok pods: needs the local process cluster';
const DHCP_NET = '10.94.7';

let lab: Lab | undefined;
let net: PodNetwork | undefined;
let op: OperatorProcess | undefined;
let ns = '';
let kubeconfig = '';
let pathDir = '';
let roles = '';
const servers = new Map<string, ChildProcess>();

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** kubectl-alcor (the package's bin), with client-node made unloadable. */
function alcor(args: string[], opts: { input?: string; context?: string } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [join(root, 'bin/kubectl-alcor.js'), '--kubeconfig', kubeconfig, ...(opts.context ? ['--context', opts.context] : []), ...args],
      { maxBuffer: 64 * 1024 * 1024, timeout: 120_000, env: { ...process.env, NODE_OPTIONS: `--import ${join(root, 'test/process/deny-client-node.mjs')}` } },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
        // KUBECTL_ALCOR_TRANSCRIPT=FILE keeps a session (the README's example comes from one).
        const transcript = process.env['KUBECTL_ALCOR_TRANSCRIPT'];
        if (transcript) appendFileSync(transcript, `$ kubectl alcor ${[...(opts.context ? ['--context', opts.context] : []), ...args].join(' ')}\n${stdout}${stderr}${code ? `[exit ${code}]\n` : ''}\n`);
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(opts.input ?? '');
  });
}

async function ok(args: string[], opts: { input?: string; context?: string } = {}): Promise<string> {
  const r = await alcor(args, opts);
  if (r.code !== 0) throw new Error(`kubectl alcor ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** A refusal: non-zero exit, one line on stderr (plus listed details, indented), nothing on stdout. */
async function refused(args: string[], message: RegExp, opts: { context?: string } = {}): Promise<Result> {
  const r = await alcor(args, opts);
  expect(r.code, `kubectl alcor ${args.join(' ')}: ${r.stdout}${r.stderr}`).not.toBe(0);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(message);
  expect(lines.slice(1).every((l) => l.startsWith('  '))).toBe(true);
  return r;
}

/** Starts a server in the pod network; resolves when `ready` answers. */
async function serve(name: string, args: string[], ready: string): Promise<void> {
  const child = lab!.spawn(lab!.srv, [process.execPath, join(root, 'src/cli/main.ts'), ...args], join(lab!.dir, `${name}.log`));
  servers.set(name, child);
  await eventually(`${name} ready`, async () => {
    if (child.exitCode !== null) throw new Error(`${name} exited: ${(child as ChildProcess & { output: () => string }).output()}`);
    return (await fetch(ready).catch(() => undefined))?.status === 200;
  }, 30_000);
}

async function stopServer(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const child = servers.get(name);
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill(signal);
  await exited;
  // `ip netns exec` is the parent: make sure the server itself is gone too.
  await run('ip', ['netns', 'pids', lab!.srv]).then(async (r) => {
    for (const pid of r.stdout.split('\n').filter(Boolean)) {
      const cmd = await run('cat', [`/proc/${pid}/cmdline`]);
      if (cmd.stdout.includes(`--replica\0${name}`) || cmd.stdout.includes(`${name}.data`)) await run('kill', ['-9', pid]);
    }
  });
}

async function configMap(name: string): Promise<string> {
  const cm = await getJson<{ data: Record<string, string> }>(['-n', ns, 'get', 'configmap', name]);
  const file = join(lab!.dir, `${name}.yaml`);
  writeFileSync(file, cm.data['config.yaml']!);
  return file;
}

const pool = {
  apiVersion: 'alcor.dev/v1alpha1',
  kind: 'MacPool',
  metadata: { name: 'pool' },
  spec: { oui: 'aa:bb:cc', allocator: { replicas: 2 } },
};
const subnet = {
  apiVersion: 'alcor.dev/v1alpha1',
  kind: 'DhcpSubnet',
  metadata: { name: 'net' },
  spec: { cidr: `${DHCP_NET}.0/24`, gateway: `${DHCP_NET}.1`, pools: [{ start: `${DHCP_NET}.100`, end: `${DHCP_NET}.199` }], leaseTime: '10m', server: { mode: 'relay', replicas: 1 } },
};

/** The macd replicas of the pool: fresh data unless `keep`, pods played, processes ready. */
async function startPool(fresh: boolean): Promise<void> {
  const config = await configMap('pool-macd');
  for (const i of [0, 1]) {
    const name = `pool-macd-${i}`;
    const ip = net!.address(2 + i);
    const data = join(lab!.dir, `${name}.data`);
    if (fresh) rmSync(data, { recursive: true, force: true });
    await serve(name, ['macd', '--listen', `${ip}:8080`, '--data-dir', data, '--config', config, '--kubeconfig', net!.kubeconfig, '--replica', name, '--advertise-url', `http://${ip}:8080`], `http://${ip}:8080/readyz`);
    await playPod(ns, name, ip, 'pool-macd');
  }
}

async function startDhcpd(fresh: boolean): Promise<void> {
  const config = await configMap('net-dhcpd');
  const ip = net!.address(4);
  const data = join(lab!.dir, 'net-dhcpd-0.data');
  if (fresh) rmSync(data, { recursive: true, force: true });
  await serve(
    'net-dhcpd-0',
    ['dhcpd', '--config', config, '--data-dir', data, '--metrics-listen', `${ip}:9090`, '--api-listen', `${ip}:9068`, '--replica', 'net-dhcpd-0', '--peers-service', 'net-dhcpd', '--namespace', ns,
      '--kubeconfig', net!.kubeconfig, '--status-lease', 'net-dhcpd-0', '--server-name', 'net', '--share', '0'],
    `http://${ip}:9090/readyz`,
  );
  await playPod(ns, 'net-dhcpd-0', ip, 'net-dhcpd');
}

/** A kubeconfig with the admin context and one per ServiceAccount bound to a role, in the test namespace. */
async function contexts(): Promise<string> {
  const admin = parse(readFileSync(inject('kubeconfig'), 'utf8')) as { clusters: { name: string }[]; users: { name: string }[]; contexts: { name: string; context: Record<string, string> }[]; 'current-context': string };
  const rendered = await run(join(inject('binDir'), 'helm'), ['template', 'x', join(root, 'charts/alcor-operator'), '--kube-version', '1.34.0', '--show-only', 'templates/user-clusterroles.yaml']);
  if (rendered.code !== 0) throw new Error(`helm template: ${rendered.stderr}`);
  roles = rendered.stdout;
  await kubectlOk(['apply', '-f', '-'], roles);
  for (const [sa, role] of [['viewer', 'alcor-viewer'], ['admin', 'alcor-operator-admin']] as const) {
    await kubectlOk(['-n', ns, 'create', 'serviceaccount', sa]);
    await kubectlOk(['-n', ns, 'create', 'rolebinding', sa, `--clusterrole=${role}`, `--serviceaccount=${ns}:${sa}`]);
    const token = (await kubectlOk(['-n', ns, 'create', 'token', sa, '--duration=1h'])).trim();
    admin.users.push({ name: sa, user: { token } } as unknown as { name: string });
    admin.contexts.push({ name: sa, context: { cluster: admin.clusters[0]!.name, user: sa, namespace: ns } });
  }
  // The admin context, with the test namespace as its own: -n is never needed.
  const cur = admin.contexts.find((c) => c.name === admin['current-context'])!;
  cur.context['namespace'] = ns;
  const file = join(lab!.dir, 'plugin.kubeconfig');
  writeFileSync(file, stringify(admin), { mode: 0o600 });
  return file;
}

beforeAll(async () => {
  if (unavailable) return;
  lab = await Lab.create(tag, `${DHCP_NET}.1/24`);
  net = await podNetwork(lab.srv, `aodh${tag}`, lab.dir);
  await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', join(root, 'crds')]);
  await waitEstablished(['macpools.alcor.dev', 'dhcpsubnets.alcor.dev']);
  ns = await createNamespace('e2e-alcor');
  op = await startOperator({ name: 'kubectl-alcor' });
  await kubectlOk(['-n', ns, 'apply', '-f', '-'], JSON.stringify(pool));
  await kubectlOk(['-n', ns, 'apply', '-f', '-'], JSON.stringify(subnet));
  await eventually('the rendered ConfigMaps', async () => (await kubectl(['-n', ns, 'get', 'configmap', 'pool-macd', 'net-dhcpd'])).code === 0);
  await startPool(true);
  await startDhcpd(true);
  kubeconfig = await contexts();
  // npm install -g puts the bin on PATH, where kubectl finds plugins.
  const prefix = join(lab.dir, 'npm-global');
  const install = await run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--ignore-scripts', root], 120_000);
  if (install.code !== 0) throw new Error(`npm install -g: ${install.stderr}`);
  pathDir = join(prefix, 'bin');
}, 300_000);

afterAll(async () => {
  for (const name of servers.keys()) await stopServer(name, 'SIGKILL');
  // The users' ClusterRoles have fixed names: left behind without Helm's
  // annotations, a later file's helm install would refuse to adopt them.
  if (roles) await kubectl(['delete', '--ignore-not-found', '-f', '-'], roles);
  await op?.stop();
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
  await net?.close();
  if (lab && !process.env['KEEP']) await lab.destroy();
});

describe.skipIf(unavailable !== undefined)(`kubectl alcor${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('is a kubectl plugin once npm install -g put it on PATH: kubectl alcor --help documents every subcommand with examples', async () => {
    expect(existsSync(join(pathDir, 'kubectl-alcor'))).toBe(true);
    const help = await new Promise<Result>((resolve) =>
      execFile(join(inject('binDir'), 'kubectl'), ['alcor', '--help'], { env: { ...process.env, PATH: `${pathDir}:${process.env['PATH']}` } }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr })),
    );
    expect(help.code, help.stderr).toBe(0);
    for (const c of ['status', 'who-has', 'macs', 'leases', 'release', 'backup', 'restore', 'import-kea', 'export']) expect(help.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
    expect(help.stdout).toContain('Examples:');
    expect(help.stdout).toContain('Exit codes:');
    const sub = await ok(['restore', '--help']);
    expect(sub).toContain('kubectl alcor restore POOL|SUBNET -f FILE');
    expect(sub).toContain('Examples:');
    expect((await alcor(['frobnicate'])).stderr).toContain('unknown command "frobnicate"');
  });

  it('status: both resources Ready with their replicas, how full, and conditions; -o json', async () => {
    const status = await eventually('both Ready', async () => {
      const r = await alcor(['status']);
      return r.code === 0 && /MacPool\s+pool\s+2\/2/.test(r.stdout) && /DhcpSubnet\s+net\s+1\/1\s+0\s+100\s+\[\.{20}\]\s+0%\s+Ready/.test(r.stdout) ? r.stdout : undefined;
    }, 90_000);
    expect(status.split('\n')[0]).toMatch(/^KIND\s+NAME\s+READY\s+USED\s+CAPACITY\s+UTILIZATION\s+CONDITIONS$/);
    const json = JSON.parse(await ok(['status', '-o', 'json'])) as { items: { kind: string; name: string; capacity: number; replicas: { ready: number } }[] };
    expect(json.items.map((i) => [i.kind, i.name, i.capacity, i.replicas.ready])).toEqual([['DhcpSubnet', 'net', 100, 1], ['MacPool', 'pool', 16_777_216, 2]]);
    // -A shows the namespace; another namespace shows nothing.
    expect(await ok(['status', '-A'])).toMatch(new RegExp(`^${ns}\\s+MacPool\\s+pool`, 'm'));
    expect((await alcor(['status', '-n', 'default'])).stderr).toContain('No MacPools or DhcpSubnets found in namespace default.');
  });

  let macs: MacEntry[] = [];
  it('who-has finds a MAC allocated through the API (the service proxy), on whichever replica holds it; macs lists the pool in pages with filters', async () => {
    const proxy = `/api/v1/namespaces/${ns}/services/http:pool-macd:http/proxy`;
    for (let i = 0; i < 3; i++) {
      const body = { mac_states: Array.from({ length: 200 }, (_, j) => ({ port_id: `port-${i}-${j}`, project_id: `project-${i}`, vpc_id: j % 2 ? 'vpc-odd' : 'vpc-even' })) };
      const out = JSON.parse(await kubectlOk(['create', '--raw', `${proxy}/macs/bulk`, '-f', '-'], JSON.stringify(body))) as { mac_states: MacEntry[] };
      macs.push(...out.mac_states);
    }
    expect(new Set(macs.map((m) => m.mac_address)).size).toBe(600);
    const m = macs[250]!;
    const who = await ok(['who-has', m.mac_address.toUpperCase()]);
    expect(who).toMatch(/^POOL\s+MAC\s+PORT\s+PROJECT\s+VPC\s+STATE\n/);
    expect(who).toContain(`${ns}/pool   ${m.mac_address}   port-1-50   project-1   vpc-even   Active`);
    const yaml = parse(await ok(['who-has', m.mac_address, '-o', 'yaml'])) as { items: Record<string, unknown>[] };
    expect(yaml.items).toEqual([{ kind: 'MacPool', namespace: ns, pool: 'pool', ...m }]);

    const all = JSON.parse(await ok(['macs', 'pool', '-o', 'json', '--chunk-size', '64'])) as { items: MacEntry[] };
    expect(all.items.map((x) => x.mac_address)).toEqual(macs.map((x) => x.mac_address).sort());
    const page = await alcor(['macs', 'pool', '--project', 'project-2', '--vpc', 'vpc-odd', '--limit', '30', '--chunk-size', '20']);
    expect(page.code).toBe(0);
    const rows = page.stdout.trim().split('\n');
    expect(rows[0]).toMatch(/^MAC\s+PORT\s+PROJECT\s+VPC\s+STATE$/);
    expect(rows).toHaveLength(31);
    const token = /--continue (\S+)/.exec(page.stderr)?.[1];
    expect(token, page.stderr).toBeDefined();
    const rest = JSON.parse(await ok(['macs', 'pool', '--project', 'project-2', '--vpc', 'vpc-odd', '--continue', token!, '-o', 'json'])) as { items: MacEntry[] };
    expect(rest.items).toHaveLength(70);
    expect(rest.items.every((x) => x.project_id === 'project-2' && x.vpc_id === 'vpc-odd')).toBe(true);
    expect(JSON.parse(await ok(['macs', 'pool', '--port', 'port-0-7', '-o', 'json'])).items).toEqual([macs[7]]);
  });

  let leased = '';
  it('who-has finds an IP leased by a real dhclient, and leases lists it', async () => {
    writeFileSync(join(lab!.dir, 'dhclient.conf'), 'send host-name "vm-one";\n');
    const hook = await lab!.hookScript(join(lab!.dir, 'hook.out'));
    const files = ['-lf', join(lab!.dir, 'c1.leases'), '-pf', join(lab!.dir, 'c1.pid'), '-cf', join(lab!.dir, 'dhclient.conf'), '-sf', hook];
    const got = await lab!.exec(lab!.cli, ['dhclient', '-1', '-v', ...files, lab!.cliIf], 60_000);
    expect(got.code, got.stderr).toBe(0);
    leased = /bound to (\S+)/.exec(got.stderr + got.stdout)![1]!;
    await run('sh', ['-c', `kill $(cat ${join(lab!.dir, 'c1.pid')}) 2>/dev/null; rm -f ${join(lab!.dir, 'c1.pid')}; true`]);
    const mac = (await lab!.exec(lab!.cli, ['cat', `/sys/class/net/${lab!.cliIf}/address`])).stdout.trim();
    const who = await ok(['who-has', leased]);
    expect(who).toMatch(/^SUBNET\s+IP\s+MAC\s+CLIENT ID\s+HOSTNAME\s+EXPIRES\s+STATE\s+SERVER\n/);
    expect(who).toMatch(new RegExp(`${ns}/net\\s+${leased.replaceAll('.', '\\.')}\\s+${mac}\\s+hw:1:${mac.replaceAll(':', '')}\\s+vm-one\\s+\\S+ \\(in (9m|10m)\\S*\\)\\s+bound\\s+net-dhcpd-0`));
    const leases = await ok(['leases', 'net']);
    expect(leases.trim().split('\n')).toHaveLength(2);
    expect(leases).toContain(leased);
    await eventually('status.leased = 1', async () => /DhcpSubnet\s+net\s+1\/1\s+1\s+100\s+\[\.{20}\]\s+1%/.test(await ok(['status'])), 30_000);
  });

  it('refuses bad input with one line and a non-zero exit, changing nothing', async () => {
    await refused(['who-has', 'zz:bb'], /"zz:bb" is neither a MAC address/);
    await refused(['who-has', '10.250.0.1'], new RegExp(`10\\.250\\.0\\.1 is in no DhcpSubnet in namespace ${ns}`));
    await refused(['who-has', 'aa:bb:cd:00:00:01'], /aa:bb:cd:00:00:01 is in no MacPool/);
    await refused(['who-has', 'aa:bb:cc:ff:ff:00'], new RegExp(`aa:bb:cc:ff:ff:00 is not allocated \\(macpool ${ns}/pool\\)`));
    await refused(['who-has', `${DHCP_NET}.250`], new RegExp(`${DHCP_NET.replaceAll('.', '\\.')}\\.250 is not leased`));
    await refused(['release', `${DHCP_NET}.250`, '--yes'], /is not leased/);
    await refused(['macs', 'nope'], new RegExp(`no MacPool named nope in namespace ${ns}`));
    await refused(['leases', 'net', '--limit', 'x'], /--limit must be a whole number/);
    await refused(['status', '-o', 'xml'], /unknown output format "xml"/);
    writeFileSync(join(lab!.dir, 'bad.jsonl'), '{"kind":"MacPoolBackup","version":1}\n');
    await refused(['restore', 'pool', '-f', join(lab!.dir, 'bad.jsonl')], /bad\.jsonl: line 1: the header's created must be an RFC 3339 time/);
    writeFileSync(join(lab!.dir, 'bad.csv'), 'address,hwaddr\n');
    await refused(['import-kea', 'net', '-f', join(lab!.dir, 'bad.csv')], /bad\.csv line 1: not a Kea DHCPv4 lease file/);
    // Nothing changed.
    expect((await alcor(['who-has', leased])).code).toBe(0);
    expect(JSON.parse(await ok(['macs', 'pool', '-o', 'json'])).items).toHaveLength(600);
  });

  it('RBAC on services/proxy decides: alcor-viewer reads but cannot release; alcor-operator-admin releases (asks first, unless --yes)', async () => {
    const mac = macs[0]!;
    expect(await ok(['who-has', mac.mac_address], { context: 'viewer' })).toContain(mac.port_id);
    expect(await ok(['who-has', leased], { context: 'viewer' })).toContain('vm-one');
    await refused(['release', mac.mac_address, '--yes'], /forbidden: User "system:serviceaccount:.*:viewer" cannot (create|delete) resource "services\/proxy"/, { context: 'viewer' });
    await refused(['release', leased, '--yes'], /forbidden/, { context: 'viewer' });
    // Without a terminal and without --yes, nothing is released.
    await refused(['release', leased], /refusing to change anything without confirmation: pass --yes/, { context: 'admin' });
    expect((await alcor(['who-has', leased])).code).toBe(0);

    const out = await ok(['release', leased, '--yes'], { context: 'admin' });
    expect(out).toMatch(new RegExp(`^released ${leased.replaceAll('.', '\\.')} leased to client hw:1:\\w+ \\(vm-one\\) in dhcpsubnet ${ns}/net\\n$`));
    await refused(['who-has', leased], /is not leased/);
    const released = parse(await ok(['release', mac.mac_address, '--yes', '-o', 'yaml'], { context: 'admin' })) as Record<string, unknown>;
    expect(released).toMatchObject({ mac_address: mac.mac_address, port_id: mac.port_id });
    await refused(['who-has', mac.mac_address], /is not allocated/);
    macs = macs.slice(1);
  });

  it('backup, delete the pool, re-create it, restore: the same allocations; a second restore is refused', async () => {
    const file = join(lab!.dir, 'pool.jsonl');
    const before = JSON.parse(await ok(['macs', 'pool', '-o', 'json'])) as { items: MacEntry[] };
    const uid = (await getJson<{ metadata: { uid: string } }>(['-n', ns, 'get', 'macpool', 'pool'])).metadata.uid;
    const backed = await alcor(['backup', 'pool', '-f', file]);
    expect(backed.code, backed.stderr).toBe(0);
    expect(backed.stderr).toBe(`backed up 599 MACs of macpool ${ns}/pool to ${file}\n`);
    const backup = parseBackup(readFileSync(file, 'utf8'));
    expect(backup.ok && backup.value.header).toMatchObject({ kind: 'MacPoolBackup', version: 1, count: 599, pool: { namespace: ns, name: 'pool', uid }, ranges: [{ id: 'range0', from: 'aa:bb:cc:00:00:00', to: 'aa:bb:cc:ff:ff:ff' }] });

    // Delete: the StatefulSet goes with it, and so do the pods' volumes (their data directories here).
    await kubectlOk(['-n', ns, 'delete', 'macpool', 'pool', '--wait']);
    await eventually('the pool\'s pods gone', async () => (await getJson<{ items: unknown[] }>(['-n', ns, 'get', 'pods', '-l', 'app.kubernetes.io/instance=pool'])).items.length === 0, 60_000);
    await stopServer('pool-macd-0');
    await stopServer('pool-macd-1');
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], JSON.stringify(pool));
    await eventually('the new pool\'s ConfigMap', async () => (await getJson<{ data: Record<string, string> }>(['-n', ns, 'get', 'configmap', 'pool-macd']).catch(() => undefined))?.data['config.yaml']?.includes((await getJson<{ metadata: { uid: string } }>(['-n', ns, 'get', 'macpool', 'pool'])).metadata.uid));
    await startPool(true);
    expect(JSON.parse(await ok(['macs', 'pool', '-o', 'json'])).items).toEqual([]);

    const restored = await alcor(['restore', 'pool', '-f', file]);
    expect(restored.code, restored.stderr).toBe(0);
    expect(restored.stdout).toBe(`restored 599 MACs of 599 into macpool ${ns}/pool\n`);
    expect(restored.stderr).toContain(`note: ${file} was taken of ${ns}/pool (uid ${uid}), restored into ${ns}/pool`);
    expect(JSON.parse(await ok(['macs', 'pool', '-o', 'json'])).items).toEqual(before.items);
    expect(await ok(['who-has', macs[100]!.mac_address])).toContain(macs[100]!.port_id);
    const again = await refused(['restore', 'pool', '-f', file], /1 conflict\(s\): nothing was restored/);
    expect(again.stderr).toMatch(/ {2}the pool holds 599 MACs on replica pool-macd-\d: restore goes into an empty pool/);
  });

  it("import-kea migrates a lease Kea really gave (address and expiry), and the client renewing afterwards keeps its address", async () => {
    await stopServer('net-dhcpd-0');
    // Kea on the same link, with short timers so that the client renews soon.
    const kea = join(lab!.dir, 'kea');
    mkdirSync(kea, { recursive: true });
    writeFileSync(join(kea, 'kea.json'), JSON.stringify({ Dhcp4: {
      'interfaces-config': { interfaces: [lab!.srvIf] },
      'lease-database': { type: 'memfile', persist: true, name: join(kea, 'leases4.csv'), 'lfc-interval': 0 },
      'valid-lifetime': 120, 'renew-timer': 40, 'rebind-timer': 90,
      subnet4: [{ id: 7, subnet: `${DHCP_NET}.0/24`, pools: [{ pool: `${DHCP_NET}.100 - ${DHCP_NET}.199` }] }],
      loggers: [{ name: 'kea-dhcp4', severity: 'WARN', output_options: [{ output: join(kea, 'kea.log') }] }],
    } }));
    const keaProc = lab!.spawn(lab!.srv, ['env', `KEA_PIDFILE_DIR=${kea}`, `KEA_LOCKFILE_DIR=${kea}`, 'kea-dhcp4', '-c', join(kea, 'kea.json')]);
    await eventually('Kea listening', async () => (await lab!.exec(lab!.srv, ['ss', '-uln'])).stdout.includes(':67 '), 20_000);
    // A client that stays up and renews (dhclient -d), sending a client identifier this time.
    writeFileSync(join(lab!.dir, 'c2.conf'), 'send host-name "vm-two";\nsend dhcp-client-identifier 1:52:54:00:aa:bb:02;\n');
    const out = join(lab!.dir, 'c2.hook');
    const hook = await lab!.hookScript(out);
    const client = lab!.spawn(lab!.cli, ['dhclient', '-d', '-v', '-lf', join(lab!.dir, 'c2.leases'), '-pf', join(lab!.dir, 'c2.pid'), '-cf', join(lab!.dir, 'c2.conf'), '-sf', hook, lab!.cliIf]);
    const bound = await eventually('dhclient bound by Kea', async () => hookEvents(existsSync(out) ? readFileSync(out, 'utf8') : '').find((e) => e['ev'] === 'BOUND'), 30_000);
    const ip = bound['ip']!;
    const keaCsv = readFileSync(join(kea, 'leases4.csv'), 'utf8');
    const line = keaCsv.split('\n').find((l) => l.startsWith(`${ip},`))!;
    const expire = Number(line.split(',')[4]);
    keaProc.kill('SIGTERM');
    await eventually('Kea gone', async () => !(await lab!.exec(lab!.srv, ['ss', '-uln'])).stdout.includes(':67 '), 20_000);

    await startDhcpd(false);
    const dry = await ok(['import-kea', 'net', '-f', join(kea, 'leases4.csv'), '--dry-run']);
    expect(dry).toContain('would have imported 1 lease of 1');
    await refused(['who-has', ip], /is not leased/);
    const imported = await alcor(['import-kea', 'net', '-f', join(kea, 'leases4.csv'), '--kea-subnet-id', '7']);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toBe(`imported 1 lease of 1 into dhcpsubnet ${ns}/net\n`);
    const who = JSON.parse(await ok(['who-has', ip, '-o', 'json'])) as { items: LeaseEntry[] };
    expect(who.items[0]).toMatchObject({ ip, client: 'id:015254' + '00aabb02', hostname: 'vm-two', expires: new Date(expire * 1000).toISOString(), server: 'net-dhcpd-0' });
    // A file giving the address to another client conflicts, and changes nothing.
    const stolen = keaCsv.replace('01:52:54:00:aa:bb:02', '01:52:54:00:aa:bb:99');
    writeFileSync(join(kea, 'other.csv'), stolen);
    const conflict = await refused(['import-kea', 'net', '-f', join(kea, 'other.csv')], /1 conflict\(s\): nothing was imported/);
    expect(conflict.stderr).toContain(`  ${ip}: leased to id:01525400aabb02 until`);

    // The renewal (T1 = 40 s after Kea's ACK) goes to the server identifier, now answered by dhcpd.
    const renewed = await eventually('dhclient renewed', async () => hookEvents(readFileSync(out, 'utf8')).find((e) => e['ev'] === 'RENEW'), 90_000);
    expect(renewed['ip']).toBe(ip);
    const after = JSON.parse(await ok(['who-has', ip, '-o', 'json'])) as { items: LeaseEntry[] };
    expect(Date.parse(after.items[0]!.expires)).toBeGreaterThan(expire * 1000);
    client.kill('SIGKILL');
    await run('sh', ['-c', `kill -9 $(cat ${join(lab!.dir, 'c2.pid')}) 2>/dev/null; true`]);
  });

  it('export --format kea-csv writes a file a real Kea reads back: it keeps those addresses for their clients', async () => {
    // Two more leases, imported from a hand-written Kea file.
    const now = Math.floor(Date.now() / 1000);
    writeFileSync(join(lab!.dir, 'more.csv'), `address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n${DHCP_NET}.150,52:54:00:00:01:50,,600,${now + 600},7,0,0,a&#x2cb,0,\n${DHCP_NET}.151,52:54:00:00:01:51,,600,${now + 600},7,0,0,,0,\n`);
    expect(await ok(['import-kea', 'net', '-f', join(lab!.dir, 'more.csv')])).toBe(`imported 2 leases of 2 into dhcpsubnet ${ns}/net\n`);
    expect(await ok(['leases', 'net'])).toMatch(/52:54:00:00:01:50\s+hw:1:525400000150\s+a,b/);
    const file = join(lab!.dir, 'export.csv');
    const exported = await alcor(['export', 'net', '--format', 'kea-csv', '--kea-subnet-id', '7', '-f', file]);
    expect(exported.code, exported.stderr).toBe(0);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe('address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context');
    expect(lines.find((l) => l.startsWith(`${DHCP_NET}.150,`))).toMatch(/^[\d.]+,52:54:00:00:01:50,,600,\d+,7,0,0,a&#x2cb,0,$/);

    await stopServer('net-dhcpd-0');
    const kea = join(lab!.dir, 'kea2');
    mkdirSync(kea, { recursive: true });
    writeFileSync(join(kea, 'leases4.csv'), readFileSync(file));
    writeFileSync(join(kea, 'kea.json'), JSON.stringify({ Dhcp4: {
      'interfaces-config': { interfaces: [lab!.srvIf] },
      'lease-database': { type: 'memfile', persist: true, name: join(kea, 'leases4.csv'), 'lfc-interval': 0 },
      'valid-lifetime': 600,
      subnet4: [{ id: 7, subnet: `${DHCP_NET}.0/24`, pools: [{ pool: `${DHCP_NET}.150 - ${DHCP_NET}.152` }] }],
      loggers: [{ name: 'kea-dhcp4', severity: 'WARN', output_options: [{ output: join(kea, 'kea.log') }] }],
    } }));
    const keaProc = lab!.spawn(lab!.srv, ['env', `KEA_PIDFILE_DIR=${kea}`, `KEA_LOCKFILE_DIR=${kea}`, 'kea-dhcp4', '-c', join(kea, 'kea.json')]);
    await eventually('Kea listening', async () => (await lab!.exec(lab!.srv, ['ss', '-uln'])).stdout.includes(':67 '), 20_000);
    // A new client (another MAC): .150 and .151 are leased in the file Kea read, so it gets .152.
    const moved = await lab!.exec(lab!.cli, ['ip', 'link', 'set', 'dev', lab!.cliIf, 'address', '52:54:00:00:01:99']);
    expect(moved.code, moved.stderr).toBe(0);
    const out = join(lab!.dir, 'c3.hook');
    const hook = await lab!.hookScript(out);
    const got = await lab!.exec(lab!.cli, ['dhclient', '-1', '-v', '-lf', join(lab!.dir, 'c3.leases'), '-pf', join(lab!.dir, 'c3.pid'), '-sf', hook, lab!.cliIf], 60_000);
    expect(got.stderr + got.stdout).toContain(`bound to ${DHCP_NET}.152`);
    await run('sh', ['-c', `kill -9 $(cat ${join(lab!.dir, 'c3.pid')}) 2>/dev/null; true`]);
    const keaLeases = readFileSync(join(kea, 'leases4.csv'), 'utf8');
    expect(keaLeases).toContain(`${DHCP_NET}.150,52:54:00:00:01:50`);
    keaProc.kill('SIGTERM');
    await eventually('Kea gone', async () => !(await lab!.exec(lab!.srv, ['ss', '-uln'])).stdout.includes(':67 '), 20_000);
    await startDhcpd(false);
  });

  it('backup and restore of the subnet: delete it, re-create it, the same leases', async () => {
    const file = join(lab!.dir, 'net.jsonl');
    const before = JSON.parse(await ok(['leases', 'net', '-o', 'json'])) as { items: LeaseEntry[] };
    expect(before.items.length).toBe(3);
    await ok(['backup', 'dhcpsubnet/net', '-f', file]);
    await kubectlOk(['-n', ns, 'delete', 'dhcpsubnet', 'net', '--wait']);
    await eventually('the subnet\'s pods gone', async () => (await getJson<{ items: unknown[] }>(['-n', ns, 'get', 'pods', '-l', 'app.kubernetes.io/instance=net'])).items.length === 0, 60_000);
    await stopServer('net-dhcpd-0');
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], JSON.stringify(subnet));
    await eventually('the new ConfigMap', async () => (await kubectl(['-n', ns, 'get', 'configmap', 'net-dhcpd'])).code === 0);
    await startDhcpd(true);
    expect((await alcor(['leases', 'net'])).stderr).toContain(`No leases in dhcpsubnet ${ns}/net.`);
    expect(await ok(['restore', 'net', '-f', file])).toBe(`restored 3 leases of 3 into dhcpsubnet ${ns}/net\n`);
    expect((JSON.parse(await ok(['leases', 'net', '-o', 'json'])) as { items: LeaseEntry[] }).items).toEqual(before.items);
    await refused(['restore', 'net', '-f', file], /nothing was restored/);
  });

  it('status exits 3 while a resource is Degraded, and says why', async () => {
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], JSON.stringify({ ...subnet, metadata: { name: 'overlap' } }));
    const r = await eventually('Degraded shown', async () => {
      const s = await alcor(['status']);
      return s.code === 3 && /DhcpSubnet\s+overlap\s.*Degraded\(OverlappingSubnet\)/.test(s.stdout) ? s : undefined;
    }, 60_000);
    expect(r.stderr).toBe('');
    await kubectlOk(['-n', ns, 'delete', 'dhcpsubnet', 'overlap']);
    await eventually('healthy again', async () => (await alcor(['status'])).code === 0, 60_000);
  });
});
