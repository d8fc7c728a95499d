// Address conflicts with real clients: a host squats on a pool address with a
// static address. Without conflictDetection, ISC dhclient is offered it, its
// script's ARP check (arping -D, as Red Hat's dhclient-script does) finds the
// squatter, and dhclient DECLINEs; with conflictDetection: ping the server
// pings the address first and never offers it. Either way the address stays
// quarantined (also across kill -9) and no client gets it. Network namespaces
// made here: server, client and squatter on one bridge.

import type { ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cachedIcmpHelper } from '../../scripts/icmp-helper.ts';
import { hookEvents, Lab, labUnavailable } from './lab/netns.ts';

const unavailable = await labUnavailable(['dhclient', 'perfdhcp', 'busybox', 'gcc']);
if (unavailable) console.warn(`skipping dhcpd conflict tests: ${unavailable}`);

const SQUATTED = '10.96.0.100';

function config(conflictDetection: 'none' | 'ping'): string {
  return JSON.stringify({
    subnets: [
      {
        name: 'squat',
        cidr: '10.96.0.0/24',
        gateway: '10.96.0.1',
        // Four addresses: the squatted one first, as the allocator hands them out.
        pools: [{ start: SQUATTED, end: '10.96.0.103' }],
        leaseTime: 600,
        conflictDetection,
        quarantineTime: 3600,
      },
    ],
  });
}

/** The lease log's records in order: op letter and address. */
async function records(path: string): Promise<Array<{ o: string; ip: string }>> {
  const text = await readFile(path, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { o: string; ip: string });
}

/** Addresses bound after the squatted one was quarantined ('d'), and whether it was. */
async function boundAfterQuarantine(path: string): Promise<{ quarantined: boolean; bound: string[] }> {
  const rs = await records(path);
  const q = rs.findIndex((r) => r.o === 'd' && r.ip === SQUATTED);
  return { quarantined: q >= 0, bound: rs.slice(q + 1).filter((r) => r.o === 'b').map((r) => r.ip) };
}

function acksOf(out: string): number {
  return Number(/REQUEST-ACK\*+\s*\n\s*sent packets: \d+\s*\n\s*received packets: (\d+)/.exec(out)?.[1] ?? 0);
}

