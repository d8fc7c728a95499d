// DhcpReservations end to end, against the real API server and a real dhcpd
// serving real dhclients in network namespaces made here: the operator merges
// reservations into the subnet's ConfigMap, the test plays the kubelet (kwok
// pods run no containers) by copying the ConfigMap to dhcpd's config file as
// it changes, dhcpd reloads it live and reports on its status Lease, and the
// reservations' status follows what dhcpd serves.
//
// - a reservation for a client that holds a pool address: it moves to the
//   reserved address at its next renewal, and the reservation shows Bound
//   with the lease's expiry;
// - a reservation on an address another client holds: Conflict, naming the
//   holder; that client keeps its address at its renewals (not enforced);
// - one overlapping an older one: Rejected;
// - clients' DECLINEs in the DhcpSubnet's quarantine status, and past its
//   conflict threshold as Degraded/AddressConflicts.
// dhcpd runs in the host namespace (it must reach the API server on
// loopback), on a bridge joining the clients' veths.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MessageType, Opt } from '../src/dhcpd/codec/constants.ts';
import { serializeRequest } from '../src/dhcpd/codec/packet.ts';
import { labUnavailable, run } from '../test/dhcpd/lab/netns.ts';
import { freePort } from './cluster/net.ts';
import { createNamespace, eventually, getJson, kubectl, kubectlOk, waitEstablished } from './kubectl.ts';
import { startOperator, type OperatorProcess } from './operator.ts';

const root = join(import.meta.dirname, '..');
const tag = `aor${process.pid % 10000}`;
const bridge = `${tag}br`;
const clients = {
  a: { ns: `${tag}a`, hostIf: `${tag}ha`, nsIf: `${tag}a0`, mac: '02:98:00:00:00:0a' },
  b: { ns: `${tag}b`, hostIf: `${tag}hb`, nsIf: `${tag}b0`, mac: '02:98:00:00:00:0b' },
} as const;
type Client = keyof typeof clients;
const unavailable = await labUnavailable(['dhclient']);

let ns = '';
let op: OperatorProcess | undefined;
let dhcpd: ChildProcess | undefined;
let syncing = true;
let sync: Promise<void> | undefined;
const dir = mkdtempSync(join(tmpdir(), 'dres-'));

