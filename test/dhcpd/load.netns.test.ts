// dhcpd with its socket thread on (both cores busy) under perfdhcp load, and
// killed with -9 in the middle of it: no address is ever bound to two
// clients, every ACK perfdhcp received has its record in the lease log, and
// the restarted server holds every lease the log holds. Network namespaces
// made here (tag "ld").

import type { ChildProcess } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundLeases } from './lab/leases.ts';
import { Lab, labUnavailable } from './lab/netns.ts';

const unavailable = await labUnavailable(['perfdhcp']);
if (unavailable) console.warn(`skipping dhcpd load tests: ${unavailable}`);

const config = JSON.stringify({
  subnets: [{ name: 'load', cidr: '10.97.0.0/16', gateway: '10.97.0.1', pools: [{ start: '10.97.1.0', end: '10.97.255.254' }], leaseTime: 3600 }],
});

function acksOf(out: string): number {
  return Number(/REQUEST-ACK\*+\s*\n\s*sent packets: \d+\s*\n\s*received packets: (\d+)/.exec(out)?.[1] ?? 0);
}

/** Names of the process's threads (Linux). */
async function threadNames(pid: number | undefined): Promise<string[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => []);
  return Promise.all(tasks.map(async (t) => (await readFile(`/proc/${pid}/task/${t}/comm`, 'utf8').catch(() => '')).trim()));
}

describe.skipIf(unavailable !== undefined)('dhcpd under load with its socket thread', () => {
  let lab: Lab;
  let server: ChildProcess;
  const cfg = () => join(lab.dir, 'dhcpd.json');
  const data = () => join(lab.dir, 'data');
  const log = () => join(data(), 'leases.log');
  const start = () => lab.startServer({ config: cfg(), dataDir: data(), args: ['--socket-thread', 'on'] });
  /** perfdhcp relaying (giaddr 10.97.0.2) for `seconds` at `rate` new clients per second, MACs from `base`. */
  const load = (base: string, rate: number, seconds: number) =>
    lab.exec(lab.cli, ['perfdhcp', '-4', '-l', '10.97.0.2', '-b', `mac=${base}`, '-R', '1000000', '-p', String(seconds), '-r', String(rate), '10.97.0.1'], (seconds + 30) * 1000);

  beforeAll(async () => {
    lab = await Lab.create('ld', '10.97.0.1/16');
    await lab.exec(lab.cli, ['ip', 'addr', 'add', '10.97.0.2/16', 'dev', lab.cliIf]);
    await writeFile(cfg(), config);
    server = await start();
  }, 60_000);

  afterAll(async () => {
    await lab?.destroy();
  });

  it('at 2,000 exchanges/s: no address bound to two clients, every ACK in the log first', async () => {
    expect(await threadNames(server.pid)).toContain('dhcp-socket');
    const r = await load('00:0c:01:00:00:00', 2000, 4);
    const acks = acksOf(r.stdout);
    expect(acks, r.stdout + r.stderr).toBeGreaterThan(2000);
    const leases = await boundLeases(log());
    expect(leases.conflicts).toEqual([]);
    // An ACK leaves only after its bind record is durable, so the log has at least as many.
    expect(leases.binds).toBeGreaterThanOrEqual(acks);
    expect((await lab.metrics()).get('alcor_dhcpd_leases{subnet="load",state="bound"}')).toBe(leases.byIp.size);
  });

  it('killed with -9 in the middle of a load: the restarted server holds every logged lease and gives none twice', async () => {
    const binds0 = (await boundLeases(log())).binds;
    const during = load('00:0c:02:00:00:00', 2000, 4);
    await new Promise((r) => setTimeout(r, 2000));
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    const cut = await during;
    const atKill = await boundLeases(log());
    expect(atKill.conflicts).toEqual([]);
    expect(atKill.binds - binds0).toBeGreaterThanOrEqual(acksOf(cut.stdout));

    server = await start();
    expect((await lab.metrics()).get('alcor_dhcpd_leases{subnet="load",state="bound"}')).toBe(atKill.byIp.size);
    const after = await load('00:0c:03:00:00:00', 2000, 3);
    expect(acksOf(after.stdout), after.stdout + after.stderr).toBeGreaterThan(1500);
    const end = await boundLeases(log());
    expect(end.conflicts).toEqual([]);
    for (const [ip, client] of atKill.byIp) expect(end.byIp.get(ip)).toBe(client);
  });
});