describe.skipIf(unavailable !== undefined)('dhcpd address conflicts with real clients', () => {
  let lab: Lab;
  let server: ChildProcess | undefined;
  let helper: string;
  let runs = 0;

  async function start(conflictDetection: 'none' | 'ping', data: string): Promise<void> {
    const cfg = join(lab.dir, `dhcpd-${conflictDetection}.json`);
    await writeFile(cfg, config(conflictDetection));
    server = await lab.startServer({ config: cfg, dataDir: data, args: ['--icmp-helper', helper, '--ping-timeout', '300'] });
  }

  async function stop(): Promise<void> {
    if (!server || server.exitCode !== null) return;
    server.kill('SIGKILL');
    await new Promise((r) => server?.once('exit', r));
  }

  /** dhclient -1 with a script that ARP-checks the address before taking it (exit 1: dhclient DECLINEs). */
  async function dhclient(mac: string): Promise<{ code: number; out: string; events: Array<Record<string, string>> }> {
    const n = ++runs;
    await lab.exec(lab.cli, ['ip', 'link', 'set', lab.cliIf, 'down']);
    await lab.exec(lab.cli, ['ip', 'addr', 'flush', 'dev', lab.cliIf]);
    await lab.exec(lab.cli, ['ip', 'link', 'set', lab.cliIf, 'address', mac]);
    await lab.exec(lab.cli, ['ip', 'link', 'set', lab.cliIf, 'up']);
    await lab.exec(lab.cli, ['ip', 'addr', 'add', '10.96.0.2/24', 'dev', lab.cliIf]);
    const log = join(lab.dir, `dhclient-${n}.log`);
    const hook = join(lab.dir, `arpcheck-${n}.sh`);
    await writeFile(
      hook,
      `#!/bin/sh
case "$reason" in
  BOUND|REBOOT)
    # Duplicate address detection: an ARP probe for the offered address; an answer means it is in use.
    if ! busybox arping -D -q -c 2 -w 2 -I "$interface" "$new_ip_address"; then
      echo "ev=CONFLICT ip=$new_ip_address" >> ${log}
      exit 1
    fi
    ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface"
    echo "ev=$reason ip=$new_ip_address" >> ${log}
    ;;
esac
exit 0
`,
      { mode: 0o755 },
    );
    const files = ['-sf', hook, '-lf', join(lab.dir, `dhclient-${n}.leases`), '-pf', join(lab.dir, `dhclient-${n}.pid`)];
    const r = await lab.exec(lab.cli, ['dhclient', '-1', '-v', ...files, lab.cliIf], 60_000);
    return { code: r.code, out: r.stderr + r.stdout, events: hookEvents(await readFile(log, 'utf8').catch(() => '')) };
  }

  const metric = async (name: string) => (await lab.metrics()).get(name) ?? 0;

  /** perfdhcp relaying for 10 new clients: they may take every free address, never the squatted one. */
  async function exhaustPool(base: string): Promise<number> {
    const r = await lab.exec(lab.cli, ['perfdhcp', '-4', '-l', '10.96.0.2', '-b', `mac=${base}`, '-R', '10', '-n', '10', '-r', '20', '10.96.0.1'], 30_000);
    return acksOf(r.stdout);
  }

  beforeAll(async () => {
    helper = cachedIcmpHelper();
    lab = await Lab.create('cf', '10.96.0.1/24');
    await lab.addHost('10.96.0.1/24', `${SQUATTED}/24`);
    // perfdhcp relays from 10.96.0.2 (giaddr in the subnet).
    await lab.exec(lab.cli, ['ip', 'addr', 'add', '10.96.0.2/24', 'dev', lab.cliIf]);
  }, 60_000);

  afterEach(stop);

  afterAll(async () => {
    await lab?.destroy();
  });

  it("dhclient's ARP check finds the squatter and DECLINEs; the address is quarantined and offered to nobody", async () => {
    const data = join(lab.dir, 'data-decline');
    await start('none', data);
    const first = await dhclient('02:cf:00:00:00:01');
    // Offered the squatted address, the script says it is in use, dhclient declines and (with -1) gives up.
    expect(first.events, first.out).toEqual([{ ev: 'CONFLICT', ip: SQUATTED }]);
    expect(first.out).toMatch(/DHCPDECLINE/);
    expect(first.code).toBe(2);
    expect(await metric('alcor_dhcpd_conflicts_total{subnet="squat",source="decline"}')).toBe(1);
    expect(await metric('alcor_dhcpd_leases{subnet="squat",state="quarantined"}')).toBe(1);

    // Trying again, it is offered another address, which passes the check.
    const second = await dhclient('02:cf:00:00:00:01');
    expect(second.code, second.out).toBe(0);
    expect(second.events.map((e) => e['ev'])).toEqual(['BOUND']);
    expect(second.events[0]?.['ip']).toMatch(/^10\.96\.0\.10[1-3]$/);

    // New clients take the two addresses left, then find the pool exhausted: never the quarantined one.
    expect(await exhaustPool('00:0c:cf:00:00:00')).toBe(2);
    // The squatted address was ACKed once (dhclient checks after the ACK), then quarantined, then never bound again.
    const after = await boundAfterQuarantine(join(data, 'leases.log'));
    expect(after.quarantined).toBe(true);
    expect(after.bound).not.toContain(SQUATTED);
    expect(new Set(after.bound).size).toBe(3);
    expect(await metric('alcor_dhcpd_drops_total{reason="pool-exhausted"}')).toBeGreaterThan(0);
  });

  it('conflictDetection ping: the squatted address answers the ping, is quarantined (kept across kill -9) and never offered', async () => {
    const data = join(lab.dir, 'data-ping');
    await start('ping', data);
    const c = await dhclient('02:cf:00:00:00:02');
    expect(c.code, c.out).toBe(0);
    // No DECLINE needed: the first offer was already another address.
    expect(c.out).not.toMatch(/DHCPDECLINE/);
    expect(c.events.map((e) => e['ev'])).toEqual(['BOUND']);
    expect(c.events[0]?.['ip']).toMatch(/^10\.96\.0\.10[1-3]$/);
    expect(await metric('alcor_dhcpd_ping_checks_total{result="in-use"}')).toBe(1);
    expect(await metric('alcor_dhcpd_ping_checks_total{result="free"}')).toBeGreaterThanOrEqual(1);
    expect(await metric('alcor_dhcpd_conflicts_total{subnet="squat",source="ping"}')).toBe(1);
    expect(await metric('alcor_dhcpd_leases{subnet="squat",state="quarantined"}')).toBe(1);

    // The quarantine is durable: after kill -9 it is still there, and still nobody gets the address.
    await stop();
    await start('ping', data);
    expect(await metric('alcor_dhcpd_leases{subnet="squat",state="quarantined"}')).toBe(1);
    expect(await exhaustPool('00:0c:cf:01:00:00')).toBe(2);
    // Never bound at all: the ping kept it from ever being offered.
    expect((await records(join(data, 'leases.log'))).filter((r) => r.o === 'b').map((r) => r.ip)).not.toContain(SQUATTED);
    // Only the addresses nobody answered for were pinged free; the squatted one was not pinged again.
    expect(await metric('alcor_dhcpd_ping_checks_total{result="in-use"}')).toBe(0);
    expect(server?.exitCode).toBeNull();
  });
});