interface Reservation {
  status?: { state?: string; reason?: string; message?: string; expires?: string; holder?: string; conditions?: { type: string; status: string }[] };
}
interface Subnet {
  status?: {
    leased?: number;
    quarantined?: number;
    recentConflicts?: number;
    quarantinedAddresses?: { ip: string; reason: string; until: string }[];
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

async function ipOk(args: string[]): Promise<void> {
  const r = await run('ip', args);
  if (r.code !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

async function teardownNet(): Promise<void> {
  for (const c of Object.values(clients)) {
    await run('ip', ['netns', 'del', c.ns]);
    await run('ip', ['link', 'del', c.hostIf]);
  }
  await run('ip', ['link', 'del', bridge]);
}

/** The client's dhclient: runs on after binding, renewing at T1 (leaseTime 1m: every 30 s); its script logs what it got. */
async function startDhclient(c: Client): Promise<void> {
  const { ns: cns, nsIf } = clients[c];
  const hook = join(dir, `hook-${c}.sh`);
  writeFileSync(
    hook,
    `#!/bin/sh
case "$reason" in
  BOUND|REBOOT)
    ip addr flush dev "$interface"
    ip addr add "$new_ip_address/$new_subnet_mask" dev "$interface"
    echo "$reason $new_ip_address $new_host_name" >> ${join(dir, `events-${c}.log`)} ;;
  RENEW|REBIND)
    ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface"
    echo "$reason $new_ip_address $new_host_name" >> ${join(dir, `events-${c}.log`)} ;;
  EXPIRE|FAIL|RELEASE|STOP) ip addr flush dev "$interface"; echo "$reason" >> ${join(dir, `events-${c}.log`)} ;;
esac
exit 0
`,
    { mode: 0o755 },
  );
  const files = ['-lf', join(dir, `dhclient-${c}.leases`), '-pf', join(dir, `dhclient-${c}.pid`), '-sf', hook];
  const r = await run('ip', ['netns', 'exec', cns, 'dhclient', '-1', '-v', ...files, nsIf], 45_000);
  if (r.code !== 0) throw new Error(`dhclient ${c}: ${r.stderr}`);
}

/** The client's events so far: "BOUND 10.98.0.100", "RENEW 10.98.0.100 host", ... */
function events(c: Client): string[] {
  try {
    return readFileSync(join(dir, `events-${c}.log`), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

async function addressOf(c: Client): Promise<string | undefined> {
  const r = await run('ip', ['-n', clients[c].ns, '-4', '-o', 'addr', 'show', 'dev', clients[c].nsIf]);
  return /inet (\d+\.\d+\.\d+\.\d+)\//.exec(r.stdout)?.[1];
}

const reservation = async (name: string) => getJson<Reservation>(['-n', ns, 'get', 'dhcpreservation', name]);
const subnet = async () => getJson<Subnet>(['-n', ns, 'get', 'dhcpsubnet', 'resv']);

function reservationYaml(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: 'alcor.dev/v1alpha1', kind: 'DhcpReservation', metadata: { name }, spec: { subnetRef: { name: 'resv' }, ...spec } });
}

beforeAll(async () => {
  if (unavailable) return;
  await teardownNet();
  await ipOk(['link', 'add', bridge, 'type', 'bridge']);
  await ipOk(['addr', 'add', '10.98.0.1/24', 'dev', bridge]);
  await ipOk(['link', 'set', bridge, 'up']);
  for (const c of Object.values(clients)) {
    await ipOk(['netns', 'add', c.ns]);
    await ipOk(['link', 'add', c.hostIf, 'type', 'veth', 'peer', 'name', c.nsIf]);
    await ipOk(['link', 'set', c.nsIf, 'netns', c.ns]);
    await ipOk(['-n', c.ns, 'link', 'set', c.nsIf, 'address', c.mac]);
    await ipOk(['link', 'set', c.hostIf, 'master', bridge]);
    await ipOk(['link', 'set', c.hostIf, 'up']);
    await ipOk(['-n', c.ns, 'link', 'set', c.nsIf, 'up']);
    await ipOk(['-n', c.ns, 'link', 'set', 'lo', 'up']);
  }
  await kubectlOk(['apply', '--server-side', '--force-conflicts', '-f', join(root, 'crds')]);
  await waitEstablished(['dhcpsubnets.alcor.dev', 'dhcpreservations.alcor.dev']);
  ns = await createNamespace('e2e-dres');
  op = await startOperator({ name: 'dres' });
});

afterAll(async () => {
  syncing = false;
  await sync;
  dhcpd?.kill('SIGKILL');
  for (const c of ['a', 'b'] as const) await run('sh', ['-c', `[ -f ${join(dir, `dhclient-${c}.pid`)} ] && kill -9 $(cat ${join(dir, `dhclient-${c}.pid`)}) 2>/dev/null; true`]);
  await op?.stop();
  if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
  if (!unavailable) await teardownNet();
  if (!process.env['KEEP']) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(unavailable !== undefined)(`DhcpReservation${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('applies live to a real dhclient at its next renewal, reports a conflicting one without enforcing it, rejects an overlap', async () => {
    await kubectlOk(
      ['-n', ns, 'apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'alcor.dev/v1alpha1',
        kind: 'DhcpSubnet',
        metadata: { name: 'resv' },
        spec: { cidr: '10.98.0.0/24', gateway: '10.98.0.1', pools: [{ start: '10.98.0.100', end: '10.98.0.149' }], leaseTime: '1m', server: { mode: 'relay', replicas: 1 } },
      }),
    );
    // The kubelet's part: the ConfigMap's config.yaml into the pod's file, replaced atomically when it changes.
    const configDir = join(dir, 'config');
    mkdirSync(configDir);
    const configFile = join(configDir, 'config.yaml');
    let last = '';
    const copyConfig = async (): Promise<boolean> => {
      const cm = await kubectl(['-n', ns, 'get', 'configmap', 'resv-dhcpd', '-o', 'jsonpath={.data.config\\.yaml}']);
      if (cm.code !== 0 || cm.stdout === '' || cm.stdout === last) return cm.stdout !== '';
      writeFileSync(`${configFile}.tmp`, cm.stdout);
      renameSync(`${configFile}.tmp`, configFile);
      last = cm.stdout;
      return true;
    };
    await eventually('the ConfigMap', copyConfig, 30_000);
    sync = (async () => {
      while (syncing) {
        await copyConfig().catch(() => false);
        await new Promise((r) => setTimeout(r, 500));
      }
    })();

    const metricsPort = await freePort();
    dhcpd = spawn(
      process.execPath,
      [join(root, 'src/cli/main.ts'), 'dhcpd', '--config', configFile, '--data-dir', join(dir, 'data'), '--metrics-listen', `127.0.0.1:${metricsPort}`,
        '--kubeconfig', inject('kubeconfig'), '--status-lease', 'resv-dhcpd-0', '--namespace', ns, '--server-name', 'resv', '--share', '0'],
      { stdio: ['ignore', openSync(join(dir, 'dhcpd.log'), 'w'), openSync(join(dir, 'dhcpd.log'), 'a')] },
    );
    await eventually('dhcpd ready', async () => (await fetch(`http://127.0.0.1:${metricsPort}/readyz`).catch(() => undefined))?.status === 200, 20_000);
    const reloads = async () => Number(/alcor_dhcpd_config_reloads_total\{result="ok"\} (\d+)/.exec(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text())?.[1] ?? 0);

    // Two clients take pool addresses.
    await startDhclient('a');
    await startDhclient('b');
    const poolA = await addressOf('a');
    const heldByB = await addressOf('b');
    expect(poolA).toMatch(/^10\.98\.0\.1[0-4]\d$/);
    expect(heldByB).toMatch(/^10\.98\.0\.1[0-4]\d$/);
    await eventually('status.leased = 2', async () => (await subnet()).status?.leased === 2, 30_000);

    // A reserves 10.98.0.20; a client that is not on the link reserves B's address.
    const reloadsBefore = await reloads();
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], reservationYaml('a-fixed', { mac: clients.a.mac, ip: '10.98.0.20', hostname: 'client-a' }));
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], reservationYaml('on-b', { mac: '02:98:00:00:00:0c', ip: heldByB }));
    await eventually('dhcpd reloaded the merged config', async () => (await reloads()) > reloadsBefore && last.includes('a-fixed') && last.includes('on-b'), 30_000);

    // The conflict is reported as soon as dhcpd reports it: Conflict, naming B, nobody kicked off.
    const conflict = await eventually('on-b Conflict', async () => {
      const s = (await reservation('on-b')).status;
      return s?.state === 'Conflict' ? s : undefined;
    }, 30_000);
    expect(conflict).toMatchObject({ reason: 'LeasedToAnotherClient', holder: clients.b.mac });
    expect(conflict.message).toMatch(new RegExp(`^${heldByB!.replaceAll('.', '\\.')} is leased to another client \\(mac ${clients.b.mac}\\) until .*Nobody is kicked off`));
    expect(conflict.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    // Served, not yet taken: A still holds its pool address until it renews.
    const pending = (await reservation('a-fixed')).status;
    expect(pending?.state === 'Pending' || pending?.state === 'Bound').toBe(true);

    // At its next renewal (T1 = 30 s) A is NAKed and takes the reserved address, with its host name.
    await eventually('A moved to 10.98.0.20', async () => (await addressOf('a')) === '10.98.0.20', 60_000, 1000);
    expect(events('a').at(-1)).toBe('BOUND 10.98.0.20 client-a');
    const bound = await eventually('a-fixed Bound', async () => {
      const s = (await reservation('a-fixed')).status;
      return s?.state === 'Bound' ? s : undefined;
    }, 30_000);
    expect(Date.parse(bound.expires ?? '') - Date.now()).toBeGreaterThan(0);
    expect(Date.parse(bound.expires ?? '') - Date.now()).toBeLessThanOrEqual(61_000);
    expect(bound.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');

    // B renews through all this and keeps its address: the reservation is not enforced.
    await eventually('B renewed', async () => events('b').some((e) => e.startsWith(`RENEW ${heldByB}`)), 60_000, 1000);
    expect(await addressOf('b')).toBe(heldByB);
    expect((await reservation('on-b')).status?.state).toBe('Conflict');

    // An overlap with an older reservation: Rejected, naming it; not merged.
    await kubectlOk(['-n', ns, 'apply', '-f', '-'], reservationYaml('dup', { mac: '02:98:00:00:00:0d', ip: '10.98.0.20' }));
    const dup = await eventually('dup Rejected', async () => {
      const s = (await reservation('dup')).status;
      return s?.state === 'Rejected' ? s : undefined;
    }, 30_000);
    expect(dup).toMatchObject({ reason: 'Overlap', message: 'ip 10.98.0.20 is already reserved by DhcpReservation a-fixed, which was there first' });
    expect(last).not.toContain('dup');
  }, 240_000);

  it("clients' DECLINEs show in the DhcpSubnet's quarantine status, past the threshold as Degraded/AddressConflicts, and turn a reservation on such an address to AddressQuarantined", async () => {
    // More than one conflict within the window is too many here.
    await kubectlOk(['-n', ns, 'patch', 'dhcpsubnet', 'resv', '--type=merge', '-p', JSON.stringify({ spec: { server: { conflictThreshold: { conflicts: 1 } } } })]);
    /** What dhclient sends when its ARP check finds the address in use, from another port than its 68 (the server does not answer a DECLINE). */
    const decline = async (c: Client, ip: string) => {
      const packet = serializeRequest({
        messageType: MessageType.DECLINE,
        chaddr: Uint8Array.from(clients[c].mac.split(':').map((h) => parseInt(h, 16))),
        options: [[Opt.SERVER_ID, Uint8Array.of(10, 98, 0, 1)], [Opt.REQUESTED_IP, Uint8Array.from(ip.split('.').map(Number))]],
      });
      const file = join(dir, `decline-${c}.json`);
      writeFileSync(file, JSON.stringify([{ hex: packet.toString('hex'), from: ip, port: 6868 }]));
      const sent = await run('ip', ['netns', 'exec', clients[c].ns, process.execPath, join(root, 'test/dhcpd/lab/exchange.ts'), file, '10.98.0.1', '200']);
      expect(sent.code, sent.stderr).toBe(0);
    };
    const heldByB = (await addressOf('b')) as string;
    await decline('b', heldByB);
    const q = await eventually('status.quarantined = 1', async () => {
      const s = (await subnet()).status;
      return s?.quarantined === 1 ? s : undefined;
    }, 30_000);
    expect(q.quarantinedAddresses).toEqual([{ ip: heldByB, reason: 'decline', until: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) }]);
    const onB = await eventually('on-b AddressQuarantined', async () => {
      const st = (await reservation('on-b')).status;
      return st?.reason === 'AddressQuarantined' ? st : undefined;
    }, 30_000);
    expect(onB.state).toBe('Conflict');
    expect((await subnet()).status?.conditions?.find((c) => c.type === 'Degraded')?.status).toBe('False');

    // A second conflict: A finds its reserved address in use.
    await decline('a', '10.98.0.20');
    const degraded = await eventually('Degraded AddressConflicts', async () => {
      const c = (await subnet()).status?.conditions?.find((x) => x.type === 'Degraded');
      return c?.status === 'True' && c.reason === 'AddressConflicts' ? c : undefined;
    }, 30_000);
    expect(degraded.message).toMatch(/^2 address conflicts in the last 10m \(more than 1\): usually a rogue DHCP server or hosts with static addresses inside the pool/);
    expect((await subnet()).status?.recentConflicts).toBe(2);
    expect((await reservation('a-fixed')).status?.reason).toBe('AddressQuarantined');
  }, 120_000);
});
