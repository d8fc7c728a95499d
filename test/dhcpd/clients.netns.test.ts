// Real DHCP clients (ISC dhclient, BusyBox udhcpc, dhcpcd) and perfdhcp as a
// relay against `alcor-operator dhcpd`, in network namespaces made here.

import type { ChildProcess } from 'node:child_process';
import { mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hookEvents, Lab, labUnavailable } from './lab/netns.ts';

const unavailable = await labUnavailable(['dhclient', 'udhcpc', 'dhcpcd', 'perfdhcp']);
if (unavailable) console.warn(`skipping dhcpd client tests: ${unavailable}`);

const RESERVED_MAC = '02:aa:00:00:00:01';

function config(dns: string): string {
  return JSON.stringify({
    subnets: [
      {
        name: 'lab',
        cidr: '10.91.0.0/24',
        gateway: '10.91.0.1',
        pools: [{ start: '10.91.0.100', end: '10.91.0.149' }],
        reservations: [{ mac: RESERVED_MAC, ip: '10.91.0.120' }],
        dnsServers: [dns],
        domainName: 'lab.example',
        leaseTime: 600,
      },
      { name: 'relayed', cidr: '10.92.0.0/24', gateway: '10.92.0.1', pools: [{ start: '10.92.0.100', end: '10.92.0.199' }] },
    ],
  });
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(unavailable !== undefined)('dhcpd with real clients', () => {
  let lab: Lab;
  let server: ChildProcess;
  let cfgDir: string;
  let generation = 0;

  /** Writes the config the way the kubelet updates a ConfigMap volume: a new directory and a symlink swap. */
  async function publishConfig(dns: string): Promise<void> {
    const gen = join(cfgDir, `..gen${++generation}`);
    await mkdir(gen);
    await writeFile(join(gen, 'dhcpd.json'), config(dns));
    await symlink(`..gen${generation}`, join(cfgDir, '..data_tmp'));
    await rename(join(cfgDir, '..data_tmp'), join(cfgDir, '..data'));
  }

  async function leases(): Promise<Map<string, string>> {
    const text = await readFile(join(lab.dir, 'data', 'leases.log'), 'utf8');
    const byIp = new Map<string, string>();
    for (const line of text.split('\n').filter(Boolean)) {
      const r = JSON.parse(line) as { o: string; ip: string; c: string };
      if (r.o === 'b') byIp.set(r.ip, r.c);
      else byIp.delete(r.ip);
    }
    return byIp;
  }

  async function setMac(mac: string): Promise<void> {
    await lab.exec(lab.cli, ['ip', 'link', 'set', lab.cliIf, 'down']);
    await lab.exec(lab.cli, ['ip', 'addr', 'flush', 'dev', lab.cliIf]);
    await lab.exec(lab.cli, ['ip', 'link', 'set', lab.cliIf, 'address', mac]);
    await lab.exec(lab.cli, ['ip', 'link', 'set', lab.cliIf, 'up']);
  }

  beforeAll(async () => {
    lab = await Lab.create('rc', '10.91.0.1/24');
    cfgDir = join(lab.dir, 'config');
    await mkdir(cfgDir);
    await publishConfig('10.91.0.53');
    await symlink('..data/dhcpd.json', join(cfgDir, 'dhcpd.json'));
    server = await lab.startServer({ config: join(cfgDir, 'dhcpd.json'), dataDir: join(lab.dir, 'data') });
  }, 60_000);

  afterAll(async () => {
    await rm(`/var/lib/dhcpcd/${lab?.cliIf}.lease`, { force: true });
    await lab?.destroy();
  });

  it('ISC dhclient gets an address in the pool with mask, router and DNS; release returns it to the pool', async () => {
    await setMac('02:aa:00:00:01:01');
    const out = join(lab.dir, 'dhclient.log');
    const hook = await lab.hookScript(out);
    await writeFile(join(lab.dir, 'dhclient.conf'), 'timeout 15;\nretry 1;\n');
    const files = ['-cf', join(lab.dir, 'dhclient.conf'), '-sf', hook, '-lf', join(lab.dir, 'dhclient.leases'), '-pf', join(lab.dir, 'dhclient.pid')];
    const r = await lab.exec(lab.cli, ['dhclient', '-1', '-v', ...files, lab.cliIf], 30_000);
    expect(r.code, r.stderr).toBe(0);
    const bound = hookEvents(await readFile(out, 'utf8')).find((e) => e['ev'] === 'BOUND');
    expect(bound).toBeDefined();
    const ip = bound?.['ip'] ?? '';
    expect(ip).toMatch(/^10\.91\.0\.1[0-4]\d$/);
    expect(ip).not.toBe('10.91.0.120');
    expect(bound).toMatchObject({ mask: '255.255.255.0', router: '10.91.0.1', dns: '10.91.0.53' });
    const addr = await lab.exec(lab.cli, ['ip', '-4', 'addr', 'show', lab.cliIf]);
    expect(addr.stdout).toContain(`${ip}/24`);
    expect((await leases()).has(ip)).toBe(true);

    const rel = await lab.exec(lab.cli, ['dhclient', '-r', '-v', ...files, lab.cliIf], 20_000);
    expect(rel.code, rel.stderr).toBe(0);
    await waitFor('the release in the lease log', async () => ((await leases()).has(ip) ? undefined : true));
    const m = await lab.metrics();
    expect(m.get('alcor_dhcpd_leases{subnet="lab",state="bound"}')).toBe(0);
    // The released address is the first one handed out again.
    await setMac('02:aa:00:00:01:02');
    const again = await lab.exec(lab.cli, ['udhcpc', '-i', lab.cliIf, '-n', '-q', '-f', '-t', '5', '-T', '2', '-s', await lab.hookScript(join(lab.dir, 'after-release.log'))], 30_000);
    expect(again.code, again.stderr).toBe(0);
    expect(hookEvents(await readFile(join(lab.dir, 'after-release.log'), 'utf8')).find((e) => e['ev'] === 'bound')?.['ip']).toBe(ip);
  });

  it('BusyBox udhcpc gets a lease, renews it, and sees a changed DNS server after a live reload', async () => {
    await setMac('02:aa:00:00:02:01');
    const out = join(lab.dir, 'udhcpc.log');
    const client = lab.spawn(lab.cli, ['udhcpc', '-i', lab.cliIf, '-f', '-t', '5', '-T', '2', '-s', await lab.hookScript(out)]);
    try {
      const bound = await waitFor('udhcpc bound', async () =>
        hookEvents(await readFile(out, 'utf8').catch(() => '')).find((e) => e['ev'] === 'bound'),
      );
      expect(bound['ip']).toMatch(/^10\.91\.0\.1[0-4]\d$/);
      expect(bound).toMatchObject({ mask: '255.255.255.0', router: '10.91.0.1', dns: '10.91.0.53' });

      const before = (await lab.metrics()).get('alcor_dhcpd_config_reloads_total{result="ok"}') ?? 0;
      await publishConfig('10.91.0.54');
      await waitFor('the config reload', async () =>
        ((await lab.metrics()).get('alcor_dhcpd_config_reloads_total{result="ok"}') ?? 0) > before ? true : undefined,
      );
      client.kill('SIGUSR1'); // udhcpc: renew now (unicast REQUEST from ciaddr)
      const renewed = await waitFor('udhcpc renew', async () =>
        hookEvents(await readFile(out, 'utf8')).find((e) => e['ev'] === 'renew'),
      );
      expect(renewed).toMatchObject({ ip: bound['ip'], dns: '10.91.0.54' });
      expect((await leases()).has(bound['ip'] ?? '')).toBe(true);
    } finally {
      client.kill('SIGKILL');
    }
  });

  it('dhcpcd gets an address in the pool with mask, router and DNS', async () => {
    await setMac('02:aa:00:00:03:01');
    const out = join(lab.dir, 'dhcpcd.log');
    await writeFile(join(lab.dir, 'dhcpcd.conf'), 'ipv4only\nnoipv4ll\nnoarp\nnohook resolv.conf\noption domain_name_servers, domain_name, routers, subnet_mask\n');
    const r = await lab.exec(lab.cli, ['dhcpcd', '-f', join(lab.dir, 'dhcpcd.conf'), '-c', await lab.hookScript(out), '-1', '-B', '-4', '-t', '15', lab.cliIf], 30_000);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    // dhcpcd remembers leases per interface name: a rerun may INIT-REBOOT.
    const events = hookEvents(await readFile(out, 'utf8'));
    const bound = events.find((e) => e['ev'] === 'BOUND' || e['ev'] === 'REBOOT');
    expect(bound?.['ip'], JSON.stringify(events)).toMatch(/^10\.91\.0\.1[0-4]\d$/);
    expect(bound).toMatchObject({ mask: '255.255.255.0', router: '10.91.0.1', dns: '10.91.0.54' });
  });

  it('honours a reservation for its MAC', async () => {
    await setMac(RESERVED_MAC);
    const out = join(lab.dir, 'reserved.log');
    const r = await lab.exec(lab.cli, ['udhcpc', '-i', lab.cliIf, '-n', '-q', '-f', '-t', '5', '-T', '2', '-s', await lab.hookScript(out)], 30_000);
    expect(r.code, r.stderr).toBe(0);
    expect(hookEvents(await readFile(out, 'utf8')).find((e) => e['ev'] === 'bound')?.['ip']).toBe('10.91.0.120');
  });

  it('serves a relayed client from the subnet that matches giaddr (perfdhcp as relay)', async () => {
    await lab.exec(lab.cli, ['ip', 'addr', 'add', '10.92.0.2/24', 'dev', lab.cliIf]);
    await lab.exec(lab.srv, ['ip', 'route', 'add', '10.92.0.0/24', 'dev', lab.srvIf]);
    const r = await lab.exec(lab.cli, ['perfdhcp', '-4', '-l', '10.92.0.2', '-R', '10', '-n', '10', '-r', '10', '10.91.0.1'], 30_000);
    const acks = /REQUEST-ACK\*+\s*\n\s*sent packets: \d+\s*\n\s*received packets: (\d+)/.exec(r.stdout);
    expect(Number(acks?.[1] ?? 0), r.stdout).toBeGreaterThanOrEqual(8);
    const relayed = [...(await leases()).keys()].filter((ip) => ip.startsWith('10.92.0.'));
    expect(relayed.length).toBeGreaterThanOrEqual(8);
    for (const ip of relayed) expect(ip).toMatch(/^10\.92\.0\.1\d\d$/);
    expect(server.exitCode).toBeNull();
  });
});
